#include "tools/f2sc-stress/runner.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cinttypes>
#include <cmath>
#include <condition_variable>
#include <cstdio>
#include <mutex>
#include <random>
#include <thread>

#include "tools/f2sc-stress/model.h"
#include "tools/f2sc-stress/verifier.h"
#include "tools/f2sc-stress/workload.h"

namespace f2sc::stress {

namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

constexpr uint64_t kFillChunkBlocks = 256;  // 1 MiB writes while filling
constexpr uint64_t kRewriteChunkBlocks = 16;

// Shared state of one overwrite phase.
struct Phase {
  const Options& o;
  const RunEnv& env;
  uint64_t ops_budget = 0;    // 0: none
  uint64_t bytes_budget = 0;  // 0: none
  Clock::time_point start;
  Clock::time_point deadline = Clock::time_point::max();
  std::atomic<uint64_t> ops_claimed{0}, bytes_claimed{0};
  std::atomic<uint64_t> ops_done{0}, user_bytes{0}, read_bytes{0};
  std::atomic<bool> stop{false};
  std::mutex mu;  // guards stop_reason
  std::string stop_reason;

  Phase(const Options& opts, const RunEnv& e) : o(opts), env(e) {}

  void halt(const std::string& why) {
    std::lock_guard lock(mu);
    if (stop_reason.empty()) stop_reason = why;
    stop = true;
  }
  // Claims the next operation of `bytes`; false when the budget is spent.
  bool claim(uint64_t bytes) {
    if (stop.load(std::memory_order_relaxed)) return false;
    if (ops_budget && ops_claimed.fetch_add(1) >= ops_budget) return false;
    if (bytes_budget && bytes_claimed.fetch_add(bytes) >= bytes_budget) return false;
    if (deadline != Clock::time_point::max() && Clock::now() >= deadline) return false;
    return true;
  }
};

struct Worker {
  std::vector<ShadowFile*> files;
  std::vector<uint64_t> latencies_ns;
  VerifyTally during;
};

std::string file_name(uint32_t i) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "stress-%06u", i);
  return buf;
}

uint64_t thread_seed(uint64_t seed, unsigned t, uint64_t salt) {
  uint64_t x = seed * 0x9e3779b97f4a7c15ull + t * 0xbf58476d1ce4e5b9ull + salt;
  x ^= x >> 31;
  return x * 0x94d049bb133111ebull;
}

// Writes blocks [first, first + n) of `f` with new content, in chunks of `chunk` blocks;
// times each write call into `lat` when given.
Status write_blocks(Target& t, uint64_t seed, ShadowFile& f, uint64_t first, uint64_t n,
                    uint64_t chunk, std::vector<std::byte>& buf, std::vector<uint64_t>* lat,
                    std::atomic<uint64_t>* user_bytes) {
  std::vector<uint64_t> hashes;
  for (uint64_t b = first; b < first + n; b += chunk) {
    const uint64_t k = std::min(chunk, first + n - b);
    buf.resize(k * kBlockBytes);
    generate(seed, f, b, buf, &hashes);
    const auto t0 = Clock::now();
    auto s = t.write(f.handle, b * kBlockBytes, buf);
    if (lat) lat->push_back(static_cast<uint64_t>((Clock::now() - t0).count()));
    if (!s) {
      mark_uncertain(f, b, hashes);
      return fail(with_context(s.error(), f.name + ": write of " + std::to_string(buf.size()) +
                                              " bytes at offset " +
                                              std::to_string(b * kBlockBytes)));
    }
    commit(f, b, hashes);
    user_bytes->fetch_add(buf.size());
  }
  return {};
}

