// f2sc-fuse's ioctls and f2sc-ctl through real mounts: F2FS's GC, checkpoint and shutdown
// ioctls (and f2fs_io from f2fs-tools), inode flags with chattr's ioctls, f2sc-ctl's status,
// gc, checkpoint and set, and background GC under writers in several threads, each followed
// by fsck.f2fs --dry-run and a remount. Skips where FUSE cannot mount.
#include <fcntl.h>
#include <linux/fs.h>
#include <sys/ioctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "tests/fs/fs_test_util.h"
#include "tests/fuse/fuse_fixture.h"
#include "tests/fuse/fuse_mount.h"
#include "tools/f2sc-fuse/f2sc_ioctl.h"

namespace {

namespace io = f2sc::ioctl;
using f2sc::fuse::testing::fuse_bin;
using f2sc::testing::run;
using nlohmann::json;

std::string ctl_bin() {
  return F2SC_CTL_BIN;
}

// The mount fixture plus f2sc-ctl on its mountpoint.
struct Fixture : f2sc::fuse::testing::MountFixture {
  using MountFixture::MountFixture;

  f2sc::testing::RunResult ctl(const std::string& args) const {
    return run(ctl_bin() + " " + mnt + " " + args);
  }

  json status() const {
    auto r = ctl("status --json");
    INFO(r.output);
    REQUIRE(r.status == 0);
    return json::parse(r.output);
  }
};

// An open descriptor that closes itself.
struct Fd {
  int fd;
  explicit Fd(int f) : fd(f) {}
  Fd(Fd&& o) noexcept : fd(std::exchange(o.fd, -1)) {}
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  ~Fd() {
    if (fd >= 0) ::close(fd);
  }
};

Fd open_dir(const std::string& path) {
  Fd d(::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  INFO(path << ": " << std::strerror(errno));
  REQUIRE(d.fd >= 0);
  return d;
}

// ioctl(2) returning 0 or the errno.
int ioctl_err(int fd, unsigned long cmd, void* arg) {
  return ::ioctl(fd, cmd, arg) == 0 ? 0 : errno;
}

int err_of(const std::function<int()>& call) {
  errno = 0;
  return call() < 0 ? errno : 0;
}

std::string pattern(uint64_t seed, size_t n) {
  std::string s(n, '\0');
  uint64_t x = seed * 0x9e3779b97f4a7c15ull + 1;
  for (size_t i = 0; i < n; ++i) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    s[i] = static_cast<char>(x);
  }
  return s;
}

void write_at(const std::string& path, const std::string& data, off_t off = 0,
              int extra_flags = 0) {
  Fd f(::open(path.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC | extra_flags, 0644));
  INFO(path << ": " << std::strerror(errno));
  REQUIRE(f.fd >= 0);
  size_t done = 0;
  while (done < data.size()) {
    ssize_t n = ::pwrite(f.fd, data.data() + done, data.size() - done, off + off_t(done));
    INFO("pwrite " << path << ": " << std::strerror(errno));
    REQUIRE(n > 0);
    done += static_cast<size_t>(n);
  }
}

std::string read_all(const std::string& path) {
  Fd f(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  INFO(path << ": " << std::strerror(errno));
  REQUIRE(f.fd >= 0);
  std::string out, buf(1 << 20, '\0');
  ssize_t n;
  while ((n = ::read(f.fd, buf.data(), buf.size())) > 0) out.append(buf.data(), size_t(n));
  REQUIRE(n == 0);
  return out;
}

void fsync_file(const std::string& path) {
  Fd f(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  REQUIRE(f.fd >= 0);
  REQUIRE(::fsync(f.fd) == 0);
}

// Files with live and dead blocks in the same segments: 8 files of 2 MiB, then every
// second 4 KiB block of each rewritten, so GC finds sections worth cleaning.
std::map<std::string, std::string> make_garbage(const Fixture& fx) {
  std::map<std::string, std::string> files;
  for (int i = 0; i < 8; ++i) {
    const std::string name = "g" + std::to_string(i);
    files[name] = pattern(100 + i, 2 << 20);
    write_at(fx.p(name), files[name]);
  }
  for (auto& [name, data] : files) {
    for (size_t off = 0; off < data.size(); off += 8192) {
      const std::string fresh = pattern(off + name.size() * 7919, 4096);
      data.replace(off, 4096, fresh);
      write_at(fx.p(name), fresh, off_t(off));
    }
    fsync_file(fx.p(name));
  }
  return files;
}

// Runs `f` in a child process as nobody; returns its exit status.
int as_nobody(const std::function<int()>& f) {
  pid_t pid = ::fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    if (::setgid(65534) != 0 || ::setuid(65534) != 0) _exit(200);
    _exit(f());
  }
  int st = 0;
  REQUIRE(::waitpid(pid, &st, 0) == pid);
  REQUIRE(WIFEXITED(st));
  return WEXITSTATUS(st);
}

}  // namespace

TEST_CASE("f2sc-fuse: F2FS GC and checkpoint ioctls with Linux's numbers", "[fuse][ioctl]") {
  Fixture fx;
  if (!fx.mount({"-o", "bg_gc=off,checkpoint_interval=0"})) return;
  auto d = std::make_unique<Fd>(open_dir(fx.mnt));

  // Nothing to collect on a fresh filesystem: ENODATA, as F2FS when no victim exists.
  uint32_t sync = 1;
  CHECK(ioctl_err(d->fd, io::kF2fsIocGarbageCollect, &sync) == ENODATA);
  CHECK(ioctl_err(d->fd, io::kF2fsIocWriteCheckpoint, nullptr) == 0);

  auto files = make_garbage(fx);
  const json before = fx.status();
  sync = 0;  // background-style GC (cost-benefit), one section
  REQUIRE(ioctl_err(d->fd, io::kF2fsIocGarbageCollect, &sync) == 0);
  const json after = fx.status();
  CHECK(after["gc"]["stats"]["victims"].get<uint64_t>() >
        before["gc"]["stats"]["victims"].get<uint64_t>());
  CHECK(after["gc"]["stats"]["blocks_moved"].get<uint64_t>() > 0);

  // GC_RANGE: bad ranges are EINVAL; the whole main area is a valid range.
  io::F2fsGcRange range{1, 0, 512};  // block 0 is the superblock, not the main area
  CHECK(ioctl_err(d->fd, io::kF2fsIocGarbageCollectRange, &range) == EINVAL);
  range = {1, 1ull << 40, 512};
  CHECK(ioctl_err(d->fd, io::kF2fsIocGarbageCollectRange, &range) == EINVAL);
  const uint64_t main_start =
      after["device"]["block_count"].get<uint64_t>() - after["space"]["blocks"].get<uint64_t>();
  range = {1, main_start, 0};
  CHECK(ioctl_err(d->fd, io::kF2fsIocGarbageCollectRange, &range) == EINVAL);
  range = {0, main_start, after["space"]["blocks"].get<uint64_t>()};
  const int range_err = ioctl_err(d->fd, io::kF2fsIocGarbageCollectRange, &range);
  CHECK((range_err == 0 || range_err == ENODATA));
  const json ranged = fx.status();
  if (range_err == 0)
    CHECK(ranged["gc"]["stats"]["victims"].get<uint64_t>() >
          after["gc"]["stats"]["victims"].get<uint64_t>());

  // Unknown ioctls are ENOTTY; a short or foreign status answer cannot be mistaken.
  CHECK(ioctl_err(d->fd, _IO(0xf5, 99), nullptr) == ENOTTY);
  io::Status st{};
  REQUIRE(ioctl_err(d->fd, io::kIocGetStatus, &st) == 0);
  d.reset();  // an open descriptor would keep the mount busy
  CHECK(st.magic == io::kStatusMagic);
  CHECK(st.size == sizeof st);

  for (auto& [name, data] : files) CHECK(read_all(fx.p(name)) == data);
  fx.unmount();
  fx.require_fsck_clean();
  REQUIRE(fx.mount());
  for (auto& [name, data] : files) CHECK(read_all(fx.p(name)) == data);
  fx.unmount();
}

TEST_CASE("f2sc-fuse: admin ioctls need root, the status does not", "[fuse][ioctl]") {
  if (::getuid() != 0) {
    WARN("skipped: needs root to switch to nobody");
    return;
  }
  Fixture fx;
  if (!fx.mount({"-o", "allow_other"})) return;
  auto try_ioctl = [&](unsigned long cmd, size_t size) {
    return [&fx, cmd, size] {
      int fd = ::open(fx.mnt.c_str(), O_RDONLY | O_DIRECTORY);
      if (fd < 0) return 100;
      std::vector<char> arg(std::max<size_t>(size, 8));
      int r = ::ioctl(fd, cmd, arg.data()) < 0 ? errno : 0;
      ::close(fd);
      return r;
    };
  };
  CHECK(as_nobody(try_ioctl(io::kF2fsIocGarbageCollect, 4)) == EPERM);
  CHECK(as_nobody(try_ioctl(io::kF2fsIocGarbageCollectRange, 24)) == EPERM);
  CHECK(as_nobody(try_ioctl(io::kF2fsIocShutdown, 4)) == EPERM);
  CHECK(as_nobody(try_ioctl(io::kIocSet, sizeof(io::Setting))) == EPERM);
  CHECK(as_nobody(try_ioctl(io::kIocGc, sizeof(io::GcRequest))) == EPERM);
  CHECK(as_nobody(try_ioctl(io::kIocGetStatus, sizeof(io::Status))) == 0);
  auto r = run("setpriv --reuid=65534 --regid=65534 --clear-groups " + ctl_bin() + " " + fx.mnt +
               " set bg_gc=off");
  CHECK(r.status == 1);
  CHECK(r.output.find("permission denied") != std::string::npos);
  CHECK(fx.status()["gc"]["background"] == true);
  fx.unmount();
}

TEST_CASE("f2sc-fuse: FS_IOC_GETFLAGS/SETFLAGS store F2FS i_flags and enforce them",
          "[fuse][ioctl]") {
  Fixture fx;
  // Without the write-back cache a refused write fails at write(), not at write-back.
  if (!fx.mount({"-o", "writeback_cache=off"})) return;
  write_at(fx.p("locked"), "locked data");
  write_at(fx.p("log"), "line 1\n");
  REQUIRE(::mkdir(fx.p("dir").c_str(), 0755) == 0);
  {
    Fd f(::open(fx.p("locked").c_str(), O_RDONLY));
    REQUIRE(f.fd >= 0);
    int flags = 0;
    REQUIRE(ioctl_err(f.fd, FS_IOC_GETFLAGS, &flags) == 0);
    CHECK((flags & FS_IMMUTABLE_FL) == 0);
    flags |= FS_IMMUTABLE_FL | FS_NODUMP_FL;
    REQUIRE(ioctl_err(f.fd, FS_IOC_SETFLAGS, &flags) == 0);
    int back = 0;
    REQUIRE(ioctl_err(f.fd, FS_IOC_GETFLAGS, &back) == 0);
    CHECK((back & (FS_IMMUTABLE_FL | FS_NODUMP_FL)) == (FS_IMMUTABLE_FL | FS_NODUMP_FL));
    int bad = back | FS_COMPR_FL;  // compression needs a feature f2sc does not support
    CHECK(ioctl_err(f.fd, FS_IOC_SETFLAGS, &bad) == EOPNOTSUPP);
    int dirsync = back | FS_DIRSYNC_FL;  // directories only
    CHECK(ioctl_err(f.fd, FS_IOC_SETFLAGS, &dirsync) == EOPNOTSUPP);
  }
  // Immutable: no writing open, truncate, unlink, rename, link, chmod or xattr.
  CHECK(err_of([&] { return ::open(fx.p("locked").c_str(), O_WRONLY); }) == EPERM);
  CHECK(err_of([&] { return ::truncate(fx.p("locked").c_str(), 0); }) == EPERM);
  CHECK(err_of([&] { return ::unlink(fx.p("locked").c_str()); }) == EPERM);
  CHECK(err_of([&] { return ::rename(fx.p("locked").c_str(), fx.p("moved").c_str()); }) == EPERM);
  CHECK(err_of([&] { return ::link(fx.p("locked").c_str(), fx.p("hard").c_str()); }) == EPERM);
  CHECK(err_of([&] { return ::chmod(fx.p("locked").c_str(), 0600); }) == EPERM);
  CHECK(read_all(fx.p("locked")) == "locked data");

  // Append-only: appends work; rewriting, truncating and unlinking do not.
  REQUIRE(run("chattr +a " + fx.p("log")).status == 0);
  CHECK(run("lsattr " + fx.p("log")).output.find("-a-") != std::string::npos);
  write_at(fx.p("log"), "line 2\n", 0, O_APPEND);
  {
    Fd f(::open(fx.p("log").c_str(), O_WRONLY));
    REQUIRE(f.fd >= 0);
    CHECK(err_of([&] { return int(::pwrite(f.fd, "LINE", 4, 0)); }) == EPERM);
    CHECK(::pwrite(f.fd, "line 1", 6, 0) == 6);  // the same bytes again: allowed
  }
  CHECK(err_of([&] { return ::truncate(fx.p("log").c_str(), 3); }) == EPERM);
  CHECK(err_of([&] { return ::unlink(fx.p("log").c_str()); }) == EPERM);
  CHECK(read_all(fx.p("log")) == "line 1\nline 2\n");

  // An immutable directory refuses new entries.
  REQUIRE(run("chattr +i " + fx.p("dir")).status == 0);
  CHECK(err_of([&] { return ::open(fx.p("dir/new").c_str(), O_CREAT | O_WRONLY, 0644); }) == EPERM);
  CHECK(err_of([&] { return ::mkdir(fx.p("dir/sub").c_str(), 0755); }) == EPERM);

  // The flags are in the inode: they survive a remount, then clear.
  fx.unmount();
  fx.require_fsck_clean();
  REQUIRE(fx.mount());
  auto lsattr = run("lsattr -d " + fx.p("locked") + " " + fx.p("log") + " " + fx.p("dir"));
  INFO(lsattr.output);
  CHECK(lsattr.output.find("----i-d") != std::string::npos);
  REQUIRE(run("chattr -i " + fx.p("locked") + " " + fx.p("dir")).status == 0);
  REQUIRE(run("chattr -a " + fx.p("log")).status == 0);
  CHECK(::unlink(fx.p("locked").c_str()) == 0);
  CHECK(::unlink(fx.p("log").c_str()) == 0);
  CHECK(::mkdir(fx.p("dir/sub").c_str(), 0755) == 0);
  fx.unmount();
  fx.require_fsck_clean();
}

// f2fs_io shutdown LEVEL MNT (f2fs-tools), or the same ioctl directly where f2fs_io is
// missing; returns its exit status.
int shutdown_mount(const Fixture& fx, uint32_t level) {
  if (run("command -v f2fs_io").status == 0) {
    auto r = run("f2fs_io shutdown " + std::to_string(level) + " " + fx.mnt);
    INFO(r.output);
    return r.status;
  }
  WARN("f2fs_io not found: sending F2FS_IOC_SHUTDOWN directly");
  Fd d = open_dir(fx.mnt);
  return ioctl_err(d.fd, io::kF2fsIocShutdown, &level) == 0 ? 0 : 1;
}

TEST_CASE("f2sc-fuse: f2fs_io shutdown, then a remount comes back from the last checkpoint",
          "[fuse][ioctl]") {
  for (uint32_t level : {io::kGoingDownMetaSync, io::kGoingDownNoSync}) {
    DYNAMIC_SECTION("level " << level) {
      Fixture fx;
      if (!fx.mount({"-o", "writeback_cache=off,checkpoint_interval=0"})) return;
      const std::string kept = pattern(1, 300000), late = pattern(2, 70000);
      write_at(fx.p("synced"), kept);
      fsync_file(fx.p("synced"));
      write_at(fx.p("unsynced"), late);  // reached the daemon, never checkpointed
      REQUIRE(shutdown_mount(fx, level) == 0);
      // Writes and fsync fail with EIO; reads still work.
      CHECK(err_of([&] { return ::mkdir(fx.p("d").c_str(), 0755); }) == EIO);
      {
        Fd f(::open(fx.p("synced").c_str(), O_WRONLY));
        REQUIRE(f.fd >= 0);
        CHECK(err_of([&] { return int(::pwrite(f.fd, "x", 1, 0)); }) == EIO);
        CHECK(err_of([&] { return ::fsync(f.fd); }) == EIO);
      }
      CHECK(read_all(fx.p("synced")) == kept);
      CHECK(fx.status()["mount"]["shut_down"] == true);
      CHECK(fx.ctl("set bg_gc=on").status == 1);
      CHECK(shutdown_mount(fx, level) == 0);  // a second shutdown does nothing
      fx.unmount();
      CHECK(fx.m == nullptr);
      fx.require_fsck_clean();
      REQUIRE(fx.mount());
      CHECK(read_all(fx.p("synced")) == kept);
      if (level == io::kGoingDownMetaSync) {
        CHECK(read_all(fx.p("unsynced")) == late);  // its checkpoint took it
      } else {
        CHECK(::access(fx.p("unsynced").c_str(), F_OK) != 0);  // never checkpointed
      }
      CHECK(::access(fx.p("d").c_str(), F_OK) != 0);
      fx.unmount();
      fx.require_fsck_clean();
    }
  }
}

TEST_CASE("f2sc-fuse: F2FS_IOC_SHUTDOWN rejects unknown levels", "[fuse][ioctl]") {
  Fixture fx;
  if (!fx.mount()) return;
  {
    Fd d = open_dir(fx.mnt);
    uint32_t level = 9;
    CHECK(ioctl_err(d.fd, io::kF2fsIocShutdown, &level) == EINVAL);
    level = io::kGoingDownNeedFsck;
    CHECK(ioctl_err(d.fd, io::kF2fsIocShutdown, &level) == EOPNOTSUPP);
  }
  CHECK(fx.status()["mount"]["shut_down"] == false);
  write_at(fx.p("still"), "writable");
  fx.unmount();
  fx.require_fsck_clean();
}

TEST_CASE("f2sc-ctl: status, gc, checkpoint and set on a mount", "[fuse][ctl]") {
  Fixture fx;
  if (!fx.mount({"-o", "bg_gc=off,gc_policy=greedy"})) return;
  auto table = fx.ctl("status");
  INFO(table.output);
  REQUIRE(table.status == 0);
  CHECK(table.output.find("copy_offload") != std::string::npos);
  CHECK(table.output.find("max_copy_sectors") != std::string::npos);

  json st = fx.status();
  CHECK(st["device"]["copy_offload"] == true);
  CHECK(st["device"]["copy_offload_supported"] == true);
  CHECK(st["gc"]["background"] == false);
  CHECK(st["gc"]["policy"] == "greedy");
  const uint64_t hw_sectors = st["device"]["limits"]["hardware"]["max_copy_sectors"];
  REQUIRE(hw_sectors >= 16);
  // A fresh image: most sections free, some of them GC's.
  const uint64_t free_secs = st["space"]["free_sections"],
                 reserved = st["space"]["reserved_sections"];
  CHECK(reserved > 0);
  CHECK(free_secs > reserved);
  CHECK(free_secs <= st["space"]["free_segments"].get<uint64_t>());
  CHECK(table.output.find("GC's reserve") != std::string::npos);

  auto set = [&](const std::string& kv) {
    auto r = fx.ctl("set " + kv);
    INFO(kv << ": " << r.output);
    CHECK(r.status == 0);
  };
  set("copy_offload=off");
  set("bg_gc=on");
  set("gc_policy=age");
  set("gc_urgent=on");
  set("max_copy_sectors=16");
  set("max_copy_nr_ranges=4");
  st = fx.status();
  CHECK(st["device"]["copy_offload"] == false);
  CHECK(st["device"]["offload_enabled"] == false);
  CHECK(st["gc"]["background"] == true);
  CHECK(st["gc"]["policy"] == "age-threshold");
  CHECK(st["gc"]["urgent"] == true);
  CHECK(st["device"]["limits"]["current"]["max_copy_sectors"] == 16);
  CHECK(st["device"]["limits"]["current"]["max_copy_nr_ranges"] == 4);
  set("gc_urgent=off");
  set("bg_gc=off");
  set("copy_offload=on");
  CHECK(fx.status()["device"]["copy_offload"] == true);

  // Refusals: out of range (1), usage errors (2) before the mount is touched.
  auto r = fx.ctl("set max_copy_sectors=" + std::to_string(hw_sectors + 1));
  CHECK(r.status == 1);
  CHECK(r.output.find("out of range") != std::string::npos);
  CHECK(fx.ctl("set max_copy_sectors=0").status == 2);
  CHECK(fx.ctl("set nosuchkey=1").status == 2);
  CHECK(fx.ctl("set bg_gc=maybe").status == 2);
  CHECK(fx.ctl("set gc_policy=fifo").status == 2);
  CHECK(fx.ctl("bogus").status == 2);

  // checkpoint counts up; gc collects the garbage we make and says so.
  const uint64_t cps = fx.status()["fs"]["checkpoints"];
  r = fx.ctl("checkpoint");
  INFO(r.output);
  CHECK(r.status == 0);
  write_at(fx.p("dirty"), "x");
  CHECK(fx.ctl("checkpoint --json").status == 0);
  CHECK(fx.status()["fs"]["checkpoints"].get<uint64_t>() > cps);
  auto files = make_garbage(fx);
  r = fx.ctl("gc 2 --json");
  INFO(r.output);
  REQUIRE(r.status == 0);
  const json g = json::parse(r.output);
  CHECK(g["victims"].get<uint64_t>() >= 1);
  CHECK(g["moved"].get<uint64_t>() > 0);
  r = fx.ctl("gc --sync --policy greedy");
  INFO(r.output);
  CHECK((r.status == 0 || r.output.find("freed no section") != std::string::npos));
  st = fx.status();
  CHECK(st["gc"]["stats"]["blocks_moved"].get<uint64_t>() >= g["moved"].get<uint64_t>());
  CHECK(st["gc"]["stats"]["blocks_offloaded"].get<uint64_t>() > 0);  // offload was on again

  // Not an f2sc mount: a plain directory, and a path that does not exist.
  r = run(ctl_bin() + " " + fx.dir.path().string() + " status");
  CHECK(r.status == 1);
  CHECK(r.output.find("not an f2sc mount") != std::string::npos);
  r = run(ctl_bin() + " " + fx.p("no/such/dir") + " status");
  CHECK(r.status == 1);
  CHECK(r.output.find("cannot open") != std::string::npos);

  for (auto& [name, data] : files) CHECK(read_all(fx.p(name)) == data);
  fx.unmount();
  fx.require_fsck_clean();
}

TEST_CASE("f2sc-ctl: copy_offload=on is refused where the device cannot offload", "[fuse][ctl]") {
  Fixture fx;
  fx.device = "nvme-emu:" + fx.img + "?copy=0";
  if (!fx.mount()) return;
  json st = fx.status();
  CHECK(st["device"]["copy_offload_supported"] == false);
  CHECK(st["device"]["copy_offload"] == false);
  auto r = fx.ctl("set copy_offload=on");
  INFO(r.output);
  CHECK(r.status == 1);
  CHECK(r.output.find("copy_offload=on refused") != std::string::npos);
  CHECK(r.output.find("cannot offload") != std::string::npos);
  CHECK(fx.ctl("set copy_offload=off").status == 0);
  CHECK(fx.status()["device"]["copy_offload"] == false);
  fx.unmount();
}

TEST_CASE("f2sc-fuse: bg_gc and gc_policy mount options", "[fuse][ctl]") {
  {
    Fixture fx;
    if (!fx.mount()) return;
    const json st = fx.status();
    CHECK(st["gc"]["background"] == true);  // F2FS's default
    CHECK(st["gc"]["policy"] == "");
    fx.unmount();
  }
  Fixture fx;
  REQUIRE(fx.mount({"-o", "bg_gc=off,gc_policy=cost-benefit"}));
  const json st = fx.status();
  CHECK(st["gc"]["background"] == false);
  CHECK(st["gc"]["policy"] == "cost-benefit");
  fx.unmount();
  auto r = run(fuse_bin() + " a b -o gc_policy=fifo");
  CHECK(r.status == 2);
  CHECK(r.output.find("gc_policy=fifo") != std::string::npos);
  r = run(fuse_bin() + " a b -o bg_gc=maybe");
  CHECK(r.status == 2);
  CHECK(run(fuse_bin() + " --help").output.find("bg_gc=on|off") != std::string::npos);
}

TEST_CASE("f2sc-fuse and f2sc-ctl: the background GC's sleeps, as F2FS's gc_*_sleep_time",
          "[fuse][ctl]") {
  Fixture fx;
  REQUIRE(fx.mount({"-o", "gc_min_sleep_time=200,gc_urgent_sleep_time=50"}));
  auto knobs = [&] { return fx.status()["gc"]["knobs"]; };
  json k = knobs();
  CHECK(k["min_sleep_ms"] == 200);
  CHECK(k["max_sleep_ms"] == 60000);  // F2FS's default where not given
  CHECK(k["no_gc_sleep_ms"] == 300000);
  CHECK(k["urgent_sleep_ms"] == 50);

  auto set = [&](const std::string& kv) {
    auto r = fx.ctl("set " + kv);
    INFO(kv << ": " << r.output);
    return r;
  };
  CHECK(set("gc_max_sleep_time=1000").status == 0);
  CHECK(set("gc_no_gc_sleep_time=5000").status == 0);
  CHECK(set("gc_min_sleep_time=100").status == 0);
  CHECK(set("gc_urgent_sleep_time=10").status == 0);
  k = knobs();
  CHECK(k["min_sleep_ms"] == 100);
  CHECK(k["max_sleep_ms"] == 1000);
  CHECK(k["no_gc_sleep_ms"] == 5000);
  CHECK(k["urgent_sleep_ms"] == 10);

  // A min above the max is refused by the mount (1), and changes nothing; 0 and junk are
  // usage errors (2) before the mount is touched.
  auto r = set("gc_min_sleep_time=2000");
  CHECK(r.status == 1);
  CHECK(r.output.find("may not exceed gc_max_sleep_time") != std::string::npos);
  CHECK(set("gc_max_sleep_time=50").status == 1);
  CHECK(set("gc_min_sleep_time=0").status == 2);
  CHECK(set("gc_max_sleep_time=soon").status == 2);
  CHECK(set("gc_urgent_sleep_time=4294967296").status == 2);
  k = knobs();
  CHECK(k["min_sleep_ms"] == 100);
  CHECK(k["max_sleep_ms"] == 1000);

  // The thread uses them: with a 100 ms sleep and no idle wait (urgent mode uses its own
  // 10 ms sleep), garbage is collected without anyone asking.
  auto files = make_garbage(fx);
  REQUIRE(set("gc_urgent=on").status == 0);
  uint64_t victims = 0;
  for (int i = 0; i < 300 && victims < 2; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    victims = fx.status()["gc"]["stats"]["victims"].get<uint64_t>();
  }
  CHECK(victims >= 2);
  REQUIRE(set("gc_urgent=off").status == 0);
  for (auto& [name, data] : files) CHECK(read_all(fx.p(name)) == data);
  fx.unmount();
  fx.require_fsck_clean();

  r = run(fuse_bin() + " a b -o gc_min_sleep_time=70000");
  CHECK(r.status == 2);
  CHECK(r.output.find("exceeds gc_max_sleep_time=60000") != std::string::npos);
  CHECK(run(fuse_bin() + " a b -o gc_no_gc_sleep_time=0").status == 2);
  CHECK(run(fuse_bin() + " --help").output.find("gc_min_sleep_time=MS") != std::string::npos);
}

TEST_CASE("f2sc-fuse: writers in several threads with background GC, then fsck and verify",
          "[fuse][gc]") {
  // A small image kept about 75% full of files that are overwritten at random, so free
  // sections run short and both background and foreground GC must clean.
  Fixture fx(128ull << 20);
  if (!fx.mount({"-o", "bg_gc=on,checkpoint_interval=5"})) return;
  REQUIRE(fx.ctl("set gc_urgent=on").status == 0);  // background rounds without idle checks
  const uint64_t avail = fx.status()["space"]["bavail"];
  constexpr int kThreads = 4;
  const size_t file_bytes = size_t(avail * 4096 * 3 / 4 / kThreads) & ~size_t(4095);
  REQUIRE(file_bytes >= (4u << 20));
  std::vector<std::string> model(kThreads);
  for (int t = 0; t < kThreads; ++t) {
    model[t] = pattern(1000 + t, file_bytes);
    write_at(fx.p("w" + std::to_string(t)), model[t]);
  }
  std::atomic<int> failures{0};
  std::vector<std::thread> writers;
  for (int t = 0; t < kThreads; ++t) {
    writers.emplace_back([&, t] {
      std::mt19937_64 rng(t);
      const std::string path = fx.p("w" + std::to_string(t));
      int fd = ::open(path.c_str(), O_WRONLY | O_CLOEXEC);
      if (fd < 0) return (void)++failures;
      const size_t blocks = file_bytes / 4096;
      for (int i = 0; i < 6000; ++i) {
        const size_t b = rng() % blocks;
        const size_t run_len = 1 + rng() % 8;
        const size_t len = std::min(run_len, blocks - b) * 4096;
        const std::string data = pattern(rng(), len);
        if (::pwrite(fd, data.data(), len, off_t(b * 4096)) != ssize_t(len)) {
          ++failures;
          break;
        }
        model[t].replace(b * 4096, len, data);
        if (i % 1000 == 999 && ::fsync(fd) != 0) ++failures;
      }
      if (::fsync(fd) != 0) ++failures;
      ::close(fd);
    });
  }
  for (auto& w : writers) w.join();
  REQUIRE(failures == 0);
  const json st = fx.status();
  INFO(st.dump(2));
  CHECK(st["gc"]["stats"]["collections"].get<uint64_t>() > 0);
  CHECK(st["gc"]["stats"]["blocks_moved"].get<uint64_t>() > 0);
  for (int t = 0; t < kThreads; ++t) CHECK(read_all(fx.p("w" + std::to_string(t))) == model[t]);
  fx.unmount();
  fx.require_fsck_clean();
  REQUIRE(fx.mount({"-o", "bg_gc=off"}));
  for (int t = 0; t < kThreads; ++t) CHECK(read_all(fx.p("w" + std::to_string(t))) == model[t]);
  fx.unmount();
}
