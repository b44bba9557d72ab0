#include "bench_util.h"

#include <sys/mount.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>

namespace f2sc::bench {

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

bool run_benchmarks(int argc, char** argv, CollectingReporter& reporter) {
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return false;
  benchmark::RunSpecifiedBenchmarks(&reporter);
  benchmark::Shutdown();
  return true;
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
