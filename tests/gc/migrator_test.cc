// The Migrator and GcController end to end on a SegmentManager with fake owners: content
// survives, SIT accounting, offload vs emulation, copy limits, devices without Copy, copy
// faults, and victims held until the checkpoint.
#include <set>

#include <catch2/catch.hpp>

#include "blockdev/fault_device.h"
#include "blockdev/uri.h"
#include "gc/gc_controller.h"
#include "gc/migrator.h"
#include "gc_fixture.h"

namespace f2sc::gc {
namespace {

using namespace testing;

GcOptions no_checkpoint() {
  GcOptions o;
  o.checkpoint_after_collect = false;
  return o;
}

TEST_CASE("GC moves live data and node blocks with offload and every owner reads back") {
  auto dev = memory_device();
  auto sm = format_and_load(*dev);
  FakeOwners owners(*sm, *dev);
  populate(owners, 6000, 1500, 7500, 1);
  require_clean(owners, *sm, 7500);

  const auto before = owners.addresses();
  const uint32_t free_before = sm->free_sections();
  GcController gc(*sm, *dev, owners, no_checkpoint());
  const uint64_t host_before = dev->stats().host_bytes();
  auto r = gc.collect(4, GreedyPolicy());
  INFO((r ? std::string() : r.error().message));
  REQUIRE(r);
  CHECK(r->victims == 4);
  CHECK(r->freed == 4);
  CHECK(r->moved > 0);
  CHECK_FALSE(r->checkpointed);
  const uint64_t host = dev->stats().host_bytes() - host_before;
  require_clean(owners, *sm, 7500);

  const GcStatsSnapshot st = gc.stats();
  CHECK(st.victims == 4);
  CHECK(st.blocks_moved() == r->moved);
  CHECK(st.blocks_offloaded == r->moved);
  CHECK(st.blocks_emulated == 0);
  CHECK(st.dropped_copies == 0);
  CHECK(st.copy_faults == 0);
  CHECK(st.copy_commands == st.copy_requests);  // requests fit the limits: one command each
  CHECK(st.copy_host_bytes == st.copy_ranges * blockdev::kCopyDescriptorBytes);
  // No data crossed the host interface for the copies: only SSA reads and descriptors.
  CHECK(host <= st.copy_host_bytes + 4 * 4096);

  // Moved blocks now live in the cold logs; the rest did not move.
  const auto after = owners.addresses();
  uint64_t moved = 0, node_moved = 0;
  for (auto& [key, addr] : after) {
    if (addr == before.at(key)) continue;
    ++moved;
    const auto type = sm->segment(sm->layout().segno_of(addr)).type;
    if (kind_of(key) == BlockKind::kNode) {
      ++node_moved;
      CHECK(type == Log::kColdNode);
    } else {
      CHECK(type == Log::kColdData);
    }
    auto s = sm->summary(addr);
    REQUIRE(s);
    CHECK(key_of(*s, kind_of(key)) == key);  // SSA of the copy names its owner
  }
  CHECK(moved == r->moved);
  CHECK(node_moved == st.node_blocks_moved);
  CHECK(sm->prefree_segments() >= 4);
  // Victims become free only at the checkpoint.
  CHECK(sm->free_sections() <= free_before);
  REQUIRE(owners.checkpoint());
  CHECK(sm->free_sections() >= free_before + 4 - 2);  // minus what the cold logs opened
}

TEST_CASE("Sparse victims share requests, and the trace hook sees every request") {
  auto dev = memory_device();
  auto sm = format_and_load(*dev);
  FakeOwners owners(*sm, *dev);
  // 2048 data blocks fill 4 segments; overwriting all but every 64th leaves 8 live blocks
  // in each of them, none adjacent.
  for (uint32_t k = 0; k < 2048; ++k) REQUIRE(owners.write(k, Log::kWarmData));
  for (uint32_t k = 0; k < 2048; ++k)
    if (k % 64 != 0) REQUIRE(owners.write(k, Log::kWarmData));
  require_clean(owners, *sm, 2048);

  GcOptions o = no_checkpoint();
  std::vector<blockdev::CopyRequest> trace;
  o.migrator.on_copy_request = [&](const blockdev::CopyRequest& r) { trace.push_back(r); };
  GcController gc(*sm, *dev, owners, o);
  auto r = gc.collect(4, GreedyPolicy());
  REQUIRE(r);
  CHECK(r->victims == 4);
  CHECK(r->freed == 4);
  CHECK(r->moved == 32);
  // The victims are scanned one at a time, but one request takes all 32 blocks (32 ranges,
  // within the limits), not one request per victim.
  REQUIRE(trace.size() == 1);
  CHECK(trace[0].sources.size() == 32);
  CHECK(trace[0].total_blocks() == 32);
  CHECK(gc.stats().copy_requests == 1);
  require_clean(owners, *sm, 2048);
}

// Greedy, but the first time it ranks it pins its `steal` best sections, as a collection on
// another thread would between collect()'s candidate list and its pins.
class PinningPolicy final : public VictimPolicy {
 public:
  PinningPolicy(SegmentManager& sm, size_t steal) : sm_(sm), steal_(steal) {}
  std::string_view name() const override { return "pinning"; }
  std::vector<uint32_t> rank(std::span<const segment::SectionUsage> candidates,
                             const VictimContext& ctx, size_t n) const override {
    if (stolen.empty())
      for (uint32_t secno : GreedyPolicy().rank(candidates, ctx, steal_))
        if (sm_.try_pin_section(secno)) stolen.push_back(secno);
    return GreedyPolicy().rank(candidates, ctx, n);
  }
  mutable std::vector<uint32_t> stolen;

