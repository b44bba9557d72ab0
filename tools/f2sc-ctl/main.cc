// f2sc-ctl MOUNTPOINT status|gc [N] [--sync]|checkpoint|set KEY=VALUE [--json]: runtime
// control of an f2sc-fuse mount through its ioctls (tools/f2sc-fuse/f2sc_ioctl.h), the
// way sysfs serves F2FS: GC and copy statistics, queue limits, the copy_offload switch, GC
// policy and knobs.
//
// Exit status: 0 done; 1 refused or failed (with a message on stderr); 2 bad usage.
#include <fcntl.h>
#include <linux/magic.h>
#include <sys/ioctl.h>
#include <sys/statfs.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstdint>
#include <cstring>
#include <iostream>
#include <optional>
#include <stdexcept>
#include <string>

#include <CLI/CLI.hpp>

#include "tools/f2sc-ctl/render.h"
#include "tools/f2sc-fuse/f2sc_ioctl.h"

namespace {

namespace io = f2sc::ioctl;

// A refusal or failure to report (exit status 1).
struct Failure : std::runtime_error {
  explicit Failure(const std::string& what, int e = 0) : std::runtime_error(what), err(e) {}
  int err;  // the ioctl's errno, 0 when no ioctl failed
};

// FUSE's statfs f_type (linux/magic.h has no name for it).
constexpr long kFuseSuperMagic = 0x65735546;

class Mount {
 public:
  explicit Mount(std::string path) : path_(std::move(path)) {
    fd_ = ::open(path_.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd_ < 0) throw Failure("cannot open " + path_ + ": " + std::strerror(errno));
    struct statfs sf {};
    if (::fstatfs(fd_, &sf) != 0) throw Failure("statfs " + path_ + ": " + std::strerror(errno));
    if (sf.f_type != kFuseSuperMagic) {
      char hex[32];
      std::snprintf(hex, sizeof hex, "0x%lx", static_cast<unsigned long>(sf.f_type));
      throw Failure(path_ + " is not an f2sc mount (filesystem type " + hex +
                    ", not FUSE); mount it with f2sc-fuse");
    }
  }
  ~Mount() {
    if (fd_ >= 0) ::close(fd_);
  }
  Mount(const Mount&) = delete;
  Mount& operator=(const Mount&) = delete;

  const std::string& path() const { return path_; }

  // ioctl(2); throws with a message that says what `what` needs on failure.
  void call(unsigned long cmd, void* arg, const std::string& what) {
    if (::ioctl(fd_, cmd, arg) == 0) return;
    const int e = errno;
    switch (e) {
      case ENOTTY:
      case ENOSYS:
        throw Failure(path_ +
                          " is not an f2sc mount: it does not answer f2sc's ioctls "
                          "(another FUSE filesystem, or an older f2sc-fuse)",
                      e);
      case EPERM:
      case EACCES:
        throw Failure(what + ": permission denied (needs root, as CAP_SYS_ADMIN on F2FS)", e);
      case ENOTCONN:
        throw Failure(path_ +
                          ": the f2sc-fuse process is gone (transport endpoint is not "
                          "connected); unmount with fusermount3 -u",
                      e);
      case EROFS:
        throw Failure(what + ": the filesystem is mounted read-only", e);
      default:
        throw Failure(what + ": " + std::strerror(e), e);
    }
  }

  io::Status status() {
    io::Status st{};
    call(io::kIocGetStatus, &st, "status");
    if (st.magic != io::kStatusMagic || st.size != sizeof st)
      throw Failure(path_ + " is not an f2sc mount: its status answer has an unknown layout");
    return st;
  }

 private:
  std::string path_;
  int fd_ = -1;
};

bool parse_switch(const std::string& v) {
  if (v == "on" || v == "1" || v == "yes" || v == "true") return true;
  if (v == "off" || v == "0" || v == "no" || v == "false") return false;
  throw CLI::ValidationError("expected on or off, not '" + v + "'");
}

uint64_t parse_count(const std::string& v) {
  uint64_t n = 0;
  auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), n);
  if (v.empty() || ec != std::errc() || p != v.data() + v.size() || n == 0)
    throw CLI::ValidationError("expected a positive integer, not '" + v + "'");
  return n;
}

