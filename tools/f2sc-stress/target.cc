#include "tools/f2sc-stress/target.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <dirent.h>

#include <cctype>
#include <cerrno>

namespace f2sc::stress {

namespace {

class FsTarget final : public Target {
 public:
  explicit FsTarget(fs::FileSystem& fs) : fs_(fs) {}
  std::string describe() const override { return "library"; }

  Result<uint64_t> create(const std::string& name) override {
    auto a = fs_.create(fs_.root_ino(), name, 0644, 0, 0);
    if (!a) return fail(with_context(a.error(), "create " + name));
    return a->ino;
  }
  Status write(uint64_t h, uint64_t off, std::span<const std::byte> data) override {
    auto n = fs_.write(static_cast<uint32_t>(h), off, data);
    if (!n) return fail(n.error());
    if (*n != data.size())
      return fail(Errc::kIoError, "short write: " + std::to_string(*n) + " of " +
                                      std::to_string(data.size()) + " bytes");
    return {};
  }
  Result<size_t> read(uint64_t h, uint64_t off, std::span<std::byte> buf) override {
    return fs_.read(static_cast<uint32_t>(h), off, buf);
  }
  Status truncate(uint64_t h, uint64_t size) override {
    return fs_.truncate(static_cast<uint32_t>(h), size);
  }
  Result<uint64_t> size(uint64_t h) override {
    auto a = fs_.getattr(static_cast<uint32_t>(h));
    if (!a) return fail(a.error());
    return a->size;
  }
  Status remove(uint64_t, const std::string& name) override {
    return fs_.unlink(fs_.root_ino(), name);
  }
  Result<uint64_t> remove_previous() override {
    auto entries = fs_.readdir(fs_.root_ino());
    if (!entries) return fail(entries.error());
    uint64_t n = 0;
    for (const auto& e : *entries) {
      if (!is_stress_file(e.name)) continue;
      if (auto s = fs_.unlink(fs_.root_ino(), e.name); !s) return fail(s.error());
      ++n;
    }
    return n;
  }
  Status sync() override { return fs_.sync(); }
  Result<Space> space() override {
    auto s = fs_.statfs();
    if (!s) return fail(s.error());
    return Space{s->block_size, s->blocks, s->bfree, s->bavail};
  }
  Status finish() override { return fs_.unmount(); }

 private:
  fs::FileSystem& fs_;
};

class PosixTarget final : public Target {
 public:
  explicit PosixTarget(std::string dir) : dir_(std::move(dir)) {}
  ~PosixTarget() override { (void)finish(); }
  std::string describe() const override { return "POSIX calls on " + dir_; }

  Result<uint64_t> create(const std::string& name) override {
    const std::string path = dir_ + "/" + name;
    int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) return fail(sys_error(errno, "creating " + path));
    std::lock_guard lock(mu_);
    fds_.push_back(fd);
    return fds_.size() - 1;
  }
  Status write(uint64_t h, uint64_t off, std::span<const std::byte> data) override {
    const int fd = fd_of(h);
    size_t done = 0;
    while (done < data.size()) {
      ssize_t n =
          ::pwrite(fd, data.data() + done, data.size() - done, static_cast<off_t>(off + done));
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) return fail(sys_error(n < 0 ? errno : EIO, "pwrite"));
      done += static_cast<size_t>(n);
    }
    return {};
  }
  Result<size_t> read(uint64_t h, uint64_t off, std::span<std::byte> buf) override {
    const int fd = fd_of(h);
    size_t done = 0;
    while (done < buf.size()) {
      ssize_t n = ::pread(fd, buf.data() + done, buf.size() - done, static_cast<off_t>(off + done));
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) return fail(sys_error(errno, "pread"));
      if (n == 0) break;
      done += static_cast<size_t>(n);
    }
    return done;
  }
  Status truncate(uint64_t h, uint64_t size) override {
    if (::ftruncate(fd_of(h), static_cast<off_t>(size)) != 0)
      return fail(sys_error(errno, "ftruncate"));
    return {};
  }
  Result<uint64_t> size(uint64_t h) override {
    struct stat st;
    if (::fstat(fd_of(h), &st) != 0) return fail(sys_error(errno, "fstat"));
    return static_cast<uint64_t>(st.st_size);
  }
  Status remove(uint64_t h, const std::string& name) override {
    {
      std::lock_guard lock(mu_);
      if (h < fds_.size() && fds_[h] >= 0) {
        ::close(fds_[h]);
        fds_[h] = -1;
      }
    }
    const std::string path = dir_ + "/" + name;
    if (::unlink(path.c_str()) != 0) return fail(sys_error(errno, "removing " + path));
    return {};
  }
  Result<uint64_t> remove_previous() override {
    DIR* d = ::opendir(dir_.c_str());
    if (!d) return fail(sys_error(errno, "opening " + dir_));
    std::vector<std::string> names;
    while (struct dirent* e = ::readdir(d))
      if (is_stress_file(e->d_name)) names.emplace_back(e->d_name);
    ::closedir(d);
    for (const auto& n : names) {
      const std::string path = dir_ + "/" + n;
      if (::unlink(path.c_str()) != 0) return fail(sys_error(errno, "removing " + path));
    }
    return names.size();
  }
  Status sync() override {
    int fd = ::open(dir_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return fail(sys_error(errno, "opening " + dir_));
    int rc = ::syncfs(fd);
    int err = errno;
    ::close(fd);
    if (rc != 0) return fail(sys_error(err, "syncfs " + dir_));
    return {};
  }
  Result<Space> space() override {
    struct statvfs st;
    if (::statvfs(dir_.c_str(), &st) != 0) return fail(sys_error(errno, "statvfs " + dir_));
    return Space{st.f_frsize ? st.f_frsize : st.f_bsize, st.f_blocks, st.f_bfree, st.f_bavail};
  }
  Status finish() override {
    std::lock_guard lock(mu_);
    Status result;
    for (int& fd : fds_) {
      if (fd >= 0 && ::close(fd) != 0 && result) result = fail(sys_error(errno, "close"));
      fd = -1;
    }
    return result;
  }

 private:
  int fd_of(uint64_t h) {
    std::lock_guard lock(mu_);
    return h < fds_.size() ? fds_[h] : -1;
  }
  const std::string dir_;
  std::mutex mu_;
  std::vector<int> fds_;
};

}  // namespace

bool is_stress_file(std::string_view name) {
  if (name.size() != 13 || name.substr(0, 7) != "stress-") return false;
  for (char c : name.substr(7))
    if (!std::isdigit(static_cast<unsigned char>(c))) return false;
  return true;
}

std::unique_ptr<Target> make_fs_target(fs::FileSystem& fs) {
  return std::make_unique<FsTarget>(fs);
}

Result<std::unique_ptr<Target>> make_posix_target(const std::string& dir) {
  struct stat st;
  if (::stat(dir.c_str(), &st) != 0) return fail(sys_error(errno, "--mount " + dir));
  if (!S_ISDIR(st.st_mode))
    return fail(Errc::kInvalidArgument, "--mount " + dir + ": not a directory");
  return std::unique_ptr<Target>(std::make_unique<PosixTarget>(dir));
}

}  // namespace f2sc::stress