 private:
  SegmentManager& sm_;
  size_t steal_;
};

TEST_CASE("Victims pinned by another collection meanwhile are passed over, however many") {
  auto dev = memory_device();
  auto sm = format_and_load(*dev);
  FakeOwners owners(*sm, *dev);
  populate(owners, 6000, 1500, 7500, 1);
  require_clean(owners, *sm, 7500);
  INFO(sm->victim_candidates().size() << " candidates");
  REQUIRE(sm->victim_candidates().size() >= 24);

  // More sections are taken than collect() ranks at first (n + 16): it must rank on.
  PinningPolicy policy(*sm, 20);
  GcController gc(*sm, *dev, owners, no_checkpoint());
  auto r = gc.collect(2, policy);
  REQUIRE(r);
  CHECK(r->victims == 2);
  REQUIRE(policy.stolen.size() == 20);
  for (uint32_t secno : policy.stolen) {
    CHECK(sm->section_valid_blocks(secno) > 0);  // not collected
    sm->unpin_section(secno);
  }
  require_clean(owners, *sm, 7500);
}

TEST_CASE("Offload and emulation from the same seeded state give the same result") {
  struct Outcome {
    std::vector<uint32_t> sit;
    std::map<uint32_t, uint32_t> addrs;
    GcStatsSnapshot stats;
  };
  auto run = [](bool offload) {
    auto dev = memory_device();
    auto sm = format_and_load(*dev);
    FakeOwners owners(*sm, *dev);
    populate(owners, 5000, 1000, 6000, 7);
    if (!offload) REQUIRE(dev->set_copy_offload(false));
    GcController gc(*sm, *dev, owners);
    // Greedy: its choice depends on valid counts only, not on the SIT clock (mtimes differ
    // between the two runs by whether a second boundary passed while populating).
    auto r = gc.collect(5, GreedyPolicy());
    REQUIRE(r);
    CHECK(r->checkpointed);
    require_clean(owners, *sm, 6000);
    return Outcome{sit_counts(*sm), owners.addresses(), gc.stats()};
  };
  const Outcome on = run(true), off = run(false);
  CHECK(on.stats.blocks_moved() > 0);
  CHECK(on.stats.blocks_offloaded == on.stats.blocks_moved());
  CHECK(off.stats.blocks_emulated == off.stats.blocks_moved());
  CHECK(off.stats.blocks_offloaded == 0);
  CHECK(off.stats.copy_commands == 0);
  CHECK(off.stats.copy_host_bytes == 2 * 4096 * off.stats.blocks_moved());
  CHECK(on.stats.blocks_moved() == off.stats.blocks_moved());
  CHECK(on.sit == off.sit);
  CHECK(on.addrs == off.addrs);
}

TEST_CASE("Copy limits shape the requests, down to 1 range and 1 block per command") {
  struct Case {
    blockdev::CopyLimits limits;
  };
  for (blockdev::CopyLimits lim : {blockdev::CopyLimits{1, 1, 1}, blockdev::CopyLimits{64, 4, 16},
                                   blockdev::CopyLimits{512, 256, 3}}) {
    DYNAMIC_SECTION("limits " << lim.max_copy_sectors << "/" << lim.max_copy_nr_ranges << "/"
                              << lim.max_copy_range_sectors) {
      auto dev = memory_device();
      auto sm = format_and_load(*dev);
      FakeOwners owners(*sm, *dev);
      populate(owners, 4000, 500, 4500, 3);
      REQUIRE(dev->set_copy_limits(lim));
      GcController gc(*sm, *dev, owners);
      auto r = gc.collect(3, GreedyPolicy());
      REQUIRE(r);
      require_clean(owners, *sm, 4500);
      const GcStatsSnapshot st = gc.stats();
      CHECK(st.blocks_offloaded == st.blocks_moved());
      CHECK(st.max_ranges_per_command <= lim.max_copy_nr_ranges);
      CHECK(st.max_blocks_per_request <= lim.max_copy_sectors);
      CHECK(st.copy_commands == st.copy_requests);
      if (lim.max_copy_sectors == 1) CHECK(st.copy_commands == st.blocks_moved());
      if (lim.max_copy_nr_ranges > 1) CHECK(st.mean_ranges_per_command() > 1.0);
    }
  }
}

TEST_CASE("A device without copy offload falls back to emulation") {
  auto dev = memory_device(32768, /*offload=*/false);
  CHECK_FALSE(dev->set_copy_offload(true));
  auto sm = format_and_load(*dev);
  FakeOwners owners(*sm, *dev);
  populate(owners, 4000, 400, 4400, 5);
  GcController gc(*sm, *dev, owners);
  auto r = gc.collect(3, GreedyPolicy());
  REQUIRE(r);
  CHECK(r->moved > 0);
  require_clean(owners, *sm, 4400);
  CHECK(gc.stats().blocks_emulated == r->moved);
  CHECK(gc.stats().blocks_offloaded == 0);
}

TEST_CASE("GC over an emulated NVMe controller uses real Copy commands") {
  auto dev = blockdev::open_device("nvme-emu:mem:128M?mssrl=64&mcl=256&msrc=15");
  INFO((dev ? std::string() : dev.error().message));
  REQUIRE(dev);
  REQUIRE((*dev)->offload_enabled());
  auto sm = format_and_load(**dev);
  FakeOwners owners(*sm, **dev);
  populate(owners, 4000, 500, 4500, 11);
  (*dev)->reset_stats();
  GcController gc(*sm, **dev, owners);
  auto r = gc.collect(3, GreedyPolicy());
  REQUIRE(r);
  require_clean(owners, *sm, 4500);
  const GcStatsSnapshot st = gc.stats();
  CHECK(st.blocks_offloaded == st.blocks_moved());
  CHECK(st.max_ranges_per_command <= 16);
  CHECK((*dev)->stats().copy_commands >= st.copy_commands);
  CHECK((*dev)->stats().blocks_copied_in_device >= st.blocks_moved());
}

TEST_CASE("Copy failures in the middle of a batch lose nothing") {
  for (bool offload : {true, false}) {
    DYNAMIC_SECTION("offload " << offload) {
      auto mem = memory_device();
      blockdev::FaultDevice dev(*mem);
      auto sm = format_and_load(dev);
      FakeOwners owners(*sm, dev);
      populate(owners, 4000, 500, 4500, 13);
      if (!offload) REQUIRE(dev.set_copy_offload(false));
      REQUIRE(dev.set_copy_limits({32, 8, 32}));
      // Every copy command and every write to the main area fails after a few pass: the
      // copy engine's emulation fallback cannot rescue the request either.
      blockdev::FaultRule rule;
      rule.ops = blockdev::kFaultCopy | blockdev::kFaultWrite;
      rule.first_lba = sm->layout().main_addr;
      rule.skip = 3;
      rule.count = 6;
      dev.add_rule(rule);
      GcOptions o;
      o.migrator.max_in_flight = 4;
      GcController gc(*sm, dev, owners, o);
      auto r = gc.collect(3, GreedyPolicy());
      INFO((r ? std::string() : r.error().message));
      REQUIRE(r);
      CHECK(dev.faults_injected() > 0);
      CHECK(r->copy_faults > 0);
      CHECK(gc.stats().copy_faults == r->copy_faults);
      CHECK(r->moved > 0);
      // Failed requests were retried block by block; a block whose retry also met a fault
      // stayed in its victim (whether any did depends on how many faults were left).
      const GcStatsSnapshot st = gc.stats();
      CHECK(st.blocks_retried > 0);
      CHECK(st.unwritable_blocks + st.unreadable_blocks <= st.blocks_retried);
      if (st.unwritable_blocks > 0) CHECK(r->freed < 3);
      require_clean(owners, *sm, 4500);
      // A second round, faults spent, finishes the job.
      dev.clear_rules();
      auto again = gc.collect(3, GreedyPolicy());
      REQUIRE(again);
      require_clean(owners, *sm, 4500);
    }
  }
}

TEST_CASE("Victims are not reused before the checkpoint that frees them") {
  auto dev = memory_device();
  auto sm = format_and_load(*dev);
  FakeOwners owners(*sm, *dev);
  populate(owners, 5000, 0, 5000, 17);
  GcController gc(*sm, *dev, owners, no_checkpoint());
  const auto before = owners.addresses();
  auto r = gc.collect(4, GreedyPolicy());
  REQUIRE(r);
  REQUIRE(r->freed == 4);
  std::set<uint32_t> victims;
  for (auto& [key, addr] : owners.addresses())
    if (addr != before.at(key))
      victims.insert(sm->layout().secno_of_seg(sm->layout().segno_of(before.at(key))));
  REQUIRE(victims.size() == 4);
  // Allocate everything users may allocate: nothing may land in a victim.
  uint32_t n = 0;
  for (;; ++n) {
    auto a = sm->allocate(Log::kHotData, Summary{9, 0, 0});
    if (!a) break;
    REQUIRE_FALSE(victims.count(sm->layout().secno_of_seg(sm->layout().segno_of(*a))));
  }
  CHECK(n > 0);
  const segment::Layout& L = sm->layout();
  for (uint32_t sec : victims)
    for (uint32_t k = 0; k < L.segs_per_sec; ++k)
      CHECK(sm->segment(sec * L.segs_per_sec + k).state == segment::SegState::kPrefree);
  REQUIRE(sm->checkpoint());
  for (uint32_t sec : victims)
    for (uint32_t k = 0; k < L.segs_per_sec; ++k)
      CHECK(sm->segment(sec * L.segs_per_sec + k).state == segment::SegState::kFree);
  // Now the victims can be allocated again (Claim::kGc: the reserve too, so every free section).
  uint32_t in_victims = 0;
  for (;;) {
    auto a = sm->allocate(Log::kHotData, Summary{9, 0, 0}, segment::Claim::kGc);
    if (!a) break;
    in_victims += victims.count(L.secno_of_seg(L.segno_of(*a))) != 0;
  }
  CHECK(in_victims > 0);
}

TEST_CASE("Foreground GC brings free sections back above the reserve") {
  auto dev = memory_device();
  auto sm = format_and_load(*dev);
  FakeOwners owners(*sm, *dev);
  GcOptions o;
  o.foreground_margin_sections = 3;
  GcController gc(*sm, *dev, owners, o);
  // Overwrite a small working set until the filesystem would need foreground GC.
  std::mt19937_64 rng(19);
  for (uint32_t k = 0; k < 3000; ++k) REQUIRE(owners.write(k, Log::kWarmData));
  while (!gc.needs_foreground()) REQUIRE(owners.write(rng() % 3000, Log::kWarmData));
  REQUIRE(owners.checkpoint());
  REQUIRE(gc.needs_foreground());
  auto r = gc.foreground();
  INFO((r ? std::string() : r.error().message));
  REQUIRE(r);
  CHECK(r->victims > 0);
  CHECK_FALSE(gc.needs_foreground());
  require_clean(owners, *sm, 3000);
}

// The filesystem leaves a dirty node's block for the checkpoint, which writes the node
// elsewhere: a victim holding only such blocks moves nothing, yet a checkpoint frees it.
// A collection that reported it unfreed stopped foreground GC with writers short of room
// (and greedy picked the same victim again).
TEST_CASE("A victim whose blocks wait for the checkpoint is freed by the collection's") {
  auto dev = memory_device();
  auto sm = format_and_load(*dev);
  FakeOwners owners(*sm, *dev);
  populate(owners, 0, 3 * 512, 0, 23);  // three full node segments
  REQUIRE(owners.checkpoint());
  const auto before = owners.addresses();
  const segment::Layout& L = sm->layout();
  const uint32_t victim = L.secno_of_seg(L.segno_of(before.at(kNodeKeyBase)));
  // Overwrite a few blocks of the first segment (so greedy ranks it first), and leave the
  // rest of its blocks to the checkpoint.
  for (uint32_t k = 0; k < 512; ++k) {
    const uint32_t key = kNodeKeyBase + k;
    REQUIRE(L.secno_of_seg(L.segno_of(before.at(key))) == victim);
    if (k % 64 == 0)
      REQUIRE(owners.write(key, Log::kWarmNode));
    else
      owners.defer(key);
  }
  GcController gc(*sm, *dev, owners);
  auto r = gc.collect(1, GreedyPolicy());
  REQUIRE(r);
  CHECK(r->victims == 1);
  CHECK(r->moved == 0);
  CHECK(r->checkpointed);
  CHECK(r->freed == 1);
  CHECK(gc.stats().victims_freed == 1);
  CHECK(sm->section_valid_blocks(victim) == 0);
  CHECK(sm->segment(victim * L.segs_per_sec).state == segment::SegState::kFree);
  require_clean(owners, *sm, 3 * 512);
}

}  // namespace
}  // namespace f2sc::gc

