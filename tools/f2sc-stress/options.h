// f2sc-stress options: what the command line says, parsed and checked, as plain values.
//
// Thread safety: value types and pure functions.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "base/error.h"

namespace f2sc::stress {

enum class WorkloadKind { kUniform, kZipf, kHotCold, kSeq, kMixed };

struct WorkloadSpec {
  WorkloadKind kind = WorkloadKind::kUniform;
  double theta = 0.99;           // zipf:THETA
  double hot = 0.2;              // hotcold:HOT/ACCESS: fraction of the blocks that are hot...
  double access = 0.8;           // ...and the fraction of the writes that go to them
  std::string text = "uniform";  // as the user wrote it (normalized)
};

enum class OffloadMode { kOn, kOff, kBoth };

std::string_view offload_mode_name(OffloadMode m);

struct Options {
  std::string device;  // empty: a temporary nvme-emu image of `size_bytes`, removed after
  bool mkfs = false;
  uint64_t size_bytes = 256ull << 20;
  bool size_given = false;
  double util = 0.85;  // in use / user capacity (in use + f_bavail) after the fill
  WorkloadSpec workload;
  uint64_t file_min = 64 << 10, file_max = 4 << 20;
  uint64_t ops = 0;        // 0: not given
  double seconds = 0;      // 0: not given
  double overwrite = 2.0;  // budget when neither --ops nor --seconds: user bytes / live bytes
  unsigned threads = 1;
  OffloadMode offload = OffloadMode::kOn;
  std::string gc_policy = "greedy";
  uint64_t seed = 1;
  double read_ratio = 0.25;  // verified random reads per write
  std::string mount_dir;     // --mount DIR: POSIX calls on a mounted f2sc-fuse
  std::string json_path, csv_path, plot_path;
  uint64_t inject_bitflip = 0;  // flip a byte in the N-th data read (verifier self-test)
  bool quiet = false;           // no table on stdout (JSON/CSV/plots still written)
  // --crash N: N power cuts on fresh images (crash.h) instead of the stress run.
  uint64_t crash = 0;
  uint64_t crash_at = 0;             // --crash-at K: cut at the K-th mutating operation
  std::string torn = "random";       // on | off | random (a coin flip per cut)
  bool crash_background_gc = false;  // --crash-gc background: the urgent GC thread too
  std::string crash_keep;            // --crash-keep DIR: failed cuts' crashed images
};

// "uniform", "zipf:0.99", "hotcold:20/80" (percent) or "hotcold:0.2/0.8", "seq", "mixed".
Result<WorkloadSpec> parse_workload(std::string_view text);

// "MIN:MAX" with sizes as blockdev::parse_size reads them; both are rounded up to 4 KiB.
Result<std::pair<uint64_t, uint64_t>> parse_file_size(std::string_view text);

// Cross-checks of the parsed options (ranges, combinations); a clear message on failure.
Status validate(const Options& o);

}  // namespace f2sc::stress

namespace f2sc::stress {

// Parses argv with CLI11 (the tool boundary: CLI11's exceptions stop here). Returns -1 when
// the run should go on with *out, else the exit status (0 after --help, 2 on bad usage,
// with the message printed).
int parse_command_line(int argc, char** argv, Options* out);

}  // namespace f2sc::stress
