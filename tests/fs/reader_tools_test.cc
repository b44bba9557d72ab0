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

namespace f2sc::fs {
namespace {

namespace stdfs = std::filesystem;
using testing::make_image;
using testing::TempDir;

struct Gen {
  std::mt19937_64 rng{20261123};
  uint64_t below(uint64_t n) { return rng() % n; }
  uint64_t range(uint64_t lo, uint64_t hi) { return lo + below(hi - lo + 1); }

  // A name of `len` bytes: ASCII letters and 2- and 3-byte UTF-8 characters.
  std::string name(size_t len) {
    static const char* kUtf8[] = {"\xc3\xa9",     "\xc3\xbc",     "\xce\xbb",
                                  "\xe6\x97\xa5", "\xe2\x82\xac", "\xd0\x96"};
    std::string s;
    while (s.size() < len) {
      if (below(5) == 0) {
        std::string c = kUtf8[below(6)];
        if (s.size() + c.size() <= len) {
          s += c;
          continue;
        }
      }
      s += static_cast<char>('a' + below(26));
    }
    return s;
  }
  std::string unique_name(std::set<std::string>& used, size_t len) {
    for (;;) {
      std::string n = name(len);
      if (n != "." && n != ".." && used.insert(n).second) return n;
    }
  }
};

void write_file(const stdfs::path& p, const std::string& data) {
  FILE* f = std::fopen(p.c_str(), "wb");
  REQUIRE(f);
  REQUIRE(std::fwrite(data.data(), 1, data.size(), f) == data.size());
  REQUIRE(std::fclose(f) == 0);
}

std::string random_bytes(Gen& g, size_t n) {
  std::string s(n, '\0');
  for (size_t i = 0; i < n; ++i) s[i] = static_cast<char>(g.rng() & 0xff);
  return s;
}

// A sparse file of `size` bytes: `extents` random chunks written at random offsets,
// the rest left as holes by seeking.
void write_sparse(Gen& g, const stdfs::path& p, uint64_t size, int extents) {
  int fd = ::open(p.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  REQUIRE(fd >= 0);
  for (int i = 0; i < extents; ++i) {
    const uint64_t len = g.range(1, 70000);
    const uint64_t off = g.below(size - len);
    std::string d = random_bytes(g, len);
    REQUIRE(pwrite(fd, d.data(), d.size(), static_cast<off_t>(off)) ==
            static_cast<ssize_t>(d.size()));
  }
  REQUIRE(ftruncate(fd, static_cast<off_t>(size)) == 0);
  REQUIRE(::close(fd) == 0);
}

uint64_t file_size_class(Gen& g) {
  switch (g.below(6)) {
    case 0:
      return 0;
    case 1:
    case 2:
      return g.range(1, 3488);  // inline data
    case 3:
      return g.range(3489, 4096);
    case 4:
      return g.range(4097, 64 * 1024);
    default:
      return g.range(64 * 1024, 600 * 1024);
  }
}

// Builds the source tree; returns its logical size in bytes.
uint64_t build_tree(const stdfs::path& root) {
  Gen g;
  uint64_t bytes = 0;
  std::vector<stdfs::path> dirs{root};
  std::vector<stdfs::path> files;
  // Nested directories, up to 5 deep.
  for (int i = 0; i < 24; ++i) {
    const stdfs::path parent = dirs[g.below(dirs.size())];
    std::set<std::string> used;
    stdfs::path d = parent / ("d" + std::to_string(i) + "_" + g.name(g.range(1, 40)));
    if (std::distance(root.begin(), root.end()) + 5 < std::distance(d.begin(), d.end())) continue;
    REQUIRE(stdfs::create_directory(d));
    dirs.push_back(d);
  }
  // Files of every size class in random directories.
  for (int i = 0; i < 150; ++i) {
    const stdfs::path p =
        dirs[g.below(dirs.size())] / ("f" + std::to_string(i) + "_" + g.name(g.range(1, 60)));
    const uint64_t n = file_size_class(g);
    write_file(p, random_bytes(g, n));
    bytes += n;
    files.push_back(p);
  }
  // Inline boundaries: the largest inline file and one byte more, a full block.
  for (uint64_t n : {3487u, 3488u, 3489u, 4096u, 4097u}) {
    write_file(root / ("edge_" + std::to_string(n)), random_bytes(g, n));
    bytes += n;
  }
  // Sparse files: through direct nodes (> 873 blocks) and indirect nodes (> 2909 blocks).
  write_sparse(g, root / "sparse_5m", 5 * 1024 * 1024 + 123, 12);
  write_sparse(g, dirs[1] / "sparse_13m", 13 * 1024 * 1024 + 4097, 20);
  bytes += 18 * 1024 * 1024 + 4220;
  // Symlinks: relative, absolute, dangling, one with a 4000-byte target (not inline).
  for (int i = 0; i < 20; ++i) {
    const stdfs::path at = dirs[g.below(dirs.size())] / ("l" + std::to_string(i));
    std::string target;
    switch (i % 4) {
      case 0:
        target = files[g.below(files.size())].filename().string();
        break;
      case 1:
        target = files[g.below(files.size())].string();
        break;
      case 2:
        target = "../nowhere/" + g.name(g.range(1, 100));
        break;
      default:
        target = std::string(g.range(3400, 4000), 'x') + "/t";
    }
    stdfs::create_symlink(target, at);
  }
  // Hard links to random files from random directories.
  for (int i = 0; i < 15; ++i) {
    const stdfs::path& f = files[g.below(files.size())];
    stdfs::create_hard_link(f, dirs[g.below(dirs.size())] / ("hl" + std::to_string(i)));
  }
  // One directory with 2500 entries of 1..255-byte names (several hash levels).
  const stdfs::path big = root / "big";
  REQUIRE(stdfs::create_directory(big));
  std::set<std::string> used;
  for (int i = 0; i < 2500; ++i) {
    const size_t len = i < 10 ? 255 : g.range(1, 255);
    const stdfs::path p = big / g.unique_name(used, len);
    if (i % 50 == 0) {
      REQUIRE(stdfs::create_directory(p));
    } else {
      const uint64_t n = g.below(3) == 0 ? g.range(1, 200) : 0;
      write_file(p, random_bytes(g, n));
      bytes += n;
    }
  }
  return bytes;
}

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