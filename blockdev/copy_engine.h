// CopyEngine: turns one CopyRequest into device commands, the way the Linux copy-offload
// series does in the block layer.
//
//  1. validate_copy(): reject a bad request before any byte is written, one distinct error
//     each: no ranges, a zero-length range, address overflow, past the end, a source
//     overlapping the destination.
//  2. If offload is on and supported: split_copy() to the queue limits (a long range becomes
//     several entries; too many ranges or blocks become several commands, the destination
//     advancing in order) and submit up to queue_depth commands at once. A failed command is
//     finished by emulation from the first range it did not copy (its DW0).
//  3. Otherwise emulate: read the sources into bounded buffers (reused across copies; halved
//     when allocation fails) and write them out, up to queue_depth chunks in flight.
//
// Thread safety: run() and run_async() may be called concurrently; each run uses its own
// buffers from a shared pool. set_options() may race with runs: a run uses the options it
// read when it started. Do not call run() from an I/O completion callback of the same device.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <vector>

#include "base/error.h"
#include "blockdev/block_device.h"

namespace f2sc::blockdev {

inline constexpr unsigned kMaxQueueDepth = 1024;
inline constexpr unsigned kMaxAsyncThreads = 64;

struct CopyEngineOptions {
  unsigned queue_depth = 8;  // commands or chunks in flight per copy, 1..kMaxQueueDepth
  size_t emulation_buffer_bytes = size_t{1} << 20;  // per in-flight emulation chunk
  unsigned async_threads = 2;  // threads that run copy_async() jobs, 1..kMaxAsyncThreads
};

// Checks source ranges alone: at least one, none empty, no overflow, all inside a device of
// `block_count` blocks.
Status validate_sources(const CopyRangeList& sources, uint64_t block_count);

// Checks a request against a device of `block_count` blocks. The error messages name the
// offending range by index and its values.
Status validate_copy(const CopyRequest& request, uint64_t block_count);

// Splits a valid request into commands that respect `limits`.
std::vector<CopyCommand> split_copy(const CopyRequest& request, const CopyLimits& limits);

// One piece of an emulated copy: `blocks` blocks from src_lba to dst_lba.
struct CopyPiece {
  uint64_t src_lba = 0;
  uint64_t dst_lba = 0;
  uint64_t blocks = 0;
};

class CopyEngine {
 public:
  explicit CopyEngine(BlockDevice& device);
  ~CopyEngine();

  CopyEngineOptions options() const;
  Status set_options(const CopyEngineOptions& options);

  Result<CopyResult> run(const CopyRequest& request);
  void run_async(CopyRequest request, CopyCallback done);

  // Read+write `pieces` from `src` to `dst` through this engine's buffers.
  Result<CopyResult> emulate(BlockDevice& src, const std::vector<CopyPiece>& pieces,
                             BlockDevice& dst);

  // Current size of one emulation buffer (after any halving on allocation failure).
  size_t emulation_buffer_bytes() const;

  // Makes every buffer allocation above `bytes` fail, to test the halving fallback.
  void set_allocation_limit_for_testing(size_t bytes);

 private:
  struct Buffer;
  Result<CopyResult> offload(const CopyRequest& request, const CopyLimits& limits,
                             unsigned queue_depth);
  std::unique_ptr<Buffer> take_buffer();
  void give_buffer(std::unique_ptr<Buffer> buffer);

  BlockDevice& device_;
  mutable std::mutex mu_;
  CopyEngineOptions options_;
  size_t buffer_bytes_;  // may shrink below options_ after allocation failures
  size_t allocation_limit_ = SIZE_MAX;
  std::vector<std::unique_ptr<Buffer>> free_buffers_;
  std::unique_ptr<IoWorkers> async_workers_;  // started on first run_async()
  std::once_flag async_once_;
};

}  // namespace f2sc::blockdev
