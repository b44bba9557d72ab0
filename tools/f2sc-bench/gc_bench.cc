// f2sc-bench gc: the garbage collector on a freshly formatted image filled to 80% and 90%
// of its user capacity and fragmented with fixed-seed random overwrites, collecting a fixed
// number of sections with copy offload on and off. Devices: nvme-emu over memory (the
// default), a file on the machine's filesystem (copy_file_range), and a file on XFS over a
// loop device (reflink; root only). The owners are an in-memory map (gc::BlockOwners), so
// the figures are the GC's alone, without a filesystem on top.
//
// Reported per run: live MiB migrated per second, without and with the checkpoints after
// each round (which make the copies durable and free the victims), host bytes per migrated byte
// (all device traffic during the collection, metadata included) and data bytes per migrated byte
// (what the copies themselves moved through the host), CPU microseconds per migrated block (process
// CPU, device threads included), ranges per copy command, and the raw limit of the same path,
// measured in the same run on a second device of the same kind: the GC's own copy requests
// (recorded through MigratorOptions::on_copy_request) replayed the way the Migrator submits them,
// without scanning, planning or committing ("raw"); and, for scale, one copy-engine request of the
// same size in runs of 1..64 blocks ("1-64").
#include <fcntl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <fstream>
#include <mutex>
#include <random>
#include <shared_mutex>

#include <nlohmann/json.hpp>

#include "bench_registry.h"
#include "bench_util.h"
#include "blockdev/copy_engine.h"
#include "blockdev/uri.h"
#include "gc/gc_controller.h"
#include "segment/image.h"
#include "segment/mkfs.h"
#include "segment/segment_manager.h"

namespace f2sc::bench {
namespace {

using segment::Log;
using segment::Summary;

constexpr uint32_t kBs = 4096;
constexpr uint32_t kNodeNidBase = 1u << 24;

double cpu_seconds() {
  timespec ts{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) / 1e9;
}

// Owners of `keys` blocks: one in 20 is a node (owned by its NAT entry), the rest data
// (slot key % 1000 of dnode 100 + key / 1000). Every block starts with its key and version.
class MapOwners final : public gc::BlockOwners {
 public:
  MapOwners(segment::SegmentManager& sm, blockdev::BlockDevice& dev, uint32_t keys)
      : sm_(sm), dev_(dev), addr_(keys, 0), version_(keys, 0) {}

  static bool is_node(uint32_t key) { return key % 20 == 19; }
  static Summary summary(uint32_t key) {
    if (is_node(key)) return Summary{kNodeNidBase + key, 0, 0};
    return Summary{100 + key / 1000, 0, static_cast<uint16_t>(key % 1000)};
  }
  static uint32_t key(const Summary& s, gc::BlockKind kind) {
    const uint32_t nid = s.nid;
    return kind == gc::BlockKind::kNode ? nid - kNodeNidBase : (nid - 100) * 1000 + s.ofs_in_node;
  }

  Result<bool> is_live(uint32_t addr, const Summary& s, gc::BlockKind kind) override {
    std::lock_guard lock(mu_);
    const uint32_t k = key(s, kind);
    return k < addr_.size() && addr_[k] == addr;
  }
  Result<bool> repoint(uint32_t old_addr, uint32_t new_addr, const Summary& s,
                       gc::BlockKind kind) override {
    std::lock_guard lock(mu_);
    const uint32_t k = key(s, kind);
    if (k >= addr_.size() || addr_[k] != old_addr) return false;
    addr_[k] = new_addr;
    return true;
  }
  Status run_commit(const std::function<Status()>& commit) override {
    std::shared_lock lock(cp_mu_);
    return commit();
  }
  Status checkpoint() override {
    std::unique_lock lock(cp_mu_);
    return sm_.checkpoint();
  }

