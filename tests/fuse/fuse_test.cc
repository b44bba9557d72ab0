// f2sc-fuse through a real mount: POSIX calls from this process (and a non-root child for
// permissions), then fusermount3 -u, fsck.f2fs --dry-run judged strictly, and a second
// mount that reads everything back. Skips (with a warning) where /dev/fuse is missing or
// mounting is not permitted.
#include <dirent.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <signal.h>
#include <stdio.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <catch2/catch.hpp>

#include "tests/fs/fs_test_util.h"
#include "tests/fuse/fuse_fixture.h"
#include "tests/fuse/fuse_mount.h"

namespace {

using f2sc::fs::testing::TempDir;

constexpr unsigned kF2fsIocWriteCheckpoint = _IO(0xf5, 7);

using Fixture = f2sc::fuse::testing::MountFixture;
using f2sc::fuse::testing::fuse_bin;

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

void write_file(const std::string& path, const std::string& data, mode_t mode = 0644) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
  INFO(path << ": " << std::strerror(errno));
  REQUIRE(fd >= 0);
  size_t done = 0;
  while (done < data.size()) {
    const size_t chunk = std::min<size_t>(data.size() - done, 1 << 20);
    ssize_t n = ::write(fd, data.data() + done, chunk);
    INFO("write " << path << ": " << std::strerror(errno));
    REQUIRE(n > 0);
    done += static_cast<size_t>(n);
  }
  REQUIRE(::close(fd) == 0);
}

std::string read_file(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  INFO(path << ": " << std::strerror(errno));
  REQUIRE(fd >= 0);
  std::string out;
  std::string buf(1 << 20, '\0');
  while (true) {
    ssize_t n = ::read(fd, buf.data(), buf.size());
    REQUIRE(n >= 0);
    if (n == 0) break;
    out.append(buf.data(), static_cast<size_t>(n));
  }
  ::close(fd);
  return out;
}

std::set<std::string> list_dir(const std::string& path) {
  std::set<std::string> names;
  DIR* d = ::opendir(path.c_str());
  INFO(path << ": " << std::strerror(errno));
  REQUIRE(d != nullptr);
  while (dirent* e = ::readdir(d)) names.insert(e->d_name);
  ::closedir(d);
  return names;
}

// errno of a call that returned -1, 0 when it succeeded.
template <class F>
int err_of(F&& f) {
  errno = 0;
  return f() < 0 ? errno : 0;
}

struct stat stat_of(const std::string& path) {
  struct stat st {};
  INFO(path << ": " << std::strerror(errno));
  REQUIRE(::lstat(path.c_str(), &st) == 0);
  return st;
}

std::string name_of(int i) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "file-%05d", i);
  return buf;
}

constexpr int kManyFiles = 2000;
constexpr uint64_t kSparseOffset = 5ull << 30;  // beyond 4 GiB: 64-bit offsets end to end

// Everything the first mount writes, checked again by the second.
void verify_tree(const Fixture& fx) {
  CHECK(read_file(fx.p("dir/renamed.txt")) == "hello, f2sc\n");
  CHECK(read_file(fx.p("large")) == pattern(7, 32 << 20));

  std::set<std::string> many = list_dir(fx.p("many"));
  CHECK(many.size() == kManyFiles / 2 + 2);
  for (int i = 1; i < kManyFiles; i += 2) {
    INFO(name_of(i));
    CHECK(many.count(name_of(i)) == 1);
  }
  CHECK(read_file(fx.p("many/" + name_of(1999))) == name_of(1999));

  char target[256] = {};
  REQUIRE(::readlink(fx.p("link").c_str(), target, sizeof target - 1) > 0);
  CHECK(std::string(target) == "dir/renamed.txt");
  CHECK(stat_of(fx.p("hard")).st_nlink == 2);
  CHECK(stat_of(fx.p("hard")).st_ino == stat_of(fx.p("dir/renamed.txt")).st_ino);

  struct stat sp = stat_of(fx.p("sparse"));
  CHECK(static_cast<uint64_t>(sp.st_size) == kSparseOffset + 4096);
  CHECK(sp.st_blocks < 64);
  int fd = ::open(fx.p("sparse").c_str(), O_RDONLY);
  REQUIRE(fd >= 0);
  std::string buf(4096, 'x');
  CHECK(::pread(fd, buf.data(), 4096, static_cast<off_t>(kSparseOffset)) == 4096);
  CHECK(buf == pattern(3, 4096));
  CHECK(::pread(fd, buf.data(), 4096, 1 << 30) == 4096);
  CHECK(buf == std::string(4096, '\0'));
  ::close(fd);

  std::string t = read_file(fx.p("truncated"));
  REQUIRE(t.size() == 20000);
  CHECK(t.substr(0, 5000) == pattern(5, 5000));
  CHECK(t.substr(5000) == std::string(15000, '\0'));

  struct stat ch = stat_of(fx.p("attrs"));
  CHECK((ch.st_mode & 07777) == 0640);
  CHECK(ch.st_uid == 1234);
  CHECK(ch.st_gid == 5678);
  CHECK(ch.st_atim.tv_sec == 1000000000);
  CHECK(ch.st_atim.tv_nsec == 123456789);
  CHECK(ch.st_mtim.tv_sec == 1200000000);

  char v[64] = {};
  CHECK(::getxattr(fx.p("attrs").c_str(), "user.color", v, sizeof v) == 4);
  CHECK(std::string(v) == "blue");
  CHECK(err_of([&] { return ::getxattr(fx.p("attrs").c_str(), "user.gone", v, sizeof v); }) ==
        ENODATA);

  CHECK(read_file(fx.p("copy")) == pattern(11, (8 << 20) + 123));
  CHECK(read_file(fx.p("a")) == "content of b");
  {
    std::string want = pattern(13, 3 * 4096);
    std::fill(want.begin() + 4096, want.begin() + 8192, '\0');
    CHECK(read_file(fx.p("falloc")) == want);
  }
  CHECK(read_file(fx.p("b")) == "content of a");
}

