#include "blockdev/partition_device.h"

namespace f2sc::blockdev {

Result<std::unique_ptr<PartitionDevice>> PartitionDevice::create(BlockDevice& parent,
                                                                 uint64_t first, uint64_t blocks) {
  if (blocks == 0) return fail(Errc::kInvalidArgument, "partition of zero blocks");
  if (auto s = parent.check_range(first, blocks, "partition"); !s) return tl::unexpected(s.error());
  std::unique_ptr<PartitionDevice> part(new PartitionDevice(parent, first, blocks));
  // Start with the parent's switch: a partition of a device forced to emulate emulates too.
  (void)part->set_copy_offload(parent.limits().copy_offload);
  return part;
}

PartitionDevice::PartitionDevice(BlockDevice& parent, uint64_t first, uint64_t blocks)
    : BlockDevice(parent.name() + "@" + std::to_string(first) + "+" + std::to_string(blocks),
                  parent.block_size(), blocks, parent.limits().copy_offload_supported,
                  parent.limits().hw_copy),
      parent_(parent),
      first_(first) {}

std::pair<BlockDevice*, uint64_t> PartitionDevice::root() {
  auto [dev, offset] = parent_.root();
  return {dev, offset + first_};
}

bool PartitionDevice::offload_enabled() const {
  return BlockDevice::offload_enabled() && parent_.offload_enabled();
}

CopyCommand PartitionDevice::remap(const CopyCommand& command) const {
  CopyCommand out;
  for (const CopyRange& r : command.sources) out.sources.push_back({r.lba + first_, r.blocks});
  out.dst = command.dst + first_;
  return out;
}

Status PartitionDevice::do_read(uint64_t lba, std::span<std::byte> buf) {
  return parent_.read(lba + first_, buf);
}
Status PartitionDevice::do_write(uint64_t lba, std::span<const std::byte> buf) {
  return parent_.write(lba + first_, buf);
}
Status PartitionDevice::do_flush() {
  return parent_.flush();
}
Status PartitionDevice::do_discard(uint64_t lba, uint64_t blocks) {
  return parent_.discard(lba + first_, blocks);
}
void PartitionDevice::do_read_async(uint64_t lba, std::span<std::byte> buf, IoCallback done) {
  parent_.read_async(lba + first_, buf, std::move(done));
}
void PartitionDevice::do_write_async(uint64_t lba, std::span<const std::byte> buf,
                                     IoCallback done) {
  parent_.write_async(lba + first_, buf, std::move(done));
}
void PartitionDevice::do_flush_async(IoCallback done) {
  parent_.flush_async(std::move(done));
}
void PartitionDevice::do_discard_async(uint64_t lba, uint64_t blocks, IoCallback done) {
  parent_.discard_async(lba + first_, blocks, std::move(done));
}
void PartitionDevice::do_copy_async(const CopyCommand& command, CopyCommandCallback done) {
  parent_.copy_command_async(remap(command), std::move(done));
}

}  // namespace f2sc::blockdev
