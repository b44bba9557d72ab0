#include "blockdev/fault_device.h"

#include <condition_variable>
#include <optional>
#include <random>

namespace f2sc::blockdev {

namespace {

bool touches(const FaultRule& r, uint64_t lba, uint64_t blocks) {
  uint64_t last = blocks == 0 ? lba : lba + blocks - 1;
  return lba <= r.last_lba && last >= r.first_lba;
}

// The first `blocks` blocks of a copy command, as a command of its own.
CopyCommand prefix_of(const CopyCommand& c, uint64_t blocks) {
  CopyCommand out;
  out.dst = c.dst;
  for (const CopyRange& r : c.sources) {
    if (blocks == 0) break;
    uint64_t n = std::min(blocks, r.blocks);
    out.sources.push_back({r.lba, n});
    blocks -= n;
  }
  return out;
}

CopyCommandResult run_copy(BlockDevice& dev, const CopyCommand& c) {
  std::mutex mu;
  std::condition_variable cv;
  std::optional<CopyCommandResult> result;
  dev.copy_command_async(c, [&](CopyCommandResult r) {
    std::lock_guard lock(mu);
    result.emplace(std::move(r));
    cv.notify_one();
  });
  std::unique_lock lock(mu);
  cv.wait(lock, [&] { return result.has_value(); });
  return std::move(*result);
}

}  // namespace

FaultDevice::FaultDevice(BlockDevice& inner)
    : BlockDevice("fault:" + inner.name(), inner.block_size(), inner.block_count(),
                  inner.limits().copy_offload_supported, inner.limits().hw_copy),
      inner_(inner) {}

FaultDevice::~FaultDevice() {
  stop_workers();
}

bool FaultDevice::offload_enabled() const {
  return BlockDevice::offload_enabled() && inner_.offload_enabled();
}

void FaultDevice::add_rule(const FaultRule& rule) {
  std::lock_guard lock(mu_);
  rules_.push_back(rule);
  rule_seen_.push_back(0);
}

void FaultDevice::clear_rules() {
  std::lock_guard lock(mu_);
  rules_.clear();
  rule_seen_.clear();
}

std::optional<FaultRule> FaultDevice::match(unsigned op, uint64_t lba, uint64_t blocks) {
  for (size_t i = 0; i < rules_.size(); ++i) {
    FaultRule& r = rules_[i];
    if ((r.ops & op) == 0 || r.count == 0) continue;
    if (op != kFaultFlush && !touches(r, lba, blocks)) continue;
    if (rule_seen_[i]++ < r.skip) continue;
    --r.count;
    faults_injected_.fetch_add(1);
    return r;
  }
  return std::nullopt;
}

std::optional<FaultRule> FaultDevice::match_copy(const CopyCommand& command) {
  for (size_t i = 0; i < rules_.size(); ++i) {
    FaultRule& r = rules_[i];
    if ((r.ops & kFaultCopy) == 0 || r.count == 0) continue;
    bool hit = touches(r, command.dst, command.total_blocks());
    for (const CopyRange& s : command.sources) hit = hit || touches(r, s.lba, s.blocks);
    if (!hit) continue;
    if (rule_seen_[i]++ < r.skip) continue;
    --r.count;
    faults_injected_.fetch_add(1);
    return r;
  }
  return std::nullopt;
}

Status FaultDevice::dead() const {
  return fail(Errc::kPowerCut, EIO, name() + ": power is cut");
}

bool FaultDevice::powered() const {
  std::lock_guard lock(mu_);
  return powered_;
}

uint64_t FaultDevice::mutating_ops() const {
  std::lock_guard lock(mu_);
  return mutating_ops_;
}

uint64_t FaultDevice::unflushed_changes() const {
  std::lock_guard lock(mu_);
  return undo_blocks_;
}

void FaultDevice::cut_power_after(const PowerCutPlan& plan) {
  std::lock_guard lock(mu_);
  plan_ = plan;
  plan_base_ = mutating_ops_;
}

void FaultDevice::power_cut() {
  std::lock_guard lock(mu_);
  cut_locked();
}

void FaultDevice::cut_locked() {
  // Undo newest first so that the oldest recorded contents win.
  for (auto it = undo_.rbegin(); it != undo_.rend(); ++it) {
    (void)inner_.write(it->lba, it->old);
  }
  undo_.clear();
  undo_blocks_ = 0;
  powered_ = false;
  plan_.reset();
}

void FaultDevice::power_on() {
  std::lock_guard lock(mu_);
  powered_ = true;
}

Status FaultDevice::record(uint64_t lba, uint64_t blocks) {
  Undo u{lba, std::vector<std::byte>(blocks * block_size())};
  if (auto s = inner_.read(lba, u.old); !s) return s;
  undo_.push_back(std::move(u));
  undo_blocks_ += blocks;
  return {};
}

uint64_t FaultDevice::begin_mutation(uint64_t blocks, bool* cut_after) {
  ++mutating_ops_;
  *cut_after = false;
  if (!plan_ || mutating_ops_ - plan_base_ < plan_->after_ops) return blocks;
  *cut_after = true;
  if (!plan_->torn || blocks <= 1) return 0;
  std::mt19937_64 rng(plan_->seed ^ mutating_ops_);
  return 1 + rng() % (blocks - 1);  // a strict, non-empty prefix
}

Status FaultDevice::do_read(uint64_t lba, std::span<std::byte> buf) {
  {
    std::lock_guard lock(mu_);
    if (!powered_) return dead();
    if (auto r = match(kFaultRead, lba, buf.size() / block_size())) return fail(r->error);
  }
  return inner_.read(lba, buf);
}

Status FaultDevice::do_write(uint64_t lba, std::span<const std::byte> buf) {
  std::lock_guard lock(mu_);
  if (!powered_) return dead();
  const uint64_t blocks = buf.size() / block_size();
  if (auto r = match(kFaultWrite, lba, blocks)) return fail(r->error);
  bool cut = false;
  uint64_t land = begin_mutation(blocks, &cut);
  if (cut) {
    cut_locked();
    // A torn write: its prefix reached the media and survives the cut.
    if (land > 0) (void)inner_.write(lba, buf.first(land * block_size()));
    return dead();
  }
  if (auto s = record(lba, blocks); !s) return s;
  return inner_.write(lba, buf);
}

Status FaultDevice::do_flush() {
  std::lock_guard lock(mu_);
  if (!powered_) return dead();
  if (auto r = match(kFaultFlush, 0, 0)) return fail(r->error);
  if (auto s = inner_.flush(); !s) return s;
  undo_.clear();
  undo_blocks_ = 0;
  return {};
}

Status FaultDevice::do_discard(uint64_t lba, uint64_t blocks) {
  std::lock_guard lock(mu_);
  if (!powered_) return dead();
  if (auto r = match(kFaultDiscard, lba, blocks)) return fail(r->error);
  bool cut = false;
  begin_mutation(blocks, &cut);
  if (cut) {
    cut_locked();
    return dead();
  }
  if (auto s = record(lba, blocks); !s) return s;
  return inner_.discard(lba, blocks);
}

CopyCommandResult FaultDevice::do_copy(const CopyCommand& command) {
  std::lock_guard lock(mu_);
  if (!powered_) return {dead(), 0};
  const uint64_t total = command.total_blocks();
  if (auto r = match_copy(command)) {
    // A partial completion: the first ranges really land, then the command fails.
    uint32_t done = std::min<uint32_t>(r->copy_ranges_done, command.sources.size());
    if (done > 0) {
      CopyCommand head;
      head.dst = command.dst;
      head.sources.assign(command.sources.begin(), command.sources.begin() + done);
      if (auto s = record(head.dst, head.total_blocks()); !s) return {s, 0};
      CopyCommandResult hr = run_copy(inner_, head);
      if (!hr.status) return hr;
    }
    return {fail(r->error), done};
  }
  bool cut = false;
  uint64_t land = begin_mutation(total, &cut);
  if (cut) {
    cut_locked();
    if (land > 0) (void)run_copy(inner_, prefix_of(command, land));
    return {dead(), 0};
  }
  if (auto s = record(command.dst, total); !s) return {s, 0};
  return run_copy(inner_, command);
}

}  // namespace f2sc::blockdev
