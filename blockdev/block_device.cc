#include "blockdev/block_device.h"

#include <condition_variable>
#include <optional>
#include <string>

#include "blockdev/copy_engine.h"
#include "blockdev/io_workers.h"

namespace f2sc::blockdev {

namespace {

// Blocks the caller until a callback delivers a value.
template <class T>
class Waiter {
 public:
  void set(T value) {
    std::lock_guard lock(mu_);
    value_.emplace(std::move(value));
    cv_.notify_one();
  }
  T wait() {
    std::unique_lock lock(mu_);
    cv_.wait(lock, [&] { return value_.has_value(); });
    return std::move(*value_);
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::optional<T> value_;
};

std::string range_text(uint64_t lba, uint64_t blocks) {
  return "[" + std::to_string(lba) + ", +" + std::to_string(blocks) + ")";
}

}  // namespace

uint64_t CopyRequest::total_blocks() const {
  uint64_t total = 0;
  for (const auto& r : sources) total += r.blocks;
  return total;
}

uint64_t CopyCommand::total_blocks() const {
  uint64_t total = 0;
  for (const auto& r : sources) total += r.blocks;
  return total;
}

void CopyResult::merge(const CopyResult& o) {
  blocks_copied += o.blocks_copied;
  blocks_offloaded += o.blocks_offloaded;
  blocks_emulated += o.blocks_emulated;
  copy_commands += o.copy_commands;
  copy_ranges += o.copy_ranges;
  max_ranges_per_command = std::max(max_ranges_per_command, o.max_ranges_per_command);
  failed_commands += o.failed_commands;
  failed_limits += o.failed_limits;
  failed_out_of_range += o.failed_out_of_range;
  failed_media += o.failed_media;
  failed_partial += o.failed_partial;
  emulation_reads += o.emulation_reads;
  emulation_writes += o.emulation_writes;
  if (emulation_reason.empty()) emulation_reason = o.emulation_reason;
}

DeviceStats DeviceStats::operator-(const DeviceStats& b) const {
  DeviceStats d;
  d.bytes_read = bytes_read - b.bytes_read;
  d.bytes_written = bytes_written - b.bytes_written;
  d.copy_descriptor_bytes = copy_descriptor_bytes - b.copy_descriptor_bytes;
  d.read_commands = read_commands - b.read_commands;
  d.write_commands = write_commands - b.write_commands;
  d.flush_commands = flush_commands - b.flush_commands;
  d.discard_commands = discard_commands - b.discard_commands;
  d.copy_commands = copy_commands - b.copy_commands;
  d.copy_ranges = copy_ranges - b.copy_ranges;
  d.blocks_copied_in_device = blocks_copied_in_device - b.blocks_copied_in_device;
  d.failed_commands = failed_commands - b.failed_commands;
  return d;
}

struct BlockDevice::Counters {
  std::atomic<uint64_t> bytes_read{0}, bytes_written{0}, copy_descriptor_bytes{0};
  std::atomic<uint64_t> read_commands{0}, write_commands{0}, flush_commands{0}, discard_commands{0},
      copy_commands{0}, copy_ranges{0}, blocks_copied_in_device{0}, failed_commands{0};
};

BlockDevice::BlockDevice(std::string name, uint32_t block_size, uint64_t block_count,
                         bool copy_offload_supported, CopyLimits hw_copy_limits)
    : name_(std::move(name)),
      block_size_(block_size),
      block_count_(block_count),
      counters_(std::make_unique<Counters>()) {
  limits_.copy_offload_supported = copy_offload_supported;
  limits_.copy_offload = copy_offload_supported;
  limits_.hw_copy = hw_copy_limits;
  limits_.copy = hw_copy_limits;
  engine_ = std::make_unique<CopyEngine>(*this);
}

BlockDevice::~BlockDevice() {
  // The engine's async threads may still hold finished jobs; stop them before members go.
  engine_.reset();
  if (workers_) workers_->stop();
}

// ---- validation -------------------------------------------------------------------------

Status BlockDevice::check_range(uint64_t lba, uint64_t blocks, const char* what) const {
  if (lba > UINT64_MAX - blocks) {
    return fail(Errc::kAddressOverflow, std::string(what) + " " + range_text(lba, blocks) + " on " +
                                            name_ + ": address overflows 64 bits");
  }
  if (lba + blocks > block_count_) {
    return fail(Errc::kOutOfRange, std::string(what) + " " + range_text(lba, blocks) + " on " +
                                       name_ + ": past the end of the device (" +
                                       std::to_string(block_count_) + " blocks)");
  }
  return {};
}

Status BlockDevice::check_buffer(uint64_t lba, size_t bytes, const char* what) const {
  if (bytes % block_size_ != 0) {
    return fail(Errc::kMisaligned, std::string(what) + " of " + std::to_string(bytes) +
                                       " bytes on " + name_ + ": not a multiple of the " +
                                       std::to_string(block_size_) + "-byte block size");
  }
  return check_range(lba, bytes / block_size_, what);
}

Status BlockDevice::check_command(const CopyCommand& command) const {
  QueueLimits l = limits();
  if (!l.copy_offload_supported) {
    return fail(Errc::kNotSupported, "copy offload is not supported by " + name_);
  }
  if (command.sources.empty()) return fail(Errc::kNoRanges, "copy command without ranges");
  if (command.sources.size() > l.hw_copy.max_copy_nr_ranges) {
    return fail(Errc::kInvalidArgument, "copy command with " +
                                            std::to_string(command.sources.size()) +
                                            " ranges exceeds the device limit of " +
                                            std::to_string(l.hw_copy.max_copy_nr_ranges));
  }
  uint64_t total = 0;
  for (const auto& r : command.sources) {
    if (r.blocks == 0) return fail(Errc::kEmptyRange, "copy command with an empty range");
    if (r.blocks > l.hw_copy.max_copy_range_sectors) {
      return fail(Errc::kInvalidArgument, "copy range of " + std::to_string(r.blocks) +
                                              " blocks exceeds the device limit of " +
                                              std::to_string(l.hw_copy.max_copy_range_sectors));
    }
    if (auto s = check_range(r.lba, r.blocks, "copy source"); !s) return s;
    total += r.blocks;
  }
  if (total > l.hw_copy.max_copy_sectors) {
    return fail(Errc::kInvalidArgument, "copy command of " + std::to_string(total) +
                                            " blocks exceeds the device limit of " +
                                            std::to_string(l.hw_copy.max_copy_sectors));
  }
  return check_range(command.dst, total, "copy destination");
}

void BlockDevice::count_failure(const Status& s) {
  if (!s) counters_->failed_commands.fetch_add(1, std::memory_order_relaxed);
}

// ---- public async -----------------------------------------------------------------------

void BlockDevice::read_async(uint64_t lba, std::span<std::byte> buf, IoCallback done) {
  if (auto s = check_buffer(lba, buf.size(), "read"); !s) return done(std::move(s));
  if (buf.empty()) return done({});  // nothing to transfer: no command
  counters_->read_commands.fetch_add(1, std::memory_order_relaxed);
  do_read_async(lba, buf, [this, n = buf.size(), done = std::move(done)](Status s) {
    if (s) {
      counters_->bytes_read.fetch_add(n, std::memory_order_relaxed);
    } else {
      count_failure(s);
    }
    done(std::move(s));
  });
}

void BlockDevice::write_async(uint64_t lba, std::span<const std::byte> buf, IoCallback done) {
  if (auto s = check_buffer(lba, buf.size(), "write"); !s) return done(std::move(s));
  if (buf.empty()) return done({});
  counters_->write_commands.fetch_add(1, std::memory_order_relaxed);
  do_write_async(lba, buf, [this, n = buf.size(), done = std::move(done)](Status s) {
    if (s) {
      counters_->bytes_written.fetch_add(n, std::memory_order_relaxed);
    } else {
      count_failure(s);
    }
    done(std::move(s));
  });
}

void BlockDevice::flush_async(IoCallback done) {
  counters_->flush_commands.fetch_add(1, std::memory_order_relaxed);
  do_flush_async([this, done = std::move(done)](Status s) {
    count_failure(s);
    done(std::move(s));
  });
}

void BlockDevice::discard_async(uint64_t lba, uint64_t blocks, IoCallback done) {
  if (auto s = check_range(lba, blocks, "discard"); !s) return done(std::move(s));
  if (blocks == 0) return done({});
  counters_->discard_commands.fetch_add(1, std::memory_order_relaxed);
  do_discard_async(lba, blocks, [this, done = std::move(done)](Status s) {
    count_failure(s);
    done(std::move(s));
  });
}

void BlockDevice::copy_command_async(const CopyCommand& command, CopyCommandCallback done) {
  if (auto s = check_command(command); !s) return done({std::move(s), 0});
  counters_->copy_commands.fetch_add(1, std::memory_order_relaxed);
  counters_->copy_ranges.fetch_add(command.sources.size(), std::memory_order_relaxed);
  counters_->copy_descriptor_bytes.fetch_add(command.sources.size() * kCopyDescriptorBytes,
                                             std::memory_order_relaxed);
  // The callback may run after the caller's command is gone: keep the range sizes.
  boost::container::small_vector<uint64_t, 16> sizes;
  for (const CopyRange& r : command.sources) sizes.push_back(r.blocks);
  do_copy_async(command, [this, sizes, done = std::move(done)](CopyCommandResult r) {
    // A failed command still copied its ranges below DW0 inside the device.
    const size_t copied = r.status ? sizes.size() : std::min<size_t>(r.ranges_done, sizes.size());
    uint64_t blocks = 0;
    for (size_t i = 0; i < copied; ++i) blocks += sizes[i];
    counters_->blocks_copied_in_device.fetch_add(blocks, std::memory_order_relaxed);
    count_failure(r.status);
    done(std::move(r));
  });
}

void BlockDevice::copy_async(CopyRequest request, CopyCallback done) {
  engine_->run_async(std::move(request), std::move(done));
}

// ---- public sync ------------------------------------------------------------------------

Status BlockDevice::read(uint64_t lba, std::span<std::byte> buf) {
  if (auto s = check_buffer(lba, buf.size(), "read"); !s) return s;
  if (buf.empty()) return {};
  counters_->read_commands.fetch_add(1, std::memory_order_relaxed);
  Status s = do_read(lba, buf);
  if (s) counters_->bytes_read.fetch_add(buf.size(), std::memory_order_relaxed);
  count_failure(s);
  return s;
}

Status BlockDevice::write(uint64_t lba, std::span<const std::byte> buf) {
  if (auto s = check_buffer(lba, buf.size(), "write"); !s) return s;
  if (buf.empty()) return {};
  counters_->write_commands.fetch_add(1, std::memory_order_relaxed);
  Status s = do_write(lba, buf);
  if (s) counters_->bytes_written.fetch_add(buf.size(), std::memory_order_relaxed);
  count_failure(s);
  return s;
}

Status BlockDevice::flush() {
  counters_->flush_commands.fetch_add(1, std::memory_order_relaxed);
  Status s = do_flush();
  count_failure(s);
  return s;
}

Status BlockDevice::discard(uint64_t lba, uint64_t blocks) {
  if (auto s = check_range(lba, blocks, "discard"); !s) return s;
  if (blocks == 0) return {};
  counters_->discard_commands.fetch_add(1, std::memory_order_relaxed);
  Status s = do_discard(lba, blocks);
  count_failure(s);
  return s;
}

Result<CopyResult> BlockDevice::copy(const CopyRequest& request) {
  return engine_->run(request);
}

// ---- limits and stats -------------------------------------------------------------------

QueueLimits BlockDevice::limits() const {
  std::lock_guard lock(limits_mu_);
  return limits_;
}

bool BlockDevice::offload_enabled() const {
  QueueLimits l = limits();
  return l.copy_offload && l.copy_offload_supported;
}

Status BlockDevice::set_copy_offload(bool on) {
  std::lock_guard lock(limits_mu_);
  if (on && !limits_.copy_offload_supported) {
    return fail(Errc::kNotSupported,
                "cannot enable copy_offload on " + name_ + ": the device does not support it");
  }
  limits_.copy_offload = on;
  return {};
}

Status BlockDevice::set_copy_limits(const CopyLimits& l) {
  std::lock_guard lock(limits_mu_);
  auto check = [&](uint64_t value, uint64_t hw, const char* knob) -> Status {
    if (value == 0 || value > hw) {
      return fail(Errc::kInvalidArgument, std::string(knob) + "=" + std::to_string(value) + " on " +
                                              name_ + ": must be between 1 and " +
                                              std::to_string(hw) + " (the hardware limit)");
    }
    return {};
  };
  if (auto s = check(l.max_copy_sectors, limits_.hw_copy.max_copy_sectors, "max_copy_sectors"); !s)
    return s;
  if (auto s =
          check(l.max_copy_nr_ranges, limits_.hw_copy.max_copy_nr_ranges, "max_copy_nr_ranges");
      !s)
    return s;
  if (auto s = check(l.max_copy_range_sectors, limits_.hw_copy.max_copy_range_sectors,
                     "max_copy_range_sectors");
      !s)
    return s;
  limits_.copy = l;
  return {};
}

DeviceStats BlockDevice::stats() const {
  const Counters& c = *counters_;
  auto ld = [](const std::atomic<uint64_t>& a) { return a.load(std::memory_order_relaxed); };
  DeviceStats s;
  s.bytes_read = ld(c.bytes_read);
  s.bytes_written = ld(c.bytes_written);
  s.copy_descriptor_bytes = ld(c.copy_descriptor_bytes);
  s.read_commands = ld(c.read_commands);
  s.write_commands = ld(c.write_commands);
  s.flush_commands = ld(c.flush_commands);
  s.discard_commands = ld(c.discard_commands);
  s.copy_commands = ld(c.copy_commands);
  s.copy_ranges = ld(c.copy_ranges);
  s.blocks_copied_in_device = ld(c.blocks_copied_in_device);
  s.failed_commands = ld(c.failed_commands);
  return s;
}

void BlockDevice::reset_stats() {
  Counters& c = *counters_;
  for (auto* a : {&c.bytes_read, &c.bytes_written, &c.copy_descriptor_bytes, &c.read_commands,
                  &c.write_commands, &c.flush_commands, &c.discard_commands, &c.copy_commands,
                  &c.copy_ranges, &c.blocks_copied_in_device, &c.failed_commands}) {
    a->store(0, std::memory_order_relaxed);
  }
}

// ---- default hooks ----------------------------------------------------------------------

void BlockDevice::start_workers(unsigned threads) {
  threads = std::min(threads, kMaxDeviceWorkers);
  if (threads > 0) workers_ = std::make_unique<IoWorkers>(threads);
}

void BlockDevice::stop_workers() {
  if (engine_) engine_.reset();  // no copy job may call into a half-destroyed device
  if (workers_) workers_->stop();
}

void BlockDevice::post(std::function<void()> fn) {
  if (workers_) {
    workers_->post(std::move(fn));
  } else {
    fn();
  }
}

Status BlockDevice::do_read(uint64_t lba, std::span<std::byte> buf) {
  Waiter<Status> w;
  do_read_async(lba, buf, [&](Status s) { w.set(std::move(s)); });
  return w.wait();
}
Status BlockDevice::do_write(uint64_t lba, std::span<const std::byte> buf) {
  Waiter<Status> w;
  do_write_async(lba, buf, [&](Status s) { w.set(std::move(s)); });
  return w.wait();
}
Status BlockDevice::do_flush() {
  Waiter<Status> w;
  do_flush_async([&](Status s) { w.set(std::move(s)); });
  return w.wait();
}
Status BlockDevice::do_discard(uint64_t lba, uint64_t blocks) {
  Waiter<Status> w;
  do_discard_async(lba, blocks, [&](Status s) { w.set(std::move(s)); });
  return w.wait();
}
CopyCommandResult BlockDevice::do_copy(const CopyCommand& command) {
  Waiter<CopyCommandResult> w;
  do_copy_async(command, [&](CopyCommandResult r) { w.set(std::move(r)); });
  return w.wait();
}

void BlockDevice::do_read_async(uint64_t lba, std::span<std::byte> buf, IoCallback done) {
  post([this, lba, buf, done = std::move(done)] { done(do_read(lba, buf)); });
}
void BlockDevice::do_write_async(uint64_t lba, std::span<const std::byte> buf, IoCallback done) {
  post([this, lba, buf, done = std::move(done)] { done(do_write(lba, buf)); });
}
void BlockDevice::do_flush_async(IoCallback done) {
  post([this, done = std::move(done)] { done(do_flush()); });
}
void BlockDevice::do_discard_async(uint64_t lba, uint64_t blocks, IoCallback done) {
  post([this, lba, blocks, done = std::move(done)] { done(do_discard(lba, blocks)); });
}
void BlockDevice::do_copy_async(const CopyCommand& command, CopyCommandCallback done) {
  post([this, command, done = std::move(done)] { done(do_copy(command)); });
}

// ---- cross-device copy ------------------------------------------------------------------

Result<CopyResult> copy_between(BlockDevice& src, const CopyRequest& request, BlockDevice& dst) {
  if (&src == &dst) return dst.copy(request);
  if (src.block_size() != dst.block_size()) {
    return fail(Errc::kInvalidArgument, "copy from " + src.name() + " to " + dst.name() +
                                            ": block sizes differ (" +
                                            std::to_string(src.block_size()) + " vs " +
                                            std::to_string(dst.block_size()) + ")");
  }
  // Each side is checked against its own device. Two different devices cannot overlap,
  // unless they share a root; the rooted copy below validates again for that case.
  if (auto s = validate_sources(request.sources, src.block_count()); !s) {
    return tl::unexpected(with_context(s.error(), "source on " + src.name()));
  }
  if (auto s = dst.check_range(request.dst, request.total_blocks(), "copy destination"); !s) {
    return tl::unexpected(s.error());
  }
  auto [src_root, src_off] = src.root();
  auto [dst_root, dst_off] = dst.root();
  if (src_root == dst_root && src.offload_enabled() && dst.offload_enabled()) {
    // Same physical device, and neither side forces emulation: translate to root addresses
    // and let the root decide (its own switch applies too).
    CopyRequest rooted;
    for (const auto& r : request.sources) rooted.sources.push_back({r.lba + src_off, r.blocks});
    rooted.dst = request.dst + dst_off;
    return src_root->copy(rooted);
  }
  std::vector<CopyPiece> pieces;
  uint64_t at = request.dst;
  for (const CopyRange& r : request.sources) {
    pieces.push_back({r.lba, at, r.blocks});
    at += r.blocks;
  }
  auto r = dst.copy_engine().emulate(src, pieces, dst);
  if (r) r->emulation_reason = "source and destination are different devices";
  return r;
}

}  // namespace f2sc::blockdev