  // Writes `keys` (all data or all nodes) as one run in `log`; false when out of space.
  Result<bool> write_run(const std::vector<uint32_t>& keys, Log log) {
    std::vector<Summary> sums;
    for (uint32_t k : keys) sums.push_back(summary(k));
    auto first = sm_.allocate_run(log, sums);
    if (!first) {
      if (first.error().code == Errc::kNoSpace) return false;
      return fail(first.error());
    }
    std::vector<std::byte> buf(keys.size() * kBs);
    for (size_t i = 0; i < keys.size(); ++i) {
      const uint64_t stamp[2] = {keys[i], ++version_[keys[i]]};
      std::memcpy(&buf[i * kBs], stamp, sizeof stamp);
    }
    if (auto s = dev_.write(*first, buf); !s) return fail(s.error());
    for (size_t i = 0; i < keys.size(); ++i) {
      uint32_t old;
      {
        std::lock_guard lock(mu_);
        old = addr_[keys[i]];
        addr_[keys[i]] = *first + static_cast<uint32_t>(i);
      }
      if (old != 0)
        if (auto s = sm_.invalidate(old); !s) return fail(s.error());
    }
    return true;
  }

  // Reads back `samples` random keys; returns how many do not hold their latest version.
  uint64_t check(uint32_t samples, uint64_t seed) {
    std::mt19937_64 rng(seed);
    std::vector<std::byte> buf(kBs);
    uint64_t bad = 0;
    for (uint32_t i = 0; i < samples; ++i) {
      const uint32_t k = static_cast<uint32_t>(rng() % addr_.size());
      uint32_t a;
      {
        std::lock_guard lock(mu_);
        a = addr_[k];
      }
      uint64_t stamp[2] = {};
      if (a == 0 || !dev_.read(a, buf)) {
        ++bad;
        continue;
      }
      std::memcpy(stamp, buf.data(), sizeof stamp);
      bad += stamp[0] != k || stamp[1] != version_[k];
    }
    return bad;
  }

