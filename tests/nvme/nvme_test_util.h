// Helpers for nvme tests: controllers over memory or a temporary file, synchronous Read,
// Write and Copy commands, and seeded data.
#pragma once

#include <fcntl.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "tests/support/temp_file.h"

#include "nvme/emulated_controller.h"

namespace f2sc::nvme::testing {

inline std::vector<std::byte> random_bytes(size_t n, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::vector<std::byte> out(n);
  for (size_t i = 0; i < n; ++i) out[i] = std::byte(rng() & 0xff);
  return out;
}

using TempImage = f2sc::testing::TempFile;

inline std::unique_ptr<EmulatedController> memory_controller(EmulatedControllerOptions o) {
  if (o.memory_bytes == 0) o.memory_bytes = uint64_t{1} << 20;
  auto c = EmulatedController::create(o);
  REQUIRE(c);
  return std::move(*c);
}

using Range = CopySource;

inline Completion copy(Controller& c, const std::vector<Range>& ranges, uint64_t sdlba,
                       uint8_t fmt = 0, unsigned queue = 0) {
  CopyFields f;
  f.sdlba = sdlba;
  f.nr = static_cast<uint8_t>(ranges.size() - 1);
  f.desfmt = fmt;
  SubmissionEntry e;
  e.nsid = c.nsid();
  f.encode(e);
  auto buf = encode_source_ranges(ranges, fmt);
  auto r = c.execute(queue, e, buf);
  REQUIRE(r);
  return *r;
}

inline Completion write(Controller& c, uint64_t slba, std::vector<std::byte> data, uint32_t bs) {
  auto e = make_rw(IoOpcode::kWrite, c.nsid(), slba, static_cast<uint32_t>(data.size() / bs));
  auto r = c.execute(0, e, data);
  REQUIRE(r);
  return *r;
}

inline std::vector<std::byte> read(Controller& c, uint64_t slba, uint32_t blocks, uint32_t bs) {
  std::vector<std::byte> out(uint64_t{blocks} * bs);
  for (uint32_t at = 0; at < blocks; at += 64) {  // within any MDTS we configure
    uint32_t n = std::min(64u, blocks - at);
    auto r = c.execute(0, make_rw(IoOpcode::kRead, c.nsid(), slba + at, n),
                       std::span(out).subspan(uint64_t{at} * bs, uint64_t{n} * bs));
    REQUIRE(r);
    REQUIRE(r->status.ok());
  }
  return out;
}

}  // namespace f2sc::nvme::testing
