// Devices for f2sc-stress: the default temporary nvme-emu image, a user's DEVICE (formatted
// with --mkfs), and BitflipDevice, the verifier's self-test (--inject-bitflip N): a
// pass-through decorator that flips one byte in the N-th block it reads that holds
// f2sc-stress file data (recognised by the marker shadow.cc writes at the start of every
// data block). Only the buffer handed up is changed, never the device.
//
// Thread safety: as BlockDevice. PreparedDevice is used from one thread.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>

#include "base/error.h"
#include "blockdev/block_device.h"
#include "tools/f2sc-stress/options.h"

namespace f2sc::stress {

class BitflipDevice final : public blockdev::BlockDevice {
 public:
  // Flips a byte in the `nth` (1-based) data block read; 0 never.
  BitflipDevice(blockdev::BlockDevice& inner, uint64_t nth);
  ~BitflipDevice() override;
  bool offload_enabled() const override;
  uint64_t flipped() const { return flipped_.load(); }

 protected:
  Status do_read(uint64_t lba, std::span<std::byte> buf) override;
  Status do_write(uint64_t lba, std::span<const std::byte> buf) override;
  Status do_flush() override;
  Status do_discard(uint64_t lba, uint64_t blocks) override;
  blockdev::CopyCommandResult do_copy(const blockdev::CopyCommand& command) override;

 private:
  blockdev::BlockDevice& inner_;
  const uint64_t nth_;
  std::atomic<uint64_t> data_reads_{0};
  std::atomic<uint64_t> flipped_{0};
};

struct PreparedDevice {
  std::string name;       // what reports show
  std::string temp_path;  // removed on destruction (the default device)
  std::unique_ptr<blockdev::BlockDevice> base;
  std::unique_ptr<BitflipDevice> flip;

  blockdev::BlockDevice& top() { return flip ? *flip : *base; }
  ~PreparedDevice();
};

// Opens (and formats when asked or needed) the device for one run. Each call for the
// default device makes a fresh temporary image.
Result<std::unique_ptr<PreparedDevice>> prepare_device(const Options& o);

}  // namespace f2sc::stress
