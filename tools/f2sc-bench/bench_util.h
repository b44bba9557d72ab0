// Helpers shared by f2sc-bench subcommands: collecting Google Benchmark results so that a
// subcommand can print a table of ratios after the runs, a scratch XFS filesystem on a
// loop device, and table formatting.
//
// Thread safety: single-threaded use from a benchmark's main().
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <benchmark/benchmark.h>
#include <CLI/CLI.hpp>

#include "blockdev/types.h"

namespace f2sc::bench {

// A GC-like copy: runs of 1..64 blocks separated by gaps of 1..64 blocks (fixed seed),
// gathered back to back at a destination right after them.
struct CopyWorkload {
  blockdev::CopyRequest request;
  uint64_t device_blocks = 0;  // sources, gaps and destination
  uint64_t copied_blocks = 0;
};
CopyWorkload make_copy_workload(uint64_t bytes, uint32_t block_size, uint64_t seed);

// Console output as usual, plus each run's counters kept by benchmark name.
class CollectingReporter : public benchmark::ConsoleReporter {
 public:
  CollectingReporter();  // colours only on a terminal
  void ReportRuns(const std::vector<Run>& runs) override;
  // Counter `counter` of benchmark `name` (its first, non-aggregate run); 0 if absent.
  double get(const std::string& name, const std::string& counter) const;
  bool has(const std::string& name) const { return results_.count(name) > 0; }

 private:
  std::map<std::string, std::map<std::string, double>> results_;
};

// Options every subcommand has: --size (whose meaning each subcommand states in
// `size_help`), --seed, --json.
struct BenchOptions {
  std::string size_text;
  uint64_t size = 0;  // bytes, from size_text
  uint64_t seed = 1;
  std::string json_path;
};
void add_common_options(CLI::App& app, BenchOptions& options, const std::string& size_help);

// Parses a subcommand's arguments with CLI11 and hands the options it does not know to
// Google Benchmark, so a bad flag of either kind is refused before the subcommand creates
// anything. Returns an exit code when the run should stop here (--help: 0; a bad option:
// 2, with the message printed).
std::optional<int> parse_bench_args(CLI::App& app, BenchOptions& options, int argc, char** argv);

// Runs the registered benchmarks and fills `reporter`.
void run_benchmarks(CollectingReporter& reporter);

// An XFS filesystem on a loop-mounted sparse image, unmounted and removed on destruction.
// Only as root with mkfs.xfs and loop devices; otherwise create() says why not.
class ScratchXfs {
 public:
  static std::unique_ptr<ScratchXfs> create(uint64_t bytes, std::string* why_not);
  ~ScratchXfs();
  const std::string& dir() const { return dir_; }

 private:
  std::string image_, dir_;
};

// Prints a table with a header row; columns are right-aligned except the first.
void print_table(const std::vector<std::vector<std::string>>& rows);
std::string fmt(double value, int decimals = 2);

}  // namespace f2sc::bench
