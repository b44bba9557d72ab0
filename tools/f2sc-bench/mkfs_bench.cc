// f2sc-bench mkfs: mkfs.f2sc against mkfs.f2fs (f2fs-tools) on sparse image files of 1, 16
// and 64 GiB (up to --size), both run as processes with -f -q and default options, the file
// recreated empty before every run (outside the timing). Prints the time of each and the
// ratio mkfs.f2sc / mkfs.f2fs (target: at most 1.0), and the bytes each left allocated.
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <fstream>

#include <nlohmann/json.hpp>

#include "bench_registry.h"
#include "bench_util.h"
#include "blockdev/uri.h"

extern char** environ;

namespace f2sc::bench {
namespace {

bool run_tool(const std::vector<std::string>& args) {
  std::vector<char*> argv;
  for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  pid_t pid;
  if (posix_spawnp(&pid, argv[0], nullptr, nullptr, argv.data(), environ) != 0) return false;
  int status = 0;
  if (waitpid(pid, &status, 0) != pid) return false;
  return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

bool make_sparse(const std::string& path, uint64_t bytes) {
  unlink(path.c_str());
  std::ofstream(path).close();
  return truncate(path.c_str(), static_cast<off_t>(bytes)) == 0;
}

uint64_t allocated(const std::string& path) {
  struct stat st;
  return stat(path.c_str(), &st) == 0 ? static_cast<uint64_t>(st.st_blocks) * 512 : 0;
}

int run_mkfs_bench(int argc, char** argv) {
  CLI::App app{
      "Times mkfs.f2sc against mkfs.f2fs on sparse images of 1, 16 and 64 GiB (sizes up to\n"
      "--size) in DIR, and prints the time ratio.",
      argv[0]};
  BenchOptions opts;
  opts.size_text = "64G";
  add_common_options(app, opts,
                     "runs the 1, 16 and 64 GiB images up to this size (below 1G: one image of "
                     "this size)");
  std::string dir, ours = F2SC_MKFS_PATH, theirs = "mkfs.f2fs";
  app.add_option("--dir", dir, "directory for the images (default $TMPDIR or /var/tmp)");
  app.add_option("--mkfs-f2sc", ours, "mkfs.f2sc binary")->capture_default_str();
  app.add_option("--mkfs-f2fs", theirs, "mkfs.f2fs binary")->capture_default_str();
  if (auto code = parse_bench_args(app, opts, argc, argv)) return *code;
  if (dir.empty()) dir = std::getenv("TMPDIR") ? std::getenv("TMPDIR") : "/var/tmp";
  const std::string image = dir + "/f2sc-bench-mkfs.img";

  std::vector<std::pair<std::string, uint64_t>> sizes;
  for (const char* s : {"1G", "16G", "64G"}) {
    uint64_t b = *blockdev::parse_size(s);
    if (b <= opts.size) sizes.emplace_back(s, b);
  }
  if (sizes.empty()) sizes.emplace_back(opts.size_text, opts.size);
  std::map<std::string, uint64_t> left_allocated;
  for (const auto& [label, bytes] : sizes) {
    for (const auto& [tool, bin] : {std::pair{"f2sc", ours}, std::pair{"f2fs", theirs}}) {
      const std::string name = std::string("mkfs/") + tool + "/" + label;
      const std::string exe = bin;
      const uint64_t size = bytes;
      benchmark::RegisterBenchmark(name.c_str(),
                                   [=, &left_allocated, &image](benchmark::State& state) {
                                     for (auto _ : state) {
                                       state.PauseTiming();
                                       if (!make_sparse(image, size)) {
                                         state.SkipWithError("cannot create the image");
                                         return;
                                       }
                                       state.ResumeTiming();
                                       if (!run_tool({exe, "-f", "-q", image})) {
                                         state.SkipWithError((exe + " failed").c_str());
                                         return;
                                       }
                                     }
                                     left_allocated[name] = allocated(image);
                                   })
          ->UseRealTime()
          ->Unit(benchmark::kMillisecond)
          ->MinTime(0.5);
    }
  }
  CollectingReporter reporter;
  run_benchmarks(reporter);
  unlink(image.c_str());

  std::vector<std::vector<std::string>> rows = {{"size", "mkfs.f2sc ms", "mkfs.f2fs ms",
                                                 "ratio f2sc/f2fs", "f2sc alloc KiB",
                                                 "f2fs alloc KiB"}};
  nlohmann::json json = {{"results", nlohmann::json::array()}};
  for (const auto& [label, bytes] : sizes) {
    const std::string a = "mkfs/f2sc/" + label, b = "mkfs/f2fs/" + label;
    if (!reporter.has(a) || !reporter.has(b)) continue;
    double ta = 1000 * reporter.get(a, "real_seconds_per_iteration");
    double tb = 1000 * reporter.get(b, "real_seconds_per_iteration");
    double ratio = tb > 0 ? ta / tb : 0;
    rows.push_back({label, fmt(ta, 2), fmt(tb, 2), fmt(ratio, 3),
                    std::to_string(left_allocated[a] / 1024),
                    std::to_string(left_allocated[b] / 1024)});
    json["results"].push_back({{"size", label},
                               {"mkfs_f2sc_ms", ta},
                               {"mkfs_f2fs_ms", tb},
                               {"ratio", ratio},
                               {"f2sc_allocated_bytes", left_allocated[a]},
                               {"f2fs_allocated_bytes", left_allocated[b]}});
  }
  std::printf("\n");
  print_table(rows);
  std::printf("\nratio: mkfs.f2sc time / mkfs.f2fs time, wall clock per run (target <= 1.0).\n");
  if (!opts.json_path.empty()) std::ofstream(opts.json_path) << json.dump(2) << "\n";
  return 0;
}

const BenchRegistration registration({"mkfs", "mkfs.f2sc vs mkfs.f2fs time on sparse images",
                                      run_mkfs_bench});

}  // namespace
}  // namespace f2sc::bench
