#include "blockdev/copy_engine.h"

#include <algorithm>
#include <condition_variable>
#include <cstdlib>
#include <string>

#include "blockdev/io_workers.h"

namespace f2sc::blockdev {

namespace {

std::string range_text(size_t index, const CopyRange& r) {
  return "source range " + std::to_string(index) + " [" + std::to_string(r.lba) + ", +" +
         std::to_string(r.blocks) + ")";
}

bool overlaps(uint64_t a, uint64_t a_len, uint64_t b, uint64_t b_len) {
  return a < b + b_len && b < a + a_len;
}

// Counts jobs in flight and waits for room or for all of them to finish.
class Window {
 public:
  explicit Window(unsigned depth) : depth_(std::max(1u, depth)) {}
  void acquire() {
    std::unique_lock lock(mu_);
    cv_.wait(lock, [&] { return in_flight_ < depth_; });
    ++in_flight_;
  }
  void release() {
    std::lock_guard lock(mu_);
    --in_flight_;
    cv_.notify_all();
  }
  void drain() {
    std::unique_lock lock(mu_);
    cv_.wait(lock, [&] { return in_flight_ == 0; });
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  unsigned in_flight_ = 0;
  const unsigned depth_;
};

}  // namespace

Status validate_sources(const CopyRangeList& sources, uint64_t block_count) {
  if (sources.empty()) return fail(Errc::kNoRanges, "copy request has no source ranges");
  for (size_t i = 0; i < sources.size(); ++i) {
    const CopyRange& r = sources[i];
    if (r.blocks == 0) return fail(Errc::kEmptyRange, range_text(i, r) + " is empty");
    if (r.lba > UINT64_MAX - r.blocks) {
      return fail(Errc::kAddressOverflow, range_text(i, r) + " overflows 64-bit addresses");
    }
    if (r.lba + r.blocks > block_count) {
      return fail(Errc::kOutOfRange, range_text(i, r) + " ends past the device (" +
                                         std::to_string(block_count) + " blocks)");
    }
  }
  return {};
}

Status validate_copy(const CopyRequest& request, uint64_t block_count) {
  if (auto s = validate_sources(request.sources, block_count); !s) return s;
  uint64_t total = 0;
  for (const CopyRange& r : request.sources) {
    if (total > UINT64_MAX - r.blocks) {
      return fail(Errc::kAddressOverflow, "copy length overflows 64 bits");
    }
    total += r.blocks;
  }
  const std::string dst_text =
      "destination [" + std::to_string(request.dst) + ", +" + std::to_string(total) + ")";
  if (request.dst > UINT64_MAX - total) {
    return fail(Errc::kAddressOverflow, dst_text + " overflows 64-bit addresses");
  }
  if (request.dst + total > block_count) {
    return fail(Errc::kOutOfRange,
                dst_text + " ends past the device (" + std::to_string(block_count) + " blocks)");
  }
  for (size_t i = 0; i < request.sources.size(); ++i) {
    const CopyRange& r = request.sources[i];
    if (overlaps(r.lba, r.blocks, request.dst, total)) {
      return fail(Errc::kOverlap, range_text(i, r) + " overlaps the " + dst_text);
    }
  }
  return {};
}

std::vector<CopyCommand> split_copy(const CopyRequest& request, const CopyLimits& limits) {
  const uint64_t max_total = std::max<uint64_t>(1, limits.max_copy_sectors);
  const uint64_t max_ranges = std::max<uint64_t>(1, limits.max_copy_nr_ranges);
  const uint64_t max_range = std::max<uint64_t>(1, limits.max_copy_range_sectors);
  std::vector<CopyCommand> commands;
  CopyCommand current;
  current.dst = request.dst;
  uint64_t current_total = 0;
  uint64_t next_dst = request.dst;
  auto close = [&] {
    commands.push_back(std::move(current));
    current = CopyCommand{};
    current.dst = next_dst;
    current_total = 0;
  };
  for (const CopyRange& r : request.sources) {
    uint64_t lba = r.lba;
    uint64_t left = r.blocks;
    while (left > 0) {
      if (current.sources.size() == max_ranges || current_total == max_total) close();
      uint64_t n = std::min({left, max_range, max_total - current_total});
      current.sources.push_back({lba, n});
      current_total += n;
      next_dst += n;
      lba += n;
      left -= n;
    }
  }
  if (!current.sources.empty()) commands.push_back(std::move(current));
  return commands;
}

// ---- buffers ----------------------------------------------------------------------------

struct CopyEngine::Buffer {
  explicit Buffer(std::byte* p, size_t n) : data(p), bytes(n) {}
  ~Buffer() { std::free(data); }
  std::byte* data;
  size_t bytes;
};

namespace {
constexpr size_t kBufferAlignment = 4096;  // enough for O_DIRECT on any device we open
constexpr size_t kMinBufferBytes = 512;
}  // namespace

std::unique_ptr<CopyEngine::Buffer> CopyEngine::take_buffer() {
  std::lock_guard lock(mu_);
  while (!free_buffers_.empty()) {
    auto b = std::move(free_buffers_.back());
    free_buffers_.pop_back();
    if (b->bytes == buffer_bytes_) return b;
  }
  for (;;) {
    size_t bytes = buffer_bytes_;
    void* p = nullptr;
    if (bytes <= allocation_limit_) {
      p = std::aligned_alloc(kBufferAlignment,
                             (bytes + kBufferAlignment - 1) / kBufferAlignment * kBufferAlignment);
    }
    if (p != nullptr) return std::make_unique<Buffer>(static_cast<std::byte*>(p), bytes);
    // Never below one block: a smaller buffer could not hold anything.
    if (bytes / 2 < std::max<size_t>(kMinBufferBytes, device_.block_size())) return nullptr;
    buffer_bytes_ = bytes / 2;  // halve, as the kernel's emulation does, and keep it
  }
}

void CopyEngine::give_buffer(std::unique_ptr<Buffer> buffer) {
  std::lock_guard lock(mu_);
  // Keep enough buffers for one copy at full queue depth; free the rest.
  if (buffer->bytes == buffer_bytes_ && free_buffers_.size() < options_.queue_depth) {
    free_buffers_.push_back(std::move(buffer));
  }
}

size_t CopyEngine::emulation_buffer_bytes() const {
  std::lock_guard lock(mu_);
  return buffer_bytes_;
}

void CopyEngine::set_allocation_limit_for_testing(size_t bytes) {
  std::lock_guard lock(mu_);
  allocation_limit_ = bytes;
  free_buffers_.clear();
}

// ---- engine -----------------------------------------------------------------------------

CopyEngine::CopyEngine(BlockDevice& device)
    : device_(device), buffer_bytes_(options_.emulation_buffer_bytes) {}

CopyEngine::~CopyEngine() {
  if (async_workers_) async_workers_->stop();
}

CopyEngineOptions CopyEngine::options() const {
  std::lock_guard lock(mu_);
  return options_;
}

Status CopyEngine::set_options(const CopyEngineOptions& options) {
  if (options.queue_depth == 0 || options.queue_depth > kMaxQueueDepth) {
    return fail(Errc::kInvalidArgument, "copy engine queue depth " +
                                            std::to_string(options.queue_depth) +
                                            " is outside 1.." + std::to_string(kMaxQueueDepth));
  }
  if (options.async_threads == 0 || options.async_threads > kMaxAsyncThreads) {
    return fail(Errc::kInvalidArgument, "copy engine async threads " +
                                            std::to_string(options.async_threads) +
                                            " is outside 1.." + std::to_string(kMaxAsyncThreads));
  }
  if (options.emulation_buffer_bytes < device_.block_size()) {
    return fail(Errc::kInvalidArgument, "emulation buffer of " +
                                            std::to_string(options.emulation_buffer_bytes) +
                                            " bytes is smaller than one block (" +
                                            std::to_string(device_.block_size()) + " bytes)");
  }
  std::lock_guard lock(mu_);
  options_ = options;
  buffer_bytes_ = options.emulation_buffer_bytes;
  free_buffers_.clear();
  return {};
}

Result<CopyResult> CopyEngine::run(const CopyRequest& request) {
  if (auto s = validate_copy(request, device_.block_count()); !s) {
    return tl::unexpected(s.error());
  }
  const QueueLimits limits = device_.limits();
  const CopyEngineOptions opts = options();
  if (device_.offload_enabled() && !request.emulate) {
    return offload(request, limits.copy, opts.queue_depth);
  }
  std::vector<CopyPiece> pieces;
  uint64_t at = request.dst;
  for (const CopyRange& r : request.sources) {
    pieces.push_back({r.lba, at, r.blocks});
    at += r.blocks;
  }
  auto result = emulate(device_, pieces, device_);
  if (result) {
    result->emulation_reason =
        request.emulate && device_.offload_enabled() ? "the caller asked for emulation"
        : !limits.copy_offload_supported             ? "the device does not support copy offload"
        : limits.copy_offload                        ? "copy_offload is off below this device"
                                                     : "copy_offload is off";
  }
  return result;
}

void CopyEngine::run_async(CopyRequest request, CopyCallback done) {
  std::call_once(async_once_, [&] {
    async_workers_ = std::make_unique<IoWorkers>(std::max(1u, options().async_threads));
  });
  async_workers_->post(
      [this, request = std::move(request), done = std::move(done)] { done(run(request)); });
}

Result<CopyResult> CopyEngine::offload(const CopyRequest& request, const CopyLimits& limits,
                                       unsigned queue_depth) {
  std::vector<CopyCommand> commands = split_copy(request, limits);
  CopyResult result;
  std::mutex mu;  // guards result, leftovers, failure
  std::vector<CopyPiece> leftovers;
  std::string failure;
  Window window(queue_depth);
  for (const CopyCommand& command : commands) {
    window.acquire();
    {
      std::lock_guard lock(mu);
      result.copy_commands++;
      result.copy_ranges += command.sources.size();
      result.max_ranges_per_command =
          std::max<uint64_t>(result.max_ranges_per_command, command.sources.size());
    }
    device_.copy_command_async(command, [&, cmd = &command](CopyCommandResult r) {
      {
        std::lock_guard lock(mu);
        const size_t done =
            r.status ? cmd->sources.size() : std::min<size_t>(r.ranges_done, cmd->sources.size());
        uint64_t dst = cmd->dst;
        for (size_t i = 0; i < cmd->sources.size(); ++i) {
          const CopyRange& src = cmd->sources[i];
          if (i < done) {
            result.blocks_offloaded += src.blocks;
          } else {
            leftovers.push_back({src.lba, dst, src.blocks});
          }
          dst += src.blocks;
        }
        if (!r.status) {
          result.failed_commands++;
          switch (r.status.error().code) {
            case Errc::kInvalidArgument:
              result.failed_limits++;
              break;
            case Errc::kOutOfRange:
              result.failed_out_of_range++;
              break;
            default:
              result.failed_media++;
              break;
          }
          if (done > 0) result.failed_partial++;
          if (failure.empty()) failure = r.status.error().message;
        }
      }
      window.release();
    });
  }
  window.drain();
  if (!leftovers.empty()) {
    auto emulated = emulate(device_, leftovers, device_);
    if (!emulated) {
      return tl::unexpected(with_context(
          emulated.error(), "copy command failed (" + failure + "), then emulation failed"));
    }
    result.merge(*emulated);
    result.emulation_reason = "copy command failed: " + failure;
  }
  result.blocks_copied = result.blocks_offloaded + result.blocks_emulated;
  return result;
}

Result<CopyResult> CopyEngine::emulate(BlockDevice& src, const std::vector<CopyPiece>& pieces,
                                       BlockDevice& dst) {
  const uint32_t bs = dst.block_size();
  const unsigned depth = std::max(1u, options().queue_depth);

  // Buffers first: their size decides the chunk size.
  std::vector<std::unique_ptr<Buffer>> buffers;
  uint64_t total = 0;
  for (const CopyPiece& p : pieces) total += p.blocks;
  {
    auto first = take_buffer();
    if (!first || first->bytes < bs) {
      return fail(Errc::kNoSpace, ENOMEM, "cannot allocate a copy emulation buffer");
    }
    buffers.push_back(std::move(first));
  }
  const uint64_t chunk_blocks = buffers.front()->bytes / bs;
  const uint64_t chunks_needed = (total + chunk_blocks - 1) / chunk_blocks;
  while (buffers.size() < std::min<uint64_t>(depth, chunks_needed)) {
    auto b = take_buffer();
    if (!b || b->bytes < chunk_blocks * bs) break;  // run with fewer buffers in flight
    buffers.push_back(std::move(b));
  }

  // Chunks: fragments whose destinations are contiguous, up to one buffer each.
  struct Fragment {
    uint64_t src_lba, blocks, offset;  // offset in blocks inside the chunk
  };
  struct Chunk {
    uint64_t dst_lba = 0, blocks = 0;
    std::vector<Fragment> fragments;
  };
  std::vector<Chunk> chunks;
  for (const CopyPiece& p : pieces) {
    uint64_t src_lba = p.src_lba, dst_lba = p.dst_lba, left = p.blocks;
    while (left > 0) {
      if (chunks.empty() || chunks.back().blocks == chunk_blocks ||
          chunks.back().dst_lba + chunks.back().blocks != dst_lba) {
        chunks.push_back(Chunk{dst_lba, 0, {}});
      }
      Chunk& c = chunks.back();
      uint64_t n = std::min(left, chunk_blocks - c.blocks);
      c.fragments.push_back({src_lba, n, c.blocks});
      c.blocks += n;
      src_lba += n;
      dst_lba += n;
      left -= n;
    }
  }

  CopyResult result;
  std::mutex mu;  // guards result, error, free_slots, and each InFlight::status
  Status error;   // the first failure; stays ok (true) while all goes well
  std::vector<size_t> free_slots;
  for (size_t i = 0; i < buffers.size(); ++i) free_slots.push_back(i);
  Window window(static_cast<unsigned>(buffers.size()));

  struct InFlight {
    size_t slot;
    std::atomic<size_t> pending;
    Status status;
  };
  std::vector<std::unique_ptr<InFlight>> flights(chunks.size());

  for (size_t ci = 0; ci < chunks.size(); ++ci) {
    window.acquire();
    size_t slot;
    {
      std::lock_guard lock(mu);
      if (!error) {
        window.release();
        break;
      }
      slot = free_slots.back();
      free_slots.pop_back();
      result.emulation_reads += chunks[ci].fragments.size();
    }
    const Chunk* chunk = &chunks[ci];
    std::byte* base = buffers[slot]->data;
    flights[ci] = std::make_unique<InFlight>();
    InFlight* f = flights[ci].get();
    f->slot = slot;
    f->pending.store(chunk->fragments.size());

    auto finish = [&, f, chunk](Status s) {
      {
        std::lock_guard lock(mu);
        if (s) {
          result.blocks_emulated += chunk->blocks;
        } else if (error) {
          error = std::move(s);
        }
        free_slots.push_back(f->slot);
      }
      window.release();
    };
    for (const Fragment& frag : chunk->fragments) {
      std::span<std::byte> into(base + frag.offset * bs, frag.blocks * bs);
      src.read_async(frag.src_lba, into, [&, f, chunk, base, finish](Status s) {
        if (!s) {
          std::lock_guard lock(mu);
          if (f->status) f->status = std::move(s);
        }
        if (f->pending.fetch_sub(1) != 1) return;
        // Last read of this chunk: write it out, or give up the slot on a read error.
        Status read_status;
        {
          std::lock_guard lock(mu);
          read_status = f->status;
          if (read_status) result.emulation_writes++;
        }
        if (!read_status) return finish(std::move(read_status));
        dst.write_async(chunk->dst_lba, std::span<const std::byte>(base, chunk->blocks * bs),
                        finish);
      });
    }
  }
  window.drain();
  for (auto& b : buffers) give_buffer(std::move(b));
  if (!error) return tl::unexpected(with_context(error.error(), "emulated copy"));
  result.blocks_copied = result.blocks_emulated;
  return result;
}

}  // namespace f2sc::blockdev