namespace f2sc::gc {
namespace {

using namespace testing;

TEST_CASE("Sections of several segments migrate whole, asynchronously") {
  auto dev = memory_device(65536);
  auto sm = format_and_load(*dev, /*segs_per_sec=*/2);
  FakeOwners owners(*sm, *dev);
  populate(owners, 8000, 1000, 9000, 43);
  GcController gc(*sm, *dev, owners);
  auto future = gc.collect_async(3, std::make_shared<GreedyPolicy>());
  auto r = future.get();
  INFO((r ? std::string() : r.error().message));
  REQUIRE(r);
  CHECK(r->victims == 3);
  CHECK(r->freed == 3);
  CHECK(r->checkpointed);
  auto bad = owners.verify();
  REQUIRE(bad.empty());
  CHECK(sm->valid_blocks() == 9000 + 2);
  // Free again after the checkpoint: every segment of each victim.
  CHECK(sm->prefree_segments() == 0);
}

}  // namespace
}  // namespace f2sc::gc

namespace f2sc::gc {
namespace {

using namespace testing;

uint64_t on_disk_valid(blockdev::BlockDevice& dev, Log type, uint64_t* total) {
  auto img = segment::open_image(dev);
  INFO((img ? std::string() : img.error().message));
  REQUIRE(img);
  *total = img->cp.head().valid_block_count;
  uint64_t n = 0;
  for (const segment::SitEntry& e : img->sit)
    if ((e.vblocks >> segment::kSitVblocksShift) == static_cast<uint16_t>(type))
      n += e.vblocks & segment::kSitVblocksMask;
  return n;
}

TEST_CASE("A checkpoint while copies are in flight records no block without an owner") {
  auto dev = memory_device();
  auto sm = format_and_load(*dev);
  FakeOwners owners(*sm, *dev);
  populate(owners, 5000, 0, 5000, 47);
  REQUIRE(owners.checkpoint());
  bool checked = false;
  owners.before_commit = [&] {
    if (checked) return;
    checked = true;
    // Copies are allocated and done, nothing is repointed yet: a checkpoint now must
    // describe the pre-GC placement.
    REQUIRE(sm->checkpoint());
    uint64_t total = 0;
    CHECK(on_disk_valid(*dev, Log::kColdData, &total) == 0);
    CHECK(total == 5000 + 2);
  };
  GcController gc(*sm, *dev, owners, no_checkpoint());
  auto r = gc.collect(3, GreedyPolicy());
  REQUIRE(r);
  REQUIRE(checked);
  CHECK(r->moved > 0);
  owners.before_commit = nullptr;
  REQUIRE(owners.checkpoint());
  uint64_t total = 0;
  CHECK(on_disk_valid(*dev, Log::kColdData, &total) == r->moved);
  CHECK(total == 5000 + 2);
  require_clean(owners, *sm, 5000);
}

}  // namespace
}  // namespace f2sc::gc

