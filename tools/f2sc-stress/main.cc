// f2sc-stress: GC stress testing with verification, reports and plots (issue 9).
//
// Exit status: 0 the run completed and every byte verified; 1 a verification mismatch (data
// loss, reported with file, offset, expected and found hashes) or, with --crash, a cut that
// failed a check (crash.h); 2 bad usage (including a --util the device cannot hold); 3 the
// run stopped on a filesystem or device error (what was written is still verified and
// reported).
#include <sys/vfs.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iostream>

#include "fs/file_system.h"
#include "tools/f2sc-stress/crash.h"
#include "tools/f2sc-stress/device.h"
#include "tools/f2sc-stress/gc_counters.h"
#include "tools/f2sc-stress/options.h"
#include "tools/f2sc-stress/plot.h"
#include "tools/f2sc-stress/report.h"
#include "tools/f2sc-stress/runner.h"
#include "tools/f2sc-stress/target.h"
#include "tools/f2sc-stress/verifier.h"

namespace {

using namespace f2sc::stress;

constexpr int kExitMismatch = 1;
constexpr int kExitUsage = 2;
constexpr int kExitStopped = 3;
constexpr uint32_t kFuseSuperMagic = 0x65735546;

f2sc::Result<RunResult> run_mount(const Options& o, bool progress, uint64_t ops_override) {
  auto t = make_posix_target(o.mount_dir);
  if (!t) return tl::unexpected(t.error());
  RunEnv env{t->get(), nullptr, nullptr, "mount", "f2sc-fuse mount " + o.mount_dir, progress};
  env.remove_files = true;
  // A directory that is not a FUSE mount (no f2sc-fuse there) is only used within --size.
  struct statfs st;
  if (::statfs(o.mount_dir.c_str(), &st) != 0)
    return f2sc::fail(f2sc::sys_error(errno, "--mount " + o.mount_dir));
  if (static_cast<uint32_t>(st.f_type) != kFuseSuperMagic) {
    if (!o.size_given)
      return f2sc::fail(f2sc::Errc::kInvalidArgument,
                        "--mount " + o.mount_dir +
                            " is not a FUSE mount: give --size to bound how much f2sc-stress "
                            "writes there");
    env.capacity_cap = o.size_bytes;
    env.device_name = "directory " + o.mount_dir + " (not FUSE; capacity capped at --size)";
  }
  auto r = run_workload(o, env, ops_override);
  if (!r) return r;
  if (auto s = (*t)->finish(); !s && r->stop_reason.empty())
    r->stop_reason = "closing files: " + s.error().message;
  return r;
}

// Mounts the unmounted image again, read-only, and verifies every file once more.
void remount_verify(const Options& o, f2sc::blockdev::BlockDevice& dev, RunResult& r) {
  const auto t0 = std::chrono::steady_clock::now();
  f2sc::fs::MountOptions mo;
  mo.read_only = true;
  auto fs = f2sc::fs::FileSystem::mount(dev, mo);
  RunResult::Remount rm;
  if (!fs) {
    rm.errors = 1;
    r.verify.errors += 1;
    r.verify.mismatches.push_back(
        Mismatch{"(filesystem)", 0, 0, 0, "remount after the run failed: " + fs.error().message});
  } else {
    auto target = make_fs_target(**fs);
    VerifyTally tally = verify_all(*target, r.shadow, o.threads, &rm.files);
    rm.bytes = tally.bytes;
    rm.errors = tally.errors;
    r.verify.errors += tally.errors;
    for (auto& m : tally.listed) {
      m.what = "after remount: " + m.what;
      if (r.verify.mismatches.size() < kMaxListedMismatches) r.verify.mismatches.push_back(m);
    }
    (void)(*fs)->unmount();
  }
  rm.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  r.after_remount = rm;
}

f2sc::Result<RunResult> run_library(const Options& o, bool offload, bool progress,
                                    uint64_t ops_override) {
  auto dev = prepare_device(o);
  if (!dev) return tl::unexpected(dev.error());
  if (offload && !(*dev)->top().limits().copy_offload_supported)
    return f2sc::fail(f2sc::Errc::kInvalidArgument,
                      (*dev)->name + " cannot offload copies: use --copy-offload off");
  f2sc::fs::MountOptions mo;
  mo.copy_offload = offload;
  auto fs = f2sc::fs::FileSystem::mount((*dev)->top(), mo);
  if (!fs) return tl::unexpected(f2sc::with_context(fs.error(), "mounting " + (*dev)->name));
  const bool applied = apply_gc_policy(**fs, o.gc_policy);
  auto target = make_fs_target(**fs);
  RunEnv env{target.get(), fs->get(), &(*dev)->top(), offload ? "offload" : "emulation",
             (*dev)->name, progress};
  auto r = run_workload(o, env, ops_override);
  if (!r) return r;
  r->gc_policy_applied = applied;
  if (auto s = target->finish(); !s) {
    if (r->stop_reason.empty()) r->stop_reason = "unmount: " + s.error().message;
  } else {
    remount_verify(o, (*dev)->top(), *r);
  }
  if ((*dev)->flip && (*dev)->flip->flipped() == 0 && r->stop_reason.empty())
    r->stop_reason = "--inject-bitflip " + std::to_string(o.inject_bitflip) +
                     ": fewer data blocks were read, nothing was flipped";
  return r;
}

// --crash N: failures as they are found, the summary, the JSON; 1 when any cut failed.
int run_crash_mode(const Options& o) {
  if (!o.crash_keep.empty() && ::access(o.crash_keep.c_str(), W_OK | X_OK) != 0) {
    std::cerr << "f2sc-stress: --crash-keep " << o.crash_keep << ": " << std::strerror(errno)
              << "\n";
    return kExitUsage;
  }
  const bool json_stdout = o.json_path == "-";
  std::ostream& text = json_stdout ? std::cerr : std::cout;
  auto r = run_crash(o, [&](const CrashFailure& f) { text << failure_line(o, f) << std::flush; });
  if (!r) {
    std::cerr << "f2sc-stress: " << r.error().message << "\n";
    return kExitStopped;
  }
  if (!o.quiet) text << crash_summary(o, *r) << std::flush;
  int status = r->failures.empty() ? 0 : kExitMismatch;
  if (!o.json_path.empty()) {
    const std::string doc = crash_json(o, *r).dump(2) + "\n";
    if (json_stdout) {
      std::cout << doc;
    } else if (!(std::ofstream(o.json_path) << doc)) {
      std::cerr << "f2sc-stress: cannot write " << o.json_path << "\n";
      status = status ? status : kExitStopped;
    }
  }
  return status;
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  if (int rc = parse_command_line(argc, argv, &o); rc >= 0) return rc;
  auto die = [](int code, const std::string& m) {
    std::cerr << "f2sc-stress: " << m << "\n";
    return code;
  };
  if (!o.plot_path.empty() && !have_gnuplot())
    return die(kExitUsage, "--plot needs gnuplot on PATH (Debian: apt-get install gnuplot-nox)");
  // Fail before the run, not after it, when an output cannot be written.
  for (const std::string* path : {&o.json_path, &o.csv_path, &o.plot_path}) {
    if (path->empty() || *path == "-") continue;
    const auto slash = path->rfind('/');
    const std::string dir = slash == std::string::npos ? "." : path->substr(0, slash + 1);
    if (::access(dir.c_str(), W_OK) != 0)
      return die(kExitUsage, "cannot write " + *path + ": " + std::strerror(errno));
  }
  if (!o.mount_dir.empty() && ::access(o.mount_dir.c_str(), W_OK) != 0)
    return die(kExitUsage, "--mount " + o.mount_dir + ": " + std::strerror(errno));
  if (o.crash) return run_crash_mode(o);
  const bool json_stdout = o.json_path == "-";
  const bool progress = isatty(STDOUT_FILENO) && !o.quiet && !json_stdout;

  std::vector<bool> modes;
  if (o.offload != OffloadMode::kOff) modes.push_back(true);
  if (o.offload != OffloadMode::kOn) modes.push_back(false);
  if (!o.mount_dir.empty()) modes = {true};
  std::vector<RunResult> runs;
  uint64_t ops_override = 0;
  for (bool offload : modes) {
    auto r = o.mount_dir.empty() ? run_library(o, offload, progress, ops_override)
                                 : run_mount(o, progress, ops_override);
    if (!r) {
      const bool usage = r.error().code == f2sc::Errc::kInvalidArgument;
      return die(usage ? kExitUsage : kExitStopped, r.error().message);
    }
    // The second run of `both` does exactly as many operations as the first.
    ops_override = r->ops;
    runs.push_back(std::move(*r));
  }

  int status = 0;
  for (const auto& r : runs) {
    if (r.verify.errors) status = kExitMismatch;
    if (!r.stop_reason.empty() && status == 0) status = kExitStopped;
  }
  if (!o.quiet && !json_stdout) std::cout << format_table(o, runs) << std::flush;
  if (!o.json_path.empty()) {
    const std::string text = to_json(o, runs).dump(2) + "\n";
    if (json_stdout) {
      std::cout << text;
    } else if (!(std::ofstream(o.json_path) << text)) {
      std::cerr << "f2sc-stress: cannot write " << o.json_path << "\n";
      status = status ? status : kExitStopped;
    }
  }
  if (!o.csv_path.empty())
    if (auto s = write_csv(o.csv_path, runs); !s) {
      std::cerr << "f2sc-stress: " << s.error().message << "\n";
      status = status ? status : kExitStopped;
    }
  if (!o.plot_path.empty()) {
    if (auto s = write_plot(o.plot_path, runs); !s) {
      std::cerr << "f2sc-stress: " << s.error().message << "\n";
      status = status ? status : kExitStopped;
    } else if (!o.quiet && !json_stdout) {
      std::cout << "plot: " << o.plot_path << "\n";
    }
  }
  for (const auto& r : runs) {
    if (!r.stop_reason.empty())
      std::cerr << "f2sc-stress: [" << r.mode << "] stopped early: " << r.stop_reason << "\n";
    for (const auto& m : r.verify.mismatches)
      std::cerr << "f2sc-stress: [" << r.mode << "] verification failed: " << describe(m) << "\n";
    if (r.verify.errors > r.verify.mismatches.size())
      std::cerr << "f2sc-stress: [" << r.mode << "] ... and "
                << r.verify.errors - r.verify.mismatches.size() << " more bad blocks\n";
  }
  return status;
}
