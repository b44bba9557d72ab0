#include "nvme/emulated_controller.h"

#include <chrono>
#include <cstring>
#include <deque>
#include <mutex>

#include <tbb/concurrent_queue.h>

namespace f2sc::nvme {

namespace {

uint64_t steady_ns() {
  return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                   std::chrono::steady_clock::now().time_since_epoch())
                                   .count());
}

Completion done_ok(uint32_t dw0 = 0) {
  return {Status::success(), dw0};
}
Completion done_with(Status s, uint32_t dw0 = 0) {
  return {s, dw0};
}

constexpr Status kInvalidField = Status::generic(kScInvalidField);
constexpr Status kInvalidOpcode = Status::generic(kScInvalidOpcode);
constexpr Status kInvalidNamespace = Status::generic(kScInvalidNamespace);
constexpr Status kWriteProtected = Status::generic(kScNamespaceWriteProtected);
constexpr Status kLbaOutOfRange = Status::generic(kScLbaOutOfRange);
constexpr Status kSizeLimit = Status::command_specific(kScCommandSizeLimitExceeded);
constexpr Status kOverlap = Status::command_specific(kScOverlappingIoRange);
constexpr Status kReadError =
    Status::error(StatusCodeType::kMediaError, kScUnrecoveredReadError, false);
constexpr Status kWriteFault = Status::error(StatusCodeType::kMediaError, kScWriteFault, false);
constexpr Status kInternal = Status::generic(kScInternalError, false);

void set_text(char* field, size_t size, const std::string& text) {
  std::memset(field, ' ', size);
  std::memcpy(field, text.data(), std::min(size, text.size()));
}

}  // namespace

struct EmulatedController::Traffic {
  uint64_t to_device = 0;
  uint64_t to_host = 0;
  uint64_t copied = 0;  // bytes copied inside the device
  uint64_t media = 0;   // bytes read or written on the media
};

struct EmulatedController::Job {
  SubmissionEntry sqe;
  std::span<std::byte> data;
  CompletionCallback done;
  uint64_t arrival_ns = 0;    // simulated (timing model)
  uint64_t submitted_ns = 0;  // steady clock
  bool stop = false;
};

struct EmulatedController::Queue {
  tbb::concurrent_bounded_queue<Job> sq;
  std::mutex mu;  // guards outstanding and backlog
  unsigned outstanding = 0;
  std::deque<Job> backlog;
  std::vector<std::thread> threads;
};

struct EmulatedController::Counters {
  std::atomic<uint64_t> bytes_to_device{0}, bytes_to_host{0}, reads{0}, writes{0}, flushes{0},
      write_zeroes{0}, dsm{0}, copies{0}, admin{0}, copy_ranges{0}, bytes_copied{0}, errors{0},
      max_outstanding{0};
};

Result<std::unique_ptr<EmulatedController>> EmulatedController::create(
    const EmulatedControllerOptions& o) {
  auto bad = [](std::string what) { return fail(Errc::kInvalidArgument, std::move(what)); };
  if (o.lba_size != 512 && o.lba_size != 4096) {
    return bad("lba=" + std::to_string(o.lba_size) + ": the LBA size must be 512 or 4096");
  }
  if (o.mssrl == 0 || o.mssrl > 65535) {
    return bad("mssrl=" + std::to_string(o.mssrl) + " must be between 1 and 65535");
  }
  if (o.mcl == 0) return bad("mcl must be at least 1");
  if (o.msrc > 255) {
    return bad("msrc=" + std::to_string(o.msrc) + " must be between 0 and 255 (0's based)");
  }
  if (o.mdts > 16) return bad("mdts=" + std::to_string(o.mdts) + " must be at most 16");
  if (o.queues == 0 || o.queue_depth == 0 || o.workers_per_queue == 0) {
    return bad("queues, queue depth and workers per queue must be at least 1");
  }
  std::unique_ptr<BackingStore> store;
  if (o.path.empty()) {
    auto m = BackingStore::create_memory(o.memory_bytes);
    if (!m) return tl::unexpected(m.error());
    store = std::move(*m);
  } else {
    auto f = BackingStore::open_file(o.path, o.read_only, o.drain);
    if (!f) return tl::unexpected(f.error());
    store = std::move(*f);
  }
  if (store->size() == 0 || store->size() % o.lba_size != 0) {
    return bad((o.path.empty() ? std::string("memory namespace") : o.path) + ": size " +
               std::to_string(store->size()) + " bytes is not a positive multiple of the " +
               std::to_string(o.lba_size) + "-byte LBA size");
  }
  return std::unique_ptr<EmulatedController>(new EmulatedController(o, std::move(store)));
}