// Whether a process whose command line contains `needle` is running (the daemon is no
// child of ours, so it cannot be waited for).
bool process_running(const std::string& needle) {
  for (const auto& e : std::filesystem::directory_iterator("/proc")) {
    const std::string pid = e.path().filename().string();
    if (pid.find_first_not_of("0123456789") != std::string::npos) continue;
    std::string cmd = f2sc::fuse::testing::read_text(e.path().string() + "/cmdline");
    std::replace(cmd.begin(), cmd.end(), '\0', ' ');
    if (cmd.find(needle) != std::string::npos &&
        f2sc::fuse::testing::read_text(e.path().string() + "/stat").find(") Z") ==
            std::string::npos)
      return true;
  }
  return false;
}

}  // namespace

TEST_CASE("f2sc-fuse: POSIX calls on a mount, fsck.f2fs clean, contents survive a remount",
          "[fuse]") {
  Fixture fx;
  if (!fx.mount()) return;

  // create, write, read
  write_file(fx.p("hello.txt"), "hello, f2sc\n");
  CHECK(read_file(fx.p("hello.txt")) == "hello, f2sc\n");

  // directories and rename
  REQUIRE(::mkdir(fx.p("dir").c_str(), 0755) == 0);
  REQUIRE(::mkdir(fx.p("dir/sub").c_str(), 0700) == 0);
  CHECK(stat_of(fx.p("dir")).st_nlink == 3);
  REQUIRE(::rename(fx.p("hello.txt").c_str(), fx.p("dir/renamed.txt").c_str()) == 0);
  CHECK(err_of([&] { return ::access(fx.p("hello.txt").c_str(), F_OK); }) == ENOENT);
  REQUIRE(::rmdir(fx.p("dir/sub").c_str()) == 0);
  CHECK(list_dir(fx.p("dir")) == std::set<std::string>{".", "..", "renamed.txt"});

  // rename flags
  write_file(fx.p("a"), "content of a");
  write_file(fx.p("b"), "content of b");
  CHECK(err_of([&] {
          return ::renameat2(AT_FDCWD, fx.p("a").c_str(), AT_FDCWD, fx.p("b").c_str(),
                             RENAME_NOREPLACE);
        }) == EEXIST);
  REQUIRE(::renameat2(AT_FDCWD, fx.p("a").c_str(), AT_FDCWD, fx.p("b").c_str(), RENAME_EXCHANGE) ==
          0);
  write_file(fx.p("victim"), "replaced");
  REQUIRE(::rename(fx.p("victim").c_str(), fx.p("victim2").c_str()) == 0);
  write_file(fx.p("victim"), "replacement");
  REQUIRE(::rename(fx.p("victim").c_str(), fx.p("victim2").c_str()) == 0);
  CHECK(read_file(fx.p("victim2")) == "replacement");
  REQUIRE(::unlink(fx.p("victim2").c_str()) == 0);

  // symlink and hard link
  REQUIRE(::symlink("dir/renamed.txt", fx.p("link").c_str()) == 0);
  CHECK(read_file(fx.p("link")) == "hello, f2sc\n");
  CHECK(S_ISLNK(stat_of(fx.p("link")).st_mode));
  REQUIRE(::link(fx.p("dir/renamed.txt").c_str(), fx.p("hard").c_str()) == 0);
  CHECK(stat_of(fx.p("dir/renamed.txt")).st_nlink == 2);

  // many files in one directory, half removed again
  REQUIRE(::mkdir(fx.p("many").c_str(), 0755) == 0);
  for (int i = 0; i < kManyFiles; ++i) write_file(fx.p("many/" + name_of(i)), name_of(i));
  CHECK(list_dir(fx.p("many")).size() == kManyFiles + 2);
  for (int i = 0; i < kManyFiles; i += 2) {
    INFO(name_of(i));
    REQUIRE(::unlink(fx.p("many/" + name_of(i)).c_str()) == 0);
  }

  // a large file, written in 1 MiB pieces and read back
  write_file(fx.p("large"), pattern(7, 32 << 20));
  CHECK(read_file(fx.p("large")) == pattern(7, 32 << 20));

  // a sparse file past 4 GiB
  {
    int fd = ::open(fx.p("sparse").c_str(), O_RDWR | O_CREAT, 0644);
    REQUIRE(fd >= 0);
    std::string d = pattern(3, 4096);
    REQUIRE(::pwrite(fd, d.data(), d.size(), static_cast<off_t>(kSparseOffset)) == 4096);
    REQUIRE(::fsync(fd) == 0);
    ::close(fd);
  }

  // truncate down and up
  write_file(fx.p("truncated"), pattern(5, 10000));
  REQUIRE(::truncate(fx.p("truncated").c_str(), 5000) == 0);
  REQUIRE(::truncate(fx.p("truncated").c_str(), 20000) == 0);

  // fallocate: keep-size preallocation, then a punched hole reads as zeroes
  {
    write_file(fx.p("falloc"), pattern(13, 3 * 4096));
    int fd = ::open(fx.p("falloc").c_str(), O_RDWR);
    REQUIRE(fd >= 0);
    INFO(std::strerror(errno));
    CHECK(::fallocate(fd, FALLOC_FL_KEEP_SIZE, 0, 16 * 4096) == 0);
    CHECK(stat_of(fx.p("falloc")).st_size == 3 * 4096);
    CHECK(::fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 4096, 4096) == 0);
    std::string got(3 * 4096, 'x');
    CHECK(::pread(fd, got.data(), got.size(), 0) == 3 * 4096);
    std::string want = pattern(13, 3 * 4096);
    std::fill(want.begin() + 4096, want.begin() + 8192, '\0');
    CHECK(got == want);
    ::close(fd);
  }

  // chmod, chown, times (explicit and UTIME_NOW), xattrs
  write_file(fx.p("attrs"), "attributes");
  REQUIRE(::chmod(fx.p("attrs").c_str(), 0640) == 0);
  REQUIRE(::chown(fx.p("attrs").c_str(), 1234, 5678) == 0);
  {
    timespec now_times[2] = {{0, UTIME_NOW}, {0, UTIME_NOW}};
    struct stat before = stat_of(fx.p("attrs"));
    REQUIRE(::utimensat(AT_FDCWD, fx.p("attrs").c_str(), now_times, 0) == 0);
    CHECK(stat_of(fx.p("attrs")).st_mtim.tv_sec >= before.st_mtim.tv_sec);
    timespec times[2] = {{1000000000, 123456789}, {1200000000, 5}};
    REQUIRE(::utimensat(AT_FDCWD, fx.p("attrs").c_str(), times, 0) == 0);
  }
  REQUIRE(::setxattr(fx.p("attrs").c_str(), "user.color", "blue", 4, 0) == 0);
  REQUIRE(::setxattr(fx.p("attrs").c_str(), "user.gone", "x", 1, 0) == 0);
  CHECK(err_of([&] {
          return ::setxattr(fx.p("attrs").c_str(), "user.color", "red", 3, XATTR_CREATE);
        }) == EEXIST);
  {
    char names[256] = {};
    ssize_t n = ::listxattr(fx.p("attrs").c_str(), names, sizeof names);
    REQUIRE(n > 0);
    std::set<std::string> got;
    for (ssize_t i = 0; i < n; i += static_cast<ssize_t>(std::strlen(names + i)) + 1)
      got.insert(names + i);
    CHECK(got == std::set<std::string>{"user.color", "user.gone"});
    CHECK(::getxattr(fx.p("attrs").c_str(), "user.color", nullptr, 0) == 4);
    char small[2];
    CHECK(err_of([&] {
            return ::getxattr(fx.p("attrs").c_str(), "user.color", small, sizeof small);
          }) == ERANGE);
  }
  REQUIRE(::removexattr(fx.p("attrs").c_str(), "user.gone") == 0);

  // copy_file_range inside the mount
  write_file(fx.p("copy-src"), pattern(11, (8 << 20) + 123));
  {
    int in = ::open(fx.p("copy-src").c_str(), O_RDONLY);
    int out = ::open(fx.p("copy").c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    REQUIRE(in >= 0);
    REQUIRE(out >= 0);
    size_t total = 0;
    while (true) {
      ssize_t n = ::copy_file_range(in, nullptr, out, nullptr, 1 << 30, 0);
      INFO(std::strerror(errno));
      REQUIRE(n >= 0);
      if (n == 0) break;
      total += static_cast<size_t>(n);
    }
    CHECK(total == (8u << 20) + 123);
    ::close(in);
    ::close(out);
  }
  REQUIRE(::unlink(fx.p("copy-src").c_str()) == 0);

  // statfs
  {
    struct statvfs v {};
    REQUIRE(::statvfs(fx.mnt.c_str(), &v) == 0);
    CHECK(v.f_bsize == 4096);
    CHECK(v.f_blocks > 0);
    CHECK(v.f_bfree < v.f_blocks);
    CHECK(v.f_bavail <= v.f_bfree);
    CHECK(v.f_namemax == 255);
    CHECK(v.f_files > v.f_ffree);
  }

  // an unlinked file that is still open keeps its data until the last close
  {
    write_file(fx.p("orphan"), "still here");
    int fd = ::open(fx.p("orphan").c_str(), O_RDWR);
    REQUIRE(fd >= 0);
    REQUIRE(::unlink(fx.p("orphan").c_str()) == 0);
    CHECK(err_of([&] { return ::access(fx.p("orphan").c_str(), F_OK); }) == ENOENT);
    REQUIRE(::pwrite(fd, "!", 1, 10) == 1);
    char buf[16] = {};
    CHECK(::pread(fd, buf, sizeof buf, 0) == 11);
    CHECK(std::string(buf) == "still here!");
    ::close(fd);
  }

  // F2FS_IOC_WRITE_CHECKPOINT
  {
    int fd = ::open(fx.mnt.c_str(), O_RDONLY | O_DIRECTORY);
    REQUIRE(fd >= 0);
    CHECK(::ioctl(fd, kF2fsIocWriteCheckpoint) == 0);
    ::close(fd);
  }

  verify_tree(fx);
  fx.unmount();
  fx.require_fsck_clean();

  REQUIRE(fx.mount());
  verify_tree(fx);
  fx.unmount();
  fx.require_fsck_clean();
}

