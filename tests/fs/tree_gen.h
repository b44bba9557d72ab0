// A random directory tree on the host filesystem (fixed seed) for loading into images with
// sload.f2fs: nested directories with UTF-8 names, files of every size class (inline data
// boundaries included), sparse files through indirect nodes, symlinks (relative, absolute,
// dangling, long), hard links, and one directory with thousands of entries.
//
// Thread safety: a Gen is used by one thread; the functions use Catch assertions.
#pragma once

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <random>
#include <set>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

namespace f2sc::fs::testing {

namespace stdfs = std::filesystem;

struct Gen {
  explicit Gen(uint64_t seed = 20261123) : rng(seed) {}
  std::mt19937_64 rng;
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

inline void write_file(const stdfs::path& p, const std::string& data) {
  FILE* f = std::fopen(p.c_str(), "wb");
  REQUIRE(f);
  REQUIRE(std::fwrite(data.data(), 1, data.size(), f) == data.size());
  REQUIRE(std::fclose(f) == 0);
}

inline std::string random_bytes(Gen& g, size_t n) {
  std::string s(n, '\0');
  for (size_t i = 0; i < n; ++i) s[i] = static_cast<char>(g.rng() & 0xff);
  return s;
}

// A sparse file of `size` bytes: `extents` random chunks written at random offsets,
// the rest left as holes by seeking.
inline void write_sparse(Gen& g, const stdfs::path& p, uint64_t size, int extents) {
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

inline uint64_t file_size_class(Gen& g) {
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

// Shape of a generated tree; the defaults are the tree the reader test reads back.
struct TreeOptions {
  uint64_t seed = 20261123;
  int dirs = 24;    // nested directories, up to 5 deep
  int files = 150;  // regular files of every size class
  int symlinks = 20;
  int hard_links = 15;
  int big_entries = 2500;  // entries of the directory "big" (several hash levels)
  bool sparse = true;      // sparse_5m and sparse_13m (through indirect nodes)
};

// Builds the source tree; returns its logical size in bytes.
inline uint64_t build_tree(const stdfs::path& root, const TreeOptions& o = {}) {
  Gen g(o.seed);
  uint64_t bytes = 0;
  std::vector<stdfs::path> dirs{root};
  std::vector<stdfs::path> files;
  // Nested directories, up to 5 deep.
  for (int i = 0; i < o.dirs; ++i) {
    const stdfs::path parent = dirs[g.below(dirs.size())];
    std::set<std::string> used;
    stdfs::path d = parent / ("d" + std::to_string(i) + "_" + g.name(g.range(1, 40)));
    if (std::distance(root.begin(), root.end()) + 5 < std::distance(d.begin(), d.end())) continue;
    REQUIRE(stdfs::create_directory(d));
    dirs.push_back(d);
  }
  // Files of every size class in random directories.
  for (int i = 0; i < o.files; ++i) {
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
  if (o.sparse) {
    write_sparse(g, root / "sparse_5m", 5 * 1024 * 1024 + 123, 12);
    write_sparse(g, dirs[std::min<size_t>(1, dirs.size() - 1)] / "sparse_13m",
                 13 * 1024 * 1024 + 4097, 20);
    bytes += 18 * 1024 * 1024 + 4220;
  }
  // Symlinks: relative, absolute, dangling, one with a 4000-byte target (not inline).
  for (int i = 0; i < o.symlinks && !files.empty(); ++i) {
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
  for (int i = 0; i < o.hard_links && !files.empty(); ++i) {
    const stdfs::path& f = files[g.below(files.size())];
    stdfs::create_hard_link(f, dirs[g.below(dirs.size())] / ("hl" + std::to_string(i)));
  }
  // One directory with 2500 entries of 1..255-byte names (several hash levels).
  const stdfs::path big = root / "big";
  REQUIRE(stdfs::create_directory(big));
  std::set<std::string> used;
  for (int i = 0; i < o.big_entries; ++i) {
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

}  // namespace f2sc::fs::testing
