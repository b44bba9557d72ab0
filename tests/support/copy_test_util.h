// Helpers for copy tests (blockdev, nvme): seeded device contents, a reference model of
// NVMe Copy, and whole-device snapshots.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <random>
#include <vector>

#include <catch2/catch.hpp>

#include "blockdev/block_device.h"
#include "tests/support/temp_file.h"

namespace f2sc::blockdev::testing {

using f2sc::testing::TempFile;

inline std::vector<std::byte> random_bytes(size_t n, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::vector<std::byte> out(n);
  for (size_t i = 0; i < n; i += 8) {
    uint64_t v = rng();
    for (size_t j = 0; j < 8 && i + j < n; ++j) out[i + j] = std::byte(v >> (8 * j));
  }
  return out;
}

// Compares two images; on a mismatch reports the first differing byte instead of letting
// Catch print megabytes.
inline bool same_bytes(const std::vector<std::byte>& a, const std::vector<std::byte>& b) {
  if (a.size() != b.size()) {
    UNSCOPED_INFO("images differ in size: " << a.size() << " vs " << b.size());
    return false;
  }
  auto [ia, ib] = std::mismatch(a.begin(), a.end(), b.begin());
  if (ia == a.end()) return true;
  UNSCOPED_INFO("images differ first at byte " << (ia - a.begin()) << " (block "
                                               << (ia - a.begin()) / 4096 << " of 4096 bytes)");
  return false;
}

inline std::vector<std::byte> snapshot(BlockDevice& dev) {
  std::vector<std::byte> out(dev.size_bytes());
  REQUIRE(dev.read(0, out));
  return out;
}

inline void fill(BlockDevice& dev, uint64_t seed) {
  auto data = random_bytes(dev.size_bytes(), seed);
  REQUIRE(dev.write(0, data));
}

// What NVMe Copy does to `image` (sources never overlap the destination, so reading the
// sources from the original contents is exact).
inline void model_copy(std::vector<std::byte>& image, uint32_t bs, const CopyRequest& req) {
  const std::vector<std::byte> before = image;
  uint64_t dst = req.dst;
  for (const CopyRange& r : req.sources) {
    std::copy_n(before.begin() + static_cast<ptrdiff_t>(r.lba * bs), r.blocks * bs,
                image.begin() + static_cast<ptrdiff_t>(dst * bs));
    dst += r.blocks;
  }
}

// A random valid request on a device of `blocks` blocks: up to `max_ranges` ranges of up to
// `max_len` blocks, none overlapping the destination.
inline CopyRequest random_request(std::mt19937_64& rng, uint64_t blocks, unsigned max_ranges,
                                  uint64_t max_len) {
  for (;;) {
    CopyRequest req;
    unsigned n = 1 + rng() % max_ranges;
    uint64_t total = 0;
    for (unsigned i = 0; i < n; ++i) {
      uint64_t len = 1 + rng() % max_len;
      req.sources.push_back({rng() % (blocks - len + 1), len});
      total += len;
    }
    if (total >= blocks) continue;
    req.dst = rng() % (blocks - total + 1);
    bool overlap = false;
    for (const auto& r : req.sources) {
      overlap = overlap || (r.lba < req.dst + total && req.dst < r.lba + r.blocks);
    }
    if (!overlap) return req;
  }
}

}  // namespace f2sc::blockdev::testing
