// The directory writer against an in-memory DirStore: inline and block directories, the
// inline -> block conversion, hash levels, slot runs, removal and corruption. Every table the
// writer leaves is also read back with the read side (dentry_table_of_block, for_each_dentry)
// and each name checked to sit in the bucket its hash names.
#include <sys/stat.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <string>

#include <catch2/catch.hpp>

#include "blockdev/uri.h"
#include "fs/dentry_hash.h"
#include "fs/dir.h"
#include "fs/dir_write.h"
#include "fs/file_system.h"
#include "fs/inode.h"
#include "tests/fs/image_util.h"

namespace f2sc::fs {
namespace {

using segment::DirEntry;
using segment::kBlockSize;
using segment::kDentrySlots;

constexpr uint32_t kSelf = 7, kParent = 3;

// A store like the filesystem's: after each block write or punch it re-derives the view from
// the raw inode, so stale `attr` values in the writer would show.
class FakeStore : public DirStore {
 public:
  explicit FakeStore(InodeView v) : v_(std::move(v)) {}
  InodeView& dir() override { return v_; }
  Result<std::optional<Block>> read_block(uint64_t index) override {
    ++reads;
    auto it = blocks.find(index);
    if (it == blocks.end()) return std::optional<Block>{};
    return std::optional<Block>(it->second);
  }
  Status write_block(uint64_t index, const Block& data) override {
    if (fail_writes) return fail(Errc::kIoError, EIO, "injected write error");
    blocks[index] = data;
    ++writes;
    reparse();
    return {};
  }
  Status punch_block(uint64_t index) override {
    blocks.erase(index);
    punched.push_back(index);
    reparse();
    return {};
  }
  void reparse() {
    auto v = parse_inode(v_.node, v_.attr.ino, 0);
    REQUIRE(v);
    v_ = std::move(*v);
  }
  const segment::Inode& inode() const { return v_.node.i; }

  std::map<uint64_t, Block> blocks;
  std::vector<uint64_t> punched;
  int writes = 0, reads = 0;
  bool fail_writes = false;

