// The read path against images written by the real tools: a random tree (fixed seed) goes
// through mkfs.f2fs + sload.f2fs, and FileSystemReader must give back every name, type,
// mode, owner, size, link count, mtime, symlink target and byte of the source tree.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <filesystem>
#include <map>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <catch2/catch.hpp>

#include "blockdev/uri.h"
#include "fs/reader.h"
#include "image_util.h"
#include "tree_gen.h"

namespace f2sc::fs {
namespace {

namespace stdfs = std::filesystem;
using testing::build_tree;
using testing::make_image;
using testing::TempDir;

struct Counts {
  uint64_t files = 0, dirs = 0, symlinks = 0, entries = 0, bytes = 0, hard_links = 0;
};

uint8_t expected_type(mode_t m) {
  if (S_ISREG(m)) return 1;
  if (S_ISDIR(m)) return 2;
  if (S_ISLNK(m)) return 7;
  return 0;
}

// The first `limit` bytes of a source file (all of it by default). Used from threads: no
// Catch assertions.
std::string read_source(const stdfs::path& p, size_t limit = SIZE_MAX) {
  FILE* f = std::fopen(p.c_str(), "rb");
  if (!f) return "<cannot open " + p.string() + ">";
  std::string s;
  char buf[65536];
  size_t n;
  while (s.size() < limit && (n = std::fread(buf, 1, sizeof buf, f)) > 0)
    s.append(buf, std::min(n, limit - s.size()));
  std::fclose(f);
  return s;
}

class Checker {
 public:
  explicit Checker(const FileSystemReader& r) : r_(r) {}

  void check(const stdfs::path& src, uint32_t ino, uint32_t parent_ino) {
    struct stat st;
    REQUIRE(::lstat(src.c_str(), &st) == 0);
    INFO("source " << src << " inode " << ino);
    auto attr = r_.getattr(ino);
    REQUIRE(attr);
    CHECK(attr->ino == ino);
    CHECK(attr->mode == st.st_mode);
    CHECK(attr->uid == st.st_uid);
    CHECK(attr->gid == st.st_gid);
    CHECK(attr->links == st.st_nlink);
    // sload.f2fs leaves the root inode as mkfs.f2fs made it (its mtime is mkfs time).
    if (ino != r_.root_ino()) CHECK(attr->mtime.sec == st.st_mtim.tv_sec);
    if (S_ISDIR(st.st_mode)) {
      ++c.dirs;
      check_dir(src, ino, parent_ino);
      return;
    }
    CHECK(attr->size == static_cast<uint64_t>(st.st_size));
    auto [it, fresh] = hard_.emplace(st.st_ino, ino);
    CHECK(it->second == ino);  // every name of one source inode maps to one image inode
    if (!fresh) {
      ++c.hard_links;
      return;
    }
    if (S_ISLNK(st.st_mode)) {
      ++c.symlinks;
      auto target = r_.readlink(ino);
      REQUIRE(target);
      CHECK(*target == stdfs::read_symlink(src).string());
      return;
    }
    REQUIRE(S_ISREG(st.st_mode));
    ++c.files;
    regular.emplace_back(src, ino);
    check_bytes(src, ino, static_cast<uint64_t>(st.st_size));
  }

  Counts c;
  std::vector<std::pair<stdfs::path, uint32_t>> regular;  // one name per regular file