EmulatedController::EmulatedController(const EmulatedControllerOptions& o,
                                       std::unique_ptr<BackingStore> store)
    : options_(o),
      name_(!o.name.empty()  ? o.name
            : o.path.empty() ? "nvme-emu:mem:" + std::to_string(o.memory_bytes)
                             : "nvme-emu:" + o.path),
      store_(std::move(store)),
      blocks_(store_->size() / o.lba_size),
      counters_(std::make_unique<Counters>()) {
  if (o.timing) timing_ = std::make_unique<TimingModel>(*o.timing);
  for (unsigned q = 0; q < o.queues; ++q) {
    queues_.push_back(std::make_unique<Queue>());
    Queue* queue = queues_.back().get();
    for (unsigned w = 0; w < o.workers_per_queue; ++w) {
      queue->threads.emplace_back([this, queue] { serve(*queue); });
    }
  }
}

EmulatedController::~EmulatedController() {
  for (auto& q : queues_) {
    for (size_t i = 0; i < q->threads.size(); ++i) {
      Job stop;
      stop.stop = true;
      q->sq.push(std::move(stop));
    }
    for (auto& t : q->threads) t.join();
  }
}

// ---- queues -----------------------------------------------------------------------------

void EmulatedController::submit(unsigned queue, const SubmissionEntry& command,
                                std::span<std::byte> data, CompletionCallback done) {
  Queue& q = *queues_[queue % queues_.size()];
  Job job{
      command, data, std::move(done), timing_ ? timing_->host_now() : 0, timing_ ? steady_ns() : 0,
      false};
  {
    std::lock_guard lock(q.mu);
    const bool run_here = options_.inline_idle && !timing_ && q.outstanding == 0;
    if (q.outstanding < options_.queue_depth) {
      ++q.outstanding;
      uint64_t seen = counters_->max_outstanding.load(std::memory_order_relaxed);
      while (q.outstanding > seen &&
             !counters_->max_outstanding.compare_exchange_weak(seen, q.outstanding)) {
      }
      if (!run_here) {
        q.sq.push(std::move(job));
        return;
      }
    } else {
      q.backlog.push_back(std::move(job));
      return;
    }
  }
  run_job(q, job);  // the queue was idle: no handoff to its thread and back
}

void EmulatedController::serve(Queue& q) {
  for (;;) {
    Job job;
    q.sq.pop(job);
    if (job.stop) return;
    run_job(q, job);
  }
}

void EmulatedController::run_job(Queue& q, Job& job) {
  Traffic t;
  Completion c = run_command(job.sqe, job.data, t);
  Counters& k = *counters_;
  k.bytes_to_device.fetch_add(t.to_device, std::memory_order_relaxed);
  k.bytes_to_host.fetch_add(t.to_host, std::memory_order_relaxed);
  k.bytes_copied.fetch_add(t.copied, std::memory_order_relaxed);
  if (!c.status.ok()) k.errors.fetch_add(1, std::memory_order_relaxed);
  if (timing_) {
    uint64_t at = timing_->schedule(job.arrival_ns, t.to_device, t.media, t.to_host);
    if (timing_->options().delay_completions) {
      // Hold the completion until the command's simulated duration has passed for real.
      uint64_t due = job.submitted_ns + (at - std::min(at, job.arrival_ns));
      uint64_t now = steady_ns();
      if (due > now) std::this_thread::sleep_for(std::chrono::nanoseconds(due - now));
    }
    timing_->observe_completion(at);
  }
  // Post the completion: the slot goes to the oldest waiting command, if any.
  {
    std::lock_guard lock(q.mu);
    if (!q.backlog.empty()) {
      q.sq.push(std::move(q.backlog.front()));
      q.backlog.pop_front();
    } else {
      --q.outstanding;
    }
  }
  job.done(c);
}

