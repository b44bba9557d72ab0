// The shadow model: content is reproducible, hashes are checked, failed writes accept
// either version.
#include <catch2/catch.hpp>

#include "tools/f2sc-stress/shadow.h"

namespace f2sc::stress {
namespace {

TEST_CASE("generated blocks verify and one flipped byte is caught with its offset") {
  ShadowFile f;
  f.id = 3;
  f.name = "stress-000003";
  std::vector<std::byte> buf(8 * kBlockBytes);
  std::vector<uint64_t> hashes;
  generate(99, f, 0, buf, &hashes);
  CHECK(f.hashes.empty());  // nothing committed yet
  commit(f, 0, hashes);
  CHECK(f.size == 8 * kBlockBytes);
  std::vector<Mismatch> bad;
  CHECK(check_blocks(f, 0, buf, &bad) == 0);
  buf[5 * kBlockBytes + 77] ^= std::byte{1};
  CHECK(check_blocks(f, 0, buf, &bad) == 1);
  REQUIRE(bad.size() == 1);
  CHECK(bad[0].file == "stress-000003");
  CHECK(bad[0].offset == 5 * kBlockBytes);
  CHECK(bad[0].expected == f.hashes[5]);
  CHECK(bad[0].found != bad[0].expected);
  CHECK(describe(bad[0]).find("stress-000003: offset 20480 (block 5)") == 0);

  // A rewrite makes different content (a stale block cannot pass for the new one).
  std::vector<std::byte> again(kBlockBytes);
  std::vector<uint64_t> h2;
  generate(99, f, 2, again, &h2);
  CHECK(h2[0] != f.hashes[2]);
}

TEST_CASE("after a failed write either version of the block is accepted") {
  ShadowFile f;
  std::vector<std::byte> old_data(2 * kBlockBytes), new_data(3 * kBlockBytes);
  std::vector<uint64_t> h_old, h_new;
  generate(1, f, 0, old_data, &h_old);
  commit(f, 0, h_old);
  generate(1, f, 1, new_data, &h_new);  // blocks 1..3: past the end by two
  mark_uncertain(f, 1, h_new);
  CHECK(f.size == 2 * kBlockBytes);
  CHECK(f.size_max == 4 * kBlockBytes);
  std::vector<Mismatch> bad;
  CHECK(check_blocks(f, 0, old_data, &bad) == 0);
  CHECK(check_blocks(f, 1, new_data, &bad) == 0);
  // A successful write there settles it.
  commit(f, 1, h_new);
  CHECK(f.alt.empty());
  CHECK(check_blocks(f, 1, std::span<const std::byte>(old_data).subspan(kBlockBytes), &bad) == 1);
}

}  // namespace
}  // namespace f2sc::stress
