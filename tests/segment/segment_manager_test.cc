// SegmentManager: LFS allocation, runs, invalidation, prefree -> free at checkpoint, the
// GC reserve, SIT writeback through the journal and the alternating copies, SSA writeback,
// and power cuts during its checkpoint.
#include <cstring>
#include <vector>

#include <catch2/catch.hpp>

#include "blockdev/fault_device.h"
#include "blockdev/memory_device.h"
#include "blockdev/uri.h"
#include "segment/image.h"
#include "segment/mkfs.h"
#include "segment/segment_manager.h"
#include "test_util.h"

namespace f2sc::segment {
namespace {

std::unique_ptr<blockdev::MemoryDevice> fresh(uint64_t blocks = 32768, uint32_t sps = 1) {
  auto dev = blockdev::MemoryDevice::create({.block_size = 4096, .block_count = blocks});
  REQUIRE(dev);
  MkfsOptions o;
  o.reproducible = true;
  o.segs_per_sec = sps;
  REQUIRE(format(**dev, o));
  return std::move(*dev);
}

std::unique_ptr<SegmentManager> load(blockdev::BlockDevice& dev) {
  auto img = open_image(dev);
  INFO((img ? std::string() : img.error().message));
  REQUIRE(img);
  auto sm = SegmentManager::load(dev, std::move(*img));
  REQUIRE(sm);
  return std::move(*sm);
}

Summary owner(uint32_t i) {
  return Summary{1000 + i, 0, static_cast<uint16_t>(i % 1018)};
}

// Blocks 0..n-1 of owner(i), one at a time in the warm data log; their addresses.
std::vector<uint32_t> allocate_warm_data(SegmentManager& sm, uint32_t n) {
  std::vector<uint32_t> addrs;
  for (uint32_t i = 0; i < n; ++i) {
    auto a = sm.allocate(Log::kWarmData, owner(i));
    REQUIRE(a);
    addrs.push_back(*a);
  }
  return addrs;
}

TEST_CASE("LFS allocation fills a segment in order and survives a checkpoint") {
  auto dev = fresh();
  auto sm = load(*dev);
  const Layout& L = sm->layout();
  const std::vector<uint32_t> addrs = allocate_warm_data(*sm, 1200);
  for (size_t i = 1; i < 512; ++i) CHECK(addrs[i] == addrs[i - 1] + 1);
  CHECK(L.blkoff_of(addrs[512]) == 0);  // a new segment
  CHECK(L.segno_of(addrs[512]) != L.segno_of(addrs[511]));
  for (uint32_t i = 0; i < 1200; i += 3) REQUIRE(sm->invalidate(addrs[i]));
  CHECK_FALSE(sm->invalidate(addrs[0]));  // already invalid
  CHECK_FALSE(sm->is_valid(addrs[0]));
  CHECK(sm->is_valid(addrs[1]));
  const uint64_t valid = sm->valid_blocks();
  CHECK(valid == 2 + 800);
  REQUIRE(sm->checkpoint());

  auto img = open_image(*dev);
  INFO((img ? std::string() : img.error().message));
  REQUIRE(img);
  CHECK(testing::val(img->cp.head().valid_block_count) == valid);
  CHECK(img->cp.pack == 1);
  auto sm2 = load(*dev);
  for (uint32_t i = 0; i < 1200; ++i) {
    CHECK(sm2->is_valid(addrs[i]) == (i % 3 != 0));
    auto s = sm2->summary(addrs[i]);  // retired segments come from the SSA now
    REQUIRE(s);
    CHECK(testing::val(s->nid) == 1000 + i);
    CHECK(testing::val(s->ofs_in_node) == i % 1018);
  }
  CHECK(sm2->segment(L.segno_of(addrs[0])).type == Log::kWarmData);
  CHECK(sm2->segment(L.segno_of(addrs[0])).valid == 341);
}

TEST_CASE("invalidate_blocks invalidates every valid block and reports the first failure") {
  auto dev = fresh();
  auto sm = load(*dev);
  const Layout& L = sm->layout();
  const std::vector<uint32_t> addrs = allocate_warm_data(*sm, 600);
  const uint32_t segno = L.segno_of(addrs[0]);
  CHECK(sm->segment_valid_map(segno).count() == kBlocksPerSeg);
  const uint64_t valid = sm->valid_blocks();  // ours and mkfs's root

  REQUIRE(sm->invalidate_blocks(std::vector<uint32_t>{addrs[3], addrs[5], addrs[513]}));
  CHECK(sm->valid_blocks() == valid - 3);
  const auto map = sm->segment_valid_map(segno);
  CHECK(map.count() == kBlocksPerSeg - 2);
  CHECK_FALSE(map.test(L.blkoff_of(addrs[3])));
  CHECK_FALSE(map.test(L.blkoff_of(addrs[5])));
  CHECK(map.test(L.blkoff_of(addrs[4])));
  CHECK(sm->segment_valid_map(L.segno_of(addrs[513])).count() == 600 - 512 - 1);

  // One address already invalid in the middle: the ones around it still go.
  auto s = sm->invalidate_blocks(std::vector<uint32_t>{addrs[6], addrs[3], addrs[7]});
  REQUIRE_FALSE(s);
  CHECK(s.error().message.find(std::to_string(addrs[3])) != std::string::npos);
  CHECK_FALSE(sm->is_valid(addrs[6]));
  CHECK_FALSE(sm->is_valid(addrs[7]));
  CHECK(sm->valid_blocks() == valid - 5);
  CHECK_FALSE(sm->invalidate_blocks(std::vector<uint32_t>{L.main_addr - 1}));
  CHECK(sm->segment_valid_map(L.main_segments).none());  // outside the main area
}
TEST_CASE("allocate_run gives contiguous blocks, moving to a fresh segment when needed") {
  auto dev = fresh();
  auto sm = load(*dev);
  const Layout& L = sm->layout();
  std::vector<Summary> owners(100);
  for (uint32_t i = 0; i < 100; ++i) owners[i] = owner(i);
  uint32_t prev_seg = UINT32_MAX;
  for (int k = 0; k < 6; ++k) {
    auto a = sm->allocate_run(Log::kColdData, owners, segment::Claim::kGc);
    REQUIRE(a);
    CHECK(L.blkoff_of(*a) + 100 <= kBlocksPerSeg);
    if (k == 5) CHECK(L.blkoff_of(*a) == 0);  // 5 * 100 = 500: the sixth run needs room
    if (k < 5 && prev_seg != UINT32_MAX) CHECK(L.segno_of(*a) == prev_seg);
    prev_seg = L.segno_of(*a);
    for (uint32_t i = 0; i < 100; ++i) CHECK(testing::val(sm->summary(*a + i)->nid) == 1000 + i);
  }
  CHECK_FALSE(sm->allocate_run(Log::kColdData, {}));
  std::vector<Summary> too_many(513);
  CHECK_FALSE(sm->allocate_run(Log::kColdData, too_many));
}

TEST_CASE("an emptied segment is prefree until the next checkpoint") {
  auto dev = fresh();
  auto sm = load(*dev);
  const Layout& L = sm->layout();
  std::vector<uint32_t> first;
  // Warm data starts empty: 512 blocks fill exactly one segment.
  for (uint32_t i = 0; i < 512; ++i) first.push_back(*sm->allocate(Log::kWarmData, owner(i)));
  const uint32_t victim = L.segno_of(first.front());
  REQUIRE(L.segno_of(first.back()) == victim);
  auto more = sm->allocate(Log::kWarmData, owner(0));
  REQUIRE(more);
  REQUIRE(L.segno_of(*more) != victim);
  for (uint32_t a : first)
    if (L.segno_of(a) == victim) REQUIRE(sm->invalidate(a));
  CHECK(sm->segment(victim).state == SegState::kPrefree);
  CHECK(sm->prefree_segments() == 1);
  // Not reused before the checkpoint: fill many segments and never land in it.
  for (uint32_t i = 0; i < 512 * 8; ++i) {
    auto a = sm->allocate(Log::kWarmNode, owner(i));
    REQUIRE(a);
    REQUIRE(L.segno_of(*a) != victim);
  }
  const uint32_t free_before = sm->free_sections();
  REQUIRE(sm->checkpoint());
  CHECK(sm->segment(victim).state == SegState::kFree);
  CHECK(sm->free_sections() == free_before + 1);
  CHECK(sm->prefree_segments() == 0);
  auto img = open_image(*dev);
  REQUIRE(img);
  CHECK((img->sit[victim].vblocks & kSitVblocksMask) == 0);
}

TEST_CASE("user allocations leave the reserved sections to GC, rewrites half of them") {
  auto dev = fresh(32768, 2);  // 128 MiB, two segments per section
  auto sm = load(*dev);
  const uint32_t reserved = sm->reserved_sections();
  REQUIRE(reserved >= 4);
  CHECK(sm->section_floor(Claim::kUser) == reserved);
  CHECK(sm->section_floor(Claim::kRewrite) == reserved / 2);
  CHECK(sm->section_floor(Claim::kGc) == 0);
  uint64_t n = 0;
  Result<uint32_t> a;
  while ((a = sm->allocate(Log::kWarmData, owner(static_cast<uint32_t>(n))))) ++n;
  CHECK(a.error().code == Errc::kNoSpace);
  CHECK(sm->free_sections() == reserved);
  // Rewrites go on into the reserve, down to its half; new blocks still may not.
  while ((a = sm->allocate(Log::kWarmData, owner(static_cast<uint32_t>(n)), Claim::kRewrite))) {
    ++n;
    REQUIRE(sm->free_sections() >= reserved / 2);
  }
  CHECK(a.error().code == Errc::kNoSpace);
  CHECK(sm->free_sections() == reserved / 2);
  CHECK_FALSE(sm->allocate(Log::kWarmData, owner(0)));
  // GC may still allocate into the rest.
  std::vector<Summary> run(512, owner(1));
  for (int k = 0; k < 3; ++k) CHECK(sm->allocate_run(Log::kColdData, run, Claim::kGc));
  CHECK(sm->free_sections() < reserved / 2);
  CHECK(sm->dirty_sections().empty());  // everything written is fully valid
}

TEST_CASE("more than six dirty SIT entries go to the alternate SIT copy") {
  auto dev = fresh();
  auto sm = load(*dev);
  const Layout& L = sm->layout();
  for (uint32_t i = 0; i < 512 * 10; ++i) REQUIRE(sm->allocate(Log::kWarmData, owner(i)));
  auto st = sm->checkpoint();
  INFO((st ? std::string() : st.error().message));
  REQUIRE(st);
  auto img = open_image(*dev);
  REQUIRE(img);
  CHECK(testing::val(img->cp.sit_journal().n_entries) == 0);
  CHECK(test_bit_msb(img->cp.sit_bitmap(L.cp_payload), 0));  // block 0 now in copy 1
  // A second checkpoint with a few changes uses the journal and keeps copy 1.
  for (uint32_t i = 0; i < 10; ++i) REQUIRE(sm->allocate(Log::kHotNode, owner(i)));
  REQUIRE(sm->checkpoint());
  img = open_image(*dev);
  REQUIRE(img);
  CHECK(testing::val(img->cp.sit_journal().n_entries) >= 1);
  CHECK(testing::val(img->cp.sit_journal().n_entries) <= 6);
  CHECK(img->cp.pack == 0);
  // A third, large one flips block 0 back to copy 0.
  for (uint32_t i = 0; i < 512 * 10; ++i) REQUIRE(sm->allocate(Log::kColdNode, owner(i)));
  REQUIRE(sm->checkpoint());
  img = open_image(*dev);
  REQUIRE(img);
  CHECK_FALSE(test_bit_msb(img->cp.sit_bitmap(L.cp_payload), 0));
  CHECK(testing::val(img->cp.head().valid_block_count) == sm->valid_blocks());
}

TEST_CASE("a power cut at any write of a SegmentManager checkpoint keeps a valid image") {
  // One run without a cut tells how many mutating operations a checkpoint takes.
  auto work = [](SegmentManager& sm) {
    for (uint32_t i = 0; i < 512 * 9 + 17; ++i) REQUIRE(sm.allocate(Log::kWarmData, owner(i)));
    for (uint32_t i = 0; i < 40; ++i) REQUIRE(sm.allocate(Log::kHotNode, owner(i)));
  };
  uint64_t ops = 0;
  uint64_t v0 = 0;
  {
    auto dev = fresh();
    blockdev::FaultDevice f(*dev);
    auto sm = load(f);
    v0 = sm->checkpoint_version();
    work(*sm);
    uint64_t before = f.mutating_ops();
    REQUIRE(sm->checkpoint({.umount = false, .fill = {}}));
    ops = f.mutating_ops() - before;
  }
  REQUIRE(ops >= 4);
  for (uint64_t cut = 1; cut <= ops; ++cut) {
    for (bool torn : {false, true}) {
      auto dev = fresh();
      blockdev::FaultDevice f(*dev);
      auto sm = load(f);
      work(*sm);
      f.cut_power_after({.after_ops = cut, .torn = torn, .seed = cut * 7});
      CHECK_FALSE(sm->checkpoint({.umount = false, .fill = {}}));
      f.power_on();
      auto img = open_image(f);
      INFO("cut " << cut << " torn " << torn << ": " << (img ? "" : img.error().message));
      REQUIRE(img);
      CHECK(img->cp.version() == v0);
      CHECK(testing::val(img->cp.head().valid_block_count) == 2);
    }
  }
}

TEST_CASE("a SegmentManager checkpoint of an unchanged mkfs.f2fs image keeps fsck clean") {
  testing::TempImage img(1 << 30);
  REQUIRE(testing::run("mkfs.f2fs -q -f " + img.path()).status == 0);
  {
    auto dev = blockdev::open_device("file:" + img.path());
    REQUIRE(dev);
    auto sm = load(**dev);
    REQUIRE(sm->checkpoint());
    REQUIRE(sm->checkpoint({.umount = false, .fill = {}}));
    REQUIRE(sm->checkpoint());
  }
  std::string out;
  bool clean = testing::fsck_clean(img.path(), &out);
  INFO(out);
  CHECK(clean);
}

}  // namespace
}  // namespace f2sc::segment
