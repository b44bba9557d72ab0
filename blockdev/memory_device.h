// MemoryDevice: a block device in RAM (anonymous memory, committed only where written, so
// large sparse devices are cheap). Offloaded copies are moves inside the device: no data
// crosses the host interface. Discarded blocks read back as zeros.
//
// Thread safety: as BlockDevice. Hooks run on `workers` threads (0: inline).
#pragma once

#include <memory>

#include "blockdev/block_device.h"

namespace f2sc::blockdev {

// Default hardware copy limits of our own devices: NVMe's widest (256 ranges of 64 Ki
// blocks) with a 64 Ki-block command.
inline constexpr CopyLimits kDefaultCopyLimits{65536, 256, 65536};

struct MemoryDeviceOptions {
  uint32_t block_size = 4096;
  uint64_t block_count = 0;
  bool copy_offload_supported = true;
  CopyLimits hw_copy_limits = kDefaultCopyLimits;
  unsigned workers = 2;
  std::string name = "mem";
};

class MemoryDevice final : public BlockDevice {
 public:
  static Result<std::unique_ptr<MemoryDevice>> create(const MemoryDeviceOptions& options);
  ~MemoryDevice() override;

 protected:
  Status do_read(uint64_t lba, std::span<std::byte> buf) override;
  Status do_write(uint64_t lba, std::span<const std::byte> buf) override;
  Status do_flush() override;
  Status do_discard(uint64_t lba, uint64_t blocks) override;
  CopyCommandResult do_copy(const CopyCommand& command) override;

 private:
  MemoryDevice(const MemoryDeviceOptions& options, std::byte* data, size_t bytes);
  std::byte* at(uint64_t lba) const { return data_ + lba * block_size(); }

  std::byte* data_;
  size_t bytes_;
};

}  // namespace f2sc::blockdev