TEST_CASE("f2sc-fuse: error cases return POSIX errnos", "[fuse]") {
  Fixture fx;
  if (!fx.mount()) return;
  REQUIRE(::mkdir(fx.p("d").c_str(), 0755) == 0);
  write_file(fx.p("d/f"), "x");
  write_file(fx.p("f"), "y");
  CHECK(err_of([&] { return ::open(fx.p("missing").c_str(), O_RDONLY); }) == ENOENT);
  CHECK(err_of([&] { return ::open(fx.p("f").c_str(), O_CREAT | O_EXCL | O_WRONLY, 0644); }) ==
        EEXIST);
  CHECK(err_of([&] { return ::mkdir(fx.p("d").c_str(), 0755); }) == EEXIST);
  CHECK(err_of([&] { return ::rmdir(fx.p("d").c_str()); }) == ENOTEMPTY);
  CHECK(err_of([&] { return ::rmdir(fx.p("f").c_str()); }) == ENOTDIR);
  CHECK(err_of([&] { return ::unlink(fx.p("d").c_str()); }) == EISDIR);
  CHECK(err_of([&] { return ::open(fx.p("f/x").c_str(), O_RDONLY); }) == ENOTDIR);
  CHECK(err_of([&] { return ::rename(fx.p("d").c_str(), fx.p("f").c_str()); }) == ENOTDIR);
  CHECK(err_of([&] { return ::rename(fx.p("f").c_str(), fx.p("d").c_str()); }) == EISDIR);
  CHECK(err_of([&] { return ::rename(fx.p("d").c_str(), fx.p("d/sub").c_str()); }) == EINVAL);
  CHECK(err_of([&] { return ::link(fx.p("d").c_str(), fx.p("dlink").c_str()); }) == EPERM);
  CHECK(err_of([&] { return ::mkdir(fx.p(std::string(256, 'n')).c_str(), 0755); }) == ENAMETOOLONG);
  char v[8];
  CHECK(err_of([&] { return ::getxattr(fx.p("f").c_str(), "user.none", v, sizeof v); }) == ENODATA);
  CHECK(err_of([&] { return ::removexattr(fx.p("f").c_str(), "user.none"); }) == ENODATA);
  CHECK(err_of([&] { return ::setxattr(fx.p("f").c_str(), "user.none", "1", 1, XATTR_REPLACE); }) ==
        ENODATA);
  {
    int fd = ::open(fx.p("f").c_str(), O_RDONLY);
    REQUIRE(fd >= 0);
    CHECK(err_of([&] { return ::ioctl(fd, _IO(0xf5, 99)); }) == ENOTTY);
    ::close(fd);
  }
  fx.unmount();
  fx.require_fsck_clean();
}

