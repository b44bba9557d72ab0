#include "tools/f2sc-fuse/options.h"

#include <charconv>
#include <cstdlib>
#include <set>
#include <string_view>

namespace f2sc::fuse {

namespace {

Error usage_error(const std::string& msg) {
  return make_error(Errc::kInvalidArgument, EINVAL, msg);
}

Result<bool> parse_switch(std::string_view key, std::string_view v) {
  if (v == "on" || v == "1" || v == "yes" || v == "true") return true;
  if (v == "off" || v == "0" || v == "no" || v == "false") return false;
  return tl::unexpected(
      usage_error("-o " + std::string(key) + "=" + std::string(v) + ": expected on or off"));
}

Result<uint64_t> parse_uint(std::string_view key, std::string_view v, uint64_t lo, uint64_t hi) {
  uint64_t n = 0;
  auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), n);
  if (v.empty() || ec != std::errc() || p != v.data() + v.size() || n < lo || n > hi)
    return tl::unexpected(usage_error("-o " + std::string(key) + "=" + std::string(v) +
                                      ": expected an integer from " + std::to_string(lo) + " to " +
                                      std::to_string(hi)));
  return n;
}

Result<double> parse_seconds(std::string_view key, std::string_view v) {
  std::string s(v);
  char* end = nullptr;
  double d = std::strtod(s.c_str(), &end);
  if (s.empty() || end != s.c_str() + s.size() || !(d >= 0) || d > 86400)
    return tl::unexpected(
        usage_error("-o " + std::string(key) + "=" + s + ": expected seconds from 0 to 86400"));
  return d;
}

// Options mount(8) passes to a helper that FUSE has no use for.
bool mount8_noise(std::string_view o) {
  static const std::set<std::string_view> kNoise = {"defaults", "auto",   "noauto", "user",
                                                    "nouser",   "users",  "owner",  "group",
                                                    "_netdev",  "nofail", "rw"};
  return kNoise.count(o) || o.rfind("x-", 0) == 0 || o.rfind("comment=", 0) == 0;
}

Status take_option(Options& o, std::string_view opt) {
  if (opt.empty()) return {};
  size_t eq = opt.find('=');
  std::string_view key = opt.substr(0, eq);
  std::string_view val = eq == std::string_view::npos ? std::string_view() : opt.substr(eq + 1);
  auto need_value = [&]() -> Status {
    if (eq == std::string_view::npos || val.empty())
      return tl::unexpected(usage_error("-o " + std::string(key) + " needs a value"));
    return {};
  };
  if (key == "copy_offload") {
    if (auto s = need_value(); !s) return s;
    auto b = parse_switch(key, val);
    if (!b) return tl::unexpected(b.error());
    o.copy_offload = *b;
  } else if (key == "backend") {
    if (auto s = need_value(); !s) return s;
    if (val.find(':') == std::string_view::npos) {
      if (val != "file" && val != "nvme-emu" && val != "nvme")
        return tl::unexpected(usage_error("-o backend=" + std::string(val) +
                                          ": expected file, nvme-emu, nvme or a device URI"));
      o.device_uri = std::string(val) + ":";  // DEVICE is appended once it is known
    } else {
      o.device_uri = std::string(val);
    }
  } else if (key == "ro" && eq == std::string_view::npos) {
    o.read_only = true;
  } else if (key == "threads" || key == "max_threads") {
    if (auto s = need_value(); !s) return s;
    auto n = parse_uint(key, val, 1, 256);
    if (!n) return tl::unexpected(n.error());
    o.max_threads = static_cast<unsigned>(*n);
  } else if (key == "writeback_cache") {
    if (auto s = need_value(); !s) return s;
    auto b = parse_switch(key, val);
    if (!b) return tl::unexpected(b.error());
    o.writeback_cache = *b;
  } else if (key == "xattr") {
    if (auto s = need_value(); !s) return s;
    auto b = parse_switch(key, val);
    if (!b) return tl::unexpected(b.error());
    o.xattrs = *b;
  } else if (key == "attr_timeout" || key == "entry_timeout") {
    if (auto s = need_value(); !s) return s;
    auto d = parse_seconds(key, val);
    if (!d) return tl::unexpected(d.error());
    (key == "attr_timeout" ? o.attr_timeout : o.entry_timeout) = *d;
  } else if (key == "bg_gc" || key == "background_gc") {
    if (auto s = need_value(); !s) return s;
    auto b = parse_switch(key, val);
    if (!b) return tl::unexpected(b.error());
    o.background_gc = *b;
  } else if (key == "gc_policy") {
    if (auto s = need_value(); !s) return s;
    if (val == "greedy" || val == "cost-benefit" || val == "cb")
      o.gc_policy = std::string(val);
    else if (val == "age" || val == "age-threshold" || val == "atgc")
      o.gc_policy = "age-threshold";
    else
      return tl::unexpected(usage_error("-o gc_policy=" + std::string(val) +
                                        ": expected greedy, cost-benefit or age"));
  } else if (key == "gc_min_sleep_time" || key == "gc_max_sleep_time" ||
             key == "gc_no_gc_sleep_time" || key == "gc_urgent_sleep_time") {
    if (auto s = need_value(); !s) return s;
    auto n = parse_uint(key, val, 1, UINT32_MAX);
    if (!n) return tl::unexpected(n.error());
    const auto ms = static_cast<uint32_t>(*n);
    (key == "gc_min_sleep_time"     ? o.gc_sleep.min_ms
     : key == "gc_max_sleep_time"   ? o.gc_sleep.max_ms
     : key == "gc_no_gc_sleep_time" ? o.gc_sleep.no_gc_ms
                                    : o.gc_sleep.urgent_ms) = ms;
  } else if (key == "read_ahead_kb") {
    if (auto s = need_value(); !s) return s;
    auto n = parse_uint(key, val, 0, 65536);
    if (!n) return tl::unexpected(n.error());
    o.read_ahead_kb = static_cast<uint32_t>(*n);
  } else if (key == "checkpoint_interval") {
    if (auto s = need_value(); !s) return s;
    auto n = parse_uint(key, val, 0, 86400);
    if (!n) return tl::unexpected(n.error());
    o.checkpoint_interval = static_cast<uint32_t>(*n);
  } else if (opt == "default_permissions") {
    o.default_permissions = true;
  } else if (opt == "nodefault_permissions") {
    o.default_permissions = false;
  } else if (opt == "debug") {
    o.debug = true;
  } else if (key == "fsname" || key == "subtype") {
    return tl::unexpected(usage_error("-o " + std::string(key) + " is set by f2sc-fuse"));
  } else if (mount8_noise(opt)) {
    // mount(8) bookkeeping: nothing to do.
  } else {
    o.fuse_options.emplace_back(opt);
  }
  return {};
}