// The background GC sleeps, named as F2FS's sysfs files (milliseconds).
std::optional<io::SettingKey> sleep_key(const std::string& key) {
  if (key == "gc_min_sleep_time") return io::SettingKey::kGcMinSleepMs;
  if (key == "gc_max_sleep_time") return io::SettingKey::kGcMaxSleepMs;
  if (key == "gc_no_gc_sleep_time") return io::SettingKey::kGcNoGcSleepMs;
  if (key == "gc_urgent_sleep_time") return io::SettingKey::kGcUrgentSleepMs;
  return std::nullopt;
}

// KEY=VALUE of `set` as a Setting.
io::Setting parse_setting(const std::string& kv) {
  const size_t eq = kv.find('=');
  if (eq == std::string::npos || eq == 0)
    throw CLI::ValidationError("set: expected KEY=VALUE, not '" + kv + "'");
  const std::string key = kv.substr(0, eq), val = kv.substr(eq + 1);
  io::Setting s{};
  s.magic = io::kSettingMagic;
  if (key == "copy_offload") {
    s.key = static_cast<uint32_t>(io::SettingKey::kCopyOffload);
    s.value = parse_switch(val);
  } else if (key == "bg_gc" || key == "background_gc") {
    s.key = static_cast<uint32_t>(io::SettingKey::kBackgroundGc);
    s.value = parse_switch(val);
  } else if (key == "gc_urgent" || key == "urgent") {
    s.key = static_cast<uint32_t>(io::SettingKey::kGcUrgent);
    s.value = parse_switch(val);
  } else if (key == "gc_policy") {
    std::string p = val;
    if (p == "age") p = "age-threshold";
    if (p != "greedy" && p != "cost-benefit" && p != "cb" && p != "age-threshold" && p != "atgc")
      throw CLI::ValidationError("gc_policy: expected greedy, cost-benefit or age, not '" + val +
                                 "'");
    s.key = static_cast<uint32_t>(io::SettingKey::kGcPolicy);
    std::snprintf(s.text, sizeof s.text, "%s", p.c_str());
  } else if (key == "max_copy_sectors") {
    s.key = static_cast<uint32_t>(io::SettingKey::kMaxCopySectors);
    s.value = parse_count(val);
  } else if (key == "max_copy_nr_ranges") {
    s.key = static_cast<uint32_t>(io::SettingKey::kMaxCopyNrRanges);
    s.value = parse_count(val);
  } else if (key == "max_copy_range_sectors") {
    s.key = static_cast<uint32_t>(io::SettingKey::kMaxCopyRangeSectors);
    s.value = parse_count(val);
  } else if (auto k = sleep_key(key)) {
    s.key = static_cast<uint32_t>(*k);
    s.value = parse_count(val);
    if (s.value > UINT32_MAX)
      throw CLI::ValidationError(key + ": at most " + std::to_string(UINT32_MAX) + " ms");
  } else {
    throw CLI::ValidationError(
        "set: unknown key '" + key +
        "' (copy_offload, bg_gc, gc_policy, gc_urgent, max_copy_sectors, max_copy_nr_ranges, "
        "max_copy_range_sectors, gc_min_sleep_time, gc_max_sleep_time, gc_no_gc_sleep_time, "
        "gc_urgent_sleep_time)");
  }
  return s;
}

void do_set(Mount& m, const std::string& kv, bool json) {
  const size_t eq = kv.find('=');
  const std::string key = kv.substr(0, eq), val = kv.substr(eq + 1);
  io::Setting s = parse_setting(kv);
  const io::Status before = m.status();
  try {
    m.call(io::kIocSet, &s, "set " + key);
  } catch (const Failure& f) {
    const auto k = static_cast<io::SettingKey>(s.key);
    const std::string dev(before.device, strnlen(before.device, sizeof before.device));
    if (f.err == EOPNOTSUPP && k == io::SettingKey::kCopyOffload)
      throw Failure("copy_offload=on refused: device " + dev +
                    " cannot offload copies (no copy command support); copies stay emulated");
    if (f.err == EINVAL &&
        (k == io::SettingKey::kMaxCopySectors || k == io::SettingKey::kMaxCopyNrRanges ||
         k == io::SettingKey::kMaxCopyRangeSectors))
      throw Failure("set " + key + "=" + val + ": out of range (1 to the hardware limit; see " +
                    "f2sc-ctl " + m.path() + " status)");
    if (f.err == EINVAL && sleep_key(key))
      throw Failure("set " + key + "=" + val +
                    ": refused: gc_min_sleep_time may not exceed gc_max_sleep_time (now " +
                    std::to_string(before.knobs.min_sleep_ms) + " and " +
                    std::to_string(before.knobs.max_sleep_ms) + " ms)");
    if (f.err == EROFS) throw Failure("set " + key + ": the mount is read-only (no GC)");
    if (f.err == EIO && (before.flags & io::kStatusShutDown))
      throw Failure("set " + key + ": the filesystem was shut down");
    throw;
  }
  if (json) {
    nlohmann::json j = {{"set", key}, {"value", val}, {"ok", true}};
    std::cout << j.dump(2) << "\n";
  } else {
    std::cout << key << " = " << val << "\n";
  }
}