TEST_CASE("f2sc-fuse: default_permissions enforces modes for other users", "[fuse]") {
  if (::getuid() != 0) {
    WARN("permission test skipped: needs root to switch to nobody");
    return;
  }
  Fixture fx;
  if (!fx.mount({"-o", "allow_other"})) return;
  write_file(fx.p("public"), "anyone", 0644);
  write_file(fx.p("private"), "root only", 0600);
  REQUIRE(::chmod(fx.p("private").c_str(), 0600) == 0);
  REQUIRE(::mkdir(fx.p("closed").c_str(), 0755) == 0);
  // Each check runs in a child as nobody; its exit status is the errno it got.
  auto as_nobody = [](const std::function<int()>& f) {
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
  };
  auto open_err = [](std::string path, int flags) {
    return [path, flags] {
      int fd = ::open(path.c_str(), flags, 0644);
      if (fd < 0) return errno;
      ::close(fd);
      return 0;
    };
  };
  CHECK(as_nobody(open_err(fx.p("public"), O_RDONLY)) == 0);
  CHECK(as_nobody(open_err(fx.p("public"), O_WRONLY)) == EACCES);
  CHECK(as_nobody(open_err(fx.p("private"), O_RDONLY)) == EACCES);
  CHECK(as_nobody(open_err(fx.p("closed/new"), O_CREAT | O_WRONLY)) == EACCES);
  CHECK(as_nobody([&] { return ::chmod(fx.p("public").c_str(), 0777) < 0 ? errno : 0; }) == EPERM);
  CHECK(as_nobody([&] {
          int fd = ::open(fx.mnt.c_str(), O_RDONLY | O_DIRECTORY);
          if (fd < 0) return 100;
          int r = ::ioctl(fd, kF2fsIocWriteCheckpoint) < 0 ? errno : 0;
          ::close(fd);
          return r;
        }) == EPERM);
  fx.unmount();
  fx.require_fsck_clean();
}

TEST_CASE("f2sc-fuse: SIGTERM unmounts with a checkpoint", "[fuse]") {
  Fixture fx;
  if (!fx.mount()) return;
  write_file(fx.p("kept"), pattern(9, 300000));
  REQUIRE(::mkdir(fx.p("dir").c_str(), 0755) == 0);
  int status = fx.m->signal(SIGTERM);
  INFO(fx.m->log());
  CHECK(status == 0);
  fx.m.reset();
  fx.require_fsck_clean();
  REQUIRE(fx.mount());
  CHECK(read_file(fx.p("kept")) == pattern(9, 300000));
  CHECK(S_ISDIR(stat_of(fx.p("dir")).st_mode));
  fx.unmount();
}

TEST_CASE("f2sc-fuse: the mount's read-ahead is 1 MiB, or read_ahead_kb", "[fuse]") {
  if (::geteuid() != 0) {
    WARN("read-ahead test skipped: only root may set a mount's read-ahead");
    return;
  }
  Fixture fx;
  auto read_ahead_kb = [&] {
    const struct stat st = stat_of(fx.mnt);
    const std::string path = "/sys/class/bdi/" + std::to_string(major(st.st_dev)) + ":" +
                             std::to_string(minor(st.st_dev)) + "/read_ahead_kb";
    INFO(path);
    std::string v = read_file(path);
    while (!v.empty() && v.back() == '\n') v.pop_back();
    return v;
  };
  if (!fx.mount()) return;
  CHECK(read_ahead_kb() == "1024");
  write_file(fx.p("f"), pattern(3, 3 << 20));
  fx.unmount();
  REQUIRE(fx.mount({"-o", "read_ahead_kb=256"}));
  CHECK(read_ahead_kb() == "256");
  CHECK(read_file(fx.p("f")) == pattern(3, 3 << 20));
  fx.unmount();
  REQUIRE(fx.mount({"-o", "read_ahead_kb=0"}));  // the kernel's own
  CHECK(read_ahead_kb() != "1024");
  fx.unmount();
  auto r = f2sc::testing::run(fuse_bin() + " a b -o read_ahead_kb=65537");
  CHECK(r.status == 2);
  CHECK(r.output.find("read_ahead_kb=65537") != std::string::npos);
}

