// Reports: the terminal table (one column per run, plus offload/emulation ratios for
// --copy-offload both), the JSON document, and the CSV time series.
//
// JSON keys (stable; "null" where a figure is not available, never an estimate):
//   tool, version, config{device, size_bytes, util, workload, file_size{min,max}, ops,
//   seconds, overwrite, threads, copy_offload, gc_policy, gc_policy_applied, seed,
//   read_ratio, mount},
//   and per run (at the top level for on/off; under "offload" and "emulation" for both,
//   beside "ratios"):
//   mode, device, offload_active, completed, stopped_early, files, previous_files_removed,
//   live_bytes, main_bytes,
//   capacity_bytes, util (in use / capacity after the fill), live_fraction (in use / main
//   area: the model's u), fill{seconds, user_bytes_written, device_bytes_written}, ops, seconds,
//   user_bytes_written, user_bytes_read, device_bytes_written, waf, waf_second_half,
//   waf_greedy_model, data_waf_second_half ((user + GC data moved) / user over the second
//   half), data_u_second_half (mean live fraction of the data segments in use then),
//   data_waf_greedy_model (the model at that u; these three null through --mount),
//   gc{available, victims, blocks_moved, data_blocks_moved, node_blocks_moved,
//      copy_commands, ranges_per_command_mean, ranges_per_command_max, offloaded_blocks,
//      emulated_blocks, dropped_copies, copy_host_bytes, seconds, mib_per_s},
//   host_bytes{read, write, copy_descriptors, total},
//   device_counters{read_commands, write_commands, flush_commands, copy_commands, copy_ranges,
//                   blocks_copied_in_device},
//   fs{checkpoints, data_blocks_written, node_blocks_written},
//   latency_us{count, mean, p50, p99, p999, max},
//   verify{files, bytes, errors (all passes), reads_during_run, seconds,
//          after_remount{files, bytes, errors, seconds} (null through --mount),
//          mismatches[{file, offset, expected, found, what}]}  (hashes: 16 hex digits),
//   series[{t, ops, user_bytes, device_bytes, waf, free_bytes, gc_blocks_moved}]
//
// With --crash N (crash.h writes it; no run keys): tool, version,
//   config{mode ("crash"), size_bytes, util, ops_per_cut, seed, cuts_requested, crash_at
//   (null: drawn), torn (on|off|random), copy_offload, gc_policy, crash_gc
//   (explicit|background), seconds_limit (null: none), fsck_f2fs (whether fsck.f2fs
//   --dry-run ran)},
//   crash{cuts, failures, list[{seed, cut_at, torn, copy_offload, what, replay, image (the
//   kept crashed image with --crash-keep, else null)}], seconds, cuts_per_second,
//   calibration_ops (M; 0 with --crash-at), cuts_before_end (the planned
//   cut landed inside the workload), cuts_in_gc (an explicit GC round saw it), torn_cuts,
//   gc_blocks_moved (all cuts, up to each cut), time_limited (--seconds stopped the run),
//   peak_fill_mean (mean over the cuts of the most of the users' capacity in use at once
//   before the cut), enospc (operations refused for space, all cuts; allowed)}
//
// Thread safety: pure functions over finished results.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "base/error.h"
#include "tools/f2sc-stress/options.h"
#include "tools/f2sc-stress/runner.h"

namespace f2sc::stress {

std::string format_table(const Options& o, const std::vector<RunResult>& runs);

nlohmann::json to_json(const Options& o, const std::vector<RunResult>& runs);

Status write_csv(const std::string& path, const std::vector<RunResult>& runs);

// The same figures the table shows, as optional values (used by the table and the JSON).
struct Figures {
  std::optional<double> gc_victims, gc_blocks_moved, gc_copy_commands, gc_ranges_mean,
      gc_ranges_max, gc_offloaded, gc_emulated, gc_seconds, gc_mib_per_s, gc_dropped,
      gc_copy_host_bytes, gc_data_moved, gc_node_moved;
  std::optional<double> host_read, host_write, host_desc;
};
Figures figures(const RunResult& r);

}  // namespace f2sc::stress
