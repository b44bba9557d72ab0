// GcController: when and how much to collect. Picks victims with a VictimPolicy, pins
// them, runs the Migrator, unpins them, and checkpoints through BlockOwners so the emptied
// victims become free.
//
//   collect(n, policy)  clean up to n sections now, on the calling thread (collect_async:
//                       on a thread of its own, the result in a future). Takes no more
//                       victims than their valid blocks fit in the free sections (the
//                       reserve included) with one section to spare.
//   foreground()        what the filesystem calls before a write when free sections run
//                       low: greedy collection until free sections exceed the reserve plus
//                       `foreground_margin_sections` (or nothing is left to clean).
//   start_background() / stop_background()
//                       a thread in the manner of F2FS's gc thread: sleeps
//                       `min_ms`..`max_ms` of GcSleep (longer while the device is busy
//                       or collecting achieved nothing, shorter after progress), and
//                       `no_gc_ms` when there is no victim; collects one section with
//                       the background policy when the is_idle callback says so, or at once
//                       in urgent mode (`urgent_ms`, no idle check). The sleeps
//                       start as GcOptions says; set_sleep() changes them at run time.
//
// Unreadable blocks: a victim block the Migrator could not read stays in place with its
// owner; the controller remembers it (bad_blocks(), at most kMaxBadBlocks kept) and never
// picks its section as a victim again while it is mounted, so GC cannot spin on it and
// the rest of the device is still cleaned. Errors of collect() are counted
// (collect_errors) and the last one kept (last_error()), also those of the background
// thread, whose callers cannot see them otherwise.
//
// Several collections may run at once (the background thread, foreground callers): each
// pins its victims with SegmentManager::try_pin_section, so they never share a section.
// No GcController lock is held across device I/O or calls into BlockOwners; the only lock
// is the background thread's wakeup mutex.
//
// Thread safety: every method may be called from any thread; stop_background() must not be
// called from the is_idle callback. Destroying the controller stops the background thread.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <future>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "base/error.h"
#include "blockdev/block_device.h"
#include "gc/block_owners.h"
#include "gc/gc_stats.h"
#include "gc/migrator.h"
#include "gc/victim_policy.h"
#include "segment/segment_manager.h"

namespace f2sc::gc {

// The background thread's sleeps in milliseconds (F2FS's gc_min_sleep_time,
// gc_max_sleep_time, gc_no_gc_sleep_time and gc_urgent_sleep_time).
struct GcSleep {
  uint32_t min_ms = 0, max_ms = 0, no_gc_ms = 0, urgent_ms = 0;
  bool operator==(const GcSleep&) const = default;
};

struct GcOptions {
  GcSleep sleep{30000, 60000, 300000, 500};  // F2FS's defaults
  uint32_t foreground_margin_sections = 2;
  uint32_t background_sections = 1;  // sections per background round
  bool checkpoint_after_collect = true;
  MigratorOptions migrator;
  // Whether the filesystem is idle enough for background GC (no callback: always idle).
  std::function<bool()> is_idle;
  // The background thread's policy (nullptr: cost-benefit).
  std::shared_ptr<const VictimPolicy> background_policy;
};

struct CollectResult {
  uint32_t victims = 0;
  uint32_t freed = 0;  // victims left empty (free after the checkpoint)
  uint64_t moved = 0;
  uint64_t dropped = 0;
  uint64_t copy_faults = 0;
  bool checkpointed = false;
};

class GcController {
 public:
  // All references must outlive the controller.
  GcController(segment::SegmentManager& sm, blockdev::BlockDevice& dev, BlockOwners& owners,
               GcOptions options = {});
  ~GcController();
  GcController(const GcController&) = delete;
  GcController& operator=(const GcController&) = delete;

  Result<CollectResult> collect(uint32_t n_sections, const VictimPolicy& policy);
  // collect() on a thread of its own. The controller must outlive the future's result.
  std::future<Result<CollectResult>> collect_async(uint32_t n_sections,
                                                   std::shared_ptr<const VictimPolicy> policy);
  // Whether free sections are at or under the reserve plus the margin.
  bool needs_foreground() const;
  Result<CollectResult> foreground();

  void start_background();
  void stop_background();
  bool background_running() const;
  void set_urgent(bool urgent);
  // Wakes the background thread now (e.g. after a large delete).
  void wake_background();
  // The background thread's sleeps from now on: a sleep in progress starts again with the
  // new times (without collecting first). Refused (kInvalidArgument, EINVAL) unless every value is
  // at least 1 and min_ms <= max_ms. Starts as the GcOptions' values.
  Status set_sleep(const GcSleep& sleep);
  GcSleep sleep() const;
  // The background thread's policy from its next round on (nullptr: cost-benefit).
  void set_background_policy(std::shared_ptr<const VictimPolicy> policy);

  GcStatsSnapshot stats() const;
  void reset_stats() { stats_.reset(); }
  static constexpr size_t kMaxBadBlocks = 1024;
  std::vector<UnreadableBlock> bad_blocks() const;
  std::string last_error() const;  // empty when no collect() has failed

 private:
  void background_loop();
  Result<CollectResult> collect_pinned(std::vector<uint32_t> victims,
                                       std::chrono::steady_clock::time_point start);
  size_t bad_section_count() const;
  bool is_bad_section(uint32_t secno) const;

  segment::SegmentManager& sm_;
  BlockOwners& owners_;
  const GcOptions options_;
  GcStats stats_;
  Migrator migrator_;

  mutable std::mutex bad_mu_;  // guards the three below
  std::set<uint32_t> bad_sections_;
  std::vector<UnreadableBlock> bad_blocks_;
  std::string last_error_;

  std::atomic<bool> urgent_{false};
  mutable std::mutex bg_mu_;  // guards the fields below; never held across GC work
  std::shared_ptr<const VictimPolicy> background_policy_;
  GcSleep sleep_;
  std::condition_variable bg_cv_;
  bool bg_stop_ = false;
  bool bg_kick_ = false;     // wake up and collect
  bool bg_resleep_ = false;  // wake up and sleep again with new times
  std::thread bg_thread_;
};

}  // namespace f2sc::gc