TEST_CASE("f2sc-fuse: -o xattr=off answers no xattr call and leaves the image's alone", "[fuse]") {
  Fixture fx;
  if (!fx.mount()) return;
  write_file(fx.p("f"), "data");
  REQUIRE(::setxattr(fx.p("f").c_str(), "user.color", "blue", 4, 0) == 0);
  fx.unmount();
  REQUIRE(fx.mount({"-o", "xattr=off"}));
  const std::string f = fx.p("f");
  char v[64] = {};
  CHECK(err_of([&] { return ::getxattr(f.c_str(), "user.color", v, sizeof v); }) == EOPNOTSUPP);
  CHECK(err_of([&] { return ::listxattr(f.c_str(), v, sizeof v); }) == EOPNOTSUPP);
  CHECK(err_of([&] { return ::setxattr(f.c_str(), "user.new", "1", 1, 0); }) == EOPNOTSUPP);
  CHECK(err_of([&] { return ::removexattr(f.c_str(), "user.color"); }) == EOPNOTSUPP);
  write_file(f, "other data");  // writes no longer ask about security.capability first
  CHECK(read_file(f) == "other data");
  fx.unmount();
  REQUIRE(fx.mount());
  CHECK(::getxattr(f.c_str(), "user.color", v, sizeof v) == 4);
  CHECK(std::string(v, 4) == "blue");
  fx.unmount();
  auto r = f2sc::testing::run(fuse_bin() + " a b -o xattr=maybe");
  CHECK(r.status == 2);
  CHECK(r.output.find("xattr") != std::string::npos);
}

TEST_CASE("f2sc-fuse: -o ro refuses writes and leaves the image untouched", "[fuse]") {
  Fixture fx;
  if (!fx.mount()) return;
  write_file(fx.p("f"), "data");
  fx.unmount();
  const std::string before = read_file(fx.img);
  REQUIRE(fx.mount({"-o", "ro"}));
  CHECK(read_file(fx.p("f")) == "data");
  CHECK(err_of([&] { return ::open(fx.p("g").c_str(), O_CREAT | O_WRONLY, 0644); }) == EROFS);
  CHECK(err_of([&] { return ::mkdir(fx.p("d").c_str(), 0755); }) == EROFS);
  CHECK(err_of([&] { return ::unlink(fx.p("f").c_str()); }) == EROFS);
  fx.unmount();
  CHECK(read_file(fx.img) == before);
}

TEST_CASE("f2sc-fuse: bad usage and a bad device fail with a message", "[fuse]") {
  auto r = f2sc::testing::run(fuse_bin() + " onlyone");
  CHECK(r.status == 2);
  CHECK(r.output.find("expected DEVICE and MOUNTPOINT") != std::string::npos);
  r = f2sc::testing::run(fuse_bin() + " a b -o copy_offload=maybe");
  CHECK(r.status == 2);
  {  // an option libfuse rejects: no mount, and the image is not touched
    Fixture fx;
    const std::string before = read_file(fx.img);
    r = f2sc::testing::run(fuse_bin() + " -f " + fx.img + " " + fx.mnt + " -o no_such_option");
    INFO(r.output);
    CHECK(r.status == 1);
    CHECK_FALSE(f2sc::fuse::testing::is_mounted(fx.mnt));
    CHECK(read_file(fx.img) == before);
    // copy offload asked of a device that cannot offload: refused with a clear message
    r = f2sc::testing::run(fuse_bin() + " -f 'nvme-emu:" + fx.img + "?copy=0' " + fx.mnt +
                           " -o copy_offload=on");
    INFO(r.output);
    CHECK(r.status == 1);
    CHECK(r.output.find("does not support") != std::string::npos);
    CHECK_FALSE(f2sc::fuse::testing::is_mounted(fx.mnt));
  }
  TempDir d;
  const std::string junk = (d.path() / "junk").string();
  write_file(junk, std::string(1 << 20, 'j'));
  r = f2sc::testing::run(fuse_bin() + " " + junk + " " + d.path().string());
  INFO(r.output);
  CHECK(r.status == 1);
  CHECK_FALSE(f2sc::fuse::testing::is_mounted(d.path().string()));
}