// ---- commands ---------------------------------------------------------------------------

bool EmulatedController::in_range(uint64_t slba, uint64_t blocks) const {
  return slba <= blocks_ && blocks <= blocks_ - slba;
}

Completion EmulatedController::run_command(const SubmissionEntry& e, std::span<std::byte> data,
                                           Traffic& t) {
  const auto op = static_cast<IoOpcode>(e.opcode);
  if (op == IoOpcode::kFlush && e.nsid == 0xffffffff) return flush();
  if (e.nsid != nsid()) return done_with(kInvalidNamespace);
  switch (op) {
    case IoOpcode::kFlush:
      return flush();
    case IoOpcode::kRead:
      return read(e, data, t);
    case IoOpcode::kWrite:
      return write(e, data, t);
    case IoOpcode::kWriteZeroes:
      return write_zeroes(e);
    case IoOpcode::kDatasetManagement:
      return dataset_management(e, data, t);
    case IoOpcode::kCopy:
      return copy(e, data, t);
  }
  return done_with(kInvalidOpcode);
}

Completion EmulatedController::flush() {
  counters_->flushes.fetch_add(1, std::memory_order_relaxed);
  if (options_.read_only) return done_ok();
  if (!store_->flush()) return done_with(kWriteFault);
  return done_ok();
}

Completion EmulatedController::read(const SubmissionEntry& e, std::span<std::byte> data,
                                    Traffic& t) {
  counters_->reads.fetch_add(1, std::memory_order_relaxed);
  const uint64_t slba = slba_of(e), blocks = (e.cdw12 & 0xffff) + 1;
  const uint64_t bytes = blocks * options_.lba_size;
  if (!in_range(slba, blocks)) return done_with(kLbaOutOfRange);
  if (options_.mdts != 0 && bytes > (uint64_t{4096} << options_.mdts)) {
    return done_with(kInvalidField);
  }
  if (data.size() < bytes) return done_with(kInvalidField);
  if (!store_->read(slba * options_.lba_size, data.first(bytes))) return done_with(kReadError);
  t.to_host = t.media = bytes;
  return done_ok();
}

Completion EmulatedController::write(const SubmissionEntry& e, std::span<const std::byte> data,
                                     Traffic& t) {
  counters_->writes.fetch_add(1, std::memory_order_relaxed);
  if (options_.read_only) return done_with(kWriteProtected);
  const uint64_t slba = slba_of(e), blocks = (e.cdw12 & 0xffff) + 1;
  const uint64_t bytes = blocks * options_.lba_size;
  if (!in_range(slba, blocks)) return done_with(kLbaOutOfRange);
  if (options_.mdts != 0 && bytes > (uint64_t{4096} << options_.mdts)) {
    return done_with(kInvalidField);
  }
  if (data.size() < bytes) return done_with(kInvalidField);
  t.to_device = t.media = bytes;
  if (!store_->write(slba * options_.lba_size, data.first(bytes))) return done_with(kWriteFault);
  return done_ok();
}

Completion EmulatedController::write_zeroes(const SubmissionEntry& e) {
  counters_->write_zeroes.fetch_add(1, std::memory_order_relaxed);
  if (options_.read_only) return done_with(kWriteProtected);
  const uint64_t slba = slba_of(e), blocks = (e.cdw12 & 0xffff) + 1;
  if (!in_range(slba, blocks)) return done_with(kLbaOutOfRange);
  if (!store_->zero(slba * options_.lba_size, blocks * options_.lba_size, false)) {
    return done_with(kWriteFault);
  }
  return done_ok();
}

Completion EmulatedController::dataset_management(const SubmissionEntry& e,
                                                  std::span<const std::byte> data, Traffic& t) {
  counters_->dsm.fetch_add(1, std::memory_order_relaxed);
  const size_t n = (e.cdw10 & 0xff) + 1;
  if (data.size() < n * sizeof(DsmRange)) return done_with(kInvalidField);
  t.to_device = n * sizeof(DsmRange);
  std::vector<DsmRange> ranges(n);
  std::memcpy(ranges.data(), data.data(), n * sizeof(DsmRange));
  for (const DsmRange& r : ranges) {
    if (!in_range(r.slba, r.nlb)) return done_with(kLbaOutOfRange);
  }
  if ((e.cdw11 & kDsmDeallocate) == 0) return done_ok();  // attributes only: advisory
  if (options_.read_only) return done_with(kWriteProtected);
  for (const DsmRange& r : ranges) {
    if (r.nlb == 0) continue;
    if (!store_->zero(r.slba * options_.lba_size, uint64_t{r.nlb} * options_.lba_size, true)) {
      return done_with(kWriteFault);
    }
  }
  return done_ok();
}

