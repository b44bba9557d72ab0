// Asynchronous copies in flight at once, offload failures finished by emulation (with the
// NVMe DW0 partial-completion rule), emulation buffer halving, and power cuts.
#include <atomic>
#include <future>
#include <random>

#include <catch2/catch.hpp>

#include "blockdev/copy_engine.h"
#include "blockdev/fault_device.h"
#include "blockdev/memory_device.h"
#include "blockdev/partition_device.h"
#include "blockdev/uri.h"
#include "tests/support/copy_test_util.h"

namespace f2sc::blockdev {
namespace {

using testing::fill;
using testing::model_copy;
using testing::random_bytes;
using testing::snapshot;

constexpr uint32_t kBs = 4096;

std::unique_ptr<MemoryDevice> memory(uint64_t blocks, CopyLimits limits = kDefaultCopyLimits) {
  auto d = MemoryDevice::create(
      {.block_size = kBs, .block_count = blocks, .hw_copy_limits = limits, .workers = 4});
  REQUIRE(d);
  return std::move(*d);
}

TEST_CASE("many async copies in flight complete once each with their own results") {
  for (bool offload : {true, false}) {
    INFO((offload ? "offload" : "emulation"));
    auto dev = memory(4096, {16, 4, 8});
    REQUIRE(dev->set_copy_offload(offload));
    fill(*dev, 3);
    auto model = snapshot(*dev);
    // 64 copies, each from its own source area to its own destination area: independent.
    constexpr int kCopies = 64;
    std::vector<CopyRequest> reqs;
    for (int i = 0; i < kCopies; ++i) {
      uint64_t src = static_cast<uint64_t>(i) * 32, dst = 2048 + static_cast<uint64_t>(i) * 32;
      reqs.push_back(CopyRequest{{{src + 3, 5}, {src, 2}, {src + 10, 13}}, dst});
    }
    std::vector<std::promise<Result<CopyResult>>> done(kCopies);
    std::atomic<int> calls{0};
    for (int i = 0; i < kCopies; ++i) {
      dev->copy_async(reqs[i], [&, i](Result<CopyResult> r) {
        calls++;
        done[i].set_value(std::move(r));
      });
    }
    for (int i = 0; i < kCopies; ++i) {
      auto r = done[i].get_future().get();
      REQUIRE(r);
      CHECK(r->blocks_copied == 20);
      if (offload) {
        CHECK(r->blocks_offloaded == 20);
        CHECK(r->copy_commands == 2);  // 20 blocks, 16 per command
      }
      model_copy(model, kBs, reqs[i]);
    }
    CHECK(calls == kCopies);
    CHECK(testing::same_bytes(snapshot(*dev), model));
  }
}

TEST_CASE("async read, write, flush and discard complete with their status") {
  auto dev = memory(64);
  auto data = random_bytes(8 * kBs, 4);
  std::promise<Status> w, f, r, d;
  dev->write_async(8, data, [&](Status s) { w.set_value(s); });
  REQUIRE(w.get_future().get());
  dev->flush_async([&](Status s) { f.set_value(s); });
  REQUIRE(f.get_future().get());
  std::vector<std::byte> back(8 * kBs);
  dev->read_async(8, back, [&](Status s) { r.set_value(s); });
  REQUIRE(r.get_future().get());
  CHECK(testing::same_bytes(back, data));
  dev->discard_async(8, 8, [&](Status s) { d.set_value(s); });
  REQUIRE(d.get_future().get());
  REQUIRE(dev->read(8, back));
  CHECK(std::all_of(back.begin(), back.end(), [](std::byte b) { return b == std::byte{0}; }));
  std::promise<Status> bad;
  dev->read_async(60, back, [&](Status s) { bad.set_value(s); });
  auto s = bad.get_future().get();
  REQUIRE_FALSE(s);
  CHECK(s.error().code == Errc::kOutOfRange);
}

TEST_CASE("a failed copy command is finished by emulation from its DW0") {
  auto inner = memory(256, {64, 4, 16});
  FaultDevice dev(*inner);
  fill(dev, 8);
  auto model = snapshot(dev);
  // Two commands (4 ranges each); the second fails after copying 1 of its ranges.
  FaultRule rule;
  rule.ops = kFaultCopy;
  rule.skip = 1;
  rule.count = 1;
  rule.copy_ranges_done = 1;
  rule.error = make_error(Errc::kIoError, "injected: command size limit exceeded");
  dev.add_rule(rule);
  CopyRequest req{{{0, 2}, {10, 2}, {20, 2}, {30, 2}, {40, 3}, {50, 3}, {60, 3}, {70, 3}}, 128};
  auto r = dev.copy(req);
  REQUIRE(r);
  model_copy(model, kBs, req);
  CHECK(testing::same_bytes(snapshot(dev), model));
  CHECK(r->blocks_copied == 20);
  CHECK(r->copy_commands == 2);
  CHECK(r->failed_commands == 1);
  CHECK(r->blocks_offloaded == 8 + 3);  // first command, plus range 0 of the second
  CHECK(r->blocks_emulated == 9);
  CHECK(r->emulation_reason == "copy command failed: injected: command size limit exceeded");
  CHECK(dev.faults_injected() == 1);
  CHECK(dev.stats().failed_commands == 1);
}

TEST_CASE("a copy whose emulation also fails reports the error") {
  auto inner = memory(64);
  FaultDevice dev(*inner);
  FaultRule copy_fault;
  copy_fault.ops = kFaultCopy;
  dev.add_rule(copy_fault);
  FaultRule read_fault;
  read_fault.ops = kFaultRead;
  read_fault.first_lba = 4;
  read_fault.last_lba = 4;
  read_fault.error = make_error(Errc::kIoError, "injected: unrecovered read error");
  dev.add_rule(read_fault);
  auto r = dev.copy(CopyRequest{{{0, 8}}, 32});
  REQUIRE_FALSE(r);
  CHECK(r.error().code == Errc::kIoError);
  CHECK(r.error().message.find("unrecovered read error") != std::string::npos);
}

TEST_CASE("emulation halves its buffer when allocation fails, and reuses it") {
  auto dev = memory(512);
  REQUIRE(dev->set_copy_offload(false));
  REQUIRE(dev->copy_engine().set_options({.queue_depth = 4, .emulation_buffer_bytes = 1 << 20}));
  dev->copy_engine().set_allocation_limit_for_testing(300 * 1024);
  fill(*dev, 12);
  auto model = snapshot(*dev);
  CopyRequest req{{{0, 200}}, 300};
  auto r = dev->copy(req);
  REQUIRE(r);
  model_copy(model, kBs, req);
  CHECK(testing::same_bytes(snapshot(*dev), model));
  CHECK(dev->copy_engine().emulation_buffer_bytes() == 256 * 1024);  // 1 MiB -> 512K -> 256K
  CHECK(r->emulation_writes == (200 * kBs + 256 * 1024 - 1) / (256 * 1024));
  // Nothing can be allocated at all: a clear error, nothing written.
  dev->copy_engine().set_allocation_limit_for_testing(0);
  auto before = snapshot(*dev);
  auto bad = dev->copy(req);
  REQUIRE_FALSE(bad);
  CHECK(bad.error().sys_errno == ENOMEM);
  CHECK(testing::same_bytes(snapshot(*dev), before));
}

TEST_CASE("engine options are validated") {
  auto dev = memory(16);
  CHECK_FALSE(dev->copy_engine().set_options({.queue_depth = 0}));
  CHECK_FALSE(dev->copy_engine().set_options({.queue_depth = 1, .emulation_buffer_bytes = 100}));
  CHECK(dev->copy_engine().set_options({.queue_depth = 1, .emulation_buffer_bytes = kBs}));
}

TEST_CASE("a power cut drops every change since the last flush") {
  auto inner = memory(64);
  FaultDevice dev(*inner);
  fill(dev, 1);
  REQUIRE(dev.flush());
  auto durable = snapshot(dev);
  auto data = random_bytes(4 * kBs, 2);
  REQUIRE(dev.write(0, data));
  REQUIRE(dev.copy(CopyRequest{{{0, 4}}, 10}));
  REQUIRE(dev.discard(20, 2));
  CHECK(dev.unflushed_changes() == 10);
  dev.power_cut();
  CHECK_FALSE(dev.powered());
  auto s = dev.write(0, data);
  REQUIRE_FALSE(s);
  CHECK(s.error().code == Errc::kPowerCut);
  dev.power_on();
  CHECK(testing::same_bytes(snapshot(dev), durable));
}

TEST_CASE("flushed writes survive a power cut") {
  auto inner = memory(64);
  FaultDevice dev(*inner);
  auto a = random_bytes(2 * kBs, 3), b = random_bytes(2 * kBs, 4);
  REQUIRE(dev.write(0, a));
  REQUIRE(dev.flush());
  REQUIRE(dev.write(0, b));
  dev.power_cut();
  dev.power_on();
  std::vector<std::byte> back(2 * kBs);
  REQUIRE(dev.read(0, back));
  CHECK(testing::same_bytes(back, a));
}

TEST_CASE("a planned cut lands a torn prefix of the cut write") {
  auto inner = memory(64);
  FaultDevice dev(*inner);
  REQUIRE(dev.flush());
  auto data = random_bytes(8 * kBs, 5);
  dev.cut_power_after({.after_ops = 2, .torn = true, .seed = 77});
  REQUIRE(dev.write(40, random_bytes(kBs, 6)));  // op 1: lands, not flushed
  auto s = dev.write(0, data);                   // op 2: torn, then the cut
  REQUIRE_FALSE(s);
  CHECK(s.error().code == Errc::kPowerCut);
  dev.power_on();
  auto image = snapshot(dev);
  // Block 40 was not flushed: gone. The torn write kept a strict non-empty prefix.
  CHECK(std::all_of(image.begin() + 40 * kBs, image.begin() + 41 * kBs,
                    [](std::byte x) { return x == std::byte{0}; }));
  size_t kept = 0;
  while (kept < 8 && std::equal(data.begin() + static_cast<ptrdiff_t>(kept * kBs),
                                data.begin() + static_cast<ptrdiff_t>((kept + 1) * kBs),
                                image.begin() + static_cast<ptrdiff_t>(kept * kBs))) {
    ++kept;
  }
  CHECK(kept >= 1);
  CHECK(kept < 8);
  for (size_t i = kept; i < 8; ++i) {
    CHECK(std::all_of(image.begin() + static_cast<ptrdiff_t>(i * kBs),
                      image.begin() + static_cast<ptrdiff_t>((i + 1) * kBs),
                      [](std::byte x) { return x == std::byte{0}; }));
  }
}

TEST_CASE("fault rules match by operation, block range, skip and count") {
  auto inner = memory(64);
  FaultDevice dev(*inner);
  FaultRule rule;
  rule.ops = kFaultWrite;
  rule.first_lba = 10;
  rule.last_lba = 12;
  rule.skip = 1;
  rule.count = 2;
  dev.add_rule(rule);
  std::vector<std::byte> block(kBs);
  CHECK(dev.write(0, block));   // outside the range
  CHECK(dev.write(10, block));  // skipped
  CHECK_FALSE(dev.write(12, block));
  CHECK(dev.read(10, block));                                  // reads are not matched
  CHECK_FALSE(dev.write(9, std::vector<std::byte>(2 * kBs)));  // touches block 10
  CHECK(dev.write(11, block));                                 // rule spent
  CHECK(dev.faults_injected() == 2);
}

}  // namespace
}  // namespace f2sc::blockdev

