// FileDevice: an image file or a block device, through pread/pwrite/fdatasync (O_DIRECT
// optional). Offloaded copies use copy_file_range inside the same file: XFS and btrfs share
// extents (reflink), other filesystems copy inside the kernel; either way no data crosses
// the host interface. Offload is supported on regular files whose filesystem accepts
// copy_file_range, not on block devices.
//
// Thread safety: as BlockDevice. Hooks run on `workers` threads.
#pragma once

#include <memory>
#include <string>

#include "blockdev/block_device.h"

namespace f2sc::blockdev {

struct FileDeviceOptions {
  uint32_t block_size = 4096;
  bool direct = false;  // O_DIRECT
  bool read_only = false;
  bool copy_offload_supported = true;  // false: never offload even where possible
  CopyLimits hw_copy_limits{65536, 256, 65536};
  unsigned workers = 4;
};

class FileDevice final : public BlockDevice {
 public:
  // Opens an existing file or block device. A regular file's size must be a whole number
  // of blocks.
  static Result<std::unique_ptr<FileDevice>> open(const std::string& path,
                                                  const FileDeviceOptions& options);
  ~FileDevice() override;

  const std::string& path() const { return path_; }
  bool is_block_device() const { return is_block_device_; }
  int fd() const { return fd_; }

 protected:
  Status do_read(uint64_t lba, std::span<std::byte> buf) override;
  Status do_write(uint64_t lba, std::span<const std::byte> buf) override;
  Status do_flush() override;
  Status do_discard(uint64_t lba, uint64_t blocks) override;
  CopyCommandResult do_copy(const CopyCommand& command) override;

 private:
  FileDevice(std::string path, int fd, bool is_block_device, bool direct, bool read_only,
             const FileDeviceOptions& options, uint64_t blocks, bool offload);

  const std::string path_;
  const int fd_;
  const bool is_block_device_;
  const bool direct_;
  const bool read_only_;
};

}  // namespace f2sc::blockdev