TEST_CASE("f2sc-fuse: without -f it daemonizes, with relative paths, and unmounts cleanly",
          "[fuse]") {
  Fixture fx;
  if (std::string why = f2sc::fuse::testing::fuse_unavailable(); !why.empty()) {
    WARN("FUSE test skipped: " << why);
    return;
  }
  auto r = f2sc::testing::run("cd " + fx.dir.path().string() + " && " + fuse_bin() + " img mnt");
  if (r.output.find("fuse:") != std::string::npos ||
      r.output.find("fusermount3:") != std::string::npos) {
    WARN("FUSE test skipped: mounting is not permitted here:\n" << r.output);
    return;
  }
  struct LazyUnmount {  // a failed check must not leave the daemon's mount behind
    std::string mnt;
    ~LazyUnmount() {
      if (f2sc::fuse::testing::is_mounted(mnt)) f2sc::testing::run("fusermount3 -u -z " + mnt);
    }
  } guard{fx.mnt};
  INFO(r.output);
  REQUIRE(r.status == 0);  // the parent returns once the mount is up
  REQUIRE(f2sc::fuse::testing::is_mounted(fx.mnt));
  write_file(fx.p("f"), "daemon");
  REQUIRE(f2sc::testing::run("fusermount3 -u " + fx.mnt).status == 0);
  const std::string needle = fuse_bin() + " img mnt";
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (process_running(needle) && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  REQUIRE_FALSE(process_running(needle));
  fx.require_fsck_clean();
  REQUIRE(fx.mount());
  CHECK(read_file(fx.p("f")) == "daemon");
  fx.unmount();
}

TEST_CASE("mount.fuse.f2sc: mount(8)'s helper convention", "[fuse]") {
  Fixture fx;
  if (std::string why = f2sc::fuse::testing::fuse_unavailable(); !why.empty()) {
    WARN("FUSE test skipped: " << why);
    return;
  }
  const std::string helper = F2SC_MOUNT_HELPER;
  // -f is mount(8)'s "fake": nothing happens.
  auto r = f2sc::testing::run(helper + " " + fx.img + " " + fx.mnt + " -nvf -o rw");
  CHECK(r.status == 0);
  CHECK_FALSE(f2sc::fuse::testing::is_mounted(fx.mnt));
  r = f2sc::testing::run(helper + " " + fx.img);
  CHECK(r.status == 2);
  r = f2sc::testing::run(helper + " " + fx.img + " " + fx.mnt + " -x");
  CHECK(r.status == 2);

  r = f2sc::testing::run(helper + " " + fx.img + " " + fx.mnt +
                         " -n -o rw,noatime,defaults,nodev -t fuse.f2sc");
  if (r.output.find("fuse:") != std::string::npos ||
      r.output.find("fusermount3:") != std::string::npos) {
    WARN("FUSE test skipped: mounting is not permitted here:\n" << r.output);
    return;
  }
  struct LazyUnmount {
    std::string mnt;
    ~LazyUnmount() {
      if (f2sc::fuse::testing::is_mounted(mnt)) f2sc::testing::run("fusermount3 -u -z " + mnt);
    }
  } guard{fx.mnt};
  INFO(r.output);
  REQUIRE(r.status == 0);
  REQUIRE(f2sc::fuse::testing::is_mounted(fx.mnt));
  write_file(fx.p("f"), "helper");
  REQUIRE(f2sc::testing::run("fusermount3 -u " + fx.mnt).status == 0);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (process_running(fx.img) && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  REQUIRE_FALSE(process_running(fx.img));
  fx.require_fsck_clean();
}

TEST_CASE("f2sc-fuse: special files, directory moves, seekdir, O_APPEND and mmap", "[fuse]") {
  Fixture fx;
  if (!fx.mount()) return;
  REQUIRE(::mkfifo(fx.p("fifo").c_str(), 0600) == 0);
  CHECK(S_ISFIFO(stat_of(fx.p("fifo")).st_mode));
  if (::getuid() == 0) {
    REQUIRE(::mknod(fx.p("null").c_str(), S_IFCHR | 0666, makedev(1, 3)) == 0);
    CHECK(S_ISCHR(stat_of(fx.p("null")).st_mode));
    // st_rdev is not checked: the library does not report it yet (it reads 0).
  }
  REQUIRE(::mknod(fx.p("regular").c_str(), S_IFREG | 0644, 0) == 0);
  CHECK(S_ISREG(stat_of(fx.p("regular")).st_mode));

  // a directory moved to another parent: ".." follows, link counts move
  REQUIRE(::mkdir(fx.p("a").c_str(), 0755) == 0);
  REQUIRE(::mkdir(fx.p("b").c_str(), 0755) == 0);
  REQUIRE(::mkdir(fx.p("a/moved").c_str(), 0755) == 0);
  write_file(fx.p("a/moved/inside"), "inside");
  REQUIRE(::rename(fx.p("a/moved").c_str(), fx.p("b/moved").c_str()) == 0);
  CHECK(stat_of(fx.p("a")).st_nlink == 2);
  CHECK(stat_of(fx.p("b")).st_nlink == 3);
  CHECK(stat_of(fx.p("b/moved/..")).st_ino == stat_of(fx.p("b")).st_ino);
  CHECK(read_file(fx.p("b/moved/inside")) == "inside");

  // telldir/seekdir: offsets stay valid while reading
  REQUIRE(::mkdir(fx.p("seek").c_str(), 0755) == 0);
  for (int i = 0; i < 300; ++i) write_file(fx.p("seek/" + name_of(i)), "");
  {
    DIR* d = ::opendir(fx.p("seek").c_str());
    REQUIRE(d != nullptr);
    std::vector<std::pair<long, std::string>> seen;
    while (true) {
      long pos = ::telldir(d);
      dirent* e = ::readdir(d);
      if (!e) break;
      seen.emplace_back(pos, e->d_name);
    }
    REQUIRE(seen.size() == 302);
    for (size_t i : {size_t{0}, size_t{1}, size_t{150}, size_t{301}}) {
      ::seekdir(d, seen[i].first);
      dirent* e = ::readdir(d);
      REQUIRE(e != nullptr);
      CHECK(std::string(e->d_name) == seen[i].second);
    }
    ::rewinddir(d);
    write_file(fx.p("seek/late"), "");
    size_t n = 0;
    while (::readdir(d)) ++n;
    CHECK(n == 303);  // a rewind sees entries added since opendir
    ::closedir(d);
  }

  // O_APPEND
  write_file(fx.p("log"), "one\n");
  {
    int fd = ::open(fx.p("log").c_str(), O_WRONLY | O_APPEND);
    REQUIRE(fd >= 0);
    REQUIRE(::write(fd, "two\n", 4) == 4);
    REQUIRE(::pwrite(fd, "three\n", 6, 0) == 6);  // Linux: O_APPEND wins over the offset
    ::close(fd);
  }
  CHECK(read_file(fx.p("log")) == "one\ntwo\nthree\n");

  // shared writable mmap, msync, read back through read(2)
  {
    write_file(fx.p("mapped"), std::string(3 * 4096, 'a'));
    int fd = ::open(fx.p("mapped").c_str(), O_RDWR);
    REQUIRE(fd >= 0);
    void* p = ::mmap(nullptr, 3 * 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    REQUIRE(p != MAP_FAILED);
    std::memset(static_cast<char*>(p) + 4096, 'm', 4096);
    REQUIRE(::msync(p, 3 * 4096, MS_SYNC) == 0);
    ::munmap(p, 3 * 4096);
    ::close(fd);
  }
  const std::string mapped =
      std::string(4096, 'a') + std::string(4096, 'm') + std::string(4096, 'a');
  CHECK(read_file(fx.p("mapped")) == mapped);

  fx.unmount();
  fx.require_fsck_clean();
  REQUIRE(fx.mount());
  CHECK(read_file(fx.p("mapped")) == mapped);
  CHECK(read_file(fx.p("log")) == "one\ntwo\nthree\n");
  CHECK(list_dir(fx.p("seek")).size() == 303);
  CHECK(S_ISFIFO(stat_of(fx.p("fifo")).st_mode));
  fx.unmount();
}

TEST_CASE("f2sc-fuse: threads writing, reading and listing at once", "[fuse]") {
  Fixture fx;
  if (!fx.mount({"-o", "threads=8"})) return;
  constexpr int kThreads = 4, kFiles = 60;
  REQUIRE(::mkdir(fx.p("shared").c_str(), 0755) == 0);
  std::atomic<int> errors{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kFiles; ++i) {
        const std::string path = fx.p("shared/t" + std::to_string(t) + "-" + name_of(i));
        const std::string data = pattern(t * 1000 + i, 1000 + 3000 * i);
        int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (fd < 0 || ::write(fd, data.data(), data.size()) != static_cast<ssize_t>(data.size()))
          ++errors;
        if (fd >= 0) ::close(fd);
        if (i % 3 == 2) {  // remove an earlier one while others list the directory
          const std::string old = fx.p("shared/t" + std::to_string(t) + "-" + name_of(i - 2));
          if (::unlink(old.c_str()) != 0) ++errors;
        }
      }
    });
  }
  threads.emplace_back([&] {  // a reader listing the directory meanwhile
    for (int i = 0; i < 20; ++i) {
      DIR* d = ::opendir(fx.p("shared").c_str());
      if (!d) {
        ++errors;
        continue;
      }
      while (::readdir(d)) {
      }
      ::closedir(d);
    }
  });
  for (auto& t : threads) t.join();
  CHECK(errors.load() == 0);
  auto check_contents = [&] {
    std::set<std::string> names = list_dir(fx.p("shared"));
    CHECK(names.size() == static_cast<size_t>(kThreads * kFiles * 2 / 3 + 2));
    for (int t = 0; t < kThreads; ++t) {
      for (int i = 0; i < kFiles; ++i) {
        const std::string name = "t" + std::to_string(t) + "-" + name_of(i);
        const bool removed = i % 3 == 0;
        INFO(name);
        REQUIRE(names.count(name) == (removed ? 0u : 1u));
        if (!removed)
          CHECK(read_file(fx.p("shared/" + name)) == pattern(t * 1000 + i, 1000 + 3000 * i));
      }
    }
  };
  check_contents();
  fx.unmount();
  fx.require_fsck_clean();
  REQUIRE(fx.mount());
  check_contents();
  fx.unmount();
}

