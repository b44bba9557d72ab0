// Helpers for FileSystem tests: a fresh mkfs.f2fs image in a TempDir, mounting it through a
// FileDevice, fsck.f2fs --dry-run judged strictly, and byte helpers.
#pragma once

#include <sys/stat.h>

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "blockdev/uri.h"
#include "fs/file_system.h"
#include "image_util.h"

namespace f2sc::fs::testing {

// An image file of `bytes` formatted by mkfs.f2fs (f2fs-tools defaults plus `options`).
inline void mkfs_image(const std::string& img, uint64_t bytes, const std::string& options = "") {
  std::ofstream(img, std::ios::binary | std::ios::trunc).close();
  std::filesystem::resize_file(img, bytes);
  RunResult m = run("mkfs.f2fs -f " + options + " " + img);
  INFO(m.output);
  REQUIRE(m.status == 0);
}

// fsck.f2fs --dry-run exits 0 and reports no failure and no fix. fsck.f2fs 1.15 prints
// "[FSCK] fixing SIT types" unconditionally and "[FSCK] other corrupted bugs [Ok..]" when
// clean: those two lines are allowed.
inline bool fsck_clean(const std::string& img, std::string* output) {
  RunResult r = run("fsck.f2fs --dry-run " + img);
  *output = r.output;
  if (r.status != 0) return false;
  std::string text;
  size_t pos = 0;
  while (pos < r.output.size()) {
    size_t end = r.output.find('\n', pos);
    if (end == std::string::npos) end = r.output.size();
    std::string line = r.output.substr(pos, end - pos);
    pos = end + 1;
    if (line == "[FSCK] fixing SIT types") continue;
    if (line.rfind("[FSCK] other corrupted bugs", 0) == 0) {
      if (line.find("[Ok..]") == std::string::npos) return false;
      continue;
    }
    text += line + "\n";
  }
  for (const char* bad : {"[Fail]", "[FIX]", "Error", "error", "Wrong", "Invalid", "invalid",
                          "corrupt", "Corrupt", "mismatch", "fix", "Fix"}) {
    if (text.find(bad) != std::string::npos) return false;
  }
  return r.output.find("[FSCK] other corrupted bugs") != std::string::npos;
}

// A mounted FileSystem and the device it owns.
struct Mounted {
  std::unique_ptr<blockdev::BlockDevice> dev;
  std::unique_ptr<FileSystem> fs;
  FileSystem* operator->() const { return fs.get(); }
  FileSystem& operator*() const { return *fs; }
};

// A FileSystem on the device `uri` names (blockdev::open_device: file:, nvme-emu:, ...).
inline Mounted mount_uri(const std::string& uri, const MountOptions& options = {}) {
  Mounted m;
  auto dev = blockdev::open_device(uri);
  if (!dev) FAIL("open " << uri << ": " << dev.error().message);
  m.dev = std::move(*dev);
  auto f = FileSystem::mount(*m.dev, options);
  if (!f) FAIL("mount " << uri << ": " << f.error().message);
  m.fs = std::move(*f);
  return m;
}

inline Mounted mount_image(const std::string& img, const MountOptions& options = {}) {
  return mount_uri("file:" + img, options);
}

// Clean unmount, then the device closes.
inline void unmount(Mounted& m) {
  auto s = m.fs->unmount();
  if (!s) FAIL("unmount: " << s.error().message);
  m.fs.reset();
  m.dev.reset();
}

// A simulated crash: the FileSystem is dropped without unmount.
inline void crash(Mounted& m) {
  m.fs.reset();
  m.dev.reset();
}

inline std::string random_string(std::mt19937_64& rng, size_t n) {
  std::string s(n, '\0');
  for (auto& c : s) c = static_cast<char>(rng() & 0xff);
  return s;
}

inline std::span<const std::byte> bytes_of(const std::string& s) {
  return std::as_bytes(std::span(s.data(), s.size()));
}

inline std::span<const uint8_t> u8_of(const std::string& s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

// Writes all of `data` at `offset`; fails the test on an error or a short write.
inline void write_all(FileSystem& f, uint32_t ino, uint64_t offset, const std::string& data) {
  auto n = f.write(ino, offset, bytes_of(data));
  if (!n) FAIL("write inode " << ino << " @" << offset << ": " << n.error().message);
  REQUIRE(*n == data.size());
}

// Reads `len` bytes at `offset` (a short read at the end shows as a shorter string).
inline std::string read_str(FileSystem& f, uint32_t ino, uint64_t offset, size_t len) {
  std::string s(len, '\0');
  auto n = f.read(ino, offset, std::as_writable_bytes(std::span(s.data(), s.size())));
  if (!n) FAIL("read inode " << ino << " @" << offset << ": " << n.error().message);
  s.resize(*n);
  return s;
}

// The whole file, by its size.
inline std::string read_file(FileSystem& f, uint32_t ino) {
  auto a = f.getattr(ino);
  REQUIRE(a);
  return read_str(f, ino, 0, a->size);
}

// The errno of a failed call (0 on success).
template <class R>
int err_of(const R& r) {
  return r ? 0 : r.error().sys_errno;
}

}  // namespace f2sc::fs::testing
