// The xattr codec and list editing: byte layout against the F2FS format (Linux
// fs/f2fs/xattr.h), name prefixes, setxattr flags and the errno values f2fs returns.
#include <cerrno>
#include <cstring>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "fs/inode.h"
#include "fs/xattr.h"

namespace f2sc::fs {
namespace {

// The region of an inode with the default 50 inline xattr slots and an xattr node.
constexpr uint32_t kRegion = kDefaultInlineXattrAddrs * 4 + kXattrNodePayload;

std::vector<uint8_t> bytes(std::string_view s) {
  return {s.begin(), s.end()};
}

TEST_CASE("xattr region constants match Linux") {
  CHECK(kXattrHeaderSize == 24);     // magic, refcount, reserved[4]
  CHECK(kXattrNodePayload == 4072);  // VALID_XATTR_BLOCK_SIZE: 4096 - node footer
  CHECK(kRegion == 4272);
}

TEST_CASE("one entry is laid out as f2fs_xattr_entry") {
  std::vector<Xattr> xs;
  REQUIRE(set_xattr(xs, "user.foo", bytes("value_of_xattr"), 0));
  auto r = encode_xattrs(xs, kRegion);
  REQUIRE(r);
  const std::vector<uint8_t>& b = *r;
  REQUIRE(b.size() == kRegion);
  const uint8_t header[24] = {0x11, 0x20, 0xF5, 0xF2, 1, 0, 0, 0};  // le32 magic, refcount 1
  CHECK(std::memcmp(b.data(), header, 24) == 0);
  // index 1 (user), name length 3, value size 14 (le16), "foo", value; 4+3+14 = 21 -> 24.
  const uint8_t entry[] = {1,   3,   14,  0,   'f', 'o', 'o', 'v', 'a', 'l', 'u', 'e',
                           '_', 'o', 'f', '_', 'x', 'a', 't', 't', 'r', 0,   0,   0};
  CHECK(std::memcmp(b.data() + 24, entry, sizeof(entry)) == 0);
  // Terminator and zero padding after it.
  for (size_t i = 48; i < b.size(); ++i) CHECK(b[i] == 0);
}

TEST_CASE("prefixes map to Linux name indexes and back") {
  struct Case {
    const char* full;
    uint8_t index;
    const char* suffix;
  } cases[] = {
      {"user.a", 1, "a"},
      {"system.posix_acl_access", 2, ""},
      {"system.posix_acl_default", 3, ""},
      {"trusted.overlay.opaque", 4, "overlay.opaque"},
      {"security.selinux", 6, "selinux"},
  };
  for (const auto& c : cases) {
    auto s = split_xattr_name(c.full);
    REQUIRE(s);
    CHECK(s->first == c.index);
    CHECK(s->second == c.suffix);
    CHECK(full_xattr_name(Xattr{c.index, c.suffix, {}}) == c.full);
  }
  for (const char* bad : {"foo", "system.advise", "system.posix_acl_accessX", "User.x", "os2.x"}) {
    auto s = split_xattr_name(bad);
    REQUIRE(!s);
    CHECK(s.error().sys_errno == EOPNOTSUPP);
  }
  auto bare = split_xattr_name("user.");
  REQUIRE(!bare);
  CHECK(bare.error().sys_errno == EINVAL);
  auto empty = split_xattr_name("");
  REQUIRE(!empty);
  CHECK(empty.error().sys_errno == ERANGE);
  auto longest = split_xattr_name("user." + std::string(250, 'n'));
  CHECK(longest);
  auto too_long = split_xattr_name("user." + std::string(251, 'n'));
  REQUIRE(!too_long);
  CHECK(too_long.error().sys_errno == ERANGE);
}

TEST_CASE("xattrs round-trip through the region") {
  std::vector<Xattr> xs;
  REQUIRE(set_xattr(xs, "user.a", bytes("1"), 0));
  REQUIRE(set_xattr(xs, "security.selinux", bytes("system_u:object_r:etc_t:s0"), 0));
  REQUIRE(set_xattr(xs, "trusted.empty", {}, 0));
  REQUIRE(set_xattr(xs, "system.posix_acl_access", bytes("\x01\0\0\0"), 0));
  REQUIRE(set_xattr(xs, "user." + std::string(250, 'x'), std::vector<uint8_t>(1000, 0xAB), 0));
  auto r = encode_xattrs(xs, kRegion);
  REQUIRE(r);
  auto back = parse_xattrs(*r);
  REQUIRE(back);
  REQUIRE(back->size() == xs.size());
  for (size_t i = 0; i < xs.size(); ++i) {
    CHECK((*back)[i].index == xs[i].index);
    CHECK((*back)[i].name == xs[i].name);
    CHECK((*back)[i].value == xs[i].value);
  }
  CHECK(list_xattrs(*back) == std::vector<std::string>{"user.a", "security.selinux",
                                                       "trusted.empty", "system.posix_acl_access",
                                                       "user." + std::string(250, 'x')});
  auto v = get_xattr(*back, "security.selinux");
  REQUIRE(v);
  CHECK(*v == bytes("system_u:object_r:etc_t:s0"));
  auto e = get_xattr(*back, "trusted.empty");
  REQUIRE(e);
  CHECK(e->empty());
}

TEST_CASE("an all-zero region is empty; a header alone is empty too") {
  std::vector<uint8_t> zero(kRegion, 0);
  auto p = parse_xattrs(zero);
  REQUIRE(p);
  CHECK(p->empty());
  auto enc = encode_xattrs({}, kRegion);
  REQUIRE(enc);
  auto q = parse_xattrs(*enc);
  REQUIRE(q);
  CHECK(q->empty());
  auto none = parse_xattrs({});
  REQUIRE(none);
  CHECK(none->empty());
}

TEST_CASE("setxattr flags, replace order and removal") {
  std::vector<Xattr> xs;
  REQUIRE(set_xattr(xs, "user.a", bytes("1"), kXattrCreate));
  REQUIRE(set_xattr(xs, "user.b", bytes("2"), 0));
  auto c = set_xattr(xs, "user.a", bytes("x"), kXattrCreate);
  REQUIRE(!c);
  CHECK(c.error().sys_errno == EEXIST);
  auto r = set_xattr(xs, "user.none", bytes("x"), kXattrReplace);
  REQUIRE(!r);
  CHECK(r.error().sys_errno == ENODATA);
  auto bad = set_xattr(xs, "user.a", bytes("x"), 4);
  REQUIRE(!bad);
  CHECK(bad.error().sys_errno == EINVAL);
  // Same value: nothing moves. A new value: the entry moves to the end, as Linux rewrites it.
  REQUIRE(set_xattr(xs, "user.a", bytes("1"), kXattrReplace));
  CHECK(list_xattrs(xs) == std::vector<std::string>{"user.a", "user.b"});
  REQUIRE(set_xattr(xs, "user.a", bytes("11"), kXattrReplace));
  CHECK(list_xattrs(xs) == std::vector<std::string>{"user.b", "user.a"});
  auto g = get_xattr(xs, "user.a");
  REQUIRE(g);
  CHECK(*g == bytes("11"));
  auto missing = get_xattr(xs, "user.zzz");
  REQUIRE(!missing);
  CHECK(missing.error().sys_errno == ENODATA);
  auto other_ns = get_xattr(xs, "trusted.a");  // same suffix, other index
  REQUIRE(!other_ns);
  CHECK(other_ns.error().sys_errno == ENODATA);
  REQUIRE(remove_xattr(xs, "user.b"));
  CHECK(list_xattrs(xs) == std::vector<std::string>{"user.a"});
  auto again = remove_xattr(xs, "user.b");
  REQUIRE(!again);
  CHECK(again.error().sys_errno == ENODATA);
  auto unknown = remove_xattr(xs, "foo.b");
  REQUIRE(!unknown);
  CHECK(unknown.error().sys_errno == EOPNOTSUPP);
  auto big = set_xattr(xs, "user.big", std::vector<uint8_t>(65536, 1), 0);
  REQUIRE(!big);
  CHECK(big.error().sys_errno == E2BIG);
}

TEST_CASE("a full region is E2BIG, as f2fs returns") {
  // Inline only (200 bytes): header 24 + terminator 4 leaves 172 bytes of entries.
  std::vector<Xattr> xs;
  REQUIRE(set_xattr(xs, "user.a", std::vector<uint8_t>(167, 1), 0));  // 4+1+167 = 172
  auto fits = encode_xattrs(xs, 200);
  REQUIRE(fits);
  CHECK(parse_xattrs(*fits));
  REQUIRE(set_xattr(xs, "user.a", std::vector<uint8_t>(168, 1), 0));  // 173 -> 176
  auto full = encode_xattrs(xs, 200);
  REQUIRE(!full);
  CHECK(full.error().code == Errc::kNoSpace);
  CHECK(full.error().sys_errno == E2BIG);
  // Many small ones in the whole region.
  std::vector<Xattr> many;
  int n = 0;
  while (true) {
    REQUIRE(set_xattr(many, "user.k" + std::to_string(n), std::vector<uint8_t>(60, 2), 0));
    if (!encode_xattrs(many, kRegion)) break;
    ++n;
  }
  // Each entry: 4 + name ("k0".."k99": 2 or 3 bytes) + 60 -> 68; (4272 - 28) / 68 = 62.
  CHECK(n == 62);
}

TEST_CASE("entries may span the inline part and the node part") {
  std::vector<Xattr> xs;
  REQUIRE(set_xattr(xs, "user.first", std::vector<uint8_t>(150, 7), 0));   // 24 .. 184
  REQUIRE(set_xattr(xs, "user.second", std::vector<uint8_t>(100, 8), 0));  // 184 .. 296
  auto r = encode_xattrs(xs, kRegion);
  REQUIRE(r);
  CHECK((*r)[184] == 1);  // index of the second entry, in the inline part
  CHECK((*r)[200] == 8);  // its value continues into the node part
  auto back = parse_xattrs(*r);
  REQUIRE(back);
  REQUIRE(back->size() == 2);
  CHECK((*back)[1].value == std::vector<uint8_t>(100, 8));
}

TEST_CASE("a corrupt region is kCorrupt") {
  std::vector<Xattr> xs;
  REQUIRE(set_xattr(xs, "user.a", bytes("hello"), 0));
  auto r = encode_xattrs(xs, 200);
  REQUIRE(r);
  SECTION("bad magic") {
    (*r)[0] ^= 0xff;
    auto p = parse_xattrs(*r);
    REQUIRE(!p);
    CHECK(p.error().code == Errc::kCorrupt);
  }
  SECTION("value running past the region") {
    (*r)[24 + 2] = 0xff;  // value size 255 + 256 * 0 -> past 200 bytes
    auto p = parse_xattrs(*r);
    REQUIRE(!p);
    CHECK(p.error().code == Errc::kCorrupt);
  }
  SECTION("a header cut short") {
    std::vector<uint8_t> tiny = {0x11, 0x20, 0xF5, 0xF2};
    auto p = parse_xattrs(tiny);
    REQUIRE(!p);
    CHECK(p.error().code == Errc::kCorrupt);
  }
  SECTION("a list that fills the region to its end is still read (Linux writes those)") {
    std::vector<uint8_t> full(24 + 12, 0);
    full[0] = 0x11, full[1] = 0x20, full[2] = 0xF5, full[3] = 0xF2, full[4] = 1;
    full[24] = 1, full[25] = 1, full[26] = 7, full[28] = 'z';  // 4 + 1 + 7 = 12
    auto p = parse_xattrs(full);
    REQUIRE(p);
    REQUIRE(p->size() == 1);
    CHECK((*p)[0].name == "z");
    CHECK((*p)[0].value.size() == 7);
  }
}

}  // namespace
}  // namespace f2sc::fs
