// f2sc-bench fsck: fsck.f2sc -n against fsck.f2fs --dry-run on the same populated image:
// mkfs.f2fs + sload.f2fs of a random tree of --files files (sizes 0..70 KB in directories of
// 150) on a sparse image of --size (default 4 GiB). Both run as processes, output discarded.
// Prints the time of each and the ratio fsck.f2sc / fsck.f2fs (target: at most 1.0).
#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>

#include <nlohmann/json.hpp>

#include "bench_registry.h"
#include "bench_util.h"

extern char** environ;

namespace f2sc::bench {
namespace {

// Runs `args` with stdout and stderr on /dev/null; returns the exit status (-1: not run).
int run_quiet(const std::vector<std::string>& args) {
  std::vector<char*> argv;
  for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
  posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
  pid_t pid;
  const int rc = posix_spawnp(&pid, argv[0], &fa, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&fa);
  if (rc != 0) return -1;
  int status = 0;
  if (waitpid(pid, &status, 0) != pid) return -1;
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

void make_tree(const std::filesystem::path& root, uint32_t files, uint64_t seed) {
  std::mt19937_64 g(seed);
  const uint64_t sizes[] = {0, 100, 3000, 5000, 20000, 70000};
  std::string data;
  for (uint32_t i = 0; i < files; ++i) {
    const auto dir = root / ("d" + std::to_string(i / 150));
    if (i % 150 == 0) std::filesystem::create_directories(dir);
    data.resize(sizes[g() % 6]);
    for (char& c : data) c = static_cast<char>(g());
    std::ofstream(dir / ("f" + std::to_string(i % 150)), std::ios::binary) << data;
  }
}

int run_fsck_bench(int argc, char** argv) {
  CLI::App app{
      "Times fsck.f2sc -n against fsck.f2fs --dry-run on one image that mkfs.f2fs and\n"
      "sload.f2fs (from PATH) make and fill with a tree of --files files, built in\n"
      "DIR/f2sc-bench-fsck (removed first).",
      argv[0]};
  BenchOptions opts;
  opts.size_text = "4G";
  add_common_options(app, opts, "image size");
  std::string dir, ours = F2SC_FSCK_PATH, theirs = "fsck.f2fs";
  uint32_t files = 30000;
  app.add_option("--dir", dir, "directory for the tree and image (default $TMPDIR or /var/tmp)");
  app.add_option("--files", files, "files in the tree")->capture_default_str();
  app.add_option("--fsck-f2sc", ours, "fsck.f2sc binary")->capture_default_str();
  app.add_option("--fsck-f2fs", theirs, "fsck.f2fs binary")->capture_default_str();
  if (auto code = parse_bench_args(app, opts, argc, argv)) return *code;
  if (dir.empty()) dir = std::getenv("TMPDIR") ? std::getenv("TMPDIR") : "/var/tmp";
  const std::filesystem::path work = std::filesystem::path(dir) / "f2sc-bench-fsck";
  std::filesystem::remove_all(work);
  std::filesystem::create_directories(work / "src");
  const std::string image = (work / "img").string();
  make_tree(work / "src", files, opts.seed);
  std::ofstream(image).close();
  std::filesystem::resize_file(image, opts.size);
  if (run_quiet({"mkfs.f2fs", "-f", image}) != 0 ||
      run_quiet({"sload.f2fs", "-f", (work / "src").string(), image}) != 0) {
    std::fprintf(stderr, "f2sc-bench fsck: mkfs.f2fs or sload.f2fs failed\n");
    std::filesystem::remove_all(work);
    return 1;
  }
  const std::vector<std::pair<std::string, std::vector<std::string>>> cases = {
      {"fsck/f2sc", {ours, "-n", "-q", image}},
      {"fsck/f2fs", {theirs, "--dry-run", image}},
  };
  for (const auto& [name, args] : cases) {
    const auto cmd = args;
    benchmark::RegisterBenchmark(name.c_str(),
                                 [cmd](benchmark::State& state) {
                                   for (auto _ : state)
                                     if (run_quiet(cmd) != 0) {
                                       state.SkipWithError((cmd[0] + " did not exit 0").c_str());
                                       return;
                                     }
                                 })
        ->UseRealTime()
        ->Unit(benchmark::kMillisecond)
        ->MinTime(1.0);
  }
  CollectingReporter reporter;
  run_benchmarks(reporter);
  std::filesystem::remove_all(work);
  if (!reporter.has("fsck/f2sc") || !reporter.has("fsck/f2fs")) return 1;
  const double ta = 1000 * reporter.get("fsck/f2sc", "real_seconds_per_iteration");
  const double tb = 1000 * reporter.get("fsck/f2fs", "real_seconds_per_iteration");
  const double ratio = tb > 0 ? ta / tb : 0;
  std::printf("\n");
  print_table({{"image", "files", "fsck.f2sc -n ms", "fsck.f2fs --dry-run ms", "ratio f2sc/f2fs"},
               {opts.size_text, std::to_string(files), fmt(ta, 1), fmt(tb, 1), fmt(ratio, 3)}});
  std::printf("\nratio: fsck.f2sc time / fsck.f2fs time, wall clock per run (target <= 1.0).\n");
  if (!opts.json_path.empty())
    std::ofstream(opts.json_path) << nlohmann::json{{"size", opts.size_text},
                                                    {"files", files},
                                                    {"fsck_f2sc_ms", ta},
                                                    {"fsck_f2fs_ms", tb},
                                                    {"ratio", ratio}}
                                         .dump(2)
                                  << "\n";
  return 0;
}

const BenchRegistration registration({"fsck", "fsck.f2sc -n vs fsck.f2fs --dry-run time",
                                      run_fsck_bench});

}  // namespace
}  // namespace f2sc::bench