Status take_option_list(Options& o, std::string_view list) {
  while (true) {
    size_t comma = list.find(',');
    if (auto s = take_option(o, list.substr(0, comma)); !s) return s;
    if (comma == std::string_view::npos) return {};
    list.remove_prefix(comma + 1);
  }
}

}  // namespace

Result<Options> parse_options(int argc, const char* const* argv) {
  Options o;
  std::vector<std::string> positional;
  for (int i = 1; i < argc; ++i) {
    std::string_view a = argv[i];
    if (a == "-h" || a == "--help") {
      o.show_help = true;
      return o;
    } else if (a == "-V" || a == "--version") {
      o.show_version = true;
      return o;
    } else if (a == "-f") {
      o.foreground = true;
    } else if (a == "-d") {
      o.debug = true;
    } else if (a == "-s") {
      o.single_thread = true;
    } else if (a == "-o" || a.rfind("-o", 0) == 0) {
      std::string_view list;
      if (a == "-o") {
        if (i + 1 >= argc) return tl::unexpected(usage_error("-o needs an option list"));
        list = argv[++i];
      } else {
        list = a.substr(2);
      }
      if (auto s = take_option_list(o, list); !s) return tl::unexpected(s.error());
    } else if (a == "--") {
      for (++i; i < argc; ++i) positional.emplace_back(argv[i]);
    } else if (a.size() > 1 && a[0] == '-') {
      return tl::unexpected(usage_error("unknown flag " + std::string(a)));
    } else {
      positional.emplace_back(a);
    }
  }
  if (positional.size() != 2)
    return tl::unexpected(usage_error(positional.size() < 2
                                          ? "expected DEVICE and MOUNTPOINT"
                                          : "unexpected argument '" + positional[2] + "'"));
  o.device = positional[0];
  o.mountpoint = positional[1];
  if (o.device_uri.empty())
    o.device_uri = o.device;
  else if (o.device_uri.back() == ':')
    o.device_uri += o.device;  // backend=SCHEME applied to DEVICE
  if (o.debug) o.foreground = true;
  if (o.gc_sleep.min_ms > o.gc_sleep.max_ms)
    return tl::unexpected(usage_error(
        "-o gc_min_sleep_time=" + std::to_string(o.gc_sleep.min_ms) +
        " exceeds gc_max_sleep_time=" + std::to_string(o.gc_sleep.max_ms) + " (milliseconds)"));
  return o;
}

