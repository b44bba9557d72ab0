// The runner: plans files, fills the filesystem to --util, overwrites it with the workload
// on --threads threads (each owns the files i with i % threads == its number) while a sampler
// thread records the time series, then verifies every file against the shadow model.
//
// Errors that prevent a run (the fill does not fit, the first statfs fails) are returned;
// a filesystem error during the run stops it and lands in RunResult::stop_reason, and
// verification still runs on what was written.
//
// Thread safety: run_workload() is called from one thread and joins every thread it starts.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "base/error.h"
#include "tools/f2sc-stress/gc_counters.h"
#include "tools/f2sc-stress/options.h"
#include "tools/f2sc-stress/shadow.h"
#include "tools/f2sc-stress/target.h"

namespace f2sc::stress {

struct Sample {
  double t = 0;  // seconds since the overwrite phase began
  uint64_t ops = 0;
  uint64_t user_bytes = 0;
  std::optional<uint64_t> device_bytes;  // written, since the phase began
  std::optional<double> waf;             // device_bytes / user_bytes so far
  uint64_t free_bytes = 0;               // statfs f_bfree
  std::optional<uint64_t> gc_blocks_moved;
  std::optional<uint64_t> gc_data_blocks_moved;
  // Live fraction of the data segments in use (neither free, prefree nor open): the u the
  // greedy model is about. Library runs only.
  std::optional<double> data_u;
};

struct LatencySummary {
  uint64_t count = 0;
  double mean_us = 0, p50_us = 0, p99_us = 0, p999_us = 0, max_us = 0;
  std::vector<std::pair<double, double>> cdf;  // (microseconds, fraction <=), ~200 points
};

struct VerifySummary {
  uint64_t files = 0;             // files fully read back at the end
  uint64_t bytes = 0;             // bytes read back at the end
  uint64_t reads_during_run = 0;  // 4 KiB blocks read and checked while writing
  uint64_t errors = 0;            // bad blocks (all of them; `mismatches` keeps the first 20)
  std::vector<Mismatch> mismatches;
};

struct RunResult {
  std::string mode;  // "offload" or "emulation"
  std::string device;
  std::optional<bool> offload_active;  // what the device reported after mounting
  bool gc_policy_applied = false;
  uint32_t block_size = 4096;
  // The fill.
  uint32_t files = 0;
  uint64_t previous_files_removed = 0;  // stress-NNNNNN files an earlier run left
  uint64_t live_bytes = 0;
  uint64_t main_bytes = 0;      // the main area (statfs f_blocks)
  uint64_t capacity_bytes = 0;  // what users can fill: in use + f_bavail before the fill
  double util_measured = 0;     // in use / capacity after the fill and a checkpoint (df's Use%)
  double live_fraction = 0;     // in use / main area: the u of the greedy model
  double fill_seconds = 0;
  Counters fill;  // deltas over the fill
  // The overwrite phase (up to and including its closing sync).
  uint64_t ops = 0;
  uint64_t user_bytes_written = 0;
  uint64_t user_bytes_read = 0;
  double seconds = 0;
  Counters run;  // deltas over the phase
  std::optional<uint64_t> device_bytes_written;
  std::optional<double> waf;
  // WAF over the second half of the phase's user writes (from the time series): the steady
  // state, without the start where free space absorbs writes before GC has work.
  std::optional<double> waf_second_half;
  double waf_greedy_model = 0;  // at live_fraction
  // Data cleaning alone over the second half: (user blocks + GC data blocks moved) / user
  // blocks, beside the greedy model at the measured live fraction of the data segments in
  // use (mean over the same samples). What the model describes, without node and checkpoint
  // writes and without the free sections GC keeps in reserve. Library runs only.
  std::optional<double> data_waf_second_half;
  std::optional<double> data_u_second_half;
  std::optional<double> data_waf_greedy_model;
  LatencySummary latency;
  std::vector<Sample> samples;
  VerifySummary verify;
  double verify_seconds = 0;
  // The final pass again on a fresh read-only mount after the unmount (library runs only):
  // what reached the device, not what a cache still held.
  struct Remount {
    uint64_t files = 0, bytes = 0, errors = 0;
    double seconds = 0;
  };
  std::optional<Remount> after_remount;
  std::vector<ShadowFile> shadow;  // the model at the end (for the remount pass)
  std::string stop_reason;         // empty: the run did what was asked
};

struct RunEnv {
  Target* target = nullptr;
  fs::FileSystem* fs = nullptr;             // null through --mount
  blockdev::BlockDevice* device = nullptr;  // null through --mount
  std::string mode;
  std::string device_name;
  bool progress = false;  // a progress line on stdout (a terminal)
  // --mount on a directory that is not an f2sc-fuse mount: plan the files for this many
  // bytes of capacity (--size) instead of the directory's filesystem; 0 = no cap.
  uint64_t capacity_cap = 0;
  // Remove the files after a run that verified clean (--mount: leave the mount as found).
  bool remove_files = false;
};

// ops_override: the overwrite budget in operations (used by the second run of
// --copy-offload both so that both runs do the same work); 0 = from the options.
Result<RunResult> run_workload(const Options& o, const RunEnv& env, uint64_t ops_override = 0);

}  // namespace f2sc::stress
