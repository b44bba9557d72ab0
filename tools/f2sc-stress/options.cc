#include "tools/f2sc-stress/options.h"

#include <charconv>
#include <cmath>
#include <iostream>

#include <CLI/CLI.hpp>

#include "blockdev/uri.h"
#include "gc/victim_policy.h"

namespace f2sc::stress {

namespace {

constexpr uint64_t kBlock = 4096;

bool parse_double(std::string_view text, double* out) {
  if (text.empty()) return false;
  std::string s(text);
  char* end = nullptr;
  errno = 0;
  *out = std::strtod(s.c_str(), &end);
  return errno == 0 && end == s.c_str() + s.size() && std::isfinite(*out);
}

// "20" (percent) or "0.2" (fraction) -> fraction in (0, 1).
bool parse_fraction(std::string_view text, double* out) {
  if (!parse_double(text, out)) return false;
  if (*out >= 1.0) *out /= 100.0;
  return *out > 0.0 && *out < 1.0;
}

uint64_t round_up_block(uint64_t v) {
  return (v + kBlock - 1) / kBlock * kBlock;
}

}  // namespace

std::string_view offload_mode_name(OffloadMode m) {
  switch (m) {
    case OffloadMode::kOn:
      return "on";
    case OffloadMode::kOff:
      return "off";
    case OffloadMode::kBoth:
      return "both";
  }
  return "?";
}

Result<WorkloadSpec> parse_workload(std::string_view text) {
  WorkloadSpec w;
  const size_t colon = text.find(':');
  const std::string_view kind = text.substr(0, colon);
  const std::string_view arg = colon == std::string_view::npos ? "" : text.substr(colon + 1);
  auto bad = [&](const std::string& why) {
    return fail(Errc::kInvalidArgument, "--workload '" + std::string(text) + "': " + why);
  };
  if (kind == "uniform" || kind == "seq" || kind == "mixed") {
    if (colon != std::string_view::npos)
      return bad("'" + std::string(kind) + "' takes no argument");
    w.kind = kind == "uniform" ? WorkloadKind::kUniform
             : kind == "seq"   ? WorkloadKind::kSeq
                               : WorkloadKind::kMixed;
    w.text = std::string(kind);
    return w;
  }
  if (kind == "zipf") {
    w.kind = WorkloadKind::kZipf;
    if (colon != std::string_view::npos && !parse_double(arg, &w.theta))
      return bad("THETA must be a number");
    if (w.theta <= 0 || w.theta > 5) return bad("THETA must be in (0, 5]");
    char buf[32];
    std::snprintf(buf, sizeof buf, "zipf:%g", w.theta);
    w.text = buf;
    return w;
  }
  if (kind == "hotcold") {
    w.kind = WorkloadKind::kHotCold;
    if (colon != std::string_view::npos) {
      const size_t slash = arg.find('/');
      if (slash == std::string_view::npos)
        return bad("expected hotcold:HOT/ACCESS, e.g. hotcold:20/80");
      if (!parse_fraction(arg.substr(0, slash), &w.hot) ||
          !parse_fraction(arg.substr(slash + 1), &w.access))
        return bad("HOT and ACCESS must be percentages (or fractions) strictly between 0 and 100");
    }
    char buf[48];
    std::snprintf(buf, sizeof buf, "hotcold:%g/%g", w.hot * 100, w.access * 100);
    w.text = buf;
    return w;
  }
  return bad("unknown workload (uniform, zipf:THETA, hotcold:HOT/ACCESS, seq, mixed)");
}

Result<std::pair<uint64_t, uint64_t>> parse_file_size(std::string_view text) {
  const size_t colon = text.find(':');
  auto bad = [&](const std::string& why) {
    return fail(Errc::kInvalidArgument, "--file-size '" + std::string(text) + "': " + why);
  };
  if (colon == std::string_view::npos) return bad("expected MIN:MAX, e.g. 64K:4M");
  auto lo = blockdev::parse_size(text.substr(0, colon));
  auto hi = blockdev::parse_size(text.substr(colon + 1));
  if (!lo) return bad(lo.error().message);
  if (!hi) return bad(hi.error().message);
  const uint64_t a = round_up_block(*lo), b = round_up_block(*hi);
  if (a == 0) return bad("MIN must be at least 1 byte");
  if (a > b) return bad("MIN is larger than MAX");
  return std::pair{a, b};
}

Status validate(const Options& o) {
  auto bad = [](const std::string& m) { return fail(Errc::kInvalidArgument, m); };
  if (o.crash_at && o.crash != 1) return bad("--crash-at K replays one cut: use it with --crash 1");
  if (o.crash) {
    if (!o.device.empty()) return bad("--crash makes a fresh image per cut: give no DEVICE");
    if (!o.mount_dir.empty()) return bad("--crash runs on the library: --mount does not apply");
    if (o.threads != 1) return bad("--crash runs one workload thread (replays are exact)");
    if (o.inject_bitflip) return bad("--inject-bitflip does not apply to --crash");
    if (!o.csv_path.empty() || !o.plot_path.empty())
      return bad("--crash writes no time series: --csv and --plot do not apply");
    if (o.torn != "on" && o.torn != "off" && o.torn != "random")
      return bad("--torn '" + o.torn + "': one of on, off, random");
    if (o.ops > 100000) return bad("--ops with --crash: at most 100000 operations per cut");
  } else if (o.torn != "random" || o.crash_background_gc || !o.crash_keep.empty()) {
    return bad("--torn, --crash-gc and --crash-keep apply to --crash only");
  }
  if (!(o.util > 0.05 && o.util < 0.99)) return bad("--util must be in (0.05, 0.99)");
  if (!o.crash && o.ops && o.seconds > 0) return bad("--ops and --seconds exclude each other");
  if (o.seconds < 0) return bad("--seconds must be positive");
  if (!(o.overwrite > 0)) return bad("--overwrite must be positive");
  if (o.threads < 1 || o.threads > 64) return bad("--threads must be 1..64");
  if (!(o.read_ratio >= 0 && o.read_ratio <= 16)) return bad("--read-ratio must be 0..16");
  if (!gc::make_policy(o.gc_policy))
    return bad("--gc-policy '" + o.gc_policy + "': one of greedy, cost-benefit, age-threshold");
  if (!o.mount_dir.empty()) {
    if (!o.device.empty()) return bad("--mount DIR runs on a mounted f2sc-fuse: give no DEVICE");
    if (o.mkfs) return bad("--mount DIR: --mkfs does not apply (format before mounting)");
    if (o.offload == OffloadMode::kBoth)
      return bad("--mount DIR: --copy-offload both needs two fresh images; mount each yourself");
    if (o.inject_bitflip) return bad("--inject-bitflip needs the library path, not --mount");
  }
  if (o.offload == OffloadMode::kBoth && !o.device.empty() && !o.mkfs) {
    auto uri = blockdev::resolve_device_uri(o.device);
    if (uri && uri->scheme != "mem" && uri->target.rfind("mem:", 0) != 0)
      return bad("--copy-offload both formats DEVICE before each run: add --mkfs");
  }
  if (o.size_bytes < (32ull << 20)) return bad("--size must be at least 32M");
  if ((o.device.empty() || o.size_given) && o.file_max > o.size_bytes / 4)
    return bad("--file-size MAX must be at most a quarter of --size");
  return {};
}

int parse_command_line(int argc, char** argv, Options* out) {
  Options o;
  CLI::App app{
      "f2sc-stress: fill an f2sc filesystem to a utilization, overwrite it with a seeded\n"
      "workload while garbage collection runs, verify every byte (xxHash per 4 KiB block,\n"
      "reads checked as it goes and all files at the end), and report write amplification\n"
      "beside the greedy-cleaning model, GC work, host traffic and write latency.\n"
      "With --copy-offload both the same workload runs twice on fresh images, with and\n"
      "without NVMe Copy offload, side by side.\n"
      "With --crash N it cuts power N times instead, on fresh images, and checks what\n"
      "survived (see --crash); --copy-offload both then alternates by seed.\n\n"
      "Exit status: 0 verified; 1 a verification mismatch (data loss) or a failed crash\n"
      "check; 2 bad usage; 3 the run stopped on a filesystem or device error (data still\n"
      "verified).",
      "f2sc-stress"};
  std::string workload = "uniform", file_size = "64K:4M", size = "256M", offload = "on";
  app.add_option("DEVICE", o.device,
                 "device to run on: an image path (nvme-emu), nvme-emu:PATH, nvme:/dev/ngXnY, "
                 "file:PATH or mem:SIZE, options after '?'. Default: a temporary nvme-emu "
                 "image of --size, formatted, removed afterwards (in $TMPDIR if set, else "
                 "/dev/shm when it has room, else /tmp)");
  app.add_flag("--mkfs", o.mkfs, "format DEVICE first (always done for the default and mem:)");
  app.add_option("--size", size,
                 "size of the temporary image, or of DEVICE when it is a plain file path "
                 "that --mkfs creates or resizes (default 256M)");
  app.add_option("--util", o.util,
                 "fill until this fraction of the capacity users can fill is in use, as df "
                 "counts it, before overwriting (default 0.85); the greedy model is evaluated "
                 "at the live fraction of the whole main area this gives");
  app.add_option("--workload", workload,
                 "uniform | zipf:THETA | hotcold:HOT/ACCESS (percent) | seq | mixed "
                 "(default uniform)");
  app.add_option("--file-size", file_size, "file sizes, uniform in MIN:MAX (default 64K:4M)");
  app.add_option("--ops", o.ops, "overwrite operations after the fill (all threads together)");
  app.add_option("--seconds", o.seconds,
                 "overwrite for this long instead of --ops (with --copy-offload both, the "
                 "emulation run repeats the offload run's operation count)");
  app.add_option("--overwrite", o.overwrite,
                 "without --ops or --seconds: write this many times the live data "
                 "(default 2)");
  app.add_option("--threads", o.threads, "worker threads, each on its own files (default 1)");
  app.add_option("--copy-offload", offload,
                 "on | off | both: GC copies offloaded to the device, emulated with "
                 "read+write, or both runs side by side (default on)");
  app.add_option("--gc-policy", o.gc_policy,
                 "victim policy: greedy | cost-benefit | age-threshold (default greedy)");
  app.add_option("--seed", o.seed, "workload seed (default 1)");
  app.add_option("--read-ratio", o.read_ratio,
                 "verified random 4 KiB reads per write during the run (default 0.25)");
  app.add_option("--mount", o.mount_dir,
                 "run through POSIX calls on DIR, a mounted f2sc-fuse, instead of the library "
                 "(device counters and WAF are then n/a; --copy-offload is the mount's). On a "
                 "directory that is not a FUSE mount, --size must bound the data written");
  app.add_option("--json", o.json_path, "write the results as JSON to FILE ('-' for stdout)");
  app.add_option("--csv", o.csv_path, "write the time series (one row per sample) to FILE");
  app.add_option("--plot", o.plot_path,
                 "draw FILE.png with gnuplot (needs gnuplot, Debian gnuplot-nox); the script "
                 "and data stay beside it as FILE.gp and FILE.dat");
  app.add_option("--inject-bitflip", o.inject_bitflip,
                 "verifier self-test: flip one byte in the N-th 4 KiB data read; the run "
                 "must fail with exit 1");
  app.add_flag("-q,--quiet", o.quiet, "print no table (files from --json/--csv/--plot only)");
  std::string crash_gc = "explicit";
  app.add_option("--crash", o.crash,
                 "crash testing instead of the stress run: N power cuts, each on a fresh "
                 "formatted image (--size, default 64M here) under a fault-injecting device. "
                 "A seeded workload (seed --seed + i; --ops operations, default 300) of "
                 "creates, writes, truncates, unlinks, fsyncs, syncs and GC keeps the image "
                 "between --util - 0.15 and --util full (default 70-85%); power is cut at a "
                 "mutating device operation drawn uniformly "
                 "from a calibration run's count (unflushed writes dropped, optionally the "
                 "last one torn); then fsck.f2sc, fsck.f2fs --dry-run, the mount, every "
                 "fsync'd file's exact content, and that no file holds data never written to "
                 "it are checked. Each failure prints its replay command. --seconds bounds the "
                 "whole run (no new cut starts after it; the first always runs)");
  app.add_option("--crash-at", o.crash_at,
                 "with --crash 1: cut at this mutating device operation (counted from the "
                 "mount; past the workload's end, power is cut when it ends)");
  app.add_option("--torn", o.torn,
                 "with --crash: on | off | random: the operation at the cut lands a seeded "
                 "prefix of its blocks (default random: a coin flip per cut)");
  app.add_option("--crash-gc", crash_gc,
                 "with --crash: explicit (GC rounds issued by the workload thread and "
                 "foreground GC: exact replays; default) | background (also the urgent "
                 "background GC thread with 1-10 ms sleeps: replays may differ in timing)");
  app.add_option("--crash-keep", o.crash_keep,
                 "with --crash: copy each failed cut's crashed image (as the power cut left "
                 "it, before anything mounts it) to DIR as crash-seed-S-at-K.img");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 2;
  }
  auto usage = [](const std::string& m) {
    std::cerr << "f2sc-stress: " << m << "\n";
    return 2;
  };
  auto w = parse_workload(workload);
  if (!w) return usage(w.error().message);
  o.workload = *w;
  auto fsz = parse_file_size(file_size);
  if (!fsz) return usage(fsz.error().message);
  std::tie(o.file_min, o.file_max) = *fsz;
  auto sz = blockdev::parse_size(size);
  if (!sz) return usage("--size: " + sz.error().message);
  o.size_bytes = *sz;
  o.size_given = app.count("--size") > 0;
  if (offload == "on") {
    o.offload = OffloadMode::kOn;
  } else if (offload == "off") {
    o.offload = OffloadMode::kOff;
  } else if (offload == "both") {
    o.offload = OffloadMode::kBoth;
  } else {
    return usage("--copy-offload '" + offload + "': one of on, off, both");
  }
  if (crash_gc == "background") {
    o.crash_background_gc = true;
  } else if (crash_gc != "explicit") {
    return usage("--crash-gc '" + crash_gc + "': one of explicit, background");
  }
  if (o.crash && !o.size_given) o.size_bytes = 64ull << 20;
  if (auto s = validate(o); !s) return usage(s.error().message);
  *out = std::move(o);
  return -1;
}

}  // namespace f2sc::stress