Completion EmulatedController::copy(const SubmissionEntry& e, std::span<const std::byte> data,
                                    Traffic& t) {
  counters_->copies.fetch_add(1, std::memory_order_relaxed);
  if (!options_.copy) return done_with(kInvalidOpcode);
  if (options_.read_only) return done_with(kWriteProtected);
  const CopyFields f = CopyFields::decode(e);
  const size_t entry = source_range_bytes(f.desfmt);
  if (entry == 0) return done_with(kInvalidField);  // formats 2h/3h are not supported
  const size_t n = size_t{f.nr} + 1;
  if (n > options_.msrc + 1) return done_with(kSizeLimit);
  if (data.size() < n * entry) return done_with(kInvalidField);
  t.to_device = n * entry;
  counters_->copy_ranges.fetch_add(n, std::memory_order_relaxed);

  struct Range {
    uint64_t slba, blocks;
  };
  std::vector<Range> ranges(n);
  uint64_t total = 0;
  for (size_t i = 0; i < n; ++i) {
    // SLBA and NLB sit at the same offsets in formats 0h and 1h.
    const std::byte* p = data.data() + i * entry;
    uint64_t slba;
    uint16_t nlb;
    std::memcpy(&slba, p + offsetof(SourceRangeFormat0, slba), sizeof slba);
    std::memcpy(&nlb, p + offsetof(SourceRangeFormat0, nlb), sizeof nlb);
    ranges[i] = {slba, uint64_t{nlb} + 1};
    if (ranges[i].blocks > options_.mssrl) return done_with(kSizeLimit);
    total += ranges[i].blocks;
  }
  if (total > options_.mcl) return done_with(kSizeLimit);
  for (const Range& r : ranges) {
    if (!in_range(r.slba, r.blocks)) return done_with(kLbaOutOfRange);
  }
  if (!in_range(f.sdlba, total)) return done_with(kLbaOutOfRange);
  for (const Range& r : ranges) {
    if (r.slba < f.sdlba + total && f.sdlba < r.slba + r.blocks) return done_with(kOverlap);
  }

  std::optional<std::pair<uint32_t, Status>> fault;
  {
    std::lock_guard lock(fault_mu_);
    if (copy_fault_ && copy_fault_->first < n) fault = std::exchange(copy_fault_, std::nullopt);
  }
  const uint64_t bs = options_.lba_size;
  uint64_t dst = f.sdlba;
  for (size_t i = 0; i < n; ++i) {
    if (fault && fault->first == i) return done_with(fault->second, static_cast<uint32_t>(i));
    if (!store_->copy(ranges[i].slba * bs, dst * bs, ranges[i].blocks * bs)) {
      return done_with(kInternal, static_cast<uint32_t>(i));
    }
    t.copied += ranges[i].blocks * bs;
    t.media += 2 * ranges[i].blocks * bs;
    dst += ranges[i].blocks;
  }
  return done_ok();
}

// ---- admin ------------------------------------------------------------------------------

void EmulatedController::fill_identify_controller(IdentifyController& id) const {
  std::memset(&id, 0, sizeof id);
  id.vid = 0x1b36;  // the PCI vendor ID QEMU's emulated NVMe uses
  id.ssvid = 0x1af4;
  set_text(id.sn, sizeof id.sn, "f2sc-emu");
  set_text(id.mn, sizeof id.mn, "f2sc EmulatedController");
  set_text(id.fr, sizeof id.fr, "1.0");
  id.mdts = options_.mdts;
  id.cntlid = 1;
  id.ver = 0x00020000;  // NVMe 2.0
  id.sqes = 0x66;
  id.cqes = 0x44;
  id.maxcmd = static_cast<uint16_t>(std::min(options_.queue_depth, 65535u));
  id.nn = 1;
  id.oncs = kOncsDatasetManagement | kOncsWriteZeroes;
  if (options_.copy) {
    id.oncs |= kOncsCopy;
    id.ocfs = kOcfsFormat0 | kOcfsFormat1;
  }
  id.vwc = options_.path.empty() ? 0 : 1;  // the page cache is a volatile write cache
  set_text(id.subnqn, sizeof id.subnqn, "nqn.2026-11.org.f2sc:emulated");
  id.subnqn[sizeof id.subnqn - 1] = 0;
}

