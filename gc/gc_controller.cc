#include "gc/gc_controller.h"

#include <algorithm>
#include <cerrno>
#include <string>

namespace f2sc::gc {

GcController::GcController(segment::SegmentManager& sm, blockdev::BlockDevice& dev,
                           BlockOwners& owners, GcOptions options)
    : sm_(sm),

      owners_(owners),
      options_(std::move(options)),
      migrator_(sm, dev, owners, stats_, options_.migrator),
      background_policy_(options_.background_policy ? options_.background_policy
                                                    : std::make_shared<const CostBenefitPolicy>()),
      sleep_(options_.sleep) {}

GcController::~GcController() {
  stop_background();
}

Result<CollectResult> GcController::collect(uint32_t n_sections, const VictimPolicy& policy) {
  const auto start = std::chrono::steady_clock::now();
  CollectResult out;
  const VictimContext ctx{sm_.layout().segs_per_sec * segment::kBlocksPerSeg, sm_.now()};
  // Pick and pin; a section another collection pinned in the meantime is passed over.
  // The copies must fit in the free sections (reserve included) with one to spare, since
  // victims are freed only by the checkpoint after them.
  const uint32_t free = sm_.free_sections();
  uint64_t budget = free > 1 ? uint64_t{free - 1} * ctx.blocks_per_section : 0;
  std::vector<uint32_t> victims;
  std::vector<segment::SectionUsage> candidates = sm_.victim_candidates();
  std::vector<uint32_t> valid_of(sm_.layout().sections, 0);
  for (const segment::SectionUsage& c : candidates) valid_of[c.secno] = c.valid;
  // Rank a few more than wanted (bad or newly pinned sections are passed over), and all of
  // them only when those run out: ranking every section per collection cost more than
  // scanning the victims.
  size_t ranked = std::min(candidates.size(), size_t{n_sections} + 16 + bad_section_count());
  for (bool done = false; !done;) {
    for (uint32_t secno : policy.rank(candidates, ctx, ranked)) {
      if (victims.size() >= n_sections) break;
      if (std::find(victims.begin(), victims.end(), secno) != victims.end()) continue;
      if (is_bad_section(secno)) continue;
      if (valid_of[secno] > budget) {
        done = true;
        break;
      }
      if (!sm_.try_pin_section(secno)) continue;
      victims.push_back(secno);
      budget -= valid_of[secno];
    }
    done = done || victims.size() >= n_sections || ranked == candidates.size();
    ranked = candidates.size();
  }
  if (victims.empty()) return out;
  auto r = collect_pinned(std::move(victims), start);
  if (!r) {
    ++stats_.collect_errors;
    std::lock_guard lock(bad_mu_);
    last_error_ = r.error().message;
  }
  return r;
}

Result<CollectResult> GcController::collect_pinned(std::vector<uint32_t> victims,
                                                   std::chrono::steady_clock::time_point start) {
  CollectResult out;
  ++stats_.collections;
  auto migrated = migrator_.migrate(victims);
  for (uint32_t secno : victims) sm_.unpin_section(secno);
  stats_.time_ns += static_cast<uint64_t>(
      std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now() - start)
          .count());
  if (!migrated) return fail(migrated.error());
  if (!migrated->unreadable.empty()) {
    std::lock_guard lock(bad_mu_);
    for (UnreadableBlock& b : migrated->unreadable) {
      bad_sections_.insert(sm_.layout().secno_of_seg(sm_.layout().segno_of(b.addr)));
      if (bad_blocks_.size() < kMaxBadBlocks) bad_blocks_.push_back(std::move(b));
    }
  }
  out.victims = migrated->sections;
  out.freed = migrated->sections_freed;
  out.moved = migrated->moved;
  out.dropped = migrated->dropped;
  out.copy_faults = migrated->copy_faults;
  // A victim may still hold blocks whose owners have left them for the checkpoint to
  // release (dirty nodes it rewrites elsewhere): the checkpoint empties it, so write one
  // for it too and count it freed after. Without that, a foreground GC would see a
  // collection that freed nothing, stop, and leave writers short of free sections while
  // the same victim stays first in line.
  const bool waiting = out.freed < out.victims && migrated->not_live > 0;
  if (options_.checkpoint_after_collect && (out.moved > 0 || out.freed > 0 || waiting)) {
    if (auto s = owners_.checkpoint(); !s) return fail(with_context(s.error(), "GC checkpoint"));
    ++stats_.checkpoints;
    out.checkpointed = true;
    if (waiting) {
      uint32_t freed = 0;
      for (uint32_t secno : victims) freed += sm_.section_valid_blocks(secno) == 0;
      if (freed > out.freed) stats_.victims_freed += freed - out.freed;
      out.freed = std::max(out.freed, freed);
    }
  }
  return out;
}

size_t GcController::bad_section_count() const {
  std::lock_guard lock(bad_mu_);
  return bad_sections_.size();
}

bool GcController::is_bad_section(uint32_t secno) const {
  std::lock_guard lock(bad_mu_);
  return bad_sections_.count(secno) != 0;
}