void overwrite_loop(Phase& ph, Worker& w, unsigned index) {
  Target& t = *ph.env.target;
  std::vector<uint64_t> sizes;
  for (ShadowFile* f : w.files) sizes.push_back(f->blocks());
  Generator gen(ph.o.workload, sizes, thread_seed(ph.o.seed, index, 0x5eed));
  std::vector<std::byte> buf;
  double read_credit = 0;
  while (true) {
    const Op op = gen.next();
    if (!ph.claim(op.blocks * kBlockBytes)) break;
    ShadowFile& f = *w.files[op.file];
    if (op.kind == Op::kTruncateRewrite) {
      if (auto s = t.truncate(f.handle, op.block * kBlockBytes); !s) {
        // Either size may be there now; the blocks below the old size keep their hashes.
        f.size_max = std::max(f.size_max, f.size);
        f.size = op.block * kBlockBytes;
        ph.halt(f.name + ": truncate to " + std::to_string(op.block * kBlockBytes) + ": " +
                s.error().message);
        break;
      }
      f.size = f.size_max = op.block * kBlockBytes;
      f.hashes.resize(op.block);
      f.alt.clear();
    }
    const uint64_t chunk = op.kind == Op::kTruncateRewrite ? kRewriteChunkBlocks : op.blocks;
    if (auto s = write_blocks(t, ph.o.seed, f, op.block, op.blocks, chunk, buf, &w.latencies_ns,
                              &ph.user_bytes);
        !s) {
      ph.halt(s.error().message);
      break;
    }
    ph.ops_done.fetch_add(1);
    for (read_credit += ph.o.read_ratio; read_credit >= 1; read_credit -= 1) {
      auto [file, block] = gen.random_block();
      const uint64_t before = w.during.errors;
      verify_range(t, *w.files[file], block, 1, &w.during);
      ph.read_bytes.fetch_add(kBlockBytes);
      if (w.during.errors != before) {
        ph.halt("verification failed: " + describe(w.during.listed.back()));
        return;
      }
    }
  }
}

LatencySummary summarize(std::vector<uint64_t> ns) {
  LatencySummary s;
  s.count = ns.size();
  if (ns.empty()) return s;
  std::sort(ns.begin(), ns.end());
  auto at = [&](double q) {
    size_t i = static_cast<size_t>(std::ceil(q * static_cast<double>(ns.size())));
    i = std::clamp<size_t>(i, 1, ns.size()) - 1;
    return static_cast<double>(ns[i]) / 1000.0;
  };
  double sum = 0;
  for (uint64_t v : ns) sum += static_cast<double>(v);
  s.mean_us = sum / static_cast<double>(ns.size()) / 1000.0;
  s.p50_us = at(0.50);
  s.p99_us = at(0.99);
  s.p999_us = at(0.999);
  s.max_us = static_cast<double>(ns.back()) / 1000.0;
  const size_t points = std::min<size_t>(200, ns.size());
  for (size_t k = 1; k <= points; ++k) {
    const size_t i = k * ns.size() / points - 1;
    s.cdf.emplace_back(static_cast<double>(ns[i]) / 1000.0,
                       static_cast<double>(i + 1) / static_cast<double>(ns.size()));
  }
  return s;
}

Sample take_sample(Phase& ph, const Counters& base) {
  Sample s;
  s.t = seconds_since(ph.start);
  s.ops = ph.ops_done.load();
  s.user_bytes = ph.user_bytes.load();
  const Counters d = delta(take_counters(ph.env.fs, ph.env.device), base);
  const uint32_t bs = ph.env.device ? ph.env.device->block_size() : 4096;
  s.device_bytes = device_bytes_written(d, bs);
  if (s.device_bytes && s.user_bytes)
    s.waf = static_cast<double>(*s.device_bytes) / static_cast<double>(s.user_bytes);
  if (auto sp = ph.env.target->space()) s.free_bytes = sp->free * sp->block_size;
  if (d.gc) {
    s.gc_blocks_moved = d.gc->blocks_moved();
    s.gc_data_blocks_moved = d.gc->data_blocks_moved;
  }
  if (ph.env.fs) {
    const segment::SpaceUsage u = ph.env.fs->space_usage();
    if (u.data_in_use)
      s.data_u = static_cast<double>(u.data_valid_in_use) /
                 (static_cast<double>(u.data_in_use) * segment::kBlocksPerSeg);
  }
  return s;
}

