// The dentry hash against values that f2fs-tools wrote: sload.f2fs 1.15 built a directory
// with these names and the hashes were read back from its dentry slots.
#include <catch2/catch.hpp>

#include "fs/dentry_hash.h"

namespace f2sc::fs {
namespace {

TEST_CASE("dentry hash matches what sload.f2fs writes") {
  CHECK(dentry_hash("a") == 0x6d0ea4c1u);
  CHECK(dentry_hash("hello") == 0x6f5bb1a8u);
  CHECK(dentry_hash("caf\xc3\xa9") == 0x6621f033u);                // bytes >= 0x80
  CHECK(dentry_hash("\xff\xfe") == 0xbca86311u);                   // bytes are unsigned
  CHECK(dentry_hash("some-longer-file-name.txt") == 0x088d0760u);  // two 16-byte blocks
  CHECK(dentry_hash("x123456789abcdef0") == 0x87b89c38u);          // 16 + 1 bytes
}

TEST_CASE("dot and dot-dot hash to zero") {
  CHECK(dentry_hash(".") == 0);
  CHECK(dentry_hash("..") == 0);
  CHECK(dentry_hash("...") != 0);
}

}  // namespace
}  // namespace f2sc::fs