 private:
  void check_dir(const stdfs::path& src, uint32_t ino, uint32_t parent_ino) {
    auto entries = r_.readdir(ino);
    REQUIRE(entries);
    auto again = r_.readdir(ino);
    REQUIRE(again);
    REQUIRE(again->size() == entries->size());
    std::map<std::string, DirEntryInfo> by_name;
    uint64_t last_pos = 0;
    for (size_t i = 0; i < entries->size(); ++i) {
      const DirEntryInfo& e = (*entries)[i];
      CHECK((*again)[i].name == e.name);  // stable order
      if (i > 0) CHECK(e.pos > last_pos);
      last_pos = e.pos;
      CHECK(by_name.emplace(e.name, e).second);  // no duplicates
    }
    REQUIRE(by_name.count("."));
    REQUIRE(by_name.count(".."));
    CHECK(by_name["."].ino == ino);
    CHECK(by_name[".."].ino == parent_ino);
    CHECK(*r_.lookup(ino, ".") == ino);
    CHECK(*r_.lookup(ino, "..") == parent_ino);
    std::set<std::string> src_names;
    for (const auto& de : stdfs::directory_iterator(src)) {
      const std::string name = de.path().filename().string();
      src_names.insert(name);
      ++c.entries;
      INFO("entry " << name);
      auto it = by_name.find(name);
      REQUIRE(it != by_name.end());
      auto found = r_.lookup_entry(ino, name);
      REQUIRE(found);
      CHECK(found->ino == it->second.ino);
      CHECK(found->pos == it->second.pos);
      struct stat st;
      REQUIRE(::lstat(de.path().c_str(), &st) == 0);
      CHECK(it->second.file_type == expected_type(st.st_mode));
      check(de.path(), it->second.ino, ino);
    }
    CHECK(by_name.size() == src_names.size() + 2);
  }

  void check_bytes(const stdfs::path& src, uint32_t ino, uint64_t size) {
    const std::string want = read_source(src);
    REQUIRE(want.size() == size);
    // Whole file in uneven chunks, so reads start and end inside blocks.
    std::string got(size, '\0');
    uint64_t off = 0;
    const size_t chunks[] = {1, 4095, 4096, 4097, 65536 + 13, 1 << 20};
    size_t k = ino % 6;
    while (off < size) {
      const size_t want_n = std::min<uint64_t>(chunks[k++ % 6], size - off);
      auto n = r_.read(ino, off, std::as_writable_bytes(std::span(got.data() + off, want_n)));
      REQUIRE(n);
      REQUIRE(*n == want_n);
      off += *n;
    }
    CHECK(got == want);
    c.bytes += size;
    // Reads at and past the end return 0; a read across the end is short.
    std::array<std::byte, 100> tail;
    CHECK(*r_.read(ino, size, tail) == 0);
    CHECK(*r_.read(ino, size + 5000, tail) == 0);
    if (size > 10) CHECK(*r_.read(ino, size - 10, tail) == 10);
  }

