// Running f2sc-fuse as a child process for tests: start it in the foreground on a
// mountpoint, wait (bounded) for the mount to appear, unmount with fusermount3 -u and wait
// (bounded) for the process to write its checkpoint and exit. A watchdog aborts the FUSE
// connection if a test is stuck on the mount, so a hung request fails the test instead of
// hanging it; the destructor always unmounts and reaps the child.
#pragma once

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <fstream>
#include <mutex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <catch2/catch.hpp>

#include "tests/support/process.h"

namespace f2sc::fuse::testing {

using namespace std::chrono_literals;

// Why FUSE mounts cannot be tested here, or "" when they can.
inline std::string fuse_unavailable() {
  int fd = ::open("/dev/fuse", O_RDWR | O_CLOEXEC);
  if (fd < 0) return std::string("/dev/fuse: ") + std::strerror(errno);
  ::close(fd);
  if (f2sc::testing::run("command -v fusermount3").status != 0) return "no fusermount3";
  return "";
}

inline bool is_mounted(const std::string& mnt) {
  std::ifstream f("/proc/self/mountinfo");
  std::string line;
  while (std::getline(f, line)) {
    std::istringstream in(line);
    std::string field;
    for (int i = 0; i < 5 && in >> field; ++i) {
      if (i == 4 && field == mnt) return true;
    }
  }
  return false;
}

inline std::string read_text(const std::string& path) {
  std::ifstream f(path);
  std::stringstream s;
  s << f.rdbuf();
  return s.str();
}

class FuseMount {
 public:
  enum class Start { kMounted, kNotPermitted, kFailed };

  FuseMount(std::string binary, std::string device, std::string mnt, std::string log)
      : binary_(std::move(binary)),
        device_(std::move(device)),
        mnt_(std::move(mnt)),
        log_(std::move(log)) {}
  ~FuseMount() { cleanup(); }
  FuseMount(const FuseMount&) = delete;
  FuseMount& operator=(const FuseMount&) = delete;

  // Starts `f2sc-fuse -f DEVICE MNT extra...` and waits up to 20 s for the mount.
  // kNotPermitted: libfuse or fusermount3 refused the mount (no FUSE here).
  Start start(const std::vector<std::string>& extra = {}) {
    std::vector<std::string> args{binary_, "-f", device_, mnt_};
    args.insert(args.end(), extra.begin(), extra.end());
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    pid_ = ::fork();
    REQUIRE(pid_ >= 0);
    if (pid_ == 0) {
      int fd = ::open(log_.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
      if (fd >= 0) {
        ::dup2(fd, STDOUT_FILENO);
        ::dup2(fd, STDERR_FILENO);
      }
      ::execv(argv[0], argv.data());
      _exit(127);
    }
    const auto deadline = std::chrono::steady_clock::now() + 20s;
    while (std::chrono::steady_clock::now() < deadline) {
      if (is_mounted(mnt_)) {
        mounted_ = true;
        start_watchdog();
        return Start::kMounted;
      }
      int st = 0;
      if (::waitpid(pid_, &st, WNOHANG) == pid_) {
        pid_ = -1;
        exit_status_ = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
        const std::string text = "\n" + log();
        if (text.find("\nfuse:") != std::string::npos ||
            text.find("\nfusermount3:") != std::string::npos)
          return Start::kNotPermitted;
        return Start::kFailed;
      }
      std::this_thread::sleep_for(20ms);
    }
    cleanup();
    return Start::kFailed;
  }

  // fusermount3 -u, then waits up to 60 s for the process to exit; returns its exit status
  // (-1 when it did not exit by itself).
  int unmount() {
    stop_watchdog();
    if (mounted_) {
      for (int i = 0; i < 100; ++i) {
        if (f2sc::testing::run("fusermount3 -u " + mnt_).status == 0) break;
        std::this_thread::sleep_for(100ms);
      }
      mounted_ = is_mounted(mnt_);
    }
    return wait_exit(60s);
  }

  // Sends `sig` to the running f2sc-fuse and waits up to 60 s for it to exit.
  int signal(int sig) {
    stop_watchdog();
    if (pid_ > 0) ::kill(pid_, sig);
    int status = wait_exit(60s);
    mounted_ = is_mounted(mnt_);
    if (mounted_) f2sc::testing::run("fusermount3 -u -z " + mnt_);
    mounted_ = false;
    return status;
  }

  std::string log() const { return read_text(log_); }
  int exit_status() const { return exit_status_; }
  bool watchdog_fired() const { return watchdog_fired_; }

 private:
  int wait_exit(std::chrono::seconds limit) {
    if (pid_ <= 0) return exit_status_;
    const auto deadline = std::chrono::steady_clock::now() + limit;
    while (std::chrono::steady_clock::now() < deadline) {
      int st = 0;
      if (::waitpid(pid_, &st, WNOHANG) == pid_) {
        pid_ = -1;
        exit_status_ = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
        return exit_status_;
      }
      std::this_thread::sleep_for(10ms);
    }
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, nullptr, 0);
    pid_ = -1;
    exit_status_ = -1;
    return -1;
  }

  // After 300 s on one mount, abort the FUSE connection: every pending and later request
  // fails with ENOTCONN, so a stuck test fails instead of hanging.
  void start_watchdog() {
    struct stat st {};
    if (::stat(mnt_.c_str(), &st) != 0) return;
    const std::string abort_file =
        "/sys/fs/fuse/connections/" + std::to_string(minor(st.st_dev)) + "/abort";
    stop_ = false;
    watchdog_ = std::thread([this, abort_file] {
      std::unique_lock lock(mu_);
      if (cv_.wait_for(lock, 300s, [this] { return stop_; })) return;
      watchdog_fired_ = true;
      std::ofstream(abort_file) << "1\n";
    });
  }

  void stop_watchdog() {
    {
      std::lock_guard lock(mu_);
      stop_ = true;
    }
    cv_.notify_all();
    if (watchdog_.joinable()) watchdog_.join();
  }

  void cleanup() {
    stop_watchdog();
    if (mounted_ || is_mounted(mnt_)) {
      if (f2sc::testing::run("fusermount3 -u " + mnt_).status != 0)
        f2sc::testing::run("fusermount3 -u -z " + mnt_);
      mounted_ = false;
    }
    if (pid_ > 0) {
      ::kill(pid_, SIGTERM);
      wait_exit(10s);
    }
  }

  std::string binary_, device_, mnt_, log_;
  pid_t pid_ = -1;
  int exit_status_ = -1;
  bool mounted_ = false;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = true;
  std::atomic<bool> watchdog_fired_{false};
  std::thread watchdog_;
};

}  // namespace f2sc::fuse::testing
