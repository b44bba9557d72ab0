// f2sc-bench copy: a fragmented copy (64 MiB by default, in runs of 1..64 blocks with gaps,
// fixed seed) with offload and with emulation, on MemoryDevice, on FileDevice on the
// machine's filesystem, and on FileDevice on XFS over a loop device (root only). Beside
// them, the raw limits of each path measured in the same run with plain system calls on the
// same file and the same runs: pread+pwrite, copy_file_range, and memcpy for memory.
#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <fstream>
#include <random>

#include <nlohmann/json.hpp>

#include "bench_registry.h"
#include "bench_util.h"
#include "blockdev/file_device.h"
#include "blockdev/memory_device.h"
#include "blockdev/uri.h"

namespace f2sc::bench {
namespace {

using blockdev::BlockDevice;
using blockdev::CopyRequest;

constexpr uint32_t kBs = 4096;

bool fill_random(int fd, uint64_t bytes, uint64_t seed) {
  std::vector<uint64_t> buf((1 << 20) / 8);
  std::mt19937_64 rng(seed);
  for (uint64_t off = 0; off < bytes; off += buf.size() * 8) {
    for (auto& v : buf) v = rng();
    size_t n = std::min<uint64_t>(buf.size() * 8, bytes - off);
    if (pwrite(fd, buf.data(), n, static_cast<off_t>(off)) != static_cast<ssize_t>(n)) return false;
  }
  return fsync(fd) == 0;
}

// Runs `copy` once per iteration and reports throughput and host bytes per copied byte.
template <class Fn>
void register_case(const std::string& name, uint64_t copied_bytes, Fn copy) {
  benchmark::RegisterBenchmark(
      name.c_str(),
      [copied_bytes, copy](benchmark::State& state) {
        double host = 0;
        for (auto _ : state) {
          auto r = copy();
          if (r < 0) {
            state.SkipWithError("copy failed");
            return;
          }
          host += static_cast<double>(r);
        }
        state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * copied_bytes));
        state.counters["host_bytes_per_byte"] =
            host / static_cast<double>(state.iterations() * copied_bytes);
      })
      ->UseRealTime()
      ->Unit(benchmark::kMillisecond)
      ->MinTime(0.5);
}

// Our engine through a device: returns host bytes moved, or -1.
int64_t engine_copy(BlockDevice& dev, const CopyRequest& req) {
  auto before = dev.stats();
  auto r = dev.copy(req);
  if (!r) {
    std::fprintf(stderr, "copy on %s failed: %s\n", dev.name().c_str(), r.error().message.c_str());
    return -1;
  }
  return static_cast<int64_t>((dev.stats() - before).host_bytes());
}

// The raw read+write path: pread each run into a 1 MiB staging buffer, pwrite when full.
int64_t raw_read_write(int fd, const CopyRequest& req, std::vector<std::byte>& staging) {
  uint64_t dst = req.dst * kBs, filled = 0;
  auto flush = [&] {
    bool ok =
        pwrite(fd, staging.data(), filled, static_cast<off_t>(dst)) == static_cast<ssize_t>(filled);
    dst += filled;
    filled = 0;
    return ok;
  };
  int64_t moved = 0;
  for (const auto& r : req.sources) {
    uint64_t off = r.lba * kBs, left = r.blocks * kBs;
    while (left > 0) {
      uint64_t n = std::min<uint64_t>(left, staging.size() - filled);
      if (pread(fd, staging.data() + filled, n, static_cast<off_t>(off)) != static_cast<ssize_t>(n))
        return -1;
      filled += n, off += n, left -= n, moved += 2 * static_cast<int64_t>(n);
      if (filled == staging.size() && !flush()) return -1;
    }
  }
  if (filled > 0 && !flush()) return -1;
  return moved;
}

// The raw copy_file_range path: one call per run.
int64_t raw_copy_file_range(int fd, const CopyRequest& req) {
  loff_t out = static_cast<loff_t>(req.dst * kBs);
  for (const auto& r : req.sources) {
    loff_t in = static_cast<loff_t>(r.lba * kBs);
    size_t left = r.blocks * kBs;
    while (left > 0) {
      ssize_t n = copy_file_range(fd, &in, fd, &out, left, 0);
      if (n <= 0) return -1;
      left -= static_cast<size_t>(n);
    }
  }
  return 0;
}

// A benchmark file and the devices on it; closes and removes the file however the run ends.
struct FileTarget {
  FileTarget(std::string l, std::string p) : label(std::move(l)), path(std::move(p)) {}
  FileTarget(FileTarget&&) = delete;
  ~FileTarget() {
    offload.reset();
    emulate.reset();
    if (raw_fd >= 0) ::close(raw_fd);
    unlink(path.c_str());
  }
  std::string label;  // "ext4", "xfs", ...
  std::string path;
  std::unique_ptr<BlockDevice> offload, emulate;
  int raw_fd = -1;
};