GcStatsSnapshot GcController::stats() const {
  GcStatsSnapshot s = stats_.snapshot();
  std::lock_guard lock(bad_mu_);
  s.bad_sections = bad_sections_.size();
  return s;
}

std::vector<UnreadableBlock> GcController::bad_blocks() const {
  std::lock_guard lock(bad_mu_);
  return bad_blocks_;
}

std::string GcController::last_error() const {
  std::lock_guard lock(bad_mu_);
  return last_error_;
}

std::future<Result<CollectResult>> GcController::collect_async(
    uint32_t n_sections, std::shared_ptr<const VictimPolicy> policy) {
  return std::async(std::launch::async, [this, n_sections, policy = std::move(policy)] {
    return collect(n_sections, *policy);
  });
}

bool GcController::needs_foreground() const {
  return sm_.free_sections() <= sm_.reserved_sections() + options_.foreground_margin_sections;
}

Result<CollectResult> GcController::foreground() {
  CollectResult total;
  GreedyPolicy greedy;
  // Each round frees at most one section net of what its copies use; stop when a round
  // achieves nothing (everything is valid, or only dead blocks in flight remain).
  for (uint32_t round = 0; round < sm_.layout().sections && needs_foreground(); ++round) {
    auto r = collect(1, greedy);
    if (!r) return r;
    total.victims += r->victims;
    total.freed += r->freed;
    total.moved += r->moved;
    total.dropped += r->dropped;
    total.copy_faults += r->copy_faults;
    total.checkpointed |= r->checkpointed;
    if (r->freed == 0) break;
  }
  return total;
}

void GcController::start_background() {
  std::lock_guard lock(bg_mu_);
  if (bg_thread_.joinable()) return;
  bg_stop_ = false;
  bg_thread_ = std::thread([this] { background_loop(); });
}

void GcController::stop_background() {
  std::thread t;
  {
    std::lock_guard lock(bg_mu_);
    bg_stop_ = true;
    bg_cv_.notify_all();
    t = std::move(bg_thread_);
  }
  if (t.joinable()) t.join();
}

bool GcController::background_running() const {
  std::lock_guard lock(bg_mu_);
  return bg_thread_.joinable();
}

void GcController::set_urgent(bool urgent) {
  urgent_ = urgent;
  wake_background();
}

void GcController::wake_background() {
  std::lock_guard lock(bg_mu_);
  bg_kick_ = true;
  bg_cv_.notify_all();
}

void GcController::set_background_policy(std::shared_ptr<const VictimPolicy> policy) {
  if (!policy) policy = std::make_shared<const CostBenefitPolicy>();
  std::lock_guard lock(bg_mu_);
  background_policy_ = std::move(policy);
}

Status GcController::set_sleep(const GcSleep& sleep) {
  if (sleep.min_ms == 0 || sleep.max_ms == 0 || sleep.no_gc_ms == 0 || sleep.urgent_ms == 0)
    return fail(Errc::kInvalidArgument, EINVAL, "GC sleep times must be at least 1 ms");
  if (sleep.min_ms > sleep.max_ms)
    return fail(Errc::kInvalidArgument, EINVAL,
                "GC min sleep " + std::to_string(sleep.min_ms) + " ms exceeds max sleep " +
                    std::to_string(sleep.max_ms) + " ms");
  std::lock_guard lock(bg_mu_);
  sleep_ = sleep;
  bg_resleep_ = true;  // the thread starts its sleep again with the new times
  bg_cv_.notify_all();
  return {};
}

GcSleep GcController::sleep() const {
  std::lock_guard lock(bg_mu_);
  return sleep_;
}

void GcController::background_loop() {
  enum class Next { kMin, kLonger, kNoGc } next = Next::kMin;
  uint32_t wait_ms = 0;  // the last sleep, which a back-off lengthens
  for (;;) {
    std::shared_ptr<const VictimPolicy> policy;
    {
      std::unique_lock lock(bg_mu_);
      const uint32_t last = wait_ms;
      for (;;) {
        const GcSleep sl = sleep_;  // set_sleep() may change it while the thread sleeps
        wait_ms = next == Next::kMin ? sl.min_ms
                  : next == Next::kNoGc
                      ? sl.no_gc_ms
                      : std::min(sl.max_ms, std::max(last, sl.min_ms) + sl.min_ms);
        bg_resleep_ = false;
        const uint32_t ms = urgent_ ? sl.urgent_ms : wait_ms;
        bg_cv_.wait_for(lock, std::chrono::milliseconds(ms),
                        [&] { return bg_stop_ || bg_kick_ || bg_resleep_; });
        if (bg_stop_) return;
        if (!bg_resleep_) break;  // the sleep ran out, or a wake-up: collect
      }
      bg_kick_ = false;
      policy = background_policy_;
    }
    if (!urgent_ && options_.is_idle && !options_.is_idle()) {
      // Busy: back off, as F2FS increases its sleep while the device is in use.
      next = Next::kLonger;
      continue;
    }
    auto r = collect(options_.background_sections, *policy);
    next = !r || r->victims == 0 ? Next::kNoGc : r->freed == 0 ? Next::kLonger : Next::kMin;
  }
}

}  // namespace f2sc::gc
