// Helpers for fs tests: temporary directories, running the real f2fs tools, loading a
// directory tree into an image with mkfs.f2fs + sload.f2fs, and patching image bytes.
#pragma once

#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include <catch2/catch.hpp>

#include "tests/support/process.h"

namespace f2sc::fs::testing {

// A directory removed with everything in it at scope exit.
class TempDir {
 public:
  TempDir() {
    const char* t = std::getenv("TMPDIR");
    std::string p = std::string(t ? t : "/tmp") + "/f2sc-fs-XXXXXX";
    REQUIRE(mkdtemp(p.data()) != nullptr);
    path_ = p;
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

using f2sc::testing::run;
using f2sc::testing::RunResult;

// mkfs.f2fs -f [mkfs_options] on a fresh sparse file of `bytes`, then sload.f2fs -f `src`.
// sload.f2fs writes every block of every file (holes in the source become zero blocks), so the
// image must hold the tree's full logical size plus F2FS's overprovisioning.
inline void make_image(const std::filesystem::path& src, const std::string& img, uint64_t bytes,
                       const std::string& mkfs_options = "") {
  {
    std::ofstream f(img, std::ios::binary | std::ios::trunc);
    REQUIRE(f.good());
  }
  std::filesystem::resize_file(img, bytes);
  RunResult m = run("mkfs.f2fs -f " + mkfs_options + " " + img);
  INFO(m.output);
  REQUIRE(m.status == 0);
  RunResult s = run("sload.f2fs -f '" + src.string() + "' " + img);
  INFO(s.output);
  REQUIRE(s.status == 0);
}

// Overwrites `len` bytes at byte `offset` of the file at `path`.
inline void patch(const std::string& path, uint64_t offset, const void* data, size_t len) {
  std::fstream f(path, std::ios::binary | std::ios::in | std::ios::out);
  REQUIRE(f.good());
  f.seekp(static_cast<std::streamoff>(offset));
  f.write(static_cast<const char*>(data), static_cast<std::streamsize>(len));
  REQUIRE(f.good());
}

template <class T>
void patch_value(const std::string& path, uint64_t offset, T value) {
  patch(path, offset, &value, sizeof(value));
}

}  // namespace f2sc::fs::testing
