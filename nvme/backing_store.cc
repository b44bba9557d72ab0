#include "nvme/backing_store.h"

#include <fcntl.h>
#include <linux/falloc.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>
#include <vector>

namespace f2sc::nvme {

namespace {

class FileStore final : public BackingStore {
 public:
  FileStore(std::string path, int fd, uint64_t size, bool drain)
      : path_(std::move(path)), fd_(fd), size_(size), drain_(drain) {}
  ~FileStore() override { ::close(fd_); }

  uint64_t size() const override { return size_; }

  Status read(uint64_t offset, std::span<std::byte> out) override {
    size_t done = 0;
    while (done < out.size()) {
      ssize_t n =
          pread(fd_, out.data() + done, out.size() - done, static_cast<off_t>(offset + done));
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) return tl::unexpected(sys_error(errno, "read of " + path_));
      if (n == 0) return fail(Errc::kIoError, "read of " + path_ + ": unexpected end of file");
      done += static_cast<size_t>(n);
    }
    return {};
  }

  Status write(uint64_t offset, std::span<const std::byte> in) override {
    size_t done = 0;
    while (done < in.size()) {
      ssize_t n =
          pwrite(fd_, in.data() + done, in.size() - done, static_cast<off_t>(offset + done));
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) return tl::unexpected(sys_error(n < 0 ? errno : EIO, "write of " + path_));
      done += static_cast<size_t>(n);
    }
    // A hint: a failure (or a filesystem without write-back) leaves the data to flush().
    if (drain_ && in.size() >= kDrainBytes)
      (void)sync_file_range(fd_, static_cast<off_t>(offset), static_cast<off_t>(in.size()),
                            SYNC_FILE_RANGE_WRITE);
    return {};
  }

  Status flush() override {
    if (fdatasync(fd_) != 0) return tl::unexpected(sys_error(errno, "fdatasync of " + path_));
    return {};
  }

  Status zero(uint64_t offset, uint64_t bytes, bool deallocate) override {
    const int mode = deallocate ? FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE
                                : FALLOC_FL_ZERO_RANGE | FALLOC_FL_KEEP_SIZE;
    if (fallocate(fd_, mode, static_cast<off_t>(offset), static_cast<off_t>(bytes)) == 0) {
      return {};
    }
    if (errno != EOPNOTSUPP && errno != EINVAL) {
      return tl::unexpected(sys_error(errno, "fallocate in " + path_));
    }
    // A filesystem without hole punching: write zeros inside the device.
    std::vector<std::byte> zeros(std::min<uint64_t>(bytes, 1 << 20));
    for (uint64_t done = 0; done < bytes;) {
      uint64_t n = std::min<uint64_t>(zeros.size(), bytes - done);
      if (auto s = write(offset + done, std::span(zeros.data(), n)); !s) return s;
      done += n;
    }
    return {};
  }

  Status copy(uint64_t src, uint64_t dst, uint64_t bytes) override {
    loff_t in = static_cast<loff_t>(src), out = static_cast<loff_t>(dst);
    uint64_t left = bytes;
    while (left > 0) {
      ssize_t n = copy_file_range(fd_, &in, fd_, &out, left, 0);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0 && (errno == EXDEV || errno == EOPNOTSUPP || errno == ENOSYS)) {
        return copy_by_buffer(static_cast<uint64_t>(in), static_cast<uint64_t>(out), left);
      }
      if (n < 0) return tl::unexpected(sys_error(errno, "copy_file_range in " + path_));
      if (n == 0) return fail(Errc::kIoError, "copy_file_range in " + path_ + " made no progress");
      left -= static_cast<uint64_t>(n);
    }
    return {};
  }

 private:
  // The media's own buffer, for filesystems without copy_file_range: still inside the device.
  Status copy_by_buffer(uint64_t src, uint64_t dst, uint64_t bytes) {
    std::vector<std::byte> buf(std::min<uint64_t>(bytes, 1 << 20));
    for (uint64_t done = 0; done < bytes;) {
      uint64_t n = std::min<uint64_t>(buf.size(), bytes - done);
      if (auto s = read(src + done, std::span(buf.data(), n)); !s) return s;
      if (auto s = write(dst + done, std::span(buf.data(), n)); !s) return s;
      done += n;
    }
    return {};
  }

  const std::string path_;
  const int fd_;
  const uint64_t size_;
  const bool drain_;
};

class MemoryStore final : public BackingStore {
 public:
  MemoryStore(std::byte* data, uint64_t size) : data_(data), size_(size) {}
  ~MemoryStore() override { munmap(data_, size_); }

  uint64_t size() const override { return size_; }
  Status read(uint64_t offset, std::span<std::byte> out) override {
    std::memcpy(out.data(), data_ + offset, out.size());
    return {};
  }
  Status write(uint64_t offset, std::span<const std::byte> in) override {
    std::memcpy(data_ + offset, in.data(), in.size());
    return {};
  }
  Status flush() override { return {}; }
  Status zero(uint64_t offset, uint64_t bytes, bool) override {
    std::memset(data_ + offset, 0, bytes);
    return {};
  }
  Status copy(uint64_t src, uint64_t dst, uint64_t bytes) override {
    std::memmove(data_ + dst, data_ + src, bytes);
    return {};
  }

 private:
  std::byte* const data_;
  const uint64_t size_;
};

}  // namespace

Result<std::unique_ptr<BackingStore>> BackingStore::open_file(const std::string& path,
                                                              bool read_only, bool drain) {
  int fd = ::open(path.c_str(), (read_only ? O_RDONLY : O_RDWR) | O_CLOEXEC);
  if (fd < 0) return tl::unexpected(sys_error(errno, "cannot open " + path));
  struct stat st;
  if (fstat(fd, &st) != 0) {
    int e = errno;
    ::close(fd);
    return tl::unexpected(sys_error(e, "cannot stat " + path));
  }
  if (!S_ISREG(st.st_mode)) {
    ::close(fd);
    return fail(Errc::kInvalidArgument,
                path + " is not a regular file (an emulated namespace needs an image file)");
  }
  return std::unique_ptr<BackingStore>(
      new FileStore(path, fd, static_cast<uint64_t>(st.st_size), drain && !read_only));
}

Result<std::unique_ptr<BackingStore>> BackingStore::create_memory(uint64_t bytes) {
  if (bytes == 0 || bytes > SIZE_MAX) {
    return fail(Errc::kInvalidArgument, "memory namespace of " + std::to_string(bytes) + " bytes");
  }
  void* p = mmap(nullptr, bytes, PROT_READ | PROT_WRITE,
                 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (p == MAP_FAILED) return tl::unexpected(sys_error(errno, "mmap of a memory namespace"));
  return std::unique_ptr<BackingStore>(new MemoryStore(static_cast<std::byte*>(p), bytes));
}

}  // namespace f2sc::nvme
