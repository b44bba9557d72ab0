// Property: random valid copies on random contents leave byte-identical devices whether
// offloaded or emulated, equal to a model of NVMe Copy, on every device type; and offload
// moves no data across the host interface while emulation moves exactly 2x the data.
#include <future>
#include <memory>
#include <random>

#include <catch2/catch.hpp>

#include "blockdev/fault_device.h"
#include "blockdev/file_device.h"
#include "blockdev/memory_device.h"
#include "blockdev/partition_device.h"
#include "tests/support/copy_test_util.h"
#include "tests/support/temp_file.h"

namespace f2sc::blockdev {
namespace {

using testing::fill;
using testing::model_copy;
using testing::random_request;
using testing::snapshot;
using testing::TempFile;

constexpr uint32_t kBs = 4096;
constexpr uint64_t kBlocks = 256;
// Small limits so that requests are split in every way.
constexpr CopyLimits kLimits{24, 3, 8};

// A device under test plus whatever it stacks on.
struct Stack {
  std::unique_ptr<TempFile> file;
  std::unique_ptr<BlockDevice> base;
  std::unique_ptr<BlockDevice> top;
  BlockDevice& dev() { return top ? *top : *base; }
};

enum class Kind { kMemory, kFile, kPartition, kFault };

Stack make_stack(Kind kind) {
  Stack s;
  if (kind == Kind::kFile) {
    s.file = std::make_unique<TempFile>(kBlocks * kBs);
    FileDeviceOptions o;
    o.hw_copy_limits = kLimits;
    auto d = FileDevice::open(s.file->path(), o);
    REQUIRE(d);
    REQUIRE((*d)->limits().copy_offload_supported);  // copy_file_range works here
    s.base = std::move(*d);
    return s;
  }
  const uint64_t blocks = kind == Kind::kPartition ? kBlocks + 40 : kBlocks;
  auto m =
      MemoryDevice::create({.block_size = kBs, .block_count = blocks, .hw_copy_limits = kLimits});
  REQUIRE(m);
  s.base = std::move(*m);
  if (kind == Kind::kPartition) {
    auto p = PartitionDevice::create(*s.base, 17, kBlocks);
    REQUIRE(p);
    s.top = std::move(*p);
  } else if (kind == Kind::kFault) {
    s.top = std::make_unique<FaultDevice>(*s.base);
  }
  return s;
}

TEST_CASE("offload and emulation give identical devices on every device type") {
  for (Kind kind : {Kind::kMemory, Kind::kFile, Kind::kPartition, Kind::kFault}) {
    for (uint64_t seed : {1, 2, 3}) {
      INFO("device kind " << static_cast<int>(kind) << " seed " << seed);
      Stack off = make_stack(kind), emu = make_stack(kind);
      REQUIRE(off.dev().set_copy_offload(true));
      REQUIRE(emu.dev().set_copy_offload(false));
      fill(off.dev(), seed);
      fill(emu.dev(), seed);
      auto model = snapshot(off.dev());
      std::mt19937_64 rng(seed * 1000 + static_cast<uint64_t>(kind));
      for (int i = 0; i < 25; ++i) {
        CopyRequest req = random_request(rng, kBlocks, 6, 20);
        uint64_t total = req.total_blocks();
        auto before_off = off.dev().stats(), before_emu = emu.dev().stats();
        auto r1 = off.dev().copy(req);
        auto r2 = emu.dev().copy(req);
        REQUIRE(r1);
        REQUIRE(r2);
        model_copy(model, kBs, req);
        CHECK(r1->blocks_copied == total);
        CHECK(r1->blocks_offloaded == total);
        CHECK(r2->blocks_emulated == total);
        CHECK(r2->emulation_reason == "copy_offload is off");
        auto d_off = off.dev().stats() - before_off;
        auto d_emu = emu.dev().stats() - before_emu;
        CHECK(d_off.bytes_read + d_off.bytes_written == 0);
        CHECK(d_off.copy_descriptor_bytes == 32 * r1->copy_ranges);
        CHECK(d_off.copy_commands == r1->copy_commands);
        CHECK(d_emu.bytes_read == total * kBs);
        CHECK(d_emu.bytes_written == total * kBs);
        CHECK(d_emu.copy_commands == 0);
      }
      auto a = snapshot(off.dev());
      CHECK(testing::same_bytes(a, snapshot(emu.dev())));
      CHECK(testing::same_bytes(a, model));
    }
  }
}

TEST_CASE("a device without offload support emulates and says why") {
  auto d =
      MemoryDevice::create({.block_size = kBs, .block_count = 64, .copy_offload_supported = false});
  REQUIRE(d);
  auto& dev = **d;
  CHECK_FALSE(dev.limits().copy_offload);
  auto s = dev.set_copy_offload(true);
  REQUIRE_FALSE(s);
  CHECK(s.error().code == Errc::kNotSupported);
  fill(dev, 5);
  auto model = snapshot(dev);
  CopyRequest req{{{0, 3}, {40, 5}}, 10};
  auto r = dev.copy(req);
  REQUIRE(r);
  model_copy(model, kBs, req);
  CHECK(testing::same_bytes(snapshot(dev), model));
  CHECK(r->blocks_emulated == 8);
  CHECK(r->emulation_reason == "the device does not support copy offload");
}

TEST_CASE("user copy limits must stay within the hardware limits") {
  auto d = MemoryDevice::create({.block_size = kBs, .block_count = 64, .hw_copy_limits = kLimits});
  REQUIRE(d);
  auto& dev = **d;
  CHECK(dev.set_copy_limits({24, 3, 8}));
  CHECK(dev.set_copy_limits({1, 1, 1}));
  CHECK(dev.limits().copy == CopyLimits{1, 1, 1});
  CHECK(dev.limits().hw_copy == kLimits);
  CHECK_FALSE(dev.set_copy_limits({25, 3, 8}));
  CHECK_FALSE(dev.set_copy_limits({24, 4, 8}));
  CHECK_FALSE(dev.set_copy_limits({24, 3, 9}));
  CHECK_FALSE(dev.set_copy_limits({0, 3, 8}));
  // The engine follows the user limits: 1/1/1 means one block per command.
  fill(dev, 9);
  auto r = dev.copy(CopyRequest{{{0, 5}}, 20});
  REQUIRE(r);
  CHECK(r->copy_commands == 5);
  CHECK(r->max_ranges_per_command == 1);
}

TEST_CASE("copy commands beyond the hardware limits are refused by the device") {
  auto d = MemoryDevice::create({.block_size = kBs, .block_count = 64, .hw_copy_limits = kLimits});
  REQUIRE(d);
  std::promise<CopyCommandResult> p;
  CopyCommand cmd;
  cmd.sources = {{0, 9}};  // one over max_copy_range_sectors
  cmd.dst = 30;
  (*d)->copy_command_async(cmd, [&](CopyCommandResult r) { p.set_value(std::move(r)); });
  auto r = p.get_future().get();
  REQUIRE_FALSE(r.status);
  CHECK(r.status.error().code == Errc::kInvalidArgument);
  CHECK((*d)->stats().copy_commands == 0);
}

TEST_CASE("copies between partitions of one device are offloaded through the parent") {
  auto m = MemoryDevice::create({.block_size = kBs, .block_count = 128});
  REQUIRE(m);
  auto& parent = **m;
  fill(parent, 11);
  auto a = PartitionDevice::create(parent, 0, 64);
  auto b = PartitionDevice::create(parent, 64, 64);
  REQUIRE(a);
  REQUIRE(b);
  auto model = snapshot(parent);
  CopyRequest req{{{1, 4}, {10, 2}}, 3};  // from a, to b at its block 3 (parent block 67)
  auto r = copy_between(**a, req, **b);
  REQUIRE(r);
  CHECK(r->blocks_offloaded == 6);
  model_copy(model, kBs, CopyRequest{{{1, 4}, {10, 2}}, 67});
  CHECK(testing::same_bytes(snapshot(parent), model));
  CHECK(parent.stats().copy_commands == 1);
}

TEST_CASE("copies between different devices are emulated") {
  auto x = MemoryDevice::create({.block_size = kBs, .block_count = 32});
  auto y = MemoryDevice::create({.block_size = kBs, .block_count = 32});
  REQUIRE(x);
  REQUIRE(y);
  fill(**x, 1);
  fill(**y, 2);
  auto src = snapshot(**x);
  auto r = copy_between(**x, CopyRequest{{{0, 4}, {8, 4}}, 0}, **y);
  REQUIRE(r);
  CHECK(r->blocks_emulated == 8);
  CHECK(r->emulation_reason == "source and destination are different devices");
  auto dst = snapshot(**y);
  CHECK(std::equal(src.begin(), src.begin() + 4 * kBs, dst.begin()));
  CHECK(std::equal(src.begin() + 8 * kBs, src.begin() + 12 * kBs, dst.begin() + 4 * kBs));
  // Sources are checked against the source device, the destination against its own.
  auto bad = copy_between(**x, CopyRequest{{{30, 4}}, 0}, **y);
  REQUIRE_FALSE(bad);
  CHECK(bad.error().code == Errc::kOutOfRange);
  // Same addresses on two devices do not overlap.
  CHECK(copy_between(**x, CopyRequest{{{0, 4}}, 0}, **y));
}

}  // namespace
}  // namespace f2sc::blockdev
