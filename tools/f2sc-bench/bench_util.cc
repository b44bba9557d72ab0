#include "bench_util.h"

#include "blockdev/uri.h"

#include <sys/mount.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <random>

namespace f2sc::bench {

CopyWorkload make_copy_workload(uint64_t bytes, uint32_t block_size, uint64_t seed) {
  CopyWorkload w;
  std::mt19937_64 rng(seed);
  uint64_t at = 0;
  while (w.copied_blocks * block_size < bytes) {
    uint64_t len = 1 + rng() % 64;
    w.request.sources.push_back({at, len});
    w.copied_blocks += len;
    at += len + 1 + rng() % 64;
  }
  w.request.dst = at;
  w.device_blocks = at + w.copied_blocks;
  return w;
}

CollectingReporter::CollectingReporter()
    : ConsoleReporter(isatty(STDOUT_FILENO) ? OO_Defaults : OO_Tabular) {}

void CollectingReporter::ReportRuns(const std::vector<Run>& runs) {
  for (const Run& run : runs) {
    const std::string& name = run.run_name.function_name;
    if (run.run_type != Run::RT_Iteration || results_.count(name)) continue;
    auto& r = results_[name];
    for (const auto& [key, counter] : run.counters) r[key] = counter.value;
    r["real_seconds_per_iteration"] =
        run.iterations ? run.real_accumulated_time / static_cast<double>(run.iterations) : 0;
  }
  ConsoleReporter::ReportRuns(runs);
}

double CollectingReporter::get(const std::string& name, const std::string& counter) const {
  auto it = results_.find(name);
  if (it == results_.end()) return 0;
  auto c = it->second.find(counter);
  return c == it->second.end() ? 0 : c->second;
}

void add_common_options(CLI::App& app, BenchOptions& o, const std::string& size_help) {
  app.add_option("--size", o.size_text, size_help + ", e.g. 64M")->capture_default_str();
  app.add_option("--seed", o.seed, "workload seed")->capture_default_str();
  app.add_option("--json", o.json_path, "also write the summary as JSON to this file");
}

std::optional<int> parse_bench_args(CLI::App& app, BenchOptions& o, int argc, char** argv) {
  app.allow_extras();
  app.footer("Other options go to Google Benchmark, e.g. --benchmark_filter=REGEX.");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 2;
  }
  auto size = blockdev::parse_size(o.size_text);
  if (!size || *size < 4096) {
    std::fprintf(stderr, "--size: %s\n",
                 size ? "must be at least one 4096-byte block" : size.error().message.c_str());
    return 2;
  }
  o.size = *size;
  // Google Benchmark keeps pointers into argv: the strings live as long as the process.
  static std::vector<std::string> args;
  args = {argv[0]};
  for (const std::string& extra : app.remaining()) args.push_back(extra);
  static std::vector<char*> gb_argv;
  gb_argv.clear();
  for (std::string& a : args) gb_argv.push_back(a.data());
  int gb_argc = static_cast<int>(gb_argv.size());
  benchmark::Initialize(&gb_argc, gb_argv.data());
  if (benchmark::ReportUnrecognizedArguments(gb_argc, gb_argv.data())) return 2;
  return std::nullopt;
}

void run_benchmarks(CollectingReporter& reporter) {
  benchmark::RunSpecifiedBenchmarks(&reporter);
  benchmark::Shutdown();
}

std::unique_ptr<ScratchXfs> ScratchXfs::create(uint64_t bytes, std::string* why_not) {
  if (geteuid() != 0) {
    *why_not = "not root";
    return nullptr;
  }
  if (std::system("command -v mkfs.xfs >/dev/null 2>&1") != 0) {
    *why_not = "mkfs.xfs not installed (Debian xfsprogs)";
    return nullptr;
  }
  auto x = std::unique_ptr<ScratchXfs>(new ScratchXfs);
  char image[] = "/tmp/f2sc-bench-xfs-XXXXXX.img";
  int fd = mkstemps(image, 4);
  char dir[] = "/tmp/f2sc-bench-xfs-XXXXXX";
  if (fd < 0 || mkdtemp(dir) == nullptr) {
    *why_not = "cannot create a scratch image in /tmp";
    if (fd >= 0) close(fd);
    return nullptr;
  }
  close(fd);
  x->image_ = image;
  x->dir_ = dir;
  std::string cmd = "truncate -s " + std::to_string(bytes) + " " + x->image_ +
                    " && mkfs.xfs -q -f " + x->image_ + " && mount -o loop " + x->image_ + " " +
                    x->dir_ + " 2>/dev/null";
  if (std::system(cmd.c_str()) != 0) {
    *why_not = "cannot mount an XFS loop image (no loop devices?)";
    rmdir(x->dir_.c_str());
    unlink(x->image_.c_str());
    x->dir_.clear();
    return nullptr;
  }
  return x;
}

ScratchXfs::~ScratchXfs() {
  if (dir_.empty()) return;
  umount2(dir_.c_str(), 0);
  rmdir(dir_.c_str());
  unlink(image_.c_str());
}

void print_table(const std::vector<std::vector<std::string>>& rows) {
  if (rows.empty()) return;
  std::vector<size_t> width(rows[0].size(), 0);
  for (const auto& row : rows)
    for (size_t i = 0; i < row.size() && i < width.size(); ++i)
      width[i] = std::max(width[i], row[i].size());
  for (size_t r = 0; r < rows.size(); ++r) {
    std::string line;
    for (size_t i = 0; i < rows[r].size(); ++i) {
      const std::string& cell = rows[r][i];
      std::string pad(width[i] - cell.size(), ' ');
      line += i == 0 ? cell + pad : "  " + pad + cell;
    }
    std::printf("%s\n", line.c_str());
    if (r == 0) {
      size_t total = 0;
      for (size_t w : width) total += w + 2;
      std::printf("%s\n", std::string(total - 2, '-').c_str());
    }
  }
}

std::string fmt(double value, int decimals) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", decimals, value);
  return buf;
}

}  // namespace f2sc::bench
