// The image reader against images made by mkfs.f2fs, corrupted images, checkpoint
// round trips judged by fsck.f2fs, and power cuts during a checkpoint write.
#include <cstring>
#include <fstream>
#include <vector>

#include <catch2/catch.hpp>

#include "blockdev/fault_device.h"
#include "blockdev/memory_device.h"
#include "blockdev/uri.h"
#include "segment/checkpoint.h"
#include "segment/crc.h"
#include "segment/image.h"
#include "segment/mkfs.h"
#include "test_util.h"

namespace f2sc::segment {
namespace {

using testing::fsck_clean;
using testing::run;
using testing::TempImage;

std::unique_ptr<blockdev::BlockDevice> open_file(const std::string& path) {
  auto dev = blockdev::open_device("file:" + path);
  REQUIRE(dev);
  return std::move(*dev);
}

std::unique_ptr<blockdev::MemoryDevice> fresh(uint64_t blocks = 32768) {
  auto dev = blockdev::MemoryDevice::create({.block_size = 4096, .block_count = blocks});
  REQUIRE(dev);
  MkfsOptions o;
  o.reproducible = true;
  REQUIRE(format(**dev, o));
  return std::move(*dev);
}

std::vector<uint8_t> rd(blockdev::BlockDevice& d, uint64_t addr) {
  std::vector<uint8_t> b(kBlockSize);
  REQUIRE(d.read(addr, {reinterpret_cast<std::byte*>(b.data()), b.size()}));
  return b;
}
void wr(blockdev::BlockDevice& d, uint64_t addr, const std::vector<uint8_t>& b) {
  REQUIRE(d.write(addr, {reinterpret_cast<const std::byte*>(b.data()), b.size()}));
}
void reseal_cp(std::vector<uint8_t>& b) {
  uint32_t crc = checkpoint_crc(b.data(), kCpChecksumOffset);
  std::memcpy(b.data() + kCpChecksumOffset, &crc, 4);
}

std::string open_error(blockdev::BlockDevice& d) {
  auto img = open_image(d);
  REQUIRE_FALSE(img);
  CHECK(img.error().code == Errc::kCorrupt);
  return img.error().message;
}

TEST_CASE("images made by mkfs.f2fs read and validate") {
  for (const char* opts : {"", "-s 4", "-o 5 -l theirs"}) {
    DYNAMIC_SECTION(opts) {
      TempImage img(512 << 20);
      REQUIRE(run(std::string("mkfs.f2fs -q -f ") + opts + " " + img.path()).status == 0);
      auto dev = open_file(img.path());
      auto im = open_image(*dev);
      INFO((im ? std::string() : im.error().message));
      REQUIRE(im);
      CHECK(im->super.other_valid);
      CHECK(im->cp.pack == 0);
      CHECK((im->cp.flags() & kCpCompactSum) != 0);
      CHECK(testing::val(im->cp.nat_journal().n_entries) == 1);
      CHECK(testing::val(im->cp.sit_journal().n_entries) == 6);
      auto root = read_nat_entry(*dev, *im, 3);
      REQUIRE(root);
      CHECK(testing::val(root->ino) == 3);
      CHECK(im->super.layout.in_main(root->block_addr));
    }
  }
}

TEST_CASE("reading then rewriting a checkpoint keeps fsck.f2fs clean") {
  for (const char* maker : {"mkfs.f2fs -q -f", "ours"}) {
    DYNAMIC_SECTION(maker) {
      TempImage img(1 << 30);
      std::string cmd = std::string(maker) == "ours" ? testing::mkfs_f2sc() + " -q" : maker;
      REQUIRE(run(cmd + " " + img.path()).status == 0);
      uint64_t v0;
      {
        auto dev = open_file(img.path());
        auto im = open_image(*dev);
        REQUIRE(im);
        v0 = im->cp.version();
        Checkpoint cp = im->cp;
        cp.head().checkpoint_ver = v0 + 1;
        REQUIRE(write_checkpoint(*dev, im->super.layout, cp, 1 - im->cp.pack));
        // And once more, back to the first pack.
        auto im2 = open_image(*dev);
        REQUIRE(im2);
        CHECK(im2->cp.pack == 1);
        CHECK(im2->cp.version() == v0 + 1);
        Checkpoint cp2 = im2->cp;
        cp2.head().checkpoint_ver = v0 + 2;
        REQUIRE(write_checkpoint(*dev, im2->super.layout, cp2, 0));
      }
      std::string out;
      bool clean = fsck_clean(img.path(), &out);
      INFO(out);
      CHECK(clean);
      auto dev = open_file(img.path());
      auto im = open_image(*dev);
      REQUIRE(im);
      CHECK(im->cp.version() == v0 + 2);
      CHECK(im->cp.pack == 0);
      CHECK(testing::val(im->cp.head().valid_block_count) == 2);
    }
  }
}

TEST_CASE("non-compacted summaries, orphans and a non-umount checkpoint round trip") {
  auto dev = fresh();
  auto im = open_image(*dev);
  REQUIRE(im);
  Checkpoint cp = im->cp;
  // Fill the data logs past what compacted summaries hold.
  for (Log l : {Log::kHotData, Log::kWarmData, Log::kColdData}) {
    auto& c = cp.curseg(l);
    for (uint32_t j = c.blkoff; j < 400; ++j) c.sum.entries[j] = {1000 + j, 0, uint16_t(j)};
    c.blkoff = 400;
  }
  for (uint32_t i = 0; i < 1500; ++i) cp.orphans.push_back(100 + i);
  cp.curseg(Log::kWarmNode).sum.entries[0] = {77, 0, 0};
  cp.curseg(Log::kWarmNode).blkoff = 1;
  cp.head().checkpoint_ver += 1;
  REQUIRE(compact_summary_blocks(cp.cursegs) == 3);
  REQUIRE(write_checkpoint(*dev, im->super.layout, cp, 1, {.umount = false}));
  auto back = read_checkpoint(*dev, im->super.layout);
  REQUIRE(back);
  CHECK(back->pack == 1);
  CHECK((back->flags() & kCpCompactSum) == 0);
  CHECK((back->flags() & kCpUmount) == 0);
  CHECK((back->flags() & kCpOrphanPresent) != 0);
  CHECK(back->orphans == cp.orphans);
  CHECK(testing::val(back->curseg(Log::kColdData).sum.entries[399].nid) == 1399);
  CHECK(testing::val(back->curseg(Log::kWarmNode).sum.entries[0].nid) == 77);  // from the SSA
  CHECK(testing::val(back->nat_journal().n_entries) == 1);
  CHECK(testing::val(back->sit_journal().n_entries) == 6);
}

TEST_CASE("corrupt images give precise errors") {
  SECTION("bad magic in both superblocks") {
    auto dev = fresh();
    for (int c = 0; c < 2; ++c) {
      auto b = rd(*dev, c);
      b[kSuperOffset] ^= 0xFF;
      wr(*dev, c, b);
    }
    auto msg = open_error(*dev);
    CHECK(msg.find("superblock copy 0") != std::string::npos);
    CHECK(msg.find("magic") != std::string::npos);
  }
  SECTION("one bad superblock: the other copy is used") {
    auto dev = fresh();
    auto b = rd(*dev, 0);
    b[kSuperOffset] ^= 0xFF;
    wr(*dev, 0, b);
    auto im = open_image(*dev);
    REQUIRE(im);
    CHECK(im->super.copy == 1);
  }
  SECTION("area boundaries that disagree") {
    auto dev = fresh();
    for (int c = 0; c < 2; ++c) {
      auto b = rd(*dev, c);
      auto* sb = reinterpret_cast<SuperBlock*>(b.data() + kSuperOffset);
      sb->nat_blkaddr += 512;
      wr(*dev, c, b);
    }
    auto msg = open_error(*dev);
    CHECK(msg.find("nat_blkaddr") != std::string::npos);
  }
  SECTION("superblock larger than the device (truncated image)") {
    auto dev = fresh();
    auto big = blockdev::MemoryDevice::create({.block_size = 4096, .block_count = 32768 / 2});
    REQUIRE(big);
    for (uint64_t a = 0; a < 16384; a += 512) {
      std::vector<std::byte> b(512 * 4096);
      REQUIRE(dev->read(a, b));
      REQUIRE((*big)->write(a, b));
    }
    auto msg = open_error(**big);
    CHECK(msg.find("block_count") != std::string::npos);
    CHECK(msg.find("larger than the device") != std::string::npos);
    auto tiny = blockdev::MemoryDevice::create({.block_size = 4096, .block_count = 1});
    REQUIRE(tiny);
    CHECK_FALSE(open_image(**tiny));
  }
  SECTION("bad checkpoint crc: the other pack is used; both bad fails") {
    auto dev = fresh();
    auto im = open_image(*dev);
    REQUIRE(im);
    const Layout L = im->super.layout;
    Checkpoint cp = im->cp;
    cp.head().checkpoint_ver += 1;
    REQUIRE(write_checkpoint(*dev, L, cp, 1));
    auto b = rd(*dev, L.cp_pack_addr(1));
    b[40] ^= 1;  // header body, crc now wrong
    wr(*dev, L.cp_pack_addr(1), b);
    auto again = open_image(*dev);
    REQUIRE(again);
    CHECK(again->cp.pack == 0);
    auto a = rd(*dev, L.cp_pack_addr(0));
    a[4092] ^= 1;
    wr(*dev, L.cp_pack_addr(0), a);
    auto msg = open_error(*dev);
    CHECK(msg.find("no valid checkpoint") != std::string::npos);
    CHECK(msg.find("checkpoint pack 0: header crc") != std::string::npos);
    CHECK(msg.find("checkpoint pack 1: header crc") != std::string::npos);
  }
  SECTION("checkpoint counts that disagree with the SIT") {
    auto dev = fresh();
    auto im = open_image(*dev);
    REQUIRE(im);
    auto b = rd(*dev, im->super.layout.cp_pack_addr(0));
    auto* h = reinterpret_cast<CheckpointHeader*>(b.data());
    h->valid_block_count = 1;  // below the SIT (above it: preallocated blocks, legal)
    reseal_cp(b);
    wr(*dev, im->super.layout.cp_pack_addr(0), b);
    wr(*dev, im->super.layout.cp_pack_addr(0) + h->cp_pack_total_block_count - 1, b);
    auto msg = open_error(*dev);
    CHECK(msg.find("valid_block_count = 1") != std::string::npos);
    CHECK(msg.find("SIT counts 2") != std::string::npos);
  }
  SECTION("free segment count that disagrees with the SIT") {
    auto dev = fresh();
    auto im = open_image(*dev);
    REQUIRE(im);
    const uint32_t want = im->cp.head().free_segment_count;
    Checkpoint cp = im->cp;
    cp.head().free_segment_count = want - 1;
    cp.head().checkpoint_ver += 1;
    REQUIRE(write_checkpoint(*dev, im->super.layout, cp, 1));
    auto msg = open_error(*dev);
    CHECK(msg.find("free_segment_count = " + std::to_string(want - 1) + " but the SIT has " +
                   std::to_string(want) + " free segments") != std::string::npos);
  }
  SECTION("out-of-range current segment") {
    auto dev = fresh();
    auto im = open_image(*dev);
    REQUIRE(im);
    const Layout L = im->super.layout;
    for (int p = 0; p < 2; ++p) {
      auto b = rd(*dev, L.cp_pack_addr(p));
      auto* h = reinterpret_cast<CheckpointHeader*>(b.data());
      h->cur_data_segno[1] = L.main_segments + 7;
      reseal_cp(b);
      wr(*dev, L.cp_pack_addr(p), b);
      wr(*dev, L.cp_pack_addr(p) + h->cp_pack_total_block_count - 1, b);
    }
    auto msg = open_error(*dev);
    CHECK(msg.find("cur_data_segno[1] = " + std::to_string(L.main_segments + 7)) !=
          std::string::npos);
  }
  SECTION("SIT journal entry beyond the main area") {
    auto dev = fresh();
    auto im = open_image(*dev);
    REQUIRE(im);
    const Layout L = im->super.layout;
    Checkpoint cp = im->cp;
    cp.sit_journal().sit.entries[2].segno = L.main_segments;
    cp.head().checkpoint_ver += 1;
    REQUIRE(write_checkpoint(*dev, L, cp, 1));
    auto msg = open_error(*dev);
    CHECK(msg.find("SIT journal entry 2: segno = " + std::to_string(L.main_segments)) !=
          std::string::npos);
  }
  SECTION("SIT entry whose count disagrees with its bitmap") {
    auto dev = fresh();
    auto im = open_image(*dev);
    REQUIRE(im);
    Checkpoint cp = im->cp;
    cp.sit_journal().sit.entries[0].se.vblocks += 1;
    cp.head().checkpoint_ver += 1;
    REQUIRE(write_checkpoint(*dev, im->super.layout, cp, 1));
    auto msg = open_error(*dev);
    CHECK(msg.find("vblocks = 2 but valid_map has 1 bits") != std::string::npos);
  }
  SECTION("NAT journal address outside main") {
    auto dev = fresh();
    auto im = open_image(*dev);
    REQUIRE(im);
    Checkpoint cp = im->cp;
    cp.nat_journal().nat.entries[0].ne.block_addr = 0x7FFFFFF0;
    cp.head().checkpoint_ver += 1;
    REQUIRE(write_checkpoint(*dev, im->super.layout, cp, 1));
    auto msg = open_error(*dev);
    CHECK(msg.find("block_addr = 2147483632 outside the main area") != std::string::npos);
  }
}

TEST_CASE("a power cut between any two checkpoint writes leaves a valid checkpoint") {
  auto mem = fresh();
  auto im0 = open_image(*mem);
  REQUIRE(im0);
  const uint64_t v0 = im0->cp.version();
  uint64_t ops_needed = 0;
  {
    // Count the mutating operations of one checkpoint write on a scratch copy.
    auto scratch = fresh();
    blockdev::FaultDevice f(*scratch);
    Checkpoint cp = im0->cp;
    cp.head().checkpoint_ver = v0 + 1;
    REQUIRE(write_checkpoint(f, im0->super.layout, cp, 1, {.umount = false}));
    ops_needed = f.mutating_ops();
  }
  REQUIRE(ops_needed >= 3);  // SSA, body, footer
  for (uint64_t cut = 1; cut <= ops_needed; ++cut) {
    for (bool torn : {false, true}) {
      auto dev = fresh();
      blockdev::FaultDevice f(*dev);
      f.cut_power_after({.after_ops = cut, .torn = torn, .seed = cut});
      Checkpoint cp = im0->cp;
      cp.head().checkpoint_ver = v0 + 1;
      auto s = write_checkpoint(f, im0->super.layout, cp, 1, {.umount = false});
      CHECK_FALSE(s);
      f.power_on();
      auto im = open_image(f);
      INFO("cut " << cut << " torn " << torn);
      REQUIRE(im);
      CHECK(im->cp.version() == v0);
      CHECK(im->cp.pack == 0);
    }
  }
  // Without a cut the new pack wins.
  auto dev = fresh();
  Checkpoint cp = im0->cp;
  cp.head().checkpoint_ver = v0 + 1;
  REQUIRE(write_checkpoint(*dev, im0->super.layout, cp, 1, {.umount = false}));
  auto im = open_image(*dev);
  REQUIRE(im);
  CHECK(im->cp.version() == v0 + 1);
}

}  // namespace
}  // namespace f2sc::segment
