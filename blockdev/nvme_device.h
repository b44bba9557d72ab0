// NvmeDevice: a BlockDevice over any nvme::Controller (the in-process EmulatedController or
// a Linux passthrough controller).
//
// Geometry and copy limits come from Identify: block size from the namespace's LBA format,
// block count = NSZE, max_copy_nr_ranges = MSRC+1, max_copy_range_sectors = MSSRL,
// max_copy_sectors = MCL; offload is supported iff ONCS bit 8 (Copy) and OCFS bit 0
// (descriptor format 0h) are set and the namespace is not write protected. Reads and writes are
// split to MDTS and the 16-bit block count, discards become Dataset Management deallocate, copies
// become Copy commands with format-0h Source Range entries. A Copy is never sent beyond
// MSSRL/MCL/MSRC: the device splits a command itself (QEMU 7.2 does not check MCL, and fails a
// range above MSSRL part way). Any failed Copy is treated as possibly partial: DW0 (mapped back to
// the caller's range index) says where the copy engine continues by emulation.
//
// Thread safety: as BlockDevice. Commands are spread round robin over the I/O queues.
// Completion callbacks run on the controller's threads: they must not block waiting for
// another command of the same device.
#pragma once

#include <atomic>
#include <memory>
#include <optional>
#include <vector>

#include "blockdev/block_device.h"
#include "nvme/controller.h"

namespace f2sc::blockdev {

// One Source Range entry of a split copy: `blocks` (<= MSSRL) at `lba`, cut from range
// `source_index` of the original command.
struct NvmeCopyPiece {
  uint64_t lba = 0;
  uint32_t blocks = 0;
  uint32_t source_index = 0;
};

// One Copy command on the wire.
struct NvmeCopyCommand {
  uint64_t sdlba = 0;
  std::vector<NvmeCopyPiece> pieces;
};

// Splits `command` so that no range exceeds limits.max_copy_range_sectors, no command has
// more than limits.max_copy_nr_ranges ranges or more than limits.max_copy_sectors blocks.
// The destinations follow each other in order.
std::vector<NvmeCopyCommand> split_nvme_copy(const CopyCommand& command, const CopyLimits& limits);

class NvmeDevice final : public BlockDevice {
 public:
  // Identifies the controller's namespace and builds the device; `name` defaults to the
  // controller's name.
  static Result<std::unique_ptr<NvmeDevice>> open(std::unique_ptr<nvme::Controller> controller,
                                                  std::string name = "");
  ~NvmeDevice() override;

  nvme::Controller& controller() { return *controller_; }
  const nvme::IdentifyController& identify_controller() const { return id_ctrl_; }
  const nvme::IdentifyNamespace& identify_namespace() const { return id_ns_; }
  // Simulated device time (ns) when the controller runs a timing model (nvme-emu:...&link=).
  std::optional<uint64_t> simulated_ns() const { return controller_->simulated_ns(); }
  // Largest Read/Write in blocks (MDTS and the 16-bit block count).
  uint32_t max_transfer_blocks() const { return max_transfer_blocks_; }

 protected:
  void do_read_async(uint64_t lba, std::span<std::byte> buf, IoCallback done) override;
  void do_write_async(uint64_t lba, std::span<const std::byte> buf, IoCallback done) override;
  void do_flush_async(IoCallback done) override;
  void do_discard_async(uint64_t lba, uint64_t blocks, IoCallback done) override;
  void do_copy_async(const CopyCommand& command, CopyCommandCallback done) override;

 private:
  struct CopyJob;

  NvmeDevice(std::string name, std::unique_ptr<nvme::Controller> controller,
             const nvme::IdentifyController& ctrl, const nvme::IdentifyNamespace& ns,
             bool copy_supported, CopyLimits limits);
  unsigned next_queue() { return queue_.fetch_add(1, std::memory_order_relaxed); }
  void transfer(nvme::IoOpcode op, uint64_t lba, std::span<std::byte> buf, IoCallback done);
  void submit_copy(std::shared_ptr<CopyJob> job);
  // An Error for a failed command: the NVMe status named, mapped to the nearest Errc.
  Error command_error(const char* what, uint64_t lba, const Result<nvme::Completion>& r) const;

  std::unique_ptr<nvme::Controller> controller_;
  const nvme::IdentifyController id_ctrl_;
  const nvme::IdentifyNamespace id_ns_;
  const uint32_t max_transfer_blocks_;
  std::atomic<unsigned> queue_{0};
};

}  // namespace f2sc::blockdev