 private:
  segment::SegmentManager& sm_;
  blockdev::BlockDevice& dev_;
  std::shared_mutex cp_mu_;
  std::mutex mu_;
  std::vector<uint32_t> addr_;
  std::vector<uint64_t> version_;  // written by the filling thread only
};

struct Target {
  std::string label;  // "nvme-emu", "file:ext4", "file:xfs"
  std::string uri;    // without options
  std::string path;   // backing file to recreate per run, or empty
};

struct RunResult {
  bool ok = false;
  std::string why;
  gc::GcStatsSnapshot stats;
  double seconds = 0, cpu = 0, raw_mib_s = 0, synth_mib_s = 0, checkpoint_ms = 0;
  uint64_t host_bytes = 0, bad = 0;
  uint32_t free_before = 0, free_after = 0;
};

bool recreate(const std::string& path, uint64_t bytes) {
  if (path.empty()) return true;
  unlink(path.c_str());
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_TRUNC, 0644);
  if (fd < 0) return false;
  const bool ok = ftruncate(fd, static_cast<off_t>(bytes)) == 0;
  ::close(fd);
  return ok;
}

// Writes data into every block of `dev` and flushes it, as every block of a disk holds
// data: on a sparse file a copy into a hole would also allocate, and a copy from one would
// copy nothing; on memory every page is then mapped.
Status fill_with_data(blockdev::BlockDevice& dev) {
  std::vector<std::byte> chunk(256 * kBs);
  for (size_t i = 0; i < chunk.size(); i += 8) std::memcpy(&chunk[i], &i, sizeof i);
  for (uint64_t lba = 0; lba < dev.block_count(); lba += 256) {
    const uint64_t n = std::min<uint64_t>(256, dev.block_count() - lba);
    if (auto s = dev.write(lba, std::span(chunk.data(), n * kBs)); !s) return s;
  }
  return dev.flush();
}

std::string with_offload(const std::string& uri, bool offload) {
  return offload ? uri : uri + "?offload=0";
}

double median(std::vector<double> v) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

// The GC's copy requests, one list per collect() round.
using CopyTrace = std::vector<std::vector<blockdev::CopyRequest>>;

// Replays `trace` on `dev` as the Migrator submits requests: up to `in_flight` at once
// through copy_async, retired oldest first, each round finished before the next. Returns
// the seconds taken, or a negative value when a copy failed.
double replay(blockdev::BlockDevice& dev, const CopyTrace& trace, unsigned in_flight) {
  struct Slot {
    bool done = false, ok = false;
  };
  std::mutex mu;
  std::condition_variable cv;
  bool ok = true;
  const auto t0 = std::chrono::steady_clock::now();
  for (const auto& round : trace) {
    std::deque<std::unique_ptr<Slot>> pending;
    auto retire = [&] {
      Slot& slot = *pending.front();
      std::unique_lock lock(mu);
      cv.wait(lock, [&] { return slot.done; });
      ok = ok && slot.ok;
      lock.unlock();
      pending.pop_front();
    };
    for (const blockdev::CopyRequest& req : round) {
      if (pending.size() >= in_flight) retire();
      pending.push_back(std::make_unique<Slot>());
      Slot* slot = pending.back().get();
      dev.copy_async(req, [&, slot](Result<blockdev::CopyResult> r) {
        std::lock_guard lock(mu);
        slot->ok = r.has_value();
        slot->done = true;
        cv.notify_all();
      });
    }
    while (!pending.empty()) retire();
  }
  const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return ok ? s : -1;
}

RunResult run_one(const Target& t, uint64_t size, uint32_t fill, bool offload, uint32_t sections,
                  uint64_t seed, unsigned copy_threads) {
  RunResult out;
  if (!recreate(t.path, size)) {
    out.why = "cannot create " + t.path;
    return out;
  }
  auto dev = blockdev::open_device(with_offload(t.uri, offload));
  if (!dev) {
    out.why = dev.error().message;
    return out;
  }
  blockdev::BlockDevice& d = **dev;
  if (auto s = fill_with_data(d); !s) {
    out.why = s.error().message;
    return out;
  }
  // copy_async() requests run on the copy engine's async threads: that many GC requests
  // progress at once (set before the first copy; the pool starts then).
  blockdev::CopyEngineOptions eo = d.copy_engine().options();
  eo.async_threads = copy_threads;
  if (auto s = d.copy_engine().set_options(eo); !s) {
    out.why = s.error().message;
    return out;
  }
  segment::MkfsOptions mo;
  mo.reproducible = true;
  mo.trim = false;  // a discard would punch holes in a file again
  if (auto f = segment::format(d, mo); !f) {
    out.why = "mkfs: " + f.error().message;
    return out;
  }
  auto img = segment::open_image(d);
  if (!img) {
    out.why = img.error().message;
    return out;
  }
  auto sm = segment::SegmentManager::load(d, std::move(*img));
  if (!sm) {
    out.why = sm.error().message;
    return out;
  }
  const uint32_t bps = (*sm)->layout().segs_per_sec * segment::kBlocksPerSeg;
  const uint32_t reserved = (*sm)->reserved_sections();
  const uint64_t capacity = uint64_t{(*sm)->free_sections() - reserved} * bps;
  const uint32_t keys = static_cast<uint32_t>(capacity * fill / 100);
  MapOwners owners(**sm, d, keys);

  // Fill, then overwrite random keys until only the room the GC needs is left.
  auto write_batch = [&](const std::vector<uint32_t>& batch) -> Result<bool> {
    std::vector<uint32_t> data, node;
    for (uint32_t k : batch) (MapOwners::is_node(k) ? node : data).push_back(k);
    for (auto* v : {&data, &node}) {
      if (v->empty()) continue;
      auto r = owners.write_run(*v, v == &node ? Log::kWarmNode : Log::kWarmData);
      if (!r || !*r) return r;
    }
    return true;
  };
  std::vector<uint32_t> batch;
  for (uint32_t k = 0; k < keys; ++k) {
    batch.push_back(k);
    if (batch.size() == 64 || k + 1 == keys) {
      auto r = write_batch(batch);
      if (!r || !*r) {
        out.why = r ? "image full while filling" : r.error().message;
        return out;
      }
      batch.clear();
    }
  }
  std::mt19937_64 rng(seed);
  const uint32_t stop_at = reserved + 2;
  while ((*sm)->free_sections() > stop_at) {
    batch.clear();
    for (int i = 0; i < 64; ++i) batch.push_back(static_cast<uint32_t>(rng() % keys));
    std::sort(batch.begin(), batch.end());
    batch.erase(std::unique(batch.begin(), batch.end()), batch.end());
    auto r = write_batch(batch);
    if (!r) {
      out.why = r.error().message;
      return out;
    }
    if (!*r) break;
  }
  if (auto s = owners.checkpoint(); !s) {
    out.why = s.error().message;
    return out;
  }

  // The checkpoint that frees the victims is timed on its own: it flushes the device, which
  // on a file means fsync of everything written before too.
  gc::GcOptions gopts;
  gopts.checkpoint_after_collect = false;
  CopyTrace trace;
  gopts.migrator.on_copy_request = [&trace](const blockdev::CopyRequest& r) {
    trace.back().push_back(r);
  };
  gc::GcController gc(**sm, d, owners, gopts);
  out.free_before = (*sm)->free_sections();
  const auto dev_before = d.stats();
  const double cpu0 = cpu_seconds();
  const auto t0 = std::chrono::steady_clock::now();
  uint32_t done = 0;
  double checkpoint_s = 0;
  gc::GreedyPolicy greedy;
  while (done < sections) {
    trace.emplace_back();
    auto r = gc.collect(std::min<uint32_t>(4, sections - done), greedy);
    if (!r) {
      out.why = "gc: " + r.error().message;
      return out;
    }
    if (r->victims == 0) break;
    done += r->victims;
    const auto c0 = std::chrono::steady_clock::now();
    if (auto s = owners.checkpoint(); !s) {
      out.why = "checkpoint: " + s.error().message;
      return out;
    }
    checkpoint_s += std::chrono::duration<double>(std::chrono::steady_clock::now() - c0).count();
  }
  out.seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count() - checkpoint_s;
  out.cpu = cpu_seconds() - cpu0;
  out.host_bytes = (d.stats() - dev_before).host_bytes();
  out.stats = gc.stats();
  out.free_after = (*sm)->free_sections();
  out.checkpoint_ms = checkpoint_s * 1000;
  out.bad = owners.check(2000, seed + 1);

  // The raw limits of the same path, on a second device of the same kind whose every block
  // holds data, like the first: the GC's own requests replayed, and one fragmented request
  // of the same size.
  const uint64_t moved = std::max<uint64_t>(out.stats.blocks_moved(), 1);
  const CopyWorkload w = make_copy_workload(moved * kBs, kBs, seed);
  const uint64_t raw_bytes = std::max<uint64_t>(w.device_blocks * kBs, size);
  const std::string raw_path = t.path.empty() ? "" : t.path + ".raw";
  struct Remove {
    const std::string& path;
    ~Remove() {
      if (!path.empty()) unlink(path.c_str());
    }
  } remove_raw{raw_path};
  std::string raw_uri =
      t.path.empty() ? "nvme-emu:mem:" + std::to_string(raw_bytes) : "file:" + raw_path;
  if (!recreate(raw_path, raw_bytes)) {
    out.why = "cannot create " + raw_path;
    return out;
  }
  auto raw = blockdev::open_device(with_offload(raw_uri, offload));
  if (!raw) {
    out.why = "raw device: " + raw.error().message;
    return out;
  }
  blockdev::CopyEngineOptions raw_eo = (*raw)->copy_engine().options();
  raw_eo.async_threads = copy_threads;
  if (auto s = (*raw)->copy_engine().set_options(raw_eo); !s) {
    out.why = s.error().message;
    return out;
  }
  if (auto s = fill_with_data(**raw); !s) {
    out.why = "raw device: " + s.error().message;
    return out;
  }
  // The median of three runs each: the GC itself runs once, so the best of three would
  // flatter the raw path.
  const double mib = static_cast<double>(out.stats.blocks_moved()) * kBs / 1048576.0;
  std::vector<double> replays, synths;
  for (int i = 0; i < 3; ++i) {
    const double s = replay(**raw, trace, gopts.migrator.max_in_flight);
    if (s > 0) replays.push_back(mib / s);
  }
  for (int i = 0; i < 3; ++i) {
    const auto r0 = std::chrono::steady_clock::now();
    auto c = (*raw)->copy(w.request);
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - r0).count();
    if (c && s > 0) synths.push_back(static_cast<double>(w.copied_blocks * kBs) / 1048576.0 / s);
  }
  out.raw_mib_s = median(replays);
  out.synth_mib_s = median(synths);
  if (out.raw_mib_s == 0) {
    out.why = "replaying the GC's copies failed on the raw device";
    return out;
  }
  out.ok = true;
  return out;
}

