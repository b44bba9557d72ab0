#include "blockdev/file_device.h"

#include <fcntl.h>
#include <linux/falloc.h>
#include <linux/fs.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>

namespace f2sc::blockdev {

namespace {

constexpr size_t kDirectAlignment = 4096;

bool aligned(const void* p) {
  return reinterpret_cast<uintptr_t>(p) % kDirectAlignment == 0;
}

// A heap buffer aligned for O_DIRECT, for callers whose buffers are not.
struct BounceBuffer {
  explicit BounceBuffer(size_t n)
      : data(static_cast<std::byte*>(std::aligned_alloc(kDirectAlignment, n))) {}
  ~BounceBuffer() { std::free(data); }
  std::byte* data;
};

// Does copy_file_range work inside this file? A zero-length call answers without moving data.
bool probe_copy_file_range(int fd) {
  loff_t in = 0, out = 0;
  return copy_file_range(fd, &in, fd, &out, 0, 0) == 0;
}

}  // namespace

Result<std::unique_ptr<FileDevice>> FileDevice::open(const std::string& path,
                                                     const FileDeviceOptions& o) {
  if (o.block_size < 512 || (o.block_size & (o.block_size - 1)) != 0) {
    return fail(Errc::kInvalidArgument,
                "block size " + std::to_string(o.block_size) + " is not a power of two >= 512");
  }
  int flags = (o.read_only ? O_RDONLY : O_RDWR) | O_CLOEXEC;
  if (o.direct) flags |= O_DIRECT;
  int fd = ::open(path.c_str(), flags);
  if (fd < 0) return tl::unexpected(sys_error(errno, "cannot open " + path));
  struct stat st;
  if (fstat(fd, &st) != 0) {
    int e = errno;
    ::close(fd);
    return tl::unexpected(sys_error(e, "cannot stat " + path));
  }
  uint64_t bytes = 0;
  bool is_block = S_ISBLK(st.st_mode);
  if (is_block) {
    if (ioctl(fd, BLKGETSIZE64, &bytes) != 0) {
      int e = errno;
      ::close(fd);
      return tl::unexpected(sys_error(e, "cannot read the size of " + path));
    }
  } else if (S_ISREG(st.st_mode)) {
    bytes = static_cast<uint64_t>(st.st_size);
  } else {
    ::close(fd);
    return fail(Errc::kInvalidArgument, path + " is neither a regular file nor a block device");
  }
  if (bytes % o.block_size != 0 || bytes == 0) {
    ::close(fd);
    return fail(Errc::kInvalidArgument, path + ": size " + std::to_string(bytes) +
                                            " bytes is not a positive multiple of the " +
                                            std::to_string(o.block_size) + "-byte block size");
  }
  bool offload = o.copy_offload_supported && !is_block && !o.read_only && probe_copy_file_range(fd);
  return std::unique_ptr<FileDevice>(
      new FileDevice(path, fd, is_block, o.direct, o.read_only, o, bytes / o.block_size, offload));
}

FileDevice::FileDevice(std::string path, int fd, bool is_block_device, bool direct, bool read_only,
                       const FileDeviceOptions& o, uint64_t blocks, bool offload)
    : BlockDevice("file:" + path, o.block_size, blocks, offload, o.hw_copy_limits),
      path_(std::move(path)),
      fd_(fd),
      is_block_device_(is_block_device),
      direct_(direct),
      read_only_(read_only) {
  start_workers(o.workers);
}

FileDevice::~FileDevice() {
  stop_workers();
  ::close(fd_);
}

Status FileDevice::do_read(uint64_t lba, std::span<std::byte> buf) {
  std::unique_ptr<BounceBuffer> bounce;
  std::byte* into = buf.data();
  if (direct_ && !aligned(into)) {
    bounce = std::make_unique<BounceBuffer>(buf.size());
    if (bounce->data == nullptr) return fail(Errc::kNoSpace, ENOMEM, "O_DIRECT bounce buffer");
    into = bounce->data;
  }
  size_t done = 0;
  const off_t base = static_cast<off_t>(lba * block_size());
  while (done < buf.size()) {
    ssize_t n = pread(fd_, into + done, buf.size() - done, base + static_cast<off_t>(done));
    if (n < 0) {
      if (errno == EINTR) continue;
      return tl::unexpected(
          sys_error(errno, "read of " + path_ + " at block " + std::to_string(lba)));
    }
    if (n == 0) {
      return fail(Errc::kIoError, "read of " + path_ + " at block " + std::to_string(lba) +
                                      ": unexpected end of file");
    }
    done += static_cast<size_t>(n);
  }
  if (bounce) std::memcpy(buf.data(), into, buf.size());
  return {};
}

Status FileDevice::do_write(uint64_t lba, std::span<const std::byte> buf) {
  if (read_only_) return fail(Errc::kReadOnly, path_ + " is open read-only");
  std::unique_ptr<BounceBuffer> bounce;
  const std::byte* from = buf.data();
  if (direct_ && !aligned(from)) {
    bounce = std::make_unique<BounceBuffer>(buf.size());
    if (bounce->data == nullptr) return fail(Errc::kNoSpace, ENOMEM, "O_DIRECT bounce buffer");
    std::memcpy(bounce->data, from, buf.size());
    from = bounce->data;
  }
  size_t done = 0;
  const off_t base = static_cast<off_t>(lba * block_size());
  while (done < buf.size()) {
    ssize_t n = pwrite(fd_, from + done, buf.size() - done, base + static_cast<off_t>(done));
    if (n < 0) {
      if (errno == EINTR) continue;
      return tl::unexpected(
          sys_error(errno, "write of " + path_ + " at block " + std::to_string(lba)));
    }
    done += static_cast<size_t>(n);
  }
  return {};
}

Status FileDevice::do_flush() {
  if (read_only_) return {};
  if (fdatasync(fd_) != 0) return tl::unexpected(sys_error(errno, "fdatasync of " + path_));
  return {};
}

Status FileDevice::do_discard(uint64_t lba, uint64_t blocks) {
  if (read_only_) return fail(Errc::kReadOnly, path_ + " is open read-only");
  const uint64_t off = lba * block_size(), len = blocks * block_size();
  if (is_block_device_) {
    uint64_t range[2] = {off, len};
    if (ioctl(fd_, BLKDISCARD, range) != 0) {
      return tl::unexpected(sys_error(errno, "BLKDISCARD on " + path_));
    }
    return {};
  }
  if (fallocate(fd_, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, static_cast<off_t>(off),
                static_cast<off_t>(len)) != 0) {
    return tl::unexpected(sys_error(errno, "hole punch in " + path_));
  }
  return {};
}

CopyCommandResult FileDevice::do_copy(const CopyCommand& command) {
  uint64_t dst = command.dst;
  for (size_t i = 0; i < command.sources.size(); ++i) {
    const CopyRange& r = command.sources[i];
    loff_t in = static_cast<loff_t>(r.lba * block_size());
    loff_t out = static_cast<loff_t>(dst * block_size());
    size_t left = r.blocks * block_size();
    while (left > 0) {
      ssize_t n = copy_file_range(fd_, &in, fd_, &out, left, 0);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) {
        Error e =
            n < 0 ? sys_error(errno, "copy_file_range in " + path_)
                  : make_error(Errc::kIoError, "copy_file_range in " + path_ + " made no progress");
        return {tl::unexpected(std::move(e)), static_cast<uint32_t>(i)};
      }
      left -= static_cast<size_t>(n);
    }
    dst += r.blocks;
  }
  return {{}, static_cast<uint32_t>(command.sources.size())};
}

}  // namespace f2sc::blockdev
