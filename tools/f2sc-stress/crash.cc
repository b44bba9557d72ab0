#include "tools/f2sc-stress/crash.h"

#include <fcntl.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <random>
#include <sstream>

#include "blockdev/fault_device.h"
#include "blockdev/uri.h"
#include "fs/file_system.h"
#include "segment/mkfs.h"
#include "tools/fsck.f2sc/checker.h"
#include "tools/fsck.f2sc/report.h"

namespace f2sc::stress {

namespace {

std::string image_dir(uint64_t bytes) {
  struct statvfs st;
  if (::statvfs("/dev/shm", &st) == 0 && ::access("/dev/shm", W_OK) == 0 &&
      static_cast<uint64_t>(st.f_bavail) * st.f_frsize >= 4 * bytes)
    return "/dev/shm";
  const char* tmp = std::getenv("TMPDIR");
  if (tmp && *tmp) return tmp;
  return "/tmp";
}

// A temporary image file, removed when this goes away.
struct TempImage {
  std::string path;
  ~TempImage() {
    if (!path.empty()) ::unlink(path.c_str());
  }
};

Status make_image(const std::string& dir, uint64_t bytes, TempImage* out) {
  std::string path = dir + "/f2sc-crash-XXXXXX.img";
  const int fd = ::mkstemps(path.data(), 4);
  if (fd < 0) return fail(sys_error(errno, "creating a temporary image in " + dir));
  out->path = path;
  const int rc = ::ftruncate(fd, static_cast<off_t>(bytes));
  const int err = errno;
  ::close(fd);
  if (rc != 0) return fail(sys_error(err, "sizing " + path));
  return {};
}

// fsck.f2sc's check, in process, as `fsck.f2sc -n` judges it.
Result<std::optional<std::string>> fsck_f2sc(const std::string& path) {
  auto dev = blockdev::open_device("file:" + path);
  if (!dev) return tl::unexpected(dev.error());
  auto r = fsck::check_image(**dev);
  if (!r) return tl::unexpected(with_context(r.error(), "fsck.f2sc"));
  if (!r->fatal && r->errors() == 0) return std::optional<std::string>{};
  std::string what = "fsck.f2sc: " + std::to_string(r->errors()) + " errors";
  if (r->fatal) what += " (superblock or checkpoint unreadable)";
  size_t shown = 0;
  for (const auto& f : r->findings) {
    if (f.warning) continue;
    what += (shown ? " | " : ": ") + fsck::finding_line(f);
    if (++shown == 3) break;
  }
  return std::optional<std::string>{what};
}

// The first lines of fsck.f2fs's output that say what is wrong.
std::string fsck_f2fs_summary(const std::string& output) {
  std::istringstream in(output);
  std::string line, out;
  int shown = 0;
  while (std::getline(in, line) && shown < 3) {
    for (const char* bad :
         {"[Fail]", "[FIX]", "rror", "Wrong", "nvalid", "orrupt", "mismatch", "fix", "Fix"}) {
      if (line.find(bad) != std::string::npos && line != "[FSCK] fixing SIT types" &&
          line.find("[Ok..]") == std::string::npos) {
        out += (shown++ ? " | " : ": ") + line;
        break;
      }
    }
  }
  return out;
}

Result<CutOutcome> check_cut(const CrashConfig& config, const std::string& path,
                             const CrashModel& model, CutOutcome out);

}  // namespace

Result<CutOutcome> run_cut(const CrashConfig& config, const CutSpec& spec) {
  CutOutcome out;
  TempImage img;
  const std::string dir =
      config.image_dir.empty() ? image_dir(config.size_bytes) : config.image_dir;
  if (auto s = make_image(dir, config.size_bytes, &img); !s) return tl::unexpected(s.error());
  CrashModel model;
  {
    auto base = blockdev::open_device("nvme-emu:" + img.path);
    if (!base) return tl::unexpected(base.error());
    segment::MkfsOptions mk;
    mk.reproducible = true;
    if (auto p = segment::format(**base, mk); !p)
      return tl::unexpected(with_context(p.error(), "formatting " + img.path));
    blockdev::FaultDevice fault(**base);
    if (spec.cut_at) fault.cut_power_after({spec.cut_at, spec.torn, spec.seed});
    fs::MountOptions mo;
    mo.copy_offload = spec.offload;
    mo.checkpoint_interval_sec = 0;
    mo.gc_policy = config.gc_policy;
    mo.background_gc = config.background_gc;
    if (config.background_gc) {
      mo.gc.sleep = {1, 10, 10, 1};  // min, max, no-GC, urgent (ms)
    }
    auto fs = fs::FileSystem::mount(fault, mo);
    if (!fs) {
      if (fault.powered())
        return tl::unexpected(with_context(fs.error(), "mounting the fresh image"));
      out.cut_planned_hit = true;
      out.cut_during = "mount";
    } else {
      if (config.background_gc) (*fs)->set_gc_urgent(true);
      CrashWorkloadOptions wo = config.workload;
      wo.seed = spec.seed;
      CrashWorkloadResult w = run_crash_workload(**fs, fault, wo, &model);
      out.ops_done = w.ops_done;
      out.enospc = w.enospc;
      if (w.capacity_blocks)
        out.peak_fill =
            static_cast<double>(w.peak_used_blocks) / static_cast<double>(w.capacity_blocks);
      out.cut_planned_hit = w.power_cut;
      out.cut_during = w.cut_during;
      out.cut_in_gc = w.power_cut && w.cut_during.rfind("gc_collect", 0) == 0;
      const auto g = (*fs)->gc_stats();
      out.gc_blocks_moved = g.data_blocks_moved + g.node_blocks_moved;
      if (!w.error.empty())
        out.problems.push_back("an operation failed before the cut: " + w.error);
      if (!w.power_cut) {
        // No background thread may keep writing while the cut is measured.
        if (config.background_gc) (void)(*fs)->set_background_gc(false);
        fault.power_cut();
        out.cut_during = w.error.empty() ? "end of the workload" : "the workload's stop";
      }
      out.mutating_ops = fault.mutating_ops();
      fs->reset();  // the crash: no unmount
    }
    out.mutating_ops = fault.mutating_ops();
    fault.power_on();
  }
  if (!config.check) return out;
  std::string kept;
  if (!config.keep_dir.empty()) {
    kept = config.keep_dir + "/crash-seed-" + std::to_string(spec.seed) + "-at-" +
           std::to_string(spec.cut_at) + ".img";
    std::error_code ec;
    std::filesystem::copy_file(img.path, kept, std::filesystem::copy_options::overwrite_existing,
                               ec);
    if (ec) return fail(Errc::kIoError, "--crash-keep: copying to " + kept + ": " + ec.message());
  }
  auto result = check_cut(config, img.path, model, out);
  if (!result) return result;
  if (!kept.empty()) {
    if (result->problems.empty()) {
      ::unlink(kept.c_str());
    } else {
      result->kept_image = kept;
    }
  }
  return result;
}

namespace {

// The checks after the cut, in order, on the crashed image at `path`.
Result<CutOutcome> check_cut(const CrashConfig& config, const std::string& path,
                             const CrashModel& model, CutOutcome out) {
  const std::string& p = path;

  // fsck.f2sc -n and fsck.f2fs --dry-run on the crashed image, before anything mounts it.
  auto ck = fsck_f2sc(p);
  if (!ck) return tl::unexpected(ck.error());
  if (*ck) out.problems.push_back("crashed image: " + **ck);
  if (!config.fsck_f2fs.empty()) {
    std::string text;
    auto clean = fsck_f2fs_clean(config.fsck_f2fs, p, &text, /*crashed=*/true);
    if (!clean) return tl::unexpected(clean.error());
    if (!*clean)
      out.problems.push_back("crashed image: fsck.f2fs --dry-run not clean" +
                             fsck_f2fs_summary(text));
  }
  {
    auto dev = blockdev::open_device("file:" + p);
    if (!dev) return tl::unexpected(dev.error());
    fs::MountOptions mo;
    mo.checkpoint_interval_sec = 0;
    auto fs = fs::FileSystem::mount(**dev, mo);
    if (!fs) {
      out.problems.push_back("mount after the crash failed: " + fs.error().message);
      return out;
    }
    const size_t before = out.problems.size();
    for (auto& p : check_after_crash(**fs, model)) out.problems.push_back(p);
    // Only a recovery that passed is worth exercising: what follows would repeat it.
    if (out.problems.size() == before) {
      for (auto& p : exercise_after_crash(**fs))
        out.problems.push_back("using the recovered image: " + p);
      for (auto& p : check_after_crash(**fs, model))
        out.problems.push_back("after GC and writes on the recovered image: " + p);
    }
    if (auto s = (*fs)->unmount(); !s) {
      out.problems.push_back("unmount after the crash: " + s.error().message);
      return out;
    }
  }
  auto again = fsck_f2sc(p);
  if (!again) return tl::unexpected(again.error());
  if (*again) out.problems.push_back("after mount, use and unmount: " + **again);
  if (!config.fsck_f2fs.empty()) {
    std::string text;
    auto clean = fsck_f2fs_clean(config.fsck_f2fs, p, &text);
    if (!clean) return tl::unexpected(clean.error());
    if (!*clean)
      out.problems.push_back("after mount, use and unmount: fsck.f2fs --dry-run not clean" +
                             fsck_f2fs_summary(text));
  }
  return out;
}

}  // namespace

Result<CrashResult> run_crash(const Options& o,
                              const std::function<void(const CrashFailure&)>& on_failure) {
  const auto t0 = std::chrono::steady_clock::now();
  auto elapsed = [&] {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  };
  CrashConfig config;
  config.size_bytes = o.size_bytes;
  config.workload.ops = o.ops ? o.ops : 300;
  config.workload.explicit_gc = true;
  config.workload.fill_high = o.util;
  config.workload.fill_low = std::max(0.05, o.util - 0.15);
  config.background_gc = o.crash_background_gc;
  config.gc_policy = o.gc_policy;
  config.fsck_f2fs = fsck_f2fs_path();
  config.keep_dir = o.crash_keep;
  CrashResult r;
  r.fsck_f2fs = !config.fsck_f2fs.empty();

  auto offload_for = [&](uint64_t seed) {
    if (o.offload == OffloadMode::kBoth) return seed % 2 == 0;
    return o.offload == OffloadMode::kOn;
  };
  if (!o.crash_at) {
    CrashConfig cal = config;
    cal.check = false;
    auto c = run_cut(cal, CutSpec{o.seed, 0, false, offload_for(o.seed)});
    if (!c) return tl::unexpected(with_context(c.error(), "calibration run"));
    r.calibration_ops = c->mutating_ops;
    if (r.calibration_ops == 0)
      return fail(Errc::kInternal, "calibration run: no mutating device operation");
  }
  for (uint64_t i = 0; i < o.crash; ++i) {
    if (i > 0 && o.seconds > 0 && elapsed() >= o.seconds) {  // at least one cut runs
      r.time_limited = true;
      break;
    }
    CutSpec spec;
    spec.seed = o.seed + i;
    spec.offload = offload_for(spec.seed);
    std::mt19937_64 rng(spec.seed ^ 0x5eedc0ffee123457ull);
    spec.cut_at = o.crash_at ? o.crash_at
                             : std::uniform_int_distribution<uint64_t>(1, r.calibration_ops)(rng);
    spec.torn = o.torn == "on" ? true : o.torn == "off" ? false : (rng() & 1) != 0;
    auto c = run_cut(config, spec);
    if (!c)
      return tl::unexpected(with_context(c.error(), "cut with seed " + std::to_string(spec.seed) +
                                                        " at op " + std::to_string(spec.cut_at)));
    ++r.cuts;
    r.cuts_before_end += c->cut_planned_hit;
    r.cuts_in_gc += c->cut_in_gc;
    r.torn_cuts += spec.torn;
    r.gc_blocks_moved += c->gc_blocks_moved;
    r.peak_fill_mean += c->peak_fill;
    r.enospc += c->enospc;
    if (!c->problems.empty()) {
      CrashFailure f{spec, "cut during " + c->cut_during + ": ", c->kept_image};
      for (size_t k = 0; k < c->problems.size(); ++k) f.what += (k ? "; " : "") + c->problems[k];
      if (on_failure) on_failure(f);
      r.failures.push_back(std::move(f));
    }
  }
  r.seconds = elapsed();
  if (r.cuts) r.peak_fill_mean /= static_cast<double>(r.cuts);
  return r;
}

std::string replay_command(const Options& o, const CrashFailure& f) {
  std::string cmd = "f2sc-stress --crash 1 --seed " + std::to_string(f.cut.seed) + " --crash-at " +
                    std::to_string(f.cut.cut_at) + " --torn " + (f.cut.torn ? "on" : "off") +
                    " --size " + std::to_string(o.size_bytes >> 20) + "M --ops " +
                    std::to_string(o.ops ? o.ops : 300) + " --copy-offload " +
                    (f.cut.offload ? "on" : "off");
  if (o.gc_policy != "greedy") cmd += " --gc-policy " + o.gc_policy;
  if (o.crash_background_gc) cmd += " --crash-gc background";
  if (o.util != 0.85) {
    char buf[32];
    std::snprintf(buf, sizeof buf, " --util %g", o.util);
    cmd += buf;
  }
  return cmd;
}

std::string failure_line(const Options& o, const CrashFailure& f) {
  return "crash: FAIL seed " + std::to_string(f.cut.seed) + ", cut at op " +
         std::to_string(f.cut.cut_at) + (f.cut.torn ? " (torn)" : "") + ": " + f.what +
         "\n  replay: " + replay_command(o, f) + "\n" +
         (f.image.empty() ? "" : "  crashed image: " + f.image + "\n");
}

std::string crash_summary(const Options& o, const CrashResult& r) {
  char buf[512];
  std::snprintf(
      buf, sizeof buf,
      "crash: %llu cuts, %zu failures, %.1f s (%.2f cuts/s)%s\n"
      "crash: %llu cuts landed inside the workload (%llu in explicit GC rounds), "
      "%llu torn; GC moved %llu blocks before the cuts; peak use %.0f%% of the "
      "capacity (mean); %llu ENOSPC; calibration: %llu mutating operations; fsck.f2fs "
      "%s\n",
      static_cast<unsigned long long>(r.cuts), r.failures.size(), r.seconds,
      r.seconds > 0 ? static_cast<double>(r.cuts) / r.seconds : 0.0,
      r.time_limited ? " (stopped by --seconds)" : "",
      static_cast<unsigned long long>(r.cuts_before_end),
      static_cast<unsigned long long>(r.cuts_in_gc), static_cast<unsigned long long>(r.torn_cuts),
      static_cast<unsigned long long>(r.gc_blocks_moved), r.peak_fill_mean * 100,
      static_cast<unsigned long long>(r.enospc), static_cast<unsigned long long>(r.calibration_ops),
      r.fsck_f2fs ? "ran on every image" : "not found (skipped)");
  (void)o;
  return buf;
}

nlohmann::json crash_json(const Options& o, const CrashResult& r) {
  nlohmann::json j;
  j["tool"] = "f2sc-stress";
  j["version"] = 1;
  auto& c = j["config"];
  c["mode"] = "crash";
  c["size_bytes"] = o.size_bytes;
  c["util"] = o.util;
  c["ops_per_cut"] = o.ops ? o.ops : 300;
  c["seed"] = o.seed;
  c["cuts_requested"] = o.crash;
  c["crash_at"] = o.crash_at ? nlohmann::json(o.crash_at) : nlohmann::json(nullptr);
  c["torn"] = o.torn;
  c["copy_offload"] = offload_mode_name(o.offload);
  c["gc_policy"] = o.gc_policy;
  c["crash_gc"] = o.crash_background_gc ? "background" : "explicit";
  c["seconds_limit"] = o.seconds > 0 ? nlohmann::json(o.seconds) : nlohmann::json(nullptr);
  c["fsck_f2fs"] = r.fsck_f2fs;
  auto& k = j["crash"];
  k["cuts"] = r.cuts;
  k["failures"] = r.failures.size();
  k["list"] = nlohmann::json::array();
  for (const auto& f : r.failures)
    k["list"].push_back(
        {{"seed", f.cut.seed},
         {"cut_at", f.cut.cut_at},
         {"torn", f.cut.torn},
         {"copy_offload", f.cut.offload},
         {"what", f.what},
         {"replay", replay_command(o, f)},
         {"image", f.image.empty() ? nlohmann::json(nullptr) : nlohmann::json(f.image)}});
  k["seconds"] = r.seconds;
  k["cuts_per_second"] = r.seconds > 0 ? static_cast<double>(r.cuts) / r.seconds : 0.0;
  k["calibration_ops"] = r.calibration_ops;
  k["cuts_before_end"] = r.cuts_before_end;
  k["cuts_in_gc"] = r.cuts_in_gc;
  k["torn_cuts"] = r.torn_cuts;
  k["gc_blocks_moved"] = r.gc_blocks_moved;
  k["time_limited"] = r.time_limited;
  k["peak_fill_mean"] = r.peak_fill_mean;
  k["enospc"] = r.enospc;
  return j;
}

}  // namespace f2sc::stress
