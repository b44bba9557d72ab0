// Victim policies and the segment manager's candidate list and pins.
#include <catch2/catch.hpp>

#include "gc/victim_policy.h"
#include "gc_fixture.h"

namespace f2sc::gc {
namespace {

using namespace testing;
using segment::SectionUsage;

TEST_CASE("Greedy picks the fewest valid blocks first") {
  std::vector<SectionUsage> c{{10, 300, 5}, {11, 20, 9}, {12, 511, 1}, {13, 100, 2}};
  CHECK(GreedyPolicy().rank(c, {512, 10}, 3) == std::vector<uint32_t>{11, 13, 10});
  CHECK(GreedyPolicy().rank(c, {512, 10}, 10).size() == 4);
  CHECK(GreedyPolicy().rank({}, {512, 10}, 3).empty());
}

TEST_CASE("Cost-benefit prefers old sections at equal use and empty ones at equal age") {
  // Same utilization: the older (smaller mtime) wins.
  std::vector<SectionUsage> same_u{{1, 256, 1000}, {2, 256, 10}, {3, 256, 500}};
  CHECK(CostBenefitPolicy().rank(same_u, {512, 2000}, 3) == std::vector<uint32_t>{2, 3, 1});
  // Same age: the emptier wins.
  std::vector<SectionUsage> same_age{{1, 400, 10}, {2, 100, 10}, {3, 200, 10}, {4, 50, 1000}};
  auto r = CostBenefitPolicy().rank(same_age, {512, 2000}, 3);
  CHECK(r.front() == 2);
  // The formula: an old section with 60% valid beats a new one with 30%.
  CHECK(CostBenefitPolicy::cost(307, 512, 0, 0, 100) <
        CostBenefitPolicy::cost(153, 512, 100, 0, 100));
  CHECK(CostBenefitPolicy::cost(0, 512, 0, 0, 100) == UINT_MAX - 100 * 100 * 100 / 100);
}

TEST_CASE("Age threshold picks only old sections, then fills with cost-benefit") {
  AgeThresholdPolicy atgc({.min_age_seconds = 100, .age_weight = 60});
  std::vector<SectionUsage> c{{1, 10, 950}, {2, 400, 100}, {3, 300, 50}, {4, 5, 990}};
  // now = 1000: only sections 2 and 3 are 100 s old or more; 3 is older and emptier.
  CHECK(atgc.rank(c, {512, 1000}, 2) == std::vector<uint32_t>{3, 2});
  auto all = atgc.rank(c, {512, 1000}, 4);
  REQUIRE(all.size() == 4);
  CHECK(all[0] == 3);
  CHECK(all[1] == 2);
  CHECK(make_policy("atgc") != nullptr);
  CHECK(make_policy("cb")->name() == "cost-benefit");
  CHECK(make_policy("nope") == nullptr);
}

TEST_CASE("Candidates leave out current, free, prefree and pinned sections") {
  auto dev = memory_device();
  auto sm = format_and_load(*dev);
  FakeOwners owners(*sm, *dev);
  populate(owners, 3000, 0, 3000, 23);
  const auto cands = sm->victim_candidates();
  REQUIRE(cands.size() >= 3);
  const segment::Layout& L = sm->layout();
  for (const SectionUsage& c : cands) {
    CHECK_FALSE(sm->section_is_current(c.secno));
    CHECK(c.valid == sm->section_valid_blocks(c.secno));
    CHECK(c.valid > 0);
    CHECK(c.valid < L.segs_per_sec * segment::kBlocksPerSeg);
  }
  const uint32_t pinned = cands[1].secno;
  REQUIRE(sm->try_pin_section(pinned));
  CHECK_FALSE(sm->try_pin_section(pinned));
  CHECK(sm->section_pinned(pinned));
  for (const SectionUsage& c : sm->victim_candidates()) CHECK(c.secno != pinned);
  // A pinned section that empties stays prefree through a checkpoint.
  const auto addrs = owners.addresses();
  std::vector<uint32_t> victims_keys;
  for (auto& [k, a] : addrs)
    if (L.secno_of_seg(L.segno_of(a)) == pinned) victims_keys.push_back(k);
  for (uint32_t k : victims_keys) REQUIRE(owners.write(k, Log::kHotData));
  const uint32_t seg = pinned * L.segs_per_sec;
  CHECK(sm->segment(seg).state == segment::SegState::kPrefree);
  REQUIRE(sm->checkpoint());
  CHECK(sm->segment(seg).state == segment::SegState::kPrefree);
  sm->unpin_section(pinned);
  CHECK_FALSE(sm->section_pinned(pinned));
  REQUIRE(sm->checkpoint());
  CHECK(sm->segment(seg).state == segment::SegState::kFree);
}

TEST_CASE("Held runs are valid in memory but left out of checkpoints until released") {
  auto dev = memory_device();
  auto sm = format_and_load(*dev);
  std::vector<Summary> sums(40, Summary{77, 0, 0});
  auto first = sm->allocate_held_run(Log::kColdData, sums);
  REQUIRE(first);
  CHECK(sm->is_valid(*first + 39));
  CHECK(sm->valid_blocks() == 2 + 40);
  REQUIRE(sm->invalidate(*first + 1));  // a dropped copy
  REQUIRE(sm->checkpoint());
  auto img = segment::open_image(*dev);
  REQUIRE(img);
  const segment::Layout& L = sm->layout();
  CHECK(uint64_t{img->cp.head().valid_block_count} == 2);
  CHECK((img->sit[L.segno_of(*first)].vblocks & segment::kSitVblocksMask) == 0);
  sm->release_run(*first, 40);
  REQUIRE(sm->checkpoint());
  img = segment::open_image(*dev);
  REQUIRE(img);
  CHECK(uint64_t{img->cp.head().valid_block_count} == 2 + 39);
  CHECK((img->sit[L.segno_of(*first)].vblocks & segment::kSitVblocksMask) == 39);
  CHECK_FALSE(
      segment::test_bit_msb(img->sit[L.segno_of(*first)].valid_map, L.blkoff_of(*first) + 1));
}

TEST_CASE("summary_block matches summary() for current, retired and checkpointed segments") {
  auto dev = memory_device();
  auto sm = format_and_load(*dev);
  FakeOwners owners(*sm, *dev);
  populate(owners, 1200, 600, 0, 29);
  const segment::Layout& L = sm->layout();
  auto check_all = [&] {
    for (auto& [key, addr] : owners.addresses()) {
      auto b = sm->summary_block(L.segno_of(addr));
      REQUIRE(b);
      const segment::Summary e = b->entries[L.blkoff_of(addr)];
      CHECK(key_of(e, kind_of(key)) == key);
      CHECK(uint32_t{b->footer.entry_type} ==
            (kind_of(key) == BlockKind::kNode ? segment::kSumTypeNode : segment::kSumTypeData));
    }
  };
  check_all();
  REQUIRE(sm->checkpoint());
  check_all();
  CHECK_FALSE(sm->summary_block(L.main_segments));
}

}  // namespace
}  // namespace f2sc::gc
