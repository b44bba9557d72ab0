// node_path() at every level boundary, and its inverse first_block_of_node().
#include <random>

#include <catch2/catch.hpp>

#include "fs/node_path.h"

namespace f2sc::fs {
namespace {

constexpr uint32_t kInodeAddrs = 923;  // no inline xattr
constexpr uint64_t kD = kAddrsPerBlock, kI = kD * kNidsPerBlock;

TEST_CASE("blocks in the inode are level 0") {
  auto p = node_path(922, kInodeAddrs);
  REQUIRE(p);
  CHECK(p->level == 0);
  CHECK(p->offset[0] == 922);
}

TEST_CASE("the first and last block of each level") {
  struct Case {
    uint64_t block;
    int level;
    std::array<uint32_t, 4> offset, node_offset;
  };
  const uint64_t base = kInodeAddrs;
  for (const Case& c : {
           Case{base, 1, {0, 0, 0, 0}, {0, 1, 0, 0}},
           Case{base + kD - 1, 1, {0, 1017, 0, 0}, {0, 1, 0, 0}},
           Case{base + kD, 1, {1, 0, 0, 0}, {0, 2, 0, 0}},
           Case{base + 2 * kD, 2, {2, 0, 0, 0}, {0, 3, 4, 0}},
           Case{base + 2 * kD + kI - 1, 2, {2, 1017, 1017, 0}, {0, 3, 1021, 0}},
           Case{base + 2 * kD + kI, 2, {3, 0, 0, 0}, {0, 1022, 1023, 0}},
           Case{base + 2 * kD + 2 * kI - 1, 2, {3, 1017, 1017, 0}, {0, 1022, 2040, 0}},
           Case{base + 2 * kD + 2 * kI, 3, {4, 0, 0, 0}, {0, 2041, 2042, 2043}},
           Case{base + 2 * kD + 3 * kI, 3, {4, 1, 0, 0}, {0, 2041, 3061, 3062}},
       }) {
    INFO("block " << c.block);
    auto p = node_path(c.block, kInodeAddrs);
    REQUIRE(p);
    CHECK(p->level == c.level);
    CHECK(p->offset == c.offset);
    CHECK(p->node_offset == c.node_offset);
  }
}

TEST_CASE("a block past the largest file is an error") {
  const uint64_t max = max_file_blocks(kInodeAddrs);
  CHECK(node_path(max - 1, kInodeAddrs));
  auto p = node_path(max, kInodeAddrs);
  REQUIRE_FALSE(p);
  CHECK(p.error().code == Errc::kOutOfRange);
}

TEST_CASE("first_block_of_node inverts node_path for direct nodes") {
  for (uint32_t addrs : {923u, 873u}) {  // without and with inline xattr space
    std::mt19937_64 rng(addrs);
    const uint64_t max = max_file_blocks(addrs);
    for (int i = 0; i < 20000; ++i) {
      uint64_t block = i < 10000 ? rng() % (addrs + 2 * kD + 2 * kI + 10 * kD) : rng() % max;
      auto p = node_path(block, addrs);
      REQUIRE(p);
      const uint32_t leaf = p->node_offset[p->level];
      REQUIRE(is_direct_node_offset(leaf));
      auto first = first_block_of_node(leaf, addrs);
      REQUIRE(first);
      CHECK(*first + p->offset[p->level] == block);
      for (int k = 1; k < p->level; ++k) CHECK_FALSE(is_direct_node_offset(p->node_offset[k]));
    }
  }
}

TEST_CASE("indirect node offsets are not direct nodes") {
  for (uint32_t n : {3u, 1022u, 2041u, 2042u, 2042u + 1019u}) {
    INFO(n);
    CHECK_FALSE(is_direct_node_offset(n));
    CHECK_FALSE(first_block_of_node(n, kInodeAddrs));
  }
  CHECK(is_direct_node_offset(2043));
}

}  // namespace
}  // namespace f2sc::fs
