// BlockDevice: the storage interface every f2sc layer above talks to.
//
// A device is an array of `block_count()` blocks of `block_size()` bytes with read, write,
// flush, discard, and copy. Every operation exists in an asynchronous form (the callback runs
// once, on an I/O thread or inline on the caller's thread) and a synchronous form.
//
// copy()/copy_async() take a whole CopyRequest and run the copy engine (copy_engine.h):
// validate, split to the queue limits, offload or emulate. copy_command_async() is the
// low-level primitive the engine uses: one device command, already within the limits.
//
// Public entry points validate addresses and buffer sizes before anything reaches the
// device, and count host-interface traffic in stats(). Implementations override the
// protected do_* hooks; a device provides either the synchronous or the asynchronous form
// of each hook (the defaults derive one from the other), and devices whose hooks are
// synchronous get concurrency from start_workers().
//
// Thread safety: every public method may be called from any number of threads at once.
// Writes to overlapping blocks that are in flight at the same time land in an unspecified
// order (as on real hardware). The caller must wait for every asynchronous operation to
// complete before destroying the device.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <span>
#include <string>

#include "base/error.h"
#include "blockdev/types.h"

namespace f2sc::blockdev {

class IoWorkers;
class CopyEngine;
struct CopyEngineOptions;

// Most I/O threads a device may run (workers= in URIs, the devices' options).
inline constexpr unsigned kMaxDeviceWorkers = 64;

using IoCallback = std::function<void(Status)>;
using CopyCallback = std::function<void(Result<CopyResult>)>;

// One offloaded copy command: sources back to back to dst, within the queue limits.
struct CopyCommand {
  boost::container::small_vector<CopyRange, 16> sources;
  uint64_t dst = 0;
  uint64_t total_blocks() const;
};

// Completion of a copy command. On failure, ranges_done is the index of the lowest source
// range that was not copied (NVMe completion DW0); ranges at or above it may or may not have
// been written. On success ranges_done == sources.size().
struct CopyCommandResult {
  Status status;
  uint32_t ranges_done = 0;
};
using CopyCommandCallback = std::function<void(CopyCommandResult)>;

class BlockDevice {
 public:
  virtual ~BlockDevice();
  BlockDevice(const BlockDevice&) = delete;
  BlockDevice& operator=(const BlockDevice&) = delete;

  const std::string& name() const { return name_; }
  uint32_t block_size() const { return block_size_; }
  uint64_t block_count() const { return block_count_; }
  uint64_t size_bytes() const { return block_count_ * block_size_; }

  // Asynchronous operations. `buf` must stay valid until the callback runs; its size must be
  // a whole number of blocks. Invalid arguments complete with an error before any I/O; an
  // empty buffer (or a discard of 0 blocks) completes at once with success, no command.
  void read_async(uint64_t lba, std::span<std::byte> buf, IoCallback done);
  void write_async(uint64_t lba, std::span<const std::byte> buf, IoCallback done);
  void flush_async(IoCallback done);
  void discard_async(uint64_t lba, uint64_t blocks, IoCallback done);
  void copy_async(CopyRequest request, CopyCallback done);

  // Synchronous forms.
  Status read(uint64_t lba, std::span<std::byte> buf);
  Status write(uint64_t lba, std::span<const std::byte> buf);
  Status flush();
  Status discard(uint64_t lba, uint64_t blocks);
  Result<CopyResult> copy(const CopyRequest& request);

  // One offloaded copy command (used by the copy engine and by stacked devices). Fails with
  // kNotSupported on a device without offload. Checks bounds and the hardware limits.
  void copy_command_async(const CopyCommand& command, CopyCommandCallback done);

  // Queue limits. Enabling copy_offload on a device without support is an error; each
  // user limit must be between 1 and the hardware limit.
  QueueLimits limits() const;
  Status set_copy_offload(bool on);
  // Whether copies on this device are offloaded now: supported and switched on, here and,
  // for stacked devices, on every device below.
  virtual bool offload_enabled() const;
  Status set_copy_limits(const CopyLimits& limits);

  // Copy engine tuning (queue depth, emulation buffer); see copy_engine.h.
  CopyEngine& copy_engine() { return *engine_; }

  DeviceStats stats() const;
  void reset_stats();

  // Ok when [lba, lba + blocks) lies inside the device; else kAddressOverflow or kOutOfRange
  // with a message naming `what`, the range and the device.
  Status check_range(uint64_t lba, uint64_t blocks, const char* what) const;

  // The device that really holds this device's blocks, and the offset of block 0 in it.
  // Stacked devices (partitions) return their parent's root; copies across two devices
  // with the same root can still be offloaded.
  virtual std::pair<BlockDevice*, uint64_t> root() { return {this, 0}; }

 protected:
  BlockDevice(std::string name, uint32_t block_size, uint64_t block_count,
              bool copy_offload_supported, CopyLimits hw_copy_limits);

  // Hooks. Addresses and sizes are already validated. Defaults: the async form runs the sync
  // form (on a worker if start_workers() was called, else inline); the sync form waits for
  // the async form. A device must override at least one form of each.
  virtual Status do_read(uint64_t lba, std::span<std::byte> buf);
  virtual Status do_write(uint64_t lba, std::span<const std::byte> buf);
  virtual Status do_flush();
  virtual Status do_discard(uint64_t lba, uint64_t blocks);
  virtual CopyCommandResult do_copy(const CopyCommand& command);

  virtual void do_read_async(uint64_t lba, std::span<std::byte> buf, IoCallback done);
  virtual void do_write_async(uint64_t lba, std::span<const std::byte> buf, IoCallback done);
  virtual void do_flush_async(IoCallback done);
  virtual void do_discard_async(uint64_t lba, uint64_t blocks, IoCallback done);
  virtual void do_copy_async(const CopyCommand& command, CopyCommandCallback done);

  // Run synchronous hooks on `threads` worker threads for the async forms (at most
  // kMaxDeviceWorkers; fewer if the system refuses threads). A derived class that calls this
  // must call stop_workers() first thing in its destructor.
  void start_workers(unsigned threads);
  void stop_workers();
  // Run `fn` on a worker (or inline without workers).
  void post(std::function<void()> fn);

 private:
  Status check_buffer(uint64_t lba, size_t bytes, const char* what) const;
  Status check_command(const CopyCommand& command) const;
  void count_failure(const Status& s);

  const std::string name_;
  const uint32_t block_size_;
  const uint64_t block_count_;

  mutable std::mutex limits_mu_;
  QueueLimits limits_;

  struct Counters;
  std::unique_ptr<Counters> counters_;
  std::unique_ptr<IoWorkers> workers_;
  std::unique_ptr<CopyEngine> engine_;
};

// Copy from `src` to `dst` (possibly different devices). Offloaded when both resolve to the
// same root device, else emulated through the host.
Result<CopyResult> copy_between(BlockDevice& src, const CopyRequest& request, BlockDevice& dst);

}  // namespace f2sc::blockdev