int run_copy_bench(int argc, char** argv) {
  CLI::App app{
      "Copies SIZE in runs of 1..64 blocks with offload and with emulation on mem:, on a file\n"
      "in DIR and, as root, on XFS over a loop device; prints MiB/s, host bytes per copied\n"
      "byte, and the raw limit of each path (pread+pwrite, copy_file_range, memcpy) measured\n"
      "in the same run.",
      argv[0]};
  BenchOptions opts;
  opts.size_text = "64M";
  add_common_options(app, opts, "bytes to copy");
  std::string dir;
  bool no_xfs = false;
  app.add_option("--dir", dir, "directory for the file device (default $TMPDIR or /var/tmp)");
  app.add_flag("--no-xfs", no_xfs, "skip the XFS loop device");
  if (auto code = parse_bench_args(app, opts, argc, argv)) return *code;
  const bool xfs = !no_xfs;
  const uint64_t size = opts.size, seed = opts.seed;
  const std::string& json_path = opts.json_path;
  if (dir.empty()) dir = std::getenv("TMPDIR") ? std::getenv("TMPDIR") : "/var/tmp";

  const CopyWorkload w = make_copy_workload(size, kBs, seed);
  const uint64_t copied = w.copied_blocks * kBs;
  const uint64_t dev_bytes = w.device_blocks * kBs;
  std::printf("workload: %.1f MiB in %zu runs of 1..64 blocks (seed %llu), device %.1f MiB\n",
              copied / 1048576.0, w.request.sources.size(), static_cast<unsigned long long>(seed),
              dev_bytes / 1048576.0);

  // Memory.
  auto mem_off = blockdev::open_device("mem:" + std::to_string(dev_bytes));
  auto mem_emu = blockdev::open_device("mem:" + std::to_string(dev_bytes) + "?offload=0");
  if (!mem_off || !mem_emu) {
    std::fprintf(stderr, "cannot create memory devices\n");
    return 1;
  }
  auto* raw_mem = static_cast<std::byte*>(
      mmap(nullptr, dev_bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
  if (raw_mem == MAP_FAILED) return 1;
  {
    std::vector<std::byte> chunk(1 << 20);
    std::mt19937_64 rng(seed);
    for (uint64_t off = 0; off < dev_bytes; off += chunk.size()) {
      for (auto& b : chunk) b = std::byte(rng());
      size_t n = std::min<uint64_t>(chunk.size(), dev_bytes - off);
      std::memcpy(raw_mem + off, chunk.data(), n);
      (void)(*mem_off)->write(off / kBs, std::span(chunk.data(), n));
      (void)(*mem_emu)->write(off / kBs, std::span(chunk.data(), n));
    }
  }
  register_case("mem/offload", copied, [&] { return engine_copy(**mem_off, w.request); });
  register_case("mem/emulate", copied, [&] { return engine_copy(**mem_emu, w.request); });
  register_case("mem/raw_memcpy", copied, [&]() -> int64_t {
    uint64_t dst = w.request.dst;
    for (const auto& r : w.request.sources) {
      std::memcpy(raw_mem + dst * kBs, raw_mem + r.lba * kBs, r.blocks * kBs);
      dst += r.blocks;
    }
    benchmark::DoNotOptimize(raw_mem);
    return 0;
  });
  // What read+write does in memory: each run into a 1 MiB staging buffer, then out.
  std::vector<std::byte> mem_staging(1 << 20);
  register_case("mem/raw_read_write", copied, [&]() -> int64_t {
    uint64_t dst = w.request.dst * kBs, filled = 0;
    for (const auto& r : w.request.sources) {
      uint64_t off = r.lba * kBs, left = r.blocks * kBs;
      while (left > 0) {
        uint64_t n = std::min<uint64_t>(left, mem_staging.size() - filled);
        std::memcpy(mem_staging.data() + filled, raw_mem + off, n);
        filled += n, off += n, left -= n;
        if (filled == mem_staging.size()) {
          std::memcpy(raw_mem + dst, mem_staging.data(), filled);
          dst += filled, filled = 0;
        }
      }
    }
    std::memcpy(raw_mem + dst, mem_staging.data(), filled);
    benchmark::DoNotOptimize(raw_mem);
    return static_cast<int64_t>(2 * copied);
  });

  // Files: the machine's filesystem, and XFS when we can mount it.
  // The scratch XFS is declared first so that it is unmounted after the files on it close.
  std::unique_ptr<ScratchXfs> scratch;
  std::vector<std::unique_ptr<FileTarget>> targets;
  targets.push_back(std::make_unique<FileTarget>("fs", dir + "/f2sc-bench-copy.img"));
  if (xfs) {
    std::string why;
    scratch = ScratchXfs::create(2 * dev_bytes + (256ull << 20), &why);
    if (scratch) {
      targets.push_back(
          std::make_unique<FileTarget>("xfs", scratch->dir() + "/f2sc-bench-copy.img"));
    } else {
      std::printf("xfs: skipped (%s)\n", why.c_str());
    }
  }
  std::vector<std::byte> staging(1 << 20);
  for (auto& target : targets) {
    FileTarget& t = *target;
    int fd = ::open(t.path.c_str(), O_RDWR | O_CREAT | O_TRUNC, 0644);
    if (fd < 0 || ftruncate(fd, static_cast<off_t>(dev_bytes)) != 0 ||
        !fill_random(fd, dev_bytes, seed)) {
      std::fprintf(stderr, "cannot prepare %s: %s\n", t.path.c_str(), std::strerror(errno));
      return 1;
    }
    t.raw_fd = fd;
    auto off = blockdev::open_device("file:" + t.path);
    auto emu = blockdev::open_device("file:" + t.path + "?offload=0");
    if (!off || !emu) {
      std::fprintf(stderr, "cannot open %s\n", t.path.c_str());
      return 1;
    }
    if (!(*off)->limits().copy_offload) {
      std::printf("%s: copy_file_range unsupported, offload row will emulate\n", t.label.c_str());
    }
    t.offload = std::move(*off);
    t.emulate = std::move(*emu);
  }
  if (targets[0]->label == "fs") {
    // Name the machine's filesystem by its type.
    std::string probe = "stat -f -c %T " + dir + " 2>/dev/null";
    if (FILE* p = popen(probe.c_str(), "r")) {
      char buf[64] = {};
      if (std::fgets(buf, sizeof buf, p)) {
        std::string type = buf;
        while (!type.empty() && (type.back() == '\n' || type.back() == '/')) type.pop_back();
        if (type == "ext2/ext3") type = "ext4";
        if (!type.empty()) targets[0]->label = type;
      }
      pclose(p);
    }
  }
  for (auto& target : targets) {
    FileTarget& t = *target;
    const std::string p = "file:" + t.label + "/";
    register_case(p + "offload", copied, [&t, &w] { return engine_copy(*t.offload, w.request); });
    register_case(p + "emulate", copied, [&t, &w] { return engine_copy(*t.emulate, w.request); });
    register_case(p + "raw_copy_file_range", copied,
                  [&t, &w] { return raw_copy_file_range(t.raw_fd, w.request); });
    register_case(p + "raw_read_write", copied,
                  [&t, &w, &staging] { return raw_read_write(t.raw_fd, w.request, staging); });
  }

  CollectingReporter reporter;
  run_benchmarks(reporter);

  // The summary: each path against its own raw limit, and offload against emulation.
  auto mibs = [&](const std::string& n) { return reporter.get(n, "bytes_per_second") / 1048576.0; };
  std::vector<std::vector<std::string>> rows = {{"device", "path", "MiB/s", "host B/B", "raw limit",
                                                 "limit MiB/s", "% of limit", "offload/emul"}};
  nlohmann::json json = {
      {"workload", {{"bytes", copied}, {"runs", w.request.sources.size()}, {"seed", seed}}},
      {"results", nlohmann::json::array()}};
  auto add = [&](const std::string& dev, const std::string& prefix, const std::string& limit) {
    for (const char* path : {"offload", "emulate"}) {
      const std::string name = prefix + path;
      if (!reporter.has(name)) continue;
      const bool off = std::string(path) == "offload";
      const std::string lim = off ? limit : prefix + "raw_read_write";
      double speed = mibs(name), lim_speed = mibs(lim);
      double ratio =
          mibs(prefix + "emulate") > 0 ? mibs(prefix + "offload") / mibs(prefix + "emulate") : 0;
      rows.push_back({dev, path, fmt(speed, 0), fmt(reporter.get(name, "host_bytes_per_byte"), 4),
                      lim.substr(lim.find('/') + 1), fmt(lim_speed, 0),
                      lim_speed > 0 ? fmt(100 * speed / lim_speed, 0) + "%" : "-",
                      off ? fmt(ratio, 2) + "x" : ""});
      json["results"].push_back({{"device", dev},
                                 {"path", path},
                                 {"mib_per_s", speed},
                                 {"host_bytes_per_byte", reporter.get(name, "host_bytes_per_byte")},
                                 {"raw_limit", lim},
                                 {"raw_limit_mib_per_s", lim_speed},
                                 {"offload_over_emulation", off ? ratio : 0}});
    }
  };
  add("mem", "mem/", "mem/raw_memcpy");
  for (const auto& t : targets) {
    add("file:" + t->label, "file:" + t->label + "/", "file:" + t->label + "/raw_copy_file_range");
  }
  std::printf("\n");
  print_table(rows);
  std::printf(
      "\nhost B/B: bytes across the host interface per copied byte (offload: descriptors only).\n"
      "raw limits use plain system calls on the same file and runs, single-threaded.\n");
  if (!json_path.empty()) std::ofstream(json_path) << json.dump(2) << "\n";

  munmap(raw_mem, dev_bytes);
  return 0;
}

const BenchRegistration registration({"copy",
                                      "copy offload vs emulation on memory, file and XFS devices",
                                      run_copy_bench});

}  // namespace
}  // namespace f2sc::bench
