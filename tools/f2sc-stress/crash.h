// f2sc-stress --crash N: power-cut testing while GC runs (issue 10).
//
// Each cut i (seed = --seed + i) formats a fresh image (nvme-emu, in /dev/shm when it has
// room, else $TMPDIR or /tmp) under a FaultDevice, mounts it with the checkpoint timer off,
// runs the crash workload (crash_workload.h) and cuts power at mutating device operation K
// (counted from before the mount; torn or not). K is uniform in [1, M], M the mutating
// operations of one calibration run without a cut (seed --seed); a workload that ends
// before K gets its power cut when it ends. The FileSystem is then dropped without unmount,
// power comes back, and, in this order: fsck.f2sc (in process) and fsck.f2fs --dry-run
// must be clean on the crashed image; the image must mount; the model's checks must pass
// (check_after_crash); the recovered filesystem must keep working (exercise_after_crash:
// GC, a new file) with the model's checks still passing; after a clean unmount fsck.f2sc
// and fsck.f2fs (strictly) must be clean.
//
// A failure names the seed, K and torn; `--crash 1 --seed S --crash-at K --torn on|off`
// (replay_command) repeats that cut exactly (with --crash-gc explicit, the default).
//
// Thread safety: one run at a time per process is expected (it uses temporary files).
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "base/error.h"
#include "tools/f2sc-stress/crash_workload.h"
#include "tools/f2sc-stress/options.h"

namespace f2sc::stress {

struct CutSpec {
  uint64_t seed = 1;
  uint64_t cut_at = 0;  // 0: no planned cut (power is cut when the workload ends)
  bool torn = false;
  bool offload = true;
};

struct CrashFailure {
  CutSpec cut;
  std::string what;   // every check that failed, "; "-separated
  std::string image;  // the crashed image, kept (--crash-keep), or empty
};

struct CutOutcome {
  uint64_t mutating_ops = 0;     // device operations seen up to the cut
  bool cut_planned_hit = false;  // the planned cut happened before the workload ended
  bool cut_in_gc = false;        // an explicit GC round saw the cut
  std::string cut_during;        // the workload operation that saw the cut
  uint64_t gc_blocks_moved = 0;
  uint64_t ops_done = 0;
  double peak_fill = 0;               // most of the users' capacity in use at once (statfs)
  uint64_t enospc = 0;                // operations refused with ENOSPC (allowed; the model follows)
  std::vector<std::string> problems;  // empty: the cut passed every check
  std::string kept_image;             // with keep_dir, a failed cut's crashed image
};

struct CrashConfig {
  uint64_t size_bytes = 64ull << 20;
  CrashWorkloadOptions workload;
  bool background_gc = false;
  std::string gc_policy;  // empty: the filesystem's defaults
  std::string fsck_f2fs;  // path; empty: not run
  bool check = true;      // false: calibration (no checks after the cut)
  std::string image_dir;  // empty: /dev/shm when it has room, else $TMPDIR or /tmp
  std::string keep_dir;   // failed cuts leave their crashed image here (before any mount)
};

// One cut: format, mount, run, cut, check. Operational errors (the image cannot be made,
// fsck.f2fs cannot run, the mount fails before any cut) are the Error.
Result<CutOutcome> run_cut(const CrashConfig& config, const CutSpec& spec);

struct CrashResult {
  uint64_t cuts = 0;
  std::vector<CrashFailure> failures;
  double seconds = 0;
  uint64_t calibration_ops = 0;  // M (0 with --crash-at)
  uint64_t cuts_before_end = 0;  // the planned cut landed inside the workload
  uint64_t cuts_in_gc = 0;
  uint64_t torn_cuts = 0;
  uint64_t gc_blocks_moved = 0;  // over all cuts, up to each cut
  double peak_fill_mean = 0;     // mean over the cuts of CutOutcome::peak_fill
  uint64_t enospc = 0;           // operations refused with ENOSPC, all cuts
  bool fsck_f2fs = false;        // fsck.f2fs --dry-run ran on every image
  bool time_limited = false;     // --seconds stopped the run before N cuts
};

// Runs o.crash cuts. `on_failure` is called as each failure is found (for the text output).
Result<CrashResult> run_crash(const Options& o,
                              const std::function<void(const CrashFailure&)>& on_failure = {});

// The command line that repeats a failed cut exactly.
std::string replay_command(const Options& o, const CrashFailure& f);

// "crash: FAIL seed S, cut at K (torn): what\n  replay: ..." (one failure).
std::string failure_line(const Options& o, const CrashFailure& f);
// Summary lines: cuts, failures, seconds, cuts per second, where the cuts landed.
std::string crash_summary(const Options& o, const CrashResult& r);
// {"tool", "version", "config": {...}, "crash": {...}} (keys in report.h).
nlohmann::json crash_json(const Options& o, const CrashResult& r);

}  // namespace f2sc::stress