namespace f2sc::gc {
namespace {

using namespace testing;

TEST_CASE("A large collection takes no more victims than the free space can hold") {
  auto dev = memory_device();
  auto sm = format_and_load(*dev);
  FakeOwners owners(*sm, *dev);
  std::mt19937_64 rng(53);
  const uint32_t keys =
      (sm->free_sections() - sm->reserved_sections()) * segment::kBlocksPerSeg * 85 / 100;
  for (uint32_t k = 0; k < keys; ++k) REQUIRE(owners.write(k, Log::kWarmData));
  while (sm->free_sections() > sm->reserved_sections() + 1)
    REQUIRE(owners.write(static_cast<uint32_t>(rng() % keys), Log::kWarmData));
  REQUIRE(owners.checkpoint());
  const auto cands = sm->victim_candidates();
  const size_t candidates = cands.size();
  uint64_t all_valid = 0;
  for (const auto& c : cands) all_valid += c.valid;
  // Cleaning everything would need more room than there is.
  REQUIRE(all_valid > uint64_t{sm->free_sections()} * segment::kBlocksPerSeg);
  GcController gc(*sm, *dev, owners, no_checkpoint());
  auto r = gc.collect(1000, GreedyPolicy());
  INFO((r ? std::string() : r.error().message));
  REQUIRE(r);
  CHECK(r->victims > 0);
  CHECK(r->victims < candidates);
  CHECK(r->freed == r->victims);
  CHECK(sm->free_sections() >= 1);
  REQUIRE(owners.checkpoint());  // a full GC log still finds a section
  require_clean(owners, *sm, keys);
}

}  // namespace
}  // namespace f2sc::gc