int run_gc_bench(int argc, char** argv) {
  CLI::App app{
      "Fills a fresh image to 80% and 90%, fragments it with fixed-seed random overwrites,\n"
      "then collects SECTIONS sections with copy offload on and off, on nvme-emu over memory,\n"
      "on a file in DIR and, as root, on XFS over a loop device. Prints migrated MiB/s, host\n"
      "and data bytes per migrated byte, CPU us per block, ranges per command, and the raw\n"
      "copy limit of the same path measured in the same run (the GC's own copy requests\n"
      "replayed on a second device, and one request in runs of 1..64 blocks).",
      argv[0]};
  BenchOptions opts;
  opts.size_text = "256M";
  add_common_options(app, opts, "image size");
  std::string dir;
  uint32_t sections = 16;
  unsigned copy_threads = blockdev::CopyEngineOptions{}.async_threads;
  bool no_xfs = false, no_file = false;
  std::vector<uint32_t> fills{80, 90};
  app.add_option("--dir", dir, "directory for the file device (default $TMPDIR or /var/tmp)");
  app.add_option("--sections", sections, "sections to collect per run")->capture_default_str();
  app.add_option("--fill", fills, "fill levels in percent of user capacity (default: 80 90)")
      ->check(CLI::Range(1, 95));
  app.add_option("--copy-threads", copy_threads,
                 "copy engine threads for asynchronous copies (GC requests in progress at once)")
      ->capture_default_str();
  app.add_flag("--no-file", no_file, "skip the file devices");
  app.add_flag("--no-xfs", no_xfs, "skip the XFS loop device");
  if (auto code = parse_bench_args(app, opts, argc, argv)) return *code;
  if (dir.empty()) dir = std::getenv("TMPDIR") ? std::getenv("TMPDIR") : "/var/tmp";
  const std::string size = std::to_string(opts.size);

  std::unique_ptr<ScratchXfs> scratch;
  std::vector<Target> targets{{"nvme-emu", "nvme-emu:mem:" + size, ""}};
  if (!no_file) {
    targets.push_back({"file", "file:" + dir + "/f2sc-bench-gc.img", dir + "/f2sc-bench-gc.img"});
    if (!no_xfs) {
      std::string why;
      scratch = ScratchXfs::create(3 * opts.size + (256ull << 20), &why);
      if (scratch) {
        const std::string p = scratch->dir() + "/f2sc-bench-gc.img";
        targets.push_back({"file:xfs", "file:" + p, p});
      } else {
        std::printf("xfs: skipped (%s)\n", why.c_str());
      }
    }
  }

  std::vector<std::vector<std::string>> rows = {
      {"device", "fill", "copy", "victims", "moved MiB", "MiB/s", "host B/B", "data B/B",
       "CPU us/blk", "ranges/cmd", "ranges/req", "raw MiB/s", "% of raw", "1-64 MiB/s", "offl/emul",
       "ckpt ms", "+ckpt MiB/s", "+ckpt offl/emul"}};
  nlohmann::json json = {{"size", opts.size},
                         {"seed", opts.seed},
                         {"sections", sections},
                         {"results", nlohmann::json::array()}};
  int status = 0;
  for (const Target& t : targets) {
    for (uint32_t fill : fills) {
      double speed[2] = {0, 0}, durable_speed[2] = {0, 0};
      for (bool offload : {true, false}) {
        RunResult r = run_one(t, opts.size, fill, offload, sections, opts.seed, copy_threads);
        const char* mode = offload ? "offload" : "emulate";
        if (!r.ok) {
          std::printf("%s %u%% %s: %s\n", t.label.c_str(), fill, mode, r.why.c_str());
          status = 1;
          continue;
        }
        const gc::GcStatsSnapshot& s = r.stats;
        const double moved_bytes = static_cast<double>(s.blocks_moved()) * kBs;
        const double mib = moved_bytes / 1048576.0;
        const double mib_s = r.seconds > 0 ? mib / r.seconds : 0;
        speed[offload ? 0 : 1] = mib_s;
        // With the checkpoints: the copies are durable and the victims free only after them,
        // and on a file that is where emulation's page-cache writes reach the disk.
        const double busy = r.seconds + r.checkpoint_ms / 1000;
        const double durable_mib_s = busy > 0 ? mib / busy : 0;
        durable_speed[offload ? 0 : 1] = durable_mib_s;
        const double host = moved_bytes > 0 ? static_cast<double>(r.host_bytes) / moved_bytes : 0;
        const double data =
            moved_bytes > 0 ? static_cast<double>(2 * s.blocks_emulated * kBs) / moved_bytes : 0;
        const double cpu_us = s.blocks_moved() ? r.cpu * 1e6 / s.blocks_moved() : 0;
        const double ranges = s.copy_commands ? s.mean_ranges_per_command() : 0;
        if (r.bad) {
          std::printf("%s %u%% %s: %llu sampled blocks read back wrong\n", t.label.c_str(), fill,
                      mode, static_cast<unsigned long long>(r.bad));
          status = 1;
        }
        rows.push_back(
            {t.label, std::to_string(fill) + "%", mode, std::to_string(s.victims), fmt(mib, 1),
             fmt(mib_s, 0), fmt(host, 4), fmt(data, 4), fmt(cpu_us, 2),
             s.copy_commands ? fmt(ranges, 1) : "-", fmt(s.mean_ranges_per_request(), 1),
             fmt(r.raw_mib_s, 0), r.raw_mib_s > 0 ? fmt(100 * mib_s / r.raw_mib_s, 0) + "%" : "-",
             fmt(r.synth_mib_s, 0),
             !offload && speed[1] > 0 ? fmt(speed[0] / speed[1], 2) + "x" : "",
             fmt(r.checkpoint_ms, 1), fmt(durable_mib_s, 0),
             !offload && durable_speed[1] > 0 ? fmt(durable_speed[0] / durable_speed[1], 2) + "x"
                                              : ""});
        json["results"].push_back({{"device", t.label},
                                   {"fill", fill},
                                   {"offload", offload},
                                   {"victims", s.victims},
                                   {"victims_freed", s.victims_freed},
                                   {"blocks_moved", s.blocks_moved()},
                                   {"node_blocks_moved", s.node_blocks_moved},
                                   {"copy_commands", s.copy_commands},
                                   {"copy_requests", s.copy_requests},
                                   {"max_ranges_per_command", s.max_ranges_per_command},
                                   {"mib_per_s", mib_s},
                                   {"host_bytes_per_byte", host},
                                   {"data_bytes_per_byte", data},
                                   {"cpu_us_per_block", cpu_us},
                                   {"ranges_per_command", ranges},
                                   {"ranges_per_request", s.mean_ranges_per_request()},
                                   {"raw_limit_mib_per_s", r.raw_mib_s},
                                   {"runs_1_64_limit_mib_per_s", r.synth_mib_s},
                                   {"checkpoint_ms", r.checkpoint_ms},
                                   {"mib_per_s_with_checkpoints", durable_mib_s},
                                   {"free_sections_before", r.free_before},
                                   {"free_sections_after", r.free_after}});
      }
    }
  }
  for (const Target& t : targets)
    if (!t.path.empty()) unlink(t.path.c_str());  // the image of the last run
  std::printf("\n");
  print_table(rows);
  std::printf(
      "\nMiB/s: migration (scan, copies, repoints) without the checkpoints after each round of\n"
      "4 sections, which ckpt ms sums; +ckpt: with them (the copies durable, the victims free).\n"
      "CPU includes checkpoints. host B/B: all device traffic (SSA reads, copy descriptors,\n"
      "checkpoints) per migrated byte; data B/B: block data the copies moved through the host.\n"
      "raw: the GC's own copy requests replayed on a second device as the GC submits them\n"
      "(no scan, plan or commit); 1-64: one copy-engine request of the same size in runs of\n"
      "1..64 blocks. Both devices hold data in every block before mkfs (no holes in a file).\n");
  if (!opts.json_path.empty()) std::ofstream(opts.json_path) << json.dump(2) << "\n";
  return status;
}

const BenchRegistration registration({"gc", "GC with copy offload vs emulation at 80%/90% fill",
                                      run_gc_bench});

}  // namespace
}  // namespace f2sc::bench