TEST_CASE("f2sc-fuse: a full filesystem says ENOSPC, and space comes back after unlink", "[fuse]") {
  Fixture fx;
  if (!fx.mount()) return;
  write_file(fx.p("keep"), pattern(21, 100000));
  // With the write-back cache the error may surface at fsync or close instead of write.
  int fd = ::open(fx.p("fill").c_str(), O_WRONLY | O_CREAT, 0644);
  REQUIRE(fd >= 0);
  const std::string chunk(1 << 20, 'f');
  int err = 0;
  for (int i = 0; i < 1024 && err == 0; ++i) {
    if (::write(fd, chunk.data(), chunk.size()) < 0)
      err = errno;
    else if (i % 8 == 7 && ::fsync(fd) != 0)
      err = errno;
  }
  if (::close(fd) != 0 && err == 0) err = errno;
  CHECK(err == ENOSPC);
  {
    // The daemon says why (once per 10 s however many writes it refused).
    const std::string log = fx.m->log();
    INFO(log);
    CHECK(log.find("no space left") != std::string::npos);
  }
  REQUIRE(::unlink(fx.p("fill").c_str()) == 0);
  write_file(fx.p("after"), pattern(22, 64 << 20));  // needs the freed space back
  CHECK(read_file(fx.p("after")) == pattern(22, 64 << 20));
  fx.unmount();
  fx.require_fsck_clean();
  REQUIRE(fx.mount());
  CHECK(read_file(fx.p("keep")) == pattern(21, 100000));
  CHECK(read_file(fx.p("after")) == pattern(22, 64 << 20));
  fx.unmount();
}

namespace {

// A number under `section` in f2sc-ctl's JSON status ("key": N); fails the test when missing.
uint64_t json_number(const std::string& json, const std::string& section, const std::string& key) {
  const size_t s = json.find("\"" + section + "\"");
  INFO(json);
  REQUIRE(s != std::string::npos);
  const size_t k = json.find("\"" + key + "\":", s);
  REQUIRE(k != std::string::npos);
  return std::stoull(json.substr(k + key.size() + 3));
}

// Device counters of a mount from `f2sc-ctl MNT status --json`, or false (after a warning)
// when this build has no f2sc-ctl.
bool device_counters(const std::string& mnt, uint64_t* in_device, uint64_t* read,
                     uint64_t* written) {
#ifdef F2SC_CTL_BIN
  auto r = f2sc::testing::run(std::string(F2SC_CTL_BIN) + " " + mnt + " status --json");
  INFO(r.output);
  REQUIRE(r.status == 0);
  *in_device = json_number(r.output, "device", "blocks_copied_in_device");
  *read = json_number(r.output, "device", "bytes_read");
  *written = json_number(r.output, "device", "bytes_written");
  return true;
#else
  (void)mnt, (void)in_device, (void)read, (void)written;
  WARN("device copy counters not checked through the mount: f2sc-ctl is not built");
  return false;
#endif
}

}  // namespace

