// The copy engine rejects bad requests with a distinct error before writing anything.
#include <future>

#include <catch2/catch.hpp>

#include "blockdev/copy_engine.h"
#include "blockdev/memory_device.h"
#include "tests/support/copy_test_util.h"

namespace f2sc::blockdev {
namespace {

using testing::fill;
using testing::snapshot;

std::unique_ptr<MemoryDevice> make_device(bool offload) {
  auto dev = MemoryDevice::create({.block_size = 4096, .block_count = 64});
  REQUIRE(dev);
  REQUIRE((*dev)->set_copy_offload(offload));
  return std::move(*dev);
}

struct BadCase {
  const char* name;
  CopyRequest request;
  Errc expected;
};

TEST_CASE("every invalid copy request fails with its own error and writes nothing") {
  const uint64_t kMax = UINT64_MAX;
  std::vector<BadCase> cases = {
      {"no ranges", CopyRequest{{}, 10}, Errc::kNoRanges},
      {"empty range", CopyRequest{{{0, 2}, {4, 0}}, 10}, Errc::kEmptyRange},
      {"source past the end", CopyRequest{{{60, 5}}, 0}, Errc::kOutOfRange},
      {"source starting past the end", CopyRequest{{{64, 1}}, 0}, Errc::kOutOfRange},
      {"destination past the end", CopyRequest{{{0, 4}}, 61}, Errc::kOutOfRange},
      {"source address overflow", CopyRequest{{{kMax - 1, 4}}, 0}, Errc::kAddressOverflow},
      {"destination address overflow", CopyRequest{{{0, 4}}, kMax - 2}, Errc::kAddressOverflow},
      {"source longer than the device", CopyRequest{{{0, kMax}}, 0}, Errc::kOutOfRange},
      {"source overlaps destination start", CopyRequest{{{8, 4}}, 10}, Errc::kOverlap},
      {"source overlaps destination end", CopyRequest{{{0, 2}, {13, 4}}, 10}, Errc::kOverlap},
      {"source inside destination", CopyRequest{{{20, 2}, {0, 10}}, 15}, Errc::kOverlap},
      {"source equals destination", CopyRequest{{{5, 3}}, 5}, Errc::kOverlap},
  };
  for (bool offload : {true, false}) {
    auto dev = make_device(offload);
    fill(*dev, 7);
    const auto before = snapshot(*dev);
    for (const BadCase& c : cases) {
      INFO(c.name << (offload ? " (offload)" : " (emulation)"));
      dev->reset_stats();
      auto r = dev->copy(c.request);
      REQUIRE_FALSE(r);
      CHECK(r.error().code == c.expected);
      CHECK_FALSE(r.error().message.empty());
      // No command reached the device.
      CHECK(dev->stats().write_commands == 0);
      CHECK(dev->stats().copy_commands == 0);
      CHECK(testing::same_bytes(snapshot(*dev), before));
    }
  }
}

TEST_CASE("validation messages name the offending range and the values") {
  auto r = validate_copy(CopyRequest{{{0, 1}, {9, 3}}, 10}, 64);
  REQUIRE_FALSE(r);
  CHECK(r.error().message == "source range 1 [9, +3) overlaps the destination [10, +4)");
  r = validate_copy(CopyRequest{{{60, 5}}, 0}, 64);
  REQUIRE_FALSE(r);
  CHECK(r.error().message == "source range 0 [60, +5) ends past the device (64 blocks)");
}

TEST_CASE("boundary requests are valid: last block, adjacent to destination") {
  CHECK(validate_copy(CopyRequest{{{63, 1}}, 0}, 64));
  CHECK(validate_copy(CopyRequest{{{0, 1}}, 63}, 64));
  // Sources [0,10) and [22,24) touch the destination [10,22) on both sides.
  CHECK(validate_copy(CopyRequest{{{0, 10}, {22, 2}}, 10}, 64));
}

TEST_CASE("async copy reports validation errors through the callback") {
  auto dev = make_device(true);
  std::promise<Result<CopyResult>> p;
  dev->copy_async(CopyRequest{{}, 0}, [&](Result<CopyResult> r) { p.set_value(std::move(r)); });
  auto r = p.get_future().get();
  REQUIRE_FALSE(r);
  CHECK(r.error().code == Errc::kNoRanges);
}

TEST_CASE("read and write reject misaligned buffers and out-of-range addresses") {
  auto dev = make_device(true);
  std::vector<std::byte> buf(4096 + 1);
  auto s = dev->read(0, buf);
  REQUIRE_FALSE(s);
  CHECK(s.error().code == Errc::kMisaligned);
  std::vector<std::byte> block(4096);
  s = dev->write(64, block);
  REQUIRE_FALSE(s);
  CHECK(s.error().code == Errc::kOutOfRange);
  s = dev->discard(UINT64_MAX, 2);
  REQUIRE_FALSE(s);
  CHECK(s.error().code == Errc::kAddressOverflow);
  CHECK(dev->stats().write_commands == 0);
  CHECK(dev->stats().read_commands == 0);
}

}  // namespace
}  // namespace f2sc::blockdev
