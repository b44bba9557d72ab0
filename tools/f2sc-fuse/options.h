// Command line of f2sc-fuse: DEVICE MOUNTPOINT [-f] [-d] [-s] [-o OPTS] [--help] [--version].
//
// -o takes a comma-separated list. f2sc's own options are consumed here; the mount(8)
// options a mount helper passes that mean nothing to FUSE are dropped; everything else is
// handed to libfuse (fuse_session_new), which rejects what it does not know.
//
// Thread safety: pure functions.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "base/error.h"
#include "gc/gc_controller.h"

namespace f2sc::fuse {

struct Options {
  std::string device;      // DEVICE as given (also the fsname shown in /proc/mounts)
  std::string device_uri;  // what open_device() gets (DEVICE, or backend=)
  std::string mountpoint;
  bool foreground = false;            // -f
  bool debug = false;                 // -d, -o debug: libfuse traces every request
  bool single_thread = false;         // -s
  bool read_only = false;             // -o ro
  std::optional<bool> copy_offload;   // -o copy_offload=on|off (unset: device default)
  bool default_permissions = true;    // -o nodefault_permissions turns the kernel checks off
  bool writeback_cache = true;        // -o writeback_cache=on|off
  bool xattrs = true;                 // -o xattr=on|off
  unsigned max_threads = 10;          // -o threads=N (alias max_threads=N)
  double attr_timeout = 1.0;          // -o attr_timeout=SEC
  double entry_timeout = 1.0;         // -o entry_timeout=SEC (also for negative entries)
  uint32_t checkpoint_interval = 30;  // -o checkpoint_interval=SEC (0: no timer)
  bool background_gc = true;          // -o bg_gc=on|off (F2FS's background_gc=on default)
  std::string gc_policy;              // -o gc_policy=greedy|cost-benefit|age ("": defaults)
  gc::GcSleep gc_sleep = gc::GcOptions().sleep;  // -o gc_*_sleep_time=MS
  // -o read_ahead_kb=N: the mount's kernel read-ahead (0: the kernel's own); unset: 1024
  // where the daemon may set it (root), silently the kernel's otherwise.
  std::optional<uint32_t> read_ahead_kb;
  std::vector<std::string> fuse_options;  // passed to libfuse as -o
  bool show_help = false;
  bool show_version = false;
};

// Parses argv. Errors carry a message for the user (exit status 2).
Result<Options> parse_options(int argc, const char* const* argv);

// The --help text.
std::string usage(const std::string& prog);

// libfuse arguments (argv[0] first) for fuse_session_new: -o with fsname, subtype,
// default_permissions, ro and the pass-through options; -d when debugging.
std::vector<std::string> fuse_args(const Options& o, const std::string& prog);

}  // namespace f2sc::fuse
