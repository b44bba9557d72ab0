// split_copy() respects every queue limit exactly at its edge and one over.
#include <catch2/catch.hpp>
#include <random>

#include "blockdev/copy_engine.h"

namespace f2sc::blockdev {
namespace {

// Every command within limits, sources in order, destinations advancing contiguously.
void check_commands(const CopyRequest& req, const CopyLimits& l,
                    const std::vector<CopyCommand>& cmds) {
  // Flatten both sides to per-block source addresses and compare.
  std::vector<uint64_t> want, got;
  for (const auto& r : req.sources)
    for (uint64_t i = 0; i < r.blocks; ++i) want.push_back(r.lba + i);
  uint64_t dst = req.dst;
  for (const auto& c : cmds) {
    CHECK(c.dst == dst);
    CHECK(!c.sources.empty());
    CHECK(c.sources.size() <= l.max_copy_nr_ranges);
    CHECK(c.total_blocks() <= l.max_copy_sectors);
    for (const auto& r : c.sources) {
      CHECK(r.blocks >= 1);
      CHECK(r.blocks <= l.max_copy_range_sectors);
      for (uint64_t i = 0; i < r.blocks; ++i) got.push_back(r.lba + i);
    }
    dst += c.total_blocks();
  }
  CHECK(got == want);
}

TEST_CASE("a request exactly at every limit is one command") {
  CopyLimits l{8, 2, 4};
  CopyRequest req{{{0, 4}, {100, 4}}, 1000};
  auto cmds = split_copy(req, l);
  REQUIRE(cmds.size() == 1);
  CHECK(cmds[0].sources.size() == 2);
  check_commands(req, l, cmds);
}

TEST_CASE("a range one block over max_copy_range_sectors becomes two entries") {
  CopyLimits l{100, 10, 4};
  CopyRequest req{{{0, 5}}, 1000};
  auto cmds = split_copy(req, l);
  REQUIRE(cmds.size() == 1);
  REQUIRE(cmds[0].sources.size() == 2);
  CHECK(cmds[0].sources[0] == CopyRange{0, 4});
  CHECK(cmds[0].sources[1] == CopyRange{4, 1});
  check_commands(req, l, cmds);
}

TEST_CASE("one range over max_copy_nr_ranges becomes a second command") {
  CopyLimits l{100, 2, 100};
  CopyRequest req{{{0, 1}, {10, 1}, {20, 1}}, 1000};
  auto cmds = split_copy(req, l);
  REQUIRE(cmds.size() == 2);
  CHECK(cmds[0].sources.size() == 2);
  CHECK(cmds[1].sources.size() == 1);
  CHECK(cmds[1].dst == 1002);
  check_commands(req, l, cmds);
}

TEST_CASE("one block over max_copy_sectors becomes a second command") {
  CopyLimits l{8, 10, 100};
  CopyRequest req{{{0, 5}, {10, 4}}, 1000};
  auto cmds = split_copy(req, l);
  REQUIRE(cmds.size() == 2);
  CHECK(cmds[0].total_blocks() == 8);
  CHECK(cmds[1].sources.size() == 1);
  CHECK(cmds[1].sources[0] == CopyRange{13, 1});
  CHECK(cmds[1].dst == 1008);
  check_commands(req, l, cmds);
}

TEST_CASE("limits of 1 give one single-block command per block") {
  CopyLimits l{1, 1, 1};
  CopyRequest req{{{0, 3}, {50, 2}}, 1000};
  auto cmds = split_copy(req, l);
  REQUIRE(cmds.size() == 5);
  for (size_t i = 0; i < cmds.size(); ++i) {
    CHECK(cmds[i].sources.size() == 1);
    CHECK(cmds[i].sources[0].blocks == 1);
    CHECK(cmds[i].dst == 1000 + i);
  }
  check_commands(req, l, cmds);
}

TEST_CASE("random requests split within random limits keep order and content") {
  std::mt19937_64 rng(42);
  for (int iter = 0; iter < 500; ++iter) {
    CopyLimits l{1 + rng() % 64, static_cast<uint32_t>(1 + rng() % 8), 1 + rng() % 32};
    CopyRequest req;
    unsigned n = 1 + rng() % 12;
    for (unsigned i = 0; i < n; ++i) req.sources.push_back({rng() % 100000, 1 + rng() % 100});
    req.dst = 200000;
    INFO("iteration " << iter);
    check_commands(req, l, split_copy(req, l));
  }
}

}  // namespace
}  // namespace f2sc::blockdev
