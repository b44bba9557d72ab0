// BackingStore: the media behind an emulated namespace, either a file (the default; data
// stays on disk, copies use copy_file_range so they never pass through user space) or
// anonymous memory (copies are memmove). Offsets and lengths are in bytes and already
// checked against size() by the caller.
//
// Thread safety: every method may be called concurrently; concurrent writes to overlapping
// bytes land in an unspecified order.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>

#include "base/error.h"

namespace f2sc::nvme {

class BackingStore {
 public:
  static constexpr size_t kDrainBytes = 256 * 1024;  // see open_file
  virtual ~BackingStore() = default;

  // Opens an existing file (read-write unless `read_only`); its size is the namespace size.
  // With `drain`, a write of at least kDrainBytes also starts the host's write-back of its
  // range (sync_file_range(SYNC_FILE_RANGE_WRITE), not waited for), as a drive drains its
  // volatile write cache in the background: a later flush() then finds little left to
  // write instead of everything since the last one. Durability still comes only from
  // flush().
  static Result<std::unique_ptr<BackingStore>> open_file(const std::string& path,
                                                         bool read_only = false,
                                                         bool drain = false);
  // Zero-filled memory of `bytes` bytes (committed only where written).
  static Result<std::unique_ptr<BackingStore>> create_memory(uint64_t bytes);

  virtual uint64_t size() const = 0;
  virtual Status read(uint64_t offset, std::span<std::byte> out) = 0;
  virtual Status write(uint64_t offset, std::span<const std::byte> in) = 0;
  virtual Status flush() = 0;
  // Afterwards the bytes read as zeros (deallocate and Write Zeroes).
  virtual Status zero(uint64_t offset, uint64_t bytes, bool deallocate) = 0;
  // Copies inside the media; the ranges do not overlap.
  virtual Status copy(uint64_t src, uint64_t dst, uint64_t bytes) = 0;
};

}  // namespace f2sc::nvme