int run(int argc, char** argv) {
  CLI::App app{"f2sc-ctl: runtime control of an f2sc-fuse mount"};
  app.fallthrough();
  app.require_subcommand(1);
  app.footer("Exit status: 0 done; 1 refused or failed (with a message on stderr); 2 bad usage.");
  std::string mountpoint;
  bool json = false;
  app.add_option("mountpoint", mountpoint, "where f2sc-fuse mounted the filesystem")->required();
  app.add_flag("--json", json, "print JSON instead of a table");

  CLI::App* status = app.add_subcommand("status", "GC and copy statistics, limits, settings");
  CLI::App* gc = app.add_subcommand(
      "gc", "collect N sections now (default 1) with the mount's background policy");
  uint32_t sections = 1;
  bool sync = false;
  std::string policy;
  gc->add_option("N", sections, "sections to collect")->check(CLI::Range(1u, 1u << 20));
  gc->add_flag("--sync", sync,
               "as foreground GC, with the mount's foreground policy (greedy by default); exit 1 "
               "when no section was freed");
  gc->add_option("--policy", policy, "greedy, cost-benefit or age for this call")
      ->check(CLI::IsMember({"greedy", "cost-benefit", "cb", "age", "age-threshold", "atgc"}));
  CLI::App* checkpoint = app.add_subcommand("checkpoint", "write a checkpoint now");
  CLI::App* set = app.add_subcommand(
      "set",
      "change a setting: copy_offload=on|off, bg_gc=on|off, gc_policy=greedy|cost-benefit|age, "
      "gc_urgent=on|off, max_copy_sectors=N, max_copy_nr_ranges=N, max_copy_range_sectors=N "
      "(the copy limits, in device blocks as f2sc's limits are, not 512-byte sectors), "
      "gc_min_sleep_time=MS, gc_max_sleep_time=MS, gc_no_gc_sleep_time=MS, "
      "gc_urgent_sleep_time=MS (the background GC's sleeps, as F2FS's sysfs)");
  std::string kv;
  set->add_option("KEY=VALUE", kv, "the setting")->required();
  try {
    app.parse(argc, argv);
    if (*set) (void)parse_setting(kv);  // usage errors before touching the mount
  } catch (const CLI::ParseError& e) {
    const int rc = app.exit(e);
    return rc == 0 ? 0 : 2;
  }

  Mount m(mountpoint);
  if (*status) {
    const io::Status st = m.status();
    if (json)
      std::cout << f2sc::ctl::status_json(st).dump(2) << "\n";
    else
      std::cout << f2sc::ctl::status_table(m.path(), st);
    return 0;
  }
  if (*gc) {
    io::GcRequest r{};
    r.magic = io::kGcRequestMagic;
    r.sections = sections;
    r.flags = sync ? io::kGcSync : 0;
    if (policy == "age") policy = "age-threshold";
    std::snprintf(r.policy, sizeof r.policy, "%s", policy.c_str());
    m.call(io::kIocGc, &r, "gc");
    if (json)
      std::cout << f2sc::ctl::gc_json(r).dump(2) << "\n";
    else
      std::cout << f2sc::ctl::gc_text(r);
    if (sync && r.freed == 0) {
      std::cerr << "f2sc-ctl: gc --sync freed no section\n";
      return 1;
    }
    return 0;
  }
  if (*checkpoint) {
    m.call(io::kF2fsIocWriteCheckpoint, nullptr, "checkpoint");
    const io::Status st = m.status();
    if (json)
      std::cout << nlohmann::json{{"checkpoint", true}, {"checkpoints", st.fs.checkpoints}}.dump(2)
                << "\n";
    else
      std::cout << "checkpoint written (" << st.fs.checkpoints << " since mount)\n";
    return 0;
  }
  do_set(m, kv, json);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    return run(argc, argv);
  } catch (const Failure& f) {
    std::cerr << "f2sc-ctl: " << f.what() << "\n";
    return 1;
  } catch (const std::exception& e) {
    std::cerr << "f2sc-ctl: " << e.what() << "\n";
    return 1;
  }
}
