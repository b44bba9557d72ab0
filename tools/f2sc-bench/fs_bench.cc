// f2sc-bench fs: the filesystem through the library against the raw device under it, in one
// run. On a device (--device URI; default a file-backed image of --size in $TMPDIR) formatted
// with our mkfs: small files (create + 4 KiB write + fsync each), a sequential file written
// and read back in 1 MiB calls, and 4 KiB random overwrites inside it (then sync). Beside
// each, the same device through BlockDevice with no filesystem: 4 KiB write + flush, 1 MiB
// sequential writes (+ flush) and reads, 4 KiB random writes (+ flush). The table gives both
// and the ratio ours / raw (1.0: the filesystem costs nothing).
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "bench_registry.h"
#include "bench_util.h"
#include "blockdev/uri.h"
#include "fs/file_system.h"
#include "segment/mkfs.h"

namespace f2sc::bench {
namespace {

using Clock = std::chrono::steady_clock;
constexpr uint64_t kMiB = 1 << 20;
constexpr uint32_t kBs = 4096;

double seconds_since(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

struct Row {
  std::string name, unit;
  double ours = 0, raw = 0;
};

struct Config {
  uint64_t files = 2000;
  uint64_t seq_bytes = 128 * kMiB;
  uint64_t random_ops = 5000;
  uint64_t seed = 1;
};

std::vector<std::byte> random_buffer(size_t n, uint64_t seed) {
  std::vector<std::byte> b(n);
  std::mt19937_64 rng(seed);
  for (size_t i = 0; i + 8 <= n; i += 8) {
    const uint64_t v = rng();
    std::memcpy(&b[i], &v, 8);
  }
  return b;
}

#define BENCH_TRY(expr, what)                                                            \
  do {                                                                                   \
    auto r_ = (expr);                                                                    \
    if (!r_) {                                                                           \
      std::fprintf(stderr, "f2sc-bench fs: %s: %s\n", what, r_.error().message.c_str()); \
      return false;                                                                      \
    }                                                                                    \
  } while (0)

// Through the library: fills rows[i].ours.
bool run_fs(blockdev::BlockDevice& dev, const Config& c, std::vector<Row>& rows) {
  segment::MkfsOptions mo;
  mo.reproducible = true;
  BENCH_TRY(segment::format(dev, mo), "mkfs");
  fs::MountOptions opts;
  opts.checkpoint_interval_sec = 0;  // no timer checkpoints inside the timings
  auto mounted = fs::FileSystem::mount(dev, opts);
  if (!mounted) {
    std::fprintf(stderr, "f2sc-bench fs: mount: %s\n", mounted.error().message.c_str());
    return false;
  }
  fs::FileSystem& f = **mounted;
  const uint32_t root = f.root_ino();
  const auto block = random_buffer(kBs, c.seed);
  const auto chunk = random_buffer(kMiB, c.seed + 1);

  // Small files: create + 4 KiB + fsync.
  auto dir = f.mkdir(root, "small", 0755, 0, 0);
  BENCH_TRY(dir, "mkdir");
  auto t0 = Clock::now();
  for (uint64_t i = 0; i < c.files; ++i) {
    auto file = f.create(dir->ino, "f" + std::to_string(i), 0644, 0, 0);
    BENCH_TRY(file, "create");
    BENCH_TRY(f.write(file->ino, 0, block), "write");
    BENCH_TRY(f.fsync(file->ino), "fsync");
  }
  rows[0].ours = static_cast<double>(c.files) / seconds_since(t0);

  // Sequential write (the closing sync included), then read.
  auto seq = f.create(root, "seq", 0644, 0, 0);
  BENCH_TRY(seq, "create");
  t0 = Clock::now();
  for (uint64_t off = 0; off < c.seq_bytes; off += kMiB)
    BENCH_TRY(f.write(seq->ino, off, chunk), "sequential write");
  BENCH_TRY(f.fsync(seq->ino), "fsync");
  rows[1].ours = static_cast<double>(c.seq_bytes) / kMiB / seconds_since(t0);
  std::vector<std::byte> rbuf(kMiB);
  t0 = Clock::now();
  for (uint64_t off = 0; off < c.seq_bytes; off += kMiB) {
    auto n = f.read(seq->ino, off, rbuf);
    BENCH_TRY(n, "sequential read");
    if (*n != kMiB || std::memcmp(rbuf.data(), chunk.data(), kMiB) != 0) {
      std::fprintf(stderr, "f2sc-bench fs: read back wrong data at %llu\n",
                   static_cast<unsigned long long>(off));
      return false;
    }
  }
  rows[2].ours = static_cast<double>(c.seq_bytes) / kMiB / seconds_since(t0);

  // Random 4 KiB overwrites inside the sequential file, then sync.
  std::mt19937_64 rng(c.seed + 2);
  const uint64_t blocks = c.seq_bytes / kBs;
  t0 = Clock::now();
  for (uint64_t i = 0; i < c.random_ops; ++i)
    BENCH_TRY(f.write(seq->ino, (rng() % blocks) * kBs, block), "random overwrite");
  BENCH_TRY(f.sync(), "sync");
  rows[3].ours = static_cast<double>(c.random_ops) / seconds_since(t0);
  BENCH_TRY(f.unmount(), "unmount");
  return true;
}

// The same device without a filesystem: fills rows[i].raw.
bool run_raw(blockdev::BlockDevice& dev, const Config& c, std::vector<Row>& rows) {
  const auto block = random_buffer(kBs, c.seed + 3);
  const auto chunk = random_buffer(kMiB, c.seed + 4);
  const uint64_t dev_blocks = dev.block_count();
  const uint64_t seq_blocks = c.seq_bytes / kBs;
  if (seq_blocks + 1024 > dev_blocks) {
    std::fprintf(stderr, "f2sc-bench fs: the device is too small for --seq-size\n");
    return false;
  }
  // 4 KiB write + flush, consecutive blocks (as a log would place them).
  auto t0 = Clock::now();
  for (uint64_t i = 0; i < c.files; ++i) {
    BENCH_TRY(dev.write(512 + i % 1024, block), "raw write");
    BENCH_TRY(dev.flush(), "raw flush");
  }
  rows[0].raw = static_cast<double>(c.files) / seconds_since(t0);
  const uint64_t base = 2048;
  const uint64_t per = kMiB / kBs;
  t0 = Clock::now();
  for (uint64_t b = 0; b + per <= seq_blocks; b += per)
    BENCH_TRY(dev.write(base + b, chunk), "raw sequential write");
  BENCH_TRY(dev.flush(), "raw flush");
  rows[1].raw = static_cast<double>(c.seq_bytes) / kMiB / seconds_since(t0);
  std::vector<std::byte> rbuf(kMiB);
  t0 = Clock::now();
  for (uint64_t b = 0; b + per <= seq_blocks; b += per)
    BENCH_TRY(dev.read(base + b, rbuf), "raw sequential read");
  rows[2].raw = static_cast<double>(c.seq_bytes) / kMiB / seconds_since(t0);
  std::mt19937_64 rng(c.seed + 2);
  t0 = Clock::now();
  for (uint64_t i = 0; i < c.random_ops; ++i)
    BENCH_TRY(dev.write(base + rng() % seq_blocks, block), "raw random write");
  BENCH_TRY(dev.flush(), "raw flush");
  rows[3].raw = static_cast<double>(c.random_ops) / seconds_since(t0);
  return true;
}

int run_fs_bench(int argc, char** argv) {
  CLI::App app{
      "Small-file create+write+fsync rate, 1 MiB sequential write and read bandwidth and 4 KiB\n"
      "random overwrite rate through the FileSystem, beside the raw rates of the same device\n"
      "in the same run; prints ours / raw.",
      argv[0]};
  BenchOptions opts;
  opts.size_text = "1G";
  add_common_options(app, opts, "image size when no --device is given");
  std::string device, seq_text = "128M";
  Config c;
  app.add_option("--device", device,
                 "device URI, reformatted and overwritten (default: a file: image of --size in "
                 "$TMPDIR or /tmp, removed afterwards)");
  app.add_option("--files", c.files, "small files to create")->capture_default_str();
  app.add_option("--seq-size", seq_text, "sequential file size")->capture_default_str();
  app.add_option("--random-ops", c.random_ops, "4 KiB random overwrites")->capture_default_str();
  if (auto code = parse_bench_args(app, opts, argc, argv)) return *code;
  auto seq = blockdev::parse_size(seq_text);
  if (!seq || *seq < kMiB || *seq % kMiB) {
    std::fprintf(stderr, "--seq-size: a whole number of MiB, at least 1M\n");
    return 2;
  }
  c.seq_bytes = *seq;
  c.seed = opts.seed;
  if (c.files == 0 || c.random_ops == 0) {
    std::fprintf(stderr, "--files and --random-ops must be positive\n");
    return 2;
  }
  std::string image;
  if (device.empty()) {
    const char* t = std::getenv("TMPDIR");
    image =
        std::string(t && *t ? t : "/tmp") + "/f2sc-bench-fs-" + std::to_string(getpid()) + ".img";
    std::ofstream(image).close();
    if (truncate(image.c_str(), static_cast<off_t>(opts.size)) != 0) {
      std::fprintf(stderr, "f2sc-bench fs: cannot create %s\n", image.c_str());
      return 1;
    }
    device = "file:" + image;
  }
  auto dev = blockdev::open_device(device);
  if (!dev) {
    std::fprintf(stderr, "f2sc-bench fs: %s: %s\n", device.c_str(), dev.error().message.c_str());
    if (!image.empty()) unlink(image.c_str());
    return 1;
  }
  std::vector<Row> rows = {{"small file create+4KiB+fsync", "files/s"},
                           {"sequential write 1MiB", "MiB/s"},
                           {"sequential read 1MiB", "MiB/s"},
                           {"random overwrite 4KiB", "ops/s"}};
  const bool ok = run_fs(**dev, c, rows) && run_raw(**dev, c, rows);
  dev->reset();
  if (!image.empty()) unlink(image.c_str());
  if (!ok) return 1;

  std::vector<std::vector<std::string>> table = {
      {"workload", "unit", "f2sc fs", "raw device", "ratio fs/raw"}};
  nlohmann::json json = {{"device", device},
                         {"files", c.files},
                         {"seq_bytes", c.seq_bytes},
                         {"random_ops", c.random_ops},
                         {"results", nlohmann::json::array()}};
  for (const Row& r : rows) {
    const double ratio = r.raw > 0 ? r.ours / r.raw : 0;
    table.push_back({r.name, r.unit, fmt(r.ours, 1), fmt(r.raw, 1), fmt(ratio, 3)});
    json["results"].push_back(
        {{"workload", r.name}, {"unit", r.unit}, {"fs", r.ours}, {"raw", r.raw}, {"ratio", ratio}});
  }
  std::printf("device %s\n", device.c_str());
  print_table(table);
  std::printf(
      "\nraw: the same device through BlockDevice, no filesystem: 4 KiB write + flush per small "
      "file,\n1 MiB writes (+ flush) and reads, 4 KiB random writes (+ flush).\n");
  if (!opts.json_path.empty()) std::ofstream(opts.json_path) << json.dump(2) << "\n";
  return 0;
}

const BenchRegistration registration({"fs", "FileSystem rates vs the raw device under it",
                                      run_fs_bench});

}  // namespace
}  // namespace f2sc::bench