TEST_CASE("f2sc-fuse: cp and copy_file_range copy on the device, keep holes; SEEK_DATA/SEEK_HOLE",
          "[fuse]") {
  const std::string offload = GENERATE("on", "off");
  INFO("copy_offload=" << offload);
  Fixture fx;
  if (!fx.mount({"-o", "copy_offload=" + offload})) return;
  constexpr uint64_t kMiB = 1 << 20;
  // 24 MiB and 1234 bytes, with a hole over [8 MiB, 12 MiB).
  const uint64_t size = 24 * kMiB + 1234;
  std::string want = pattern(31, size);
  std::fill(want.begin() + 8 * kMiB, want.begin() + 12 * kMiB, '\0');
  {
    int fd = ::open(fx.p("src").c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    REQUIRE(fd >= 0);
    for (uint64_t off = 0; off < size; off += kMiB) {
      if (off >= 8 * kMiB && off < 12 * kMiB) continue;
      const size_t n = static_cast<size_t>(std::min<uint64_t>(kMiB, size - off));
      REQUIRE(::pwrite(fd, want.data() + off, n, static_cast<off_t>(off)) ==
              static_cast<ssize_t>(n));
    }
    REQUIRE(::close(fd) == 0);  // flushes the write-back cache
  }

  // The library answers SEEK_DATA/SEEK_HOLE (the kernel's fallback would see no hole).
  auto check_seeks = [&](const std::string& path) {
    INFO(path);
    int fd = ::open(path.c_str(), O_RDONLY);
    REQUIRE(fd >= 0);
    CHECK(::lseek(fd, 0, SEEK_DATA) == 0);
    CHECK(::lseek(fd, 0, SEEK_HOLE) == static_cast<off_t>(8 * kMiB));
    CHECK(::lseek(fd, 10 * kMiB, SEEK_HOLE) == static_cast<off_t>(10 * kMiB));
    CHECK(::lseek(fd, 8 * kMiB, SEEK_DATA) == static_cast<off_t>(12 * kMiB));
    CHECK(::lseek(fd, 12 * kMiB + 5, SEEK_DATA) == static_cast<off_t>(12 * kMiB + 5));
    CHECK(::lseek(fd, 12 * kMiB, SEEK_HOLE) == static_cast<off_t>(size));
    CHECK(err_of([&] { return ::lseek(fd, static_cast<off_t>(size), SEEK_DATA); }) == ENXIO);
    CHECK(err_of([&] { return ::lseek(fd, static_cast<off_t>(size), SEEK_HOLE); }) == ENXIO);
    ::close(fd);
  };
  check_seeks(fx.p("src"));

  // Device counters around a copy: offload moves every whole data block inside the device
  // and only the tail and node blocks cross the host interface; emulation moves them all
  // through the host, both ways.
  auto counted = [&](uint64_t data_bytes, const std::function<void()>& copy) {
    uint64_t dev0 = 0, rd0 = 0, wr0 = 0, dev1 = 0, rd1 = 0, wr1 = 0;
    const bool counters = device_counters(fx.mnt, &dev0, &rd0, &wr0);
    copy();
    if (!counters) return;
    device_counters(fx.mnt, &dev1, &rd1, &wr1);
    if (offload == "on") {
      CHECK(dev1 - dev0 >= data_bytes / 4096);
      CHECK(rd1 - rd0 < kMiB);
      CHECK(wr1 - wr0 < kMiB);
    } else {
      CHECK(dev1 == dev0);
      CHECK(rd1 - rd0 >= data_bytes - 4096);
      CHECK(wr1 - wr0 >= data_bytes - 4096);
    }
  };

  // cp of a file without holes (coreutils 9.1 with its default --reflink=auto: the clone
  // fails, then copy_file_range; --reflink=never, and a sparse source under the default
  // --sparse=auto, read and write instead).
  const std::string dense = pattern(32, size);
  write_file(fx.p("dense"), dense);
  counted(size, [&] {
    auto cp = f2sc::testing::run("cp " + fx.p("dense") + " " + fx.p("cp-copy"));
    INFO(cp.output);
    REQUIRE(cp.status == 0);
  });
  CHECK(read_file(fx.p("cp-copy")) == dense);

  // One copy_file_range over the sparse file: the library keeps the hole a hole.
  counted(size - 4 * kMiB, [&] {
    int in = ::open(fx.p("src").c_str(), O_RDONLY);
    int out = ::open(fx.p("cfr-copy").c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    REQUIRE(in >= 0);
    REQUIRE(out >= 0);
    uint64_t total = 0;
    while (true) {
      ssize_t n = ::copy_file_range(in, nullptr, out, nullptr, 1ull << 40, 0);
      INFO(std::strerror(errno));
      REQUIRE(n >= 0);
      if (n == 0) break;
      total += static_cast<uint64_t>(n);
    }
    CHECK(total == size);
    ::close(in);
    REQUIRE(::close(out) == 0);
  });
  CHECK(read_file(fx.p("cfr-copy")) == want);
  check_seeks(fx.p("cfr-copy"));
  CHECK(stat_of(fx.p("cfr-copy")).st_blocks < static_cast<blkcnt_t>((size - 3 * kMiB) / 512));

  fx.unmount();
  fx.require_fsck_clean();
  REQUIRE(fx.mount());
  CHECK(read_file(fx.p("cp-copy")) == dense);
  CHECK(read_file(fx.p("cfr-copy")) == want);
  check_seeks(fx.p("cfr-copy"));
  fx.unmount();
}