  const FileSystemReader& r_;
  std::map<ino_t, uint32_t> hard_;
};

// Loads the tree into an image made with `mkfs_options`, checks it all, and returns the
// reader's view of one large regular file for layout checks.
void read_back_tree(const std::string& mkfs_options, InodeView* sample) {
  TempDir tmp;
  const stdfs::path src = tmp.path() / "src";
  REQUIRE(stdfs::create_directory(src));
  const uint64_t logical = build_tree(src);
  const std::string img = (tmp.path() / "img").string();
  make_image(src, img, 384ull << 20, mkfs_options);

  auto dev = blockdev::open_device(img);  // the in-process NVMe controller
  REQUIRE(dev);
  auto reader = FileSystemReader::open(**dev);
  REQUIRE(reader);
  const FileSystemReader& r = **reader;
  Checker ch(r);
  ch.check(src, r.root_ino(), r.root_ino());
  const Counts& c = ch.c;
  std::fprintf(stderr,
               "sload tree [%s]: %llu files, %llu dirs, %llu symlinks, %llu extra hard links, %llu "
               "entries, %llu bytes compared (tree logical size %llu)\n",
               mkfs_options.c_str(), (unsigned long long)c.files, (unsigned long long)c.dirs,
               (unsigned long long)c.symlinks, (unsigned long long)c.hard_links,
               (unsigned long long)c.entries, (unsigned long long)c.bytes,
               (unsigned long long)logical);
  CHECK(c.bytes == logical);
  CHECK(c.entries > 2700);

  // The big directory needs several hash levels.
  auto big = r.resolve("/big");
  REQUIRE(big);
  auto big_attr = r.getattr(*big);
  REQUIRE(big_attr);
  CHECK(big_attr->current_depth >= 3);

  {  // concurrent readers on one FileSystemReader
    // Catch assertions are not thread safe: threads count, the test thread checks.
    std::atomic<int> mismatches{0}, failures{0}, reads{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t) {
      threads.emplace_back([&, t] {
        std::mt19937 g(t);
        for (int i = 0; i < 150; ++i) {
          const auto& [path, ino] = ch.regular[g() % ch.regular.size()];
          const std::string want = read_source(path, 256u << 10);  // a prefix of big files
          std::string got(want.size(), '\0');
          auto n = r.read(ino, 0, std::as_writable_bytes(std::span(got)));
          auto a = r.getattr(ino);
          auto back = r.resolve(path.lexically_relative(src).string());
          if (!n || !a || !back) {
            ++failures;
            continue;
          }
          if (*n != want.size() || got != want || *back != ino) ++mismatches;
          ++reads;
        }
      });
    }
    for (auto& th : threads) th.join();
    CHECK(failures == 0);
    CHECK(mismatches == 0);
    CHECK(reads == 600);
  }

  {  // errno-style errors
    auto file = r.resolve("edge_3488");
    REQUIRE(file);
    auto e1 = r.lookup(r.root_ino(), "no such name");
    REQUIRE(!e1);
    CHECK(e1.error().sys_errno == ENOENT);
    auto e2 = r.lookup(*file, "x");
    REQUIRE(!e2);
    CHECK(e2.error().sys_errno == ENOTDIR);
    auto e3 = r.read(*big, 0, std::span<std::byte>());
    REQUIRE(!e3);
    CHECK(e3.error().sys_errno == EISDIR);
    auto e4 = r.readlink(*file);
    REQUIRE(!e4);
    CHECK(e4.error().sys_errno == EINVAL);
    auto e5 = r.lookup(r.root_ino(), std::string(256, 'a'));
    REQUIRE(!e5);
    CHECK(e5.error().sys_errno == ENAMETOOLONG);
    auto e6 = r.readdir(*file);
    REQUIRE(!e6);
    CHECK(e6.error().sys_errno == ENOTDIR);
    auto e7 = r.resolve("/edge_3488/x");
    REQUIRE(!e7);
    CHECK(e7.error().sys_errno == ENOTDIR);
    auto big_node = r.inode(*r.resolve("sparse_5m"))->nid(0);  // its first direct node
    auto e9 = r.getattr(big_node);
    REQUIRE(!e9);
    CHECK(e9.error().sys_errno == ENOENT);
    auto e8 = r.getattr(r.nodes().max_nid() - 1);  // a nid nothing uses
    REQUIRE(!e8);
    CHECK(e8.error().sys_errno == ENOENT);
  }
  auto big_file = r.resolve("sparse_5m");
  REQUIRE(big_file);
  auto v = r.inode(*big_file);
  REQUIRE(v);
  *sample = *v;
}

TEST_CASE("reader reads back a random tree loaded by sload.f2fs") {
  InodeView v;
  read_back_tree("", &v);
  // Default features: sload.f2fs sets F2FS_INLINE_XATTR on every inode, no extra attributes.
  CHECK(v.extra_slots == 0);
  CHECK(v.inline_xattr_slots == 50);
  CHECK(v.addrs_per_inode == 873);
}

// sload.f2fs 1.15 cannot make sound images with more: with flexible_inline_xattr it leaves
// i_inline_xattr_size = 0 on many inodes, with inode_checksum it leaves bad checksums, and
// in both cases its own closing fsck fails.
TEST_CASE("reader reads back a tree on an image with extra_attr") {
  InodeView v;
  read_back_tree("-O extra_attr", &v);
  // sload.f2fs sizes i_extra_isize to the enabled features: 4 bytes here (the isize and
  // inline xattr size fields), one slot; the default 50 inline xattr slots stay.
  CHECK((v.attr.inline_flags & kExtraAttr));
  CHECK(v.extra_slots == 1);
  CHECK(v.inline_xattr_slots == 50);
  CHECK(v.addrs_per_inode == 872);
  CHECK(v.max_inline() == 3484);
}

}  // namespace
}  // namespace f2sc::fs