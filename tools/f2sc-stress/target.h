// Target: where the stress workload's file calls go. FsTarget calls the FileSystem library
// directly; PosixTarget makes the same calls with POSIX open/pwrite/pread on a directory
// (a mounted f2sc-fuse, --mount DIR). Files are addressed by a handle the target returns
// from create().
//
// Thread safety: every method may be called from any thread at once, for different handles
// (the runner gives each file to one thread).
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/error.h"
#include "fs/file_system.h"

namespace f2sc::stress {

struct Space {
  uint64_t block_size = 4096;
  uint64_t blocks = 0;  // main area (statfs f_blocks)
  uint64_t free = 0;    // f_bfree
  uint64_t avail = 0;   // f_bavail
};

class Target {
 public:
  virtual ~Target() = default;
  virtual std::string describe() const = 0;
  virtual Result<uint64_t> create(const std::string& name) = 0;  // empty, new file
  virtual Status write(uint64_t handle, uint64_t offset, std::span<const std::byte> data) = 0;
  // Reads up to buf.size() bytes; returns how many (short at end of file).
  virtual Result<size_t> read(uint64_t handle, uint64_t offset, std::span<std::byte> buf) = 0;
  virtual Status truncate(uint64_t handle, uint64_t size) = 0;
  virtual Result<uint64_t> size(uint64_t handle) = 0;
  virtual Status remove(uint64_t handle, const std::string& name) = 0;
  // Removes the files an earlier f2sc-stress run left (names as is_stress_file()); returns
  // how many.
  virtual Result<uint64_t> remove_previous() = 0;
  virtual Status sync() = 0;
  virtual Result<Space> space() = 0;
  // Ends the session cleanly (unmount / close every file).
  virtual Status finish() = 0;
};

// "stress-" and six digits: the names f2sc-stress gives its files.
bool is_stress_file(std::string_view name);

// On the library: files in the root directory, handles are inode numbers.
std::unique_ptr<Target> make_fs_target(fs::FileSystem& fs);

// On a directory: handles index open file descriptors kept until finish().
Result<std::unique_ptr<Target>> make_posix_target(const std::string& dir);

}  // namespace f2sc::stress
