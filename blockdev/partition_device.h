// PartitionDevice: a window [first, first + blocks) of a parent device. Reads, writes and
// copies are remapped and passed to the parent, so copy offload passes through the stack
// (which the 2021 kernel series could not do for stacked devices). The parent counts the
// real host traffic; the partition's stats() count what went through this window.
//
// Thread safety: as BlockDevice. The parent must outlive the partition.
#pragma once

#include <memory>

#include "blockdev/block_device.h"

namespace f2sc::blockdev {

class PartitionDevice final : public BlockDevice {
 public:
  static Result<std::unique_ptr<PartitionDevice>> create(BlockDevice& parent, uint64_t first,
                                                         uint64_t blocks);
  std::pair<BlockDevice*, uint64_t> root() override;
  bool offload_enabled() const override;
  uint64_t first_block() const { return first_; }

 protected:
  Status do_read(uint64_t lba, std::span<std::byte> buf) override;
  Status do_write(uint64_t lba, std::span<const std::byte> buf) override;
  Status do_flush() override;
  Status do_discard(uint64_t lba, uint64_t blocks) override;

  void do_read_async(uint64_t lba, std::span<std::byte> buf, IoCallback done) override;
  void do_write_async(uint64_t lba, std::span<const std::byte> buf, IoCallback done) override;
  void do_flush_async(IoCallback done) override;
  void do_discard_async(uint64_t lba, uint64_t blocks, IoCallback done) override;
  void do_copy_async(const CopyCommand& command, CopyCommandCallback done) override;

 private:
  PartitionDevice(BlockDevice& parent, uint64_t first, uint64_t blocks);
  CopyCommand remap(const CopyCommand& command) const;

  BlockDevice& parent_;
  const uint64_t first_;
};

}  // namespace f2sc::blockdev