std::string usage(const std::string& prog) {
  return "usage: " + prog +
         " DEVICE MOUNTPOINT [-f] [-d] [-s] [-o OPT[,OPT...]]\n"
         "\n"
         "Mounts the F2FS image DEVICE on MOUNTPOINT through FUSE. DEVICE is an image file,\n"
         "a block device or an f2sc device URI (mem:, file:, nvme-emu:, nvme:); a plain\n"
         "image file opens through the in-process NVMe controller (nvme-emu:), so copy\n"
         "offload is available. Unmount with 'fusermount3 -u MOUNTPOINT' or umount, or send\n"
         "SIGTERM/SIGINT: either way a checkpoint is written before f2sc-fuse exits.\n"
         "\n"
         "  -f            stay in the foreground (errors go to stderr)\n"
         "  -d            debug: trace every FUSE request (implies -f)\n"
         "  -s            serve requests in one thread\n"
         "  -h, --help    this text\n"
         "  -V, --version print the version\n"
         "\n"
         "f2sc options (-o):\n"
         "  copy_offload=on|off     device copy offload switch (default: as the device)\n"
         "  backend=URI             open URI instead of DEVICE (DEVICE then only names the\n"
         "                          mount); backend=file|nvme-emu|nvme opens DEVICE with\n"
         "                          that scheme\n"
         "  ro                      read-only: nothing is written to the device\n"
         "  threads=N               at most N request threads (default 10; alias\n"
         "                          max_threads)\n"
         "  writeback_cache=on|off  kernel write-back page cache (default on)\n"
         "  attr_timeout=SEC        attribute cache time (default 1)\n"
         "  entry_timeout=SEC       name lookup cache time, also negative (default 1)\n"
         "  checkpoint_interval=SEC checkpoint timer when dirty (default 30, 0: off)\n"
         "  read_ahead_kb=N         the kernel's read-ahead on the mount, so sequential\n"
         "                          reads arrive in requests of up to N KiB (default\n"
         "                          1024 when run as root, who alone may set it; 0\n"
         "                          keeps the kernel's 128)\n"
         "  xattr=on|off            extended attributes (default on). off answers every\n"
         "                          xattr call ENOSYS, after which the kernel stops\n"
         "                          sending them (callers get EOPNOTSUPP): a write no\n"
         "                          longer costs a GETXATTR round trip first (of\n"
         "                          security.capability). xattrs on the image stay as\n"
         "                          they are, unseen\n"
         "  gc_min_sleep_time=MS, gc_max_sleep_time=MS, gc_no_gc_sleep_time=MS,\n"
         "  gc_urgent_sleep_time=MS the background GC thread's sleeps, as F2FS's sysfs\n"
         "                          files of these names (defaults 30000, 60000,\n"
         "                          300000, 500); f2sc-ctl set changes them later\n"
         "  bg_gc=on|off            background GC thread, as F2FS's background_gc (default\n"
         "                          on; it cleans only while the mount is idle; alias\n"
         "                          background_gc)\n"
         "  gc_policy=POLICY        victim policy for all GC: greedy, cost-benefit or age\n"
         "                          (age-threshold); default greedy in the foreground and\n"
         "                          cost-benefit in the background, as F2FS\n"
         "  nodefault_permissions   no kernel permission checks (default_permissions is\n"
         "                          on by default: mode bits and owners are enforced)\n"
         "  debug                   as -d\n"
         "\n"
         "Other -o options go to FUSE, e.g. allow_other, allow_root, auto_unmount,\n"
         "max_read=N, noatime, nosuid, nodev, noexec. mount(8) options such as defaults,\n"
         "noauto, user, _netdev, nofail and rw are accepted and ignored.\n"
         "\n"
         "Exit status: 0 after a clean unmount; 1 when the device, the filesystem or the\n"
         "mount fails (or the final checkpoint cannot be written), or when libfuse refuses\n"
         "the mountpoint or an -o option it handles; 2 on bad usage of f2sc's own options.\n";
}

std::vector<std::string> fuse_args(const Options& o, const std::string& prog) {
  std::vector<std::string> args{prog};
  std::string opts = "fsname=";
  for (char c : o.device) {  // libfuse's option parser treats ',' and '\' specially
    if (c == ',' || c == '\\') opts += '\\';
    opts += c;
  }
  opts += ",subtype=f2sc";
  if (o.default_permissions) opts += ",default_permissions";
  if (o.read_only) opts += ",ro";
  for (const auto& f : o.fuse_options) opts += "," + f;
  args.push_back("-o");
  args.push_back(opts);
  if (o.debug) args.push_back("-d");
  return args;
}

}  // namespace f2sc::fuse