namespace f2sc::blockdev {
namespace {

TEST_CASE("zero-length requests complete at once on every device kind") {
  for (const char* uri : {"mem:1M", "nvme-emu:mem:1M"}) {
    INFO(uri);
    auto d = open_device(uri);
    REQUIRE(d);
    auto& dev = **d;
    FaultDevice fault(dev);
    for (BlockDevice* target : {&dev, static_cast<BlockDevice*>(&fault)}) {
      std::vector<std::byte> none;
      CHECK(target->read(0, none));
      CHECK(target->write(0, none));
      CHECK(target->discard(0, 0));
      std::promise<Status> r, w, x;
      target->read_async(5, none, [&](Status s) { r.set_value(s); });
      target->write_async(5, none, [&](Status s) { w.set_value(s); });
      target->discard_async(5, 0, [&](Status s) { x.set_value(s); });
      CHECK(r.get_future().get());
      CHECK(w.get_future().get());
      CHECK(x.get_future().get());
    }
    CHECK(dev.stats().read_commands == 0);
    CHECK(dev.stats().write_commands == 0);
  }
}

TEST_CASE("a partial copy command counts the blocks it copied inside the device") {
  auto inner = memory(64);
  FaultDevice dev(*inner);
  FaultRule rule;
  rule.ops = kFaultCopy;
  rule.count = 1;
  rule.copy_ranges_done = 1;
  dev.add_rule(rule);
  auto r = dev.copy(CopyRequest{{{10, 3}, {20, 3}}, 40});
  REQUIRE(r);
  CHECK(r->blocks_offloaded == 3);
  CHECK(dev.stats().blocks_copied_in_device == 3);
  CHECK(dev.stats().failed_commands == 1);
}

TEST_CASE("a device forced to emulate makes the devices stacked on it emulate") {
  auto parent = memory(128);
  auto part = PartitionDevice::create(*parent, 0, 64);
  REQUIRE(part);
  REQUIRE((*part)->offload_enabled());
  REQUIRE(parent->set_copy_offload(false));  // after the partition was made
  CHECK_FALSE((*part)->offload_enabled());
  auto r = (*part)->copy(CopyRequest{{{0, 4}}, 10});
  REQUIRE(r);
  CHECK(r->blocks_emulated == 4);
  CHECK(r->emulation_reason == "copy_offload is off below this device");
  CHECK(parent->stats().copy_commands == 0);
  // Two partitions of a parent that emulates: copy_between emulates too.
  auto other = PartitionDevice::create(*parent, 64, 64);
  REQUIRE(other);
  auto x = copy_between(**part, CopyRequest{{{0, 4}}, 0}, **other);
  REQUIRE(x);
  CHECK(x->blocks_emulated == 4);
  CHECK(parent->stats().copy_commands == 0);
  FaultDevice fault(*parent);
  CHECK_FALSE(fault.offload_enabled());
}

TEST_CASE("copy engine queue depth and async threads are bounded") {
  auto dev = memory(16);
  CHECK_FALSE(dev->copy_engine().set_options({.queue_depth = kMaxQueueDepth + 1}));
  CHECK(dev->copy_engine().set_options({.queue_depth = kMaxQueueDepth}));
  CHECK_FALSE(dev->copy_engine().set_options({.queue_depth = 4, .async_threads = 0}));
}

}  // namespace
}  // namespace f2sc::blockdev