void EmulatedController::fill_identify_namespace(IdentifyNamespace& id) const {
  std::memset(&id, 0, sizeof id);
  id.nsze = id.ncap = id.nuse = blocks_;
  id.nlbaf = 1;  // formats 0 (512 B) and 1 (4 KiB)
  id.lbaf[0].lbads = 9;
  id.lbaf[1].lbads = 12;
  id.flbas = options_.lba_size == 4096 ? 1 : 0;
  id.dlfeat = 0x01;  // deallocated blocks read as zeros
  id.mssrl = static_cast<uint16_t>(options_.mssrl);
  id.mcl = options_.mcl;
  id.msrc = static_cast<uint8_t>(options_.msrc);
  id.nsattr = options_.read_only ? 1 : 0;
}

Result<Completion> EmulatedController::admin(const SubmissionEntry& e, std::span<std::byte> data) {
  counters_->admin.fetch_add(1, std::memory_order_relaxed);
  if (e.opcode != static_cast<uint8_t>(AdminOpcode::kIdentify)) return done_with(kInvalidOpcode);
  if (data.size() < 4096) return done_with(kInvalidField);
  const uint8_t cns = e.cdw10 & 0xff;
  if (cns == kCnsController) {
    IdentifyController id;
    fill_identify_controller(id);
    std::memcpy(data.data(), &id, sizeof id);
  } else if (cns == kCnsNamespace) {
    if (e.nsid != nsid() && e.nsid != 0xffffffff) return done_with(kInvalidNamespace);
    IdentifyNamespace id;
    fill_identify_namespace(id);
    std::memcpy(data.data(), &id, sizeof id);
  } else {
    return done_with(kInvalidField);
  }
  counters_->bytes_to_host.fetch_add(4096, std::memory_order_relaxed);
  return done_ok();
}

// ---- faults and stats -------------------------------------------------------------------

void EmulatedController::inject_copy_fault(uint32_t range, Status status) {
  std::lock_guard lock(fault_mu_);
  copy_fault_ = {range, status};
}

std::optional<uint64_t> EmulatedController::simulated_ns() const {
  if (!timing_) return std::nullopt;
  return timing_->simulated_ns();
}

ControllerStats EmulatedController::stats() const {
  const Counters& k = *counters_;
  auto ld = [](const std::atomic<uint64_t>& a) { return a.load(std::memory_order_relaxed); };
  ControllerStats s;
  s.bytes_to_device = ld(k.bytes_to_device);
  s.bytes_to_host = ld(k.bytes_to_host);
  s.reads = ld(k.reads);
  s.writes = ld(k.writes);
  s.flushes = ld(k.flushes);
  s.write_zeroes = ld(k.write_zeroes);
  s.dsm = ld(k.dsm);
  s.copies = ld(k.copies);
  s.admin = ld(k.admin);
  s.copy_ranges = ld(k.copy_ranges);
  s.bytes_copied_in_device = ld(k.bytes_copied);
  s.errors = ld(k.errors);
  s.max_outstanding = ld(k.max_outstanding);
  s.simulated_ns = timing_ ? timing_->simulated_ns() : 0;
  return s;
}

void EmulatedController::reset_stats() {
  Counters& k = *counters_;
  for (auto* a : {&k.bytes_to_device, &k.bytes_to_host, &k.reads, &k.writes, &k.flushes,
                  &k.write_zeroes, &k.dsm, &k.copies, &k.admin, &k.copy_ranges, &k.bytes_copied,
                  &k.errors, &k.max_outstanding}) {
    a->store(0, std::memory_order_relaxed);
  }
  if (timing_) timing_->reset();
}

}  // namespace f2sc::nvme