void print_progress(const RunEnv& env, const Sample& s, double util, uint64_t budget_ops) {
  char waf[16] = "n/a", gc[24] = "n/a";
  if (s.waf) std::snprintf(waf, sizeof waf, "%.2f", *s.waf);
  if (s.gc_blocks_moved && s.t > 0)
    std::snprintf(gc, sizeof gc, "%.1f MiB/s",
                  static_cast<double>(*s.gc_blocks_moved) * 4096 / (1 << 20) / s.t);
  char total[32] = "";
  if (budget_ops) std::snprintf(total, sizeof total, "/%" PRIu64, budget_ops);
  std::printf("\r[%s] %6.1fs  ops %" PRIu64 "%s  util %.1f%%  WAF %s  GC %s  free %.1f MiB   ",
              env.mode.c_str(), s.t, s.ops, total, util * 100, waf, gc,
              static_cast<double>(s.free_bytes) / (1 << 20));
  std::fflush(stdout);
}

}  // namespace

Result<RunResult> run_workload(const Options& o, const RunEnv& env, uint64_t ops_override) {
  Target& t = *env.target;
  RunResult r;
  r.mode = env.mode;
  r.device = env.device_name;
  r.block_size = env.device ? env.device->block_size() : 4096;
  if (env.device) r.offload_active = env.device->offload_enabled();

  // Plan the files: sizes drawn from the seed until the data in use reaches --util of the
  // capacity users can fill (what is in use plus f_bavail, as df counts it).
  // Files of an earlier run on the same filesystem go first (their space with them).
  auto removed = t.remove_previous();
  if (!removed) return fail(with_context(removed.error(), "removing an earlier run's files"));
  if (*removed)
    if (auto s = t.sync(); !s) return fail(with_context(s.error(), "sync"));
  r.previous_files_removed = *removed;
  auto sp = t.space();
  if (!sp) return fail(with_context(sp.error(), "statfs"));
  const uint64_t bs = sp->block_size;
  r.main_bytes = sp->blocks * bs;
  uint64_t used = (sp->blocks - sp->free) * bs;
  uint64_t avail = sp->avail * bs;
  if (env.capacity_cap) {  // only our own files count, up to the cap
    used = 0;
    avail = std::min(avail, env.capacity_cap);
    r.main_bytes = avail;
  }
  r.capacity_bytes = used + avail;
  const auto want = static_cast<uint64_t>(o.util * static_cast<double>(r.capacity_bytes));
  if (want <= used) return fail(Errc::kInvalidArgument, "--util is below what is already in use");
  const uint64_t target = (want - used) / kBlockBytes * kBlockBytes;
  // Node blocks: about one per 1018 data blocks, one inode per file (a quarter more than
  // the expected count of files), and a margin of 64 blocks.
  const double mean_file = static_cast<double>(o.file_min + o.file_max) / 2;
  const double nodes_per_byte = 1.0 / (1018.0 * kBlockBytes) + 1.25 / mean_file;
  const uint64_t node_margin =
      static_cast<uint64_t>(static_cast<double>(target) * nodes_per_byte + 64) * kBlockBytes;
  if (target + node_margin > avail) {
    const double fits = std::max(0.0, (static_cast<double>(avail) - 64.0 * kBlockBytes) /
                                          (1 + nodes_per_byte * kBlockBytes));
    const double max_util =
        (static_cast<double>(used) + fits) / static_cast<double>(r.capacity_bytes);
    char buf[256];
    std::snprintf(buf, sizeof buf,
                  "--util %.2f needs %.1f MiB of file data and about %.1f MiB of nodes, but only "
                  "%.1f MiB are free for users; use --util %.2f or less",
                  o.util, static_cast<double>(target) / (1 << 20),
                  static_cast<double>(node_margin) / (1 << 20),
                  static_cast<double>(avail) / (1 << 20), std::floor(max_util * 100) / 100);
    return fail(Errc::kInvalidArgument, buf);
  }
  std::vector<ShadowFile> files;
  {
    std::mt19937_64 rng(thread_seed(o.seed, 0, 0xf11e));
    std::uniform_int_distribution<uint64_t> blocks(o.file_min / kBlockBytes,
                                                   o.file_max / kBlockBytes);
    uint64_t planned = 0;
    while (planned < target) {
      ShadowFile f;
      f.id = static_cast<uint32_t>(files.size());
      f.name = file_name(f.id);
      const uint64_t b = std::min(blocks(rng), (target - planned) / kBlockBytes);
      if (b == 0) break;
      f.hashes.reserve(b);
      planned += b * kBlockBytes;
      f.size = b * kBlockBytes;  // the planned size until the fill writes it
      files.push_back(std::move(f));
    }
    if (files.empty()) return fail(Errc::kInvalidArgument, "--util leaves no room for a file");
  }
  r.files = static_cast<uint32_t>(files.size());

  const unsigned nthreads = std::min<unsigned>(o.threads, r.files);
  std::vector<Worker> workers(nthreads);
  for (auto& f : files) workers[f.id % nthreads].files.push_back(&f);

  Phase ph(o, env);
  // Fill: every thread creates and writes its own files.
  const Counters fill_base = take_counters(env.fs, env.device);
  ph.start = Clock::now();
  {
    std::vector<std::thread> threads;
    for (unsigned i = 0; i < nthreads; ++i) {
      threads.emplace_back([&, i] {
        std::vector<std::byte> buf;
        for (ShadowFile* f : workers[i].files) {
          if (ph.stop) return;
          const uint64_t blocks = f->blocks();
          f->size = 0;
          auto h = t.create(f->name);
          if (!h) return ph.halt("fill: " + h.error().message);
          f->handle = *h;
          f->created = true;
          if (auto s = write_blocks(t, o.seed, *f, 0, blocks, kFillChunkBlocks, buf, nullptr,
                                    &ph.user_bytes);
              !s)
            return ph.halt("fill: " + s.error().message);
        }
      });
    }
    for (auto& th : threads) th.join();
  }
  if (!ph.stop)
    if (auto s = t.sync(); !s) ph.halt("sync after the fill: " + s.error().message);
  r.fill_seconds = seconds_since(ph.start);
  r.fill = delta(take_counters(env.fs, env.device), fill_base);
  for (const auto& f : files) r.live_bytes += f.size;
  if (env.capacity_cap) {
    r.util_measured = static_cast<double>(r.live_bytes) / static_cast<double>(r.capacity_bytes);
    r.live_fraction = r.util_measured;
  } else if (auto s2 = t.space()) {
    const double in_use = static_cast<double>(s2->blocks - s2->free);
    r.util_measured =
        in_use * static_cast<double>(s2->block_size) / static_cast<double>(r.capacity_bytes);
    r.live_fraction = in_use / static_cast<double>(s2->blocks);
  }
  // Through a plain directory the model has no main area to speak of.
  r.waf_greedy_model = env.capacity_cap ? std::nan("") : greedy_waf(r.live_fraction);

  // Overwrite.
  if (ops_override) {
    ph.ops_budget = ops_override;
  } else if (o.ops) {
    ph.ops_budget = o.ops;
  } else if (o.seconds > 0) {
    ph.deadline = Clock::now() + std::chrono::duration_cast<Clock::duration>(
                                     std::chrono::duration<double>(o.seconds));
  } else {
    ph.bytes_budget = static_cast<uint64_t>(o.overwrite * static_cast<double>(r.live_bytes));
  }
  ph.user_bytes = 0;
  const Counters base = take_counters(env.fs, env.device);
  ph.start = Clock::now();
  r.samples.push_back(take_sample(ph, base));
  if (!ph.stop) {
    std::atomic<bool> done{false};
    std::mutex sample_mu;
    std::condition_variable sample_cv;
    std::thread sampler([&] {
      std::unique_lock lock(sample_mu);
      while (!done) {
        sample_cv.wait_for(lock, std::chrono::milliseconds(250), [&] { return done.load(); });
        if (done) break;
        r.samples.push_back(take_sample(ph, base));
        if (env.progress) {
          // In use now, of what users can fill (the fill's figure through a capped directory).
          const Sample& last = r.samples.back();
          double util = r.util_measured;
          if (!env.capacity_cap && r.capacity_bytes && last.free_bytes <= r.main_bytes)
            util = static_cast<double>(r.main_bytes - last.free_bytes) /
                   static_cast<double>(r.capacity_bytes);
          print_progress(env, last, util, ph.ops_budget);
        }
      }
    });
    std::vector<std::thread> threads;
    for (unsigned i = 0; i < nthreads; ++i)
      threads.emplace_back([&, i] { overwrite_loop(ph, workers[i], i); });
    for (auto& th : threads) th.join();
    if (!ph.stop)
      if (auto s = t.sync(); !s) ph.halt("sync after the run: " + s.error().message);
    {
      std::lock_guard lock(sample_mu);
      done = true;
    }
    sample_cv.notify_all();
    sampler.join();
    if (env.progress) std::printf("\n");
  }
  r.seconds = seconds_since(ph.start);
  r.samples.push_back(take_sample(ph, base));
  r.run = delta(take_counters(env.fs, env.device), base);
  r.ops = ph.ops_done;
  r.user_bytes_written = ph.user_bytes;
  r.user_bytes_read = ph.read_bytes;
  r.device_bytes_written = device_bytes_written(r.run, r.block_size);
  if (r.device_bytes_written && r.user_bytes_written)
    r.waf =
        static_cast<double>(*r.device_bytes_written) / static_cast<double>(r.user_bytes_written);
  {
    // The sample where half the user bytes were written, to the end.
    const Sample& last = r.samples.back();
    for (const Sample& s : r.samples) {
      if (s.user_bytes * 2 < last.user_bytes) continue;
      if (&s == &last || r.samples.size() < 3 || last.user_bytes <= s.user_bytes) break;
      const double user = static_cast<double>(last.user_bytes - s.user_bytes);
      if (s.device_bytes && last.device_bytes)
        r.waf_second_half = static_cast<double>(*last.device_bytes - *s.device_bytes) / user;
      if (s.gc_data_blocks_moved && last.gc_data_blocks_moved) {
        const double moved =
            static_cast<double>(*last.gc_data_blocks_moved - *s.gc_data_blocks_moved);
        r.data_waf_second_half = (user + moved * r.block_size) / user;
      }
      double sum = 0;
      int n = 0;
      for (const Sample* p = &s; p <= &last; ++p)
        if (p->data_u) sum += *p->data_u, ++n;
      if (n) {
        r.data_u_second_half = sum / n;
        r.data_waf_greedy_model = greedy_waf(*r.data_u_second_half);
      }
      break;
    }
  }
  std::vector<uint64_t> all;
  for (auto& w : workers) all.insert(all.end(), w.latencies_ns.begin(), w.latencies_ns.end());
  r.latency = summarize(std::move(all));

  // Full verification of every file the fill created.
  const auto v0 = Clock::now();
  VerifyTally final_pass = verify_all(t, files, nthreads, &r.verify.files);
  r.verify_seconds = seconds_since(v0);
  r.verify.bytes = final_pass.bytes;
  r.verify.errors = final_pass.errors;
  for (auto& w : workers) {
    r.verify.reads_during_run += w.during.bytes / kBlockBytes;
    r.verify.errors += w.during.errors;
    for (auto& m : w.during.listed)
      if (r.verify.mismatches.size() < kMaxListedMismatches) r.verify.mismatches.push_back(m);
  }
  for (auto& m : final_pass.listed)
    if (r.verify.mismatches.size() < kMaxListedMismatches) r.verify.mismatches.push_back(m);
  r.stop_reason = ph.stop_reason;
  if (env.remove_files && r.verify.errors == 0) {
    for (const auto& f : files) {
      if (!f.created) continue;
      if (auto s = t.remove(f.handle, f.name); !s && r.stop_reason.empty())
        r.stop_reason = "removing " + f.name + ": " + s.error().message;
    }
  }
  r.shadow = std::move(files);
  return r;
}

}  // namespace f2sc::stress
