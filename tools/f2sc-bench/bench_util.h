// Helpers shared by f2sc-bench subcommands: collecting Google Benchmark results so that a
// subcommand can print a table of ratios after the runs, a scratch XFS filesystem on a
// loop device, and table formatting.
//
// Thread safety: single-threaded use from a benchmark's main().
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include <benchmark/benchmark.h>

namespace f2sc::bench {

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

// Runs the registered benchmarks with `argv` (Google Benchmark flags) and fills `reporter`.
// Returns false (and prints why) on unknown flags.
bool run_benchmarks(int argc, char** argv, CollectingReporter& reporter);

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