 private:
  InodeView v_;
};

InodeView make_dir(bool inline_dentry, uint8_t dir_level = 0) {
  segment::NodeBlock n{};
  n.i.i_mode = S_IFDIR | 0755;
  n.i.i_links = 2;
  n.i.i_inline = kInlineXattr | (inline_dentry ? kInlineDentry : 0);
  n.i.i_dir_level = dir_level;
  n.i.i_current_depth = 1;
  auto v = parse_inode(n, kSelf, 0);
  REQUIRE(v);
  return *v;
}

// A fresh directory with "." and "..".
FakeStore new_dir(bool inline_dentry, uint8_t dir_level = 0) {
  FakeStore st(make_dir(inline_dentry, dir_level));
  REQUIRE(init_dir(st, kSelf, kParent));
  st.reparse();
  return st;
}

// A name unique to `i`, `len` bytes long (longer when `i` needs more digits).
std::string name_of(int i, size_t len) {
  std::string s = std::to_string(i);
  if (s.size() >= len) return s;
  s += "_";
  while (s.size() < len) s += static_cast<char>('a' + (s.size() * 7 + i) % 26);
  return s;
}

bool bit(const uint8_t* map, uint32_t nr) {
  return map[nr / 8] & (1u << (nr % 8));
}

// Reads every block with the read side and checks each name's bucket; returns name -> pos.
std::map<std::string, DirEntryInfo> read_back(FakeStore& st) {
  std::map<std::string, DirEntryInfo> out;
  const uint32_t depth = st.inode().i_current_depth, dl = st.inode().i_dir_level;
  for (auto& [b, blk] : st.blocks) {
    CHECK((b + 1) * kBlockSize <= st.inode().i_size);
    // Which level and bucket holds block b.
    std::optional<uint32_t> level;
    uint64_t bucket = 0;
    for (uint32_t l = 0; l < depth; ++l) {
      const uint64_t first = dir_block_index(l, dl, 0);
      const uint64_t end = dir_block_index(l + 1, dl, 0);
      if (b >= first && b < end) {
        level = l;
        bucket = (b - first) / bucket_blocks(l);
      }
    }
    REQUIRE(level);
    auto s = for_each_dentry(
        dentry_table_of_block(blk.data()), "block",
        [&](uint32_t slot, const DirEntry& de, std::string_view n) {
          if (n != "." && n != "..") {
            CHECK(de.hash_code == dentry_hash(n));
            CHECK(de.hash_code % dir_buckets(*level, dl) == bucket);
          } else {
            CHECK(de.hash_code == 0);
          }
          CHECK(out.count(std::string(n)) == 0);
          out[std::string(n)] = {std::string(n), de.ino, de.file_type, b * kDentrySlots + slot};
          return true;
        });
    REQUIRE(s);
  }
  return out;
}

TEST_CASE("init_dir writes . and .. inline, hash 0, slots 0 and 1") {
  FakeStore st = new_dir(true);
  CHECK(st.blocks.empty());
  CHECK(st.dir().has_inline_dentry());
  CHECK(st.inode().i_size == st.dir().max_inline());
  const DentryTable t = dentry_table_of_inline(st.dir());
  CHECK(t.slots == 182);
  CHECK(t.bitmap[0] == 0x03);
  DirEntry d0, d1;
  std::memcpy(&d0, &t.dentry[0], sizeof(d0));
  std::memcpy(&d1, &t.dentry[1], sizeof(d1));
  CHECK(d0.hash_code == 0);
  CHECK(d0.ino == kSelf);
  CHECK(d0.name_len == 1);
  CHECK(d0.file_type == segment::kFtDir);
  CHECK(d1.hash_code == 0);
  CHECK(d1.ino == kParent);
  CHECK(d1.name_len == 2);
  CHECK(std::memcmp(t.names, ".\0\0\0\0\0\0\0..", 10) == 0);
  auto l = dir_list(st);
  REQUIRE(l);
  REQUIRE(l->size() == 2);
  CHECK((*l)[0].name == ".");
  CHECK((*l)[0].pos == 0);
  CHECK((*l)[1].name == "..");
  CHECK((*l)[1].ino == kParent);
  CHECK((*l)[1].pos == 1);
  auto e = dir_is_empty(st);
  REQUIRE(e);
  CHECK(*e);
}

TEST_CASE("init_dir of a block directory fills block 0") {
  FakeStore st = new_dir(false);
  REQUIRE(st.blocks.count(0));
  CHECK(st.blocks.size() == 1);
  CHECK(st.inode().i_size == kBlockSize);
  CHECK(st.inode().i_current_depth == 1);
  const auto* db = reinterpret_cast<const segment::DentryBlock*>(st.blocks[0].data());
  CHECK(db->bitmap[0] == 0x03);
  CHECK(uint32_t{db->dentry[0].ino} == kSelf);  // copies: the dentry is packed
  CHECK(uint32_t{db->dentry[0].hash_code} == 0);
  CHECK(uint32_t{db->dentry[1].ino} == kParent);
  CHECK(uint8_t{db->dentry[1].file_type} == segment::kFtDir);
  auto f = dir_find(st, "..");
  REQUIRE(f);
  REQUIRE(*f);
  CHECK((*f)->ino == kParent);
  auto e = dir_is_empty(st);
  REQUIRE(e);
  CHECK(*e);
}

TEST_CASE("a full inline directory moves to block 0 slot for slot") {
  FakeStore st = new_dir(true);
  // 180 one-slot names fill the 182 inline slots.
  for (int i = 0; i < 180; ++i) REQUIRE(dir_add(st, name_of(i, 8), 100 + i, 1));
  CHECK(st.dir().has_inline_dentry());
  CHECK(st.inode().i_current_depth == 0);  // as f2fs_update_parent_metadata(dir, inode, 0)
  CHECK(st.blocks.empty());
  // Make a hole at slot 50 so the positions have a gap.
  auto r = dir_remove(st, name_of(48, 8));
  REQUIRE(r);
  CHECK(r->pos == 50);
  auto before = dir_list(st);
  REQUIRE(before);
  REQUIRE(before->size() == 181);
  // 9 bytes need 2 slots: no run of two free slots is left inline.
  REQUIRE(dir_add(st, "ninebytes", 999, 7));
  CHECK(!st.dir().has_inline_dentry());
  CHECK(st.inode().i_current_depth == 1);
  CHECK(st.inode().i_size == kBlockSize);
  CHECK(st.inode().i_inline == kInlineXattr);
  REQUIRE(st.blocks.count(0));
  // The inline area is zeroed (it now holds block addresses: all holes but block 0).
  const uint8_t* raw = reinterpret_cast<const uint8_t*>(&st.inode().i_addr[1]);
  CHECK(std::all_of(raw, raw + 3488, [](uint8_t b) { return b == 0; }));
  auto after = dir_list(st);
  REQUIRE(after);
  REQUIRE(after->size() == 182);
  for (const auto& e : *before) {
    auto it = std::find_if(after->begin(), after->end(),
                           [&](const DirEntryInfo& a) { return a.name == e.name; });
    REQUIRE(it != after->end());
    CHECK(it->pos == e.pos);
    CHECK(it->ino == e.ino);
  }
  auto f = dir_find(st, "ninebytes");
  REQUIRE(f);
  REQUIRE(*f);
  CHECK((*f)->pos == 182);  // first two-slot run of block 0
  CHECK((*f)->file_type == 7);
  const auto* db = reinterpret_cast<const segment::DentryBlock*>(st.blocks[0].data());
  CHECK(!bit(db->bitmap, 50));
  CHECK(bit(db->bitmap, 182));
  CHECK(bit(db->bitmap, 183));
  CHECK(!bit(db->bitmap, 184));
  read_back(st);
}

TEST_CASE("a failed conversion leaves the inline directory as it was") {
  FakeStore st = new_dir(true);
  for (int i = 0; i < 180; ++i) REQUIRE(dir_add(st, name_of(i, 8), 100 + i, 1));
  const segment::NodeBlock saved = st.dir().node;
  st.fail_writes = true;
  auto s = dir_add(st, "x", 1, 1);
  REQUIRE(!s);
  CHECK(s.error().sys_errno == EIO);
  CHECK(std::memcmp(&st.dir().node, &saved, sizeof(saved)) == 0);
}

TEST_CASE("thousands of names spread over hash levels, each where its hash says") {
  FakeStore st = new_dir(false);
  const int n = 6000;
  for (int i = 0; i < n; ++i) {
    const size_t len = 1 + (i * 37) % 60;
    REQUIRE(dir_add(st, name_of(i, len), 1000 + i, 1));
  }
  CHECK(st.inode().i_current_depth >= 4);
  const uint64_t last = st.blocks.rbegin()->first;
  CHECK(st.inode().i_size == (last + 1) * kBlockSize);
  auto back = read_back(st);
  CHECK(back.size() == n + 2);
  std::set<std::string> seen;
  for (int i = 0; i < n; ++i) {
    const std::string nm = name_of(i, 1 + (i * 37) % 60);
    REQUIRE(seen.insert(nm).second);
    auto f = dir_find(st, nm);
    REQUIRE(f);
    REQUIRE(*f);
    CHECK((*f)->ino == 1000u + i);
    REQUIRE(back.count(nm));
    CHECK(back[nm].pos == (*f)->pos);
  }
  auto l = dir_list(st);
  REQUIRE(l);
  CHECK(l->size() == n + 2);
  CHECK(std::is_sorted(l->begin(), l->end(),
                       [](const auto& a, const auto& b) { return a.pos < b.pos; }));
  auto missing = dir_find(st, "not-there");
  REQUIRE(missing);
  CHECK(!*missing);
}

TEST_CASE("names of 1, 8, 9 and 255 bytes take 1, 1, 2 and 32 slots") {
  for (bool inl : {true, false}) {
    FakeStore st = new_dir(inl);
    uint32_t want = 2;
    for (size_t len : {size_t{1}, size_t{8}, size_t{9}, size_t{255}}) {
      const std::string nm(len, static_cast<char>('a' + len % 26));
      REQUIRE(dir_add(st, nm, 50, 1));
      auto f = dir_find(st, nm);
      REQUIRE(f);
      REQUIRE(*f);
      CHECK((*f)->pos == want);
      want += static_cast<uint32_t>((len + 7) / 8);
    }
    const DentryTable t =
        inl ? dentry_table_of_inline(st.dir()) : dentry_table_of_block(st.blocks[0].data());
    for (uint32_t s = 0; s < t.slots; ++s) CHECK(bit(t.bitmap, s) == (s < want));
    auto l = dir_list(st);
    REQUIRE(l);
    CHECK(l->size() == 6);
    CHECK(l->back().name == std::string(255, 'a' + 255 % 26));
    const std::string too_long(256, 'x');
    auto s = dir_add(st, too_long, 1, 1);
    REQUIRE(!s);
    CHECK(s.error().sys_errno == ENAMETOOLONG);
    auto s2 = dir_add(st, "", 1, 1);
    REQUIRE(!s2);
    CHECK(s2.error().sys_errno == EINVAL);
    auto s3 = dir_add(st, "a/b", 1, 1);
    REQUIRE(!s3);
    CHECK(s3.error().sys_errno == EINVAL);
    auto s4 = dir_add(st, std::string("a\0b", 3), 1, 1);
    REQUIRE(!s4);
    CHECK(s4.error().sys_errno == EINVAL);
  }
}

TEST_CASE("remove frees every slot of the run and a re-add takes the same run") {
  for (bool inl : {true, false}) {
    FakeStore st = new_dir(inl);
    REQUIRE(dir_add(st, "a", 10, 1));
    const std::string big(100, 'b');  // 13 slots: 3..15
    REQUIRE(dir_add(st, big, 11, 1));
    REQUIRE(dir_add(st, "c", 12, 1));
    auto r = dir_remove(st, big);
    REQUIRE(r);
    CHECK(r->ino == 11);
    CHECK(r->pos == 3);
    const DentryTable t =
        inl ? dentry_table_of_inline(st.dir()) : dentry_table_of_block(st.blocks[0].data());
    for (uint32_t s = 3; s < 16; ++s) CHECK(!bit(t.bitmap, s));
    CHECK(bit(t.bitmap, 16));
    DirEntry d;
    std::memcpy(&d, &t.dentry[3], sizeof(d));
    CHECK(d.ino == 0);  // zeroed
    CHECK(t.names[3 * 8] == 0);
    auto gone = dir_find(st, big);
    REQUIRE(gone);
    CHECK(!*gone);
    const std::string other(97, 'z');  // 13 slots too
    REQUIRE(dir_add(st, other, 13, 1));
    auto f = dir_find(st, other);
    REQUIRE(f);
    REQUIRE(*f);
    CHECK((*f)->pos == 3);
    auto absent = dir_remove(st, "nope");
    REQUIRE(!absent);
    CHECK(absent.error().sys_errno == ENOENT);
  }
}

TEST_CASE("dir_list positions stay put while other names come and go") {
  FakeStore st = new_dir(false);
  for (int i = 0; i < 600; ++i) REQUIRE(dir_add(st, name_of(i, 12), 100 + i, 1));
  auto before = dir_list(st);
  REQUIRE(before);
  for (int i = 0; i < 600; i += 3) REQUIRE(dir_remove(st, name_of(i, 12)));
  auto after = dir_list(st);
  REQUIRE(after);
  CHECK(after->size() == before->size() - 200);
  std::map<std::string, uint64_t> pos;
  for (const auto& e : *before) pos[e.name] = e.pos;
  for (const auto& e : *after) CHECK(pos[e.name] == e.pos);
}

TEST_CASE("a dentry block left empty is punched; i_size stays") {
  FakeStore st = new_dir(false);
  // Fill level 0 (blocks 0 and 1) so names go to level 1 and beyond.
  int i = 0;
  while (st.inode().i_current_depth < 2) {
    REQUIRE(dir_add(st, name_of(i, 40), 100 + i, 1));
    ++i;
  }
  const uint64_t size = st.inode().i_size;
  // Remove every name of the highest block.
  const uint64_t top = st.blocks.rbegin()->first;
  REQUIRE(top >= 2);
  std::vector<std::string> names;
  REQUIRE(for_each_dentry(dentry_table_of_block(st.blocks[top].data()), "top",
                          [&](uint32_t, const DirEntry&, std::string_view n) {
                            names.emplace_back(n);
                            return true;
                          }));
  REQUIRE(!names.empty());
  for (const auto& n : names) REQUIRE(dir_remove(st, n));
  CHECK(st.blocks.count(top) == 0);
  CHECK(st.punched == std::vector<uint64_t>{top});
  CHECK(st.inode().i_size == size);
  read_back(st);
  auto e = dir_is_empty(st);
  REQUIRE(e);
  CHECK(!*e);
}

TEST_CASE("dir_set repoints an entry in place") {
  for (bool inl : {true, false}) {
    FakeStore st = new_dir(inl);
    REQUIRE(dir_add(st, "target", 20, 1));
    REQUIRE(dir_set(st, "target", 21, 2));
    REQUIRE(dir_set(st, "..", 99, segment::kFtDir));
    auto f = dir_find(st, "target");
    REQUIRE(f);
    REQUIRE(*f);
    CHECK((*f)->ino == 21);
    CHECK((*f)->file_type == 2);
    CHECK((*f)->pos == 2);
    auto dd = dir_find(st, "..");
    REQUIRE(dd);
    REQUIRE(*dd);
    CHECK((*dd)->ino == 99);
    auto s = dir_set(st, "absent", 1, 1);
    REQUIRE(!s);
    CHECK(s.error().sys_errno == ENOENT);
  }
}

TEST_CASE("dir_is_empty sees any entry past . and ..") {
  for (bool inl : {true, false}) {
    FakeStore st = new_dir(inl);
    REQUIRE(dir_add(st, "x", 20, 1));
    auto e = dir_is_empty(st);
    REQUIRE(e);
    CHECK(!*e);
    REQUIRE(dir_remove(st, "x"));
    e = dir_is_empty(st);
    REQUIRE(e);
    CHECK(*e);
  }
}

TEST_CASE("a directory with i_dir_level converts by rehashing") {
  FakeStore st = new_dir(true, 1);  // level 0 has 2 buckets: blocks 0-1 and 2-3
  for (int i = 0; i < 180; ++i) REQUIRE(dir_add(st, name_of(i, 8), 100 + i, 1));
  REQUIRE(dir_add(st, "the-last-one", 7, 1));
  CHECK(!st.dir().has_inline_dentry());
  CHECK(st.inode().i_current_depth == 1);
  auto back = read_back(st);  // every name in the bucket of its hash, dots in block 0
  CHECK(back.size() == 183);
  CHECK(back["."].pos == 0);
  CHECK(back[".."].pos == 1);
  CHECK(back.count("the-last-one"));
  bool second_bucket = false;
  for (auto& [b, blk] : st.blocks) second_bucket |= b >= 2;
  CHECK(second_bucket);
}

TEST_CASE("no room at the deepest level is ENOSPC, as Linux at depth 63") {
  FakeStore st = new_dir(false);
  st.dir().node.i.i_current_depth = 63;
  auto s = dir_add(st, "x", 1, 1);
  REQUIRE(!s);
  CHECK(s.error().code == Errc::kNoSpace);
  CHECK(s.error().sys_errno == ENOSPC);
}

TEST_CASE("a corrupt table is kCorrupt, not a crash") {
  SECTION("block entry with name_len 300") {
    FakeStore st = new_dir(false);
    REQUIRE(dir_add(st, "a", 10, 1));
    auto* db = reinterpret_cast<segment::DentryBlock*>(st.blocks[0].data());
    db->dentry[2].name_len = 300;
    auto f = dir_find(st, "a");
    REQUIRE(!f);
    CHECK(f.error().code == Errc::kCorrupt);
    auto l = dir_list(st);
    REQUIRE(!l);
    CHECK(l.error().code == Errc::kCorrupt);
    auto a = dir_add(st, "b", 11, 1);
    REQUIRE(!a);
    CHECK(a.error().code == Errc::kCorrupt);
    auto r = dir_remove(st, "a");
    REQUIRE(!r);
    CHECK(r.error().code == Errc::kCorrupt);
  }
  SECTION("inline entry running past the table") {
    FakeStore st = new_dir(true);
    const DentryTable t = dentry_table_of_inline(st.dir());
    auto* bm = const_cast<uint8_t*>(t.bitmap);
    bm[181 / 8] = static_cast<uint8_t>(bm[181 / 8] | (1u << (181 % 8)));
    DirEntry de{};
    de.name_len = 20;
    std::memcpy(const_cast<DirEntry*>(&t.dentry[181]), &de, sizeof(de));
    auto l = dir_list(st);
    REQUIRE(!l);
    CHECK(l.error().code == Errc::kCorrupt);
    auto a = dir_add(st, "b", 11, 1);
    REQUIRE(!a);
    CHECK(a.error().code == Errc::kCorrupt);
  }
  SECTION("i_current_depth above 63") {
    FakeStore st = new_dir(false);
    st.dir().node.i.i_current_depth = 64;
    auto f = dir_find(st, "a");
    REQUIRE(!f);
    CHECK(f.error().code == Errc::kCorrupt);
    auto a = dir_add(st, "b", 11, 1);
    REQUIRE(!a);
    CHECK(a.error().code == Errc::kCorrupt);
  }
  SECTION("not a directory") {
    FakeStore st = new_dir(false);
    st.dir().node.i.i_mode = S_IFREG | 0644;
    auto f = dir_find(st, "a");
    REQUIRE(!f);
    CHECK(f.error().sys_errno == ENOTDIR);
  }
}

// End to end: the FileSystem writes directories through this writer; fsck.f2fs (which checks
// each name's hash and bucket) must find the image clean, and a remount must read every name.
TEST_CASE("directories written through FileSystem pass fsck.f2fs") {
  testing::TempDir d;
  const std::string img = (d.path() / "img").string();
  std::ofstream(img).close();
  std::filesystem::resize_file(img, 256ull << 20);
  auto m = testing::run("mkfs.f2fs -f " + img);
  INFO(m.output);
  REQUIRE(m.status == 0);
  std::map<std::string, uint32_t> want;  // big/name -> ino
  uint32_t big = 0, small = 0;
  {
    auto dev = blockdev::open_device("file:" + img);
    REQUIRE(dev);
    auto f = FileSystem::mount(**dev);
    REQUIRE(f);
    const uint32_t root = (*f)->root_ino();
    auto b = (*f)->mkdir(root, "big", 0755, 0, 0);
    REQUIRE(b);
    big = b->ino;
    auto s = (*f)->mkdir(root, "small", 0755, 0, 0);  // stays inline
    REQUIRE(s);
    small = s->ino;
    for (int i = 0; i < 3000; ++i) {
      const std::string nm = name_of(i, 1 + (i * 53) % 255);
      auto c = (*f)->create(big, nm, 0644, 0, 0);
      REQUIRE(c);
      want[nm] = c->ino;
    }
    for (int i = 0; i < 3000; i += 3) {
      const std::string nm = name_of(i, 1 + (i * 53) % 255);
      REQUIRE((*f)->unlink(big, nm));
      want.erase(nm);
    }
    auto sub = (*f)->mkdir(big, "sub", 0755, 0, 0);
    REQUIRE(sub);
    want["sub"] = sub->ino;
    REQUIRE((*f)->create(small, "only", 0644, 0, 0));
    REQUIRE((*f)->rename(small, "only", big, "moved"));
    want["moved"] = 0;
    for (int i = 0; i < 30; ++i)
      REQUIRE((*f)->setxattr(big, "user.attr" + std::to_string(i), std::vector<uint8_t>(90, i)));
    REQUIRE((*f)->unmount());
  }
  auto c = testing::run("fsck.f2fs --dry-run " + img);
  INFO(c.output);
  CHECK(c.status == 0);
  CHECK(c.output.find("[Fail]") == std::string::npos);

  auto dev = blockdev::open_device("file:" + img);
  REQUIRE(dev);
  auto f = FileSystem::mount(**dev);
  REQUIRE(f);
  auto l = (*f)->readdir(big);
  REQUIRE(l);
  CHECK(l->size() == want.size() + 2);
  for (const auto& e : *l) {
    if (e.name == "." || e.name == "..") continue;
    REQUIRE(want.count(e.name));
    if (want[e.name]) CHECK(e.ino == want[e.name]);
  }
  auto ba = (*f)->getattr(big);
  REQUIRE(ba);
  CHECK(!(ba->inline_flags & kInlineDentry));  // converted
  CHECK(ba->current_depth >= 3);
  auto sa = (*f)->getattr(small);
  REQUIRE(sa);
  CHECK((sa->inline_flags & kInlineDentry));
  auto sl = (*f)->readdir(small);
  REQUIRE(sl);
  CHECK(sl->size() == 2);
  auto x = (*f)->getxattr(big, "user.attr29");
  REQUIRE(x);
  CHECK(*x == std::vector<uint8_t>(90, 29));
  auto xs = (*f)->listxattr(big);
  REQUIRE(xs);
  CHECK(xs->size() == 30);
  REQUIRE((*f)->unmount());
}

}  // namespace
}  // namespace f2sc::fs
