#include "tools/f2sc-stress/device.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <condition_variable>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <optional>

#include "blockdev/uri.h"
#include "segment/mkfs.h"

namespace f2sc::stress {

namespace {

constexpr char kMarker[8] = {'s', 'r', 't', 's', 'c', 's', '2', 'f'};  // shadow.cc, little endian

blockdev::CopyCommandResult run_copy(blockdev::BlockDevice& dev, const blockdev::CopyCommand& c) {
  std::mutex mu;
  std::condition_variable cv;
  std::optional<blockdev::CopyCommandResult> result;
  dev.copy_command_async(c, [&](blockdev::CopyCommandResult r) {
    std::lock_guard lock(mu);
    result.emplace(std::move(r));
    cv.notify_one();
  });
  std::unique_lock lock(mu);
  cv.wait(lock, [&] { return result.has_value(); });
  return std::move(*result);
}

Status size_file(const std::string& path, uint64_t bytes) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) return fail(sys_error(errno, "creating " + path));
  struct stat st;
  int rc = 0;
  if (::fstat(fd, &st) == 0 && S_ISREG(st.st_mode)) rc = ::ftruncate(fd, static_cast<off_t>(bytes));
  const int err = errno;
  ::close(fd);
  if (rc != 0) return fail(sys_error(err, "sizing " + path));
  return {};
}

// $TMPDIR when set; else /dev/shm when it has room for the image and as much again (memory:
// no disk writeback stalls in the timings, and the same for both runs of `both`); else /tmp.
std::string temp_dir(uint64_t bytes) {
  const char* tmp = std::getenv("TMPDIR");
  if (tmp && *tmp) return tmp;
  struct statvfs st;
  if (::statvfs("/dev/shm", &st) == 0 && ::access("/dev/shm", W_OK) == 0 &&
      static_cast<uint64_t>(st.f_bavail) * st.f_frsize >= 2 * bytes)
    return "/dev/shm";
  return "/tmp";
}

}  // namespace

BitflipDevice::BitflipDevice(blockdev::BlockDevice& inner, uint64_t nth)
    : BlockDevice("bitflip:" + inner.name(), inner.block_size(), inner.block_count(),
                  inner.limits().copy_offload_supported, inner.limits().hw_copy),
      inner_(inner),
      nth_(nth) {}

BitflipDevice::~BitflipDevice() = default;

bool BitflipDevice::offload_enabled() const {
  return BlockDevice::offload_enabled() && inner_.offload_enabled();
}

Status BitflipDevice::do_read(uint64_t lba, std::span<std::byte> buf) {
  if (auto s = inner_.read(lba, buf); !s) return s;
  if (nth_ == 0 || flipped_.load() != 0) return {};
  const size_t bs = block_size();
  for (size_t off = 0; off + bs <= buf.size(); off += bs) {
    if (std::memcmp(buf.data() + off, kMarker, sizeof kMarker) != 0) continue;
    if (data_reads_.fetch_add(1) + 1 != nth_) continue;
    buf[off + 100] ^= std::byte{0x5a};
    flipped_.fetch_add(1);
  }
  return {};
}

Status BitflipDevice::do_write(uint64_t lba, std::span<const std::byte> buf) {
  return inner_.write(lba, buf);
}
Status BitflipDevice::do_flush() {
  return inner_.flush();
}
Status BitflipDevice::do_discard(uint64_t lba, uint64_t blocks) {
  return inner_.discard(lba, blocks);
}
blockdev::CopyCommandResult BitflipDevice::do_copy(const blockdev::CopyCommand& command) {
  return run_copy(inner_, command);
}

PreparedDevice::~PreparedDevice() {
  flip.reset();
  base.reset();
  if (!temp_path.empty()) ::unlink(temp_path.c_str());
}

Result<std::unique_ptr<PreparedDevice>> prepare_device(const Options& o) {
  auto p = std::make_unique<PreparedDevice>();
  std::string uri = o.device;
  bool format = o.mkfs;
  if (uri.empty()) {
    std::string path = temp_dir(o.size_bytes) + "/f2sc-stress-XXXXXX.img";
    int fd = ::mkstemps(path.data(), 4);
    if (fd < 0) return fail(sys_error(errno, "creating a temporary image in " + path));
    ::close(fd);
    p->temp_path = path;
    if (auto s = size_file(path, o.size_bytes); !s) return fail(s.error());
    uri = "nvme-emu:" + path;
    p->name = "nvme-emu (temporary " + std::to_string(o.size_bytes >> 20) + " MiB image)";
    format = true;
  } else {
    auto parsed = blockdev::resolve_device_uri(uri);
    if (!parsed) return fail(parsed.error());
    if (parsed->scheme == "mem") format = true;
    const bool file_backed = parsed->scheme == "file" || parsed->scheme == "nvme-emu";
    if (file_backed && parsed->target.rfind("mem:", 0) == 0) format = true;
    if (o.size_given && file_backed && parsed->target.rfind("mem:", 0) != 0) {
      if (!o.mkfs) return fail(Errc::kInvalidArgument, "--size on DEVICE needs --mkfs");
      struct stat st;
      if (::stat(parsed->target.c_str(), &st) == 0 && !S_ISREG(st.st_mode))
        return fail(Errc::kInvalidArgument, "--size needs a regular file: " + parsed->target);
      if (auto s = size_file(parsed->target, o.size_bytes); !s) return fail(s.error());
    }
    p->name = uri;
  }
  if (!o.device.empty() && !format) {
    auto parsed = blockdev::resolve_device_uri(uri);
    struct stat st;
    if (parsed && parsed->scheme != "mem" && parsed->target.rfind("mem:", 0) != 0 &&
        ::stat(parsed->target.c_str(), &st) != 0 && errno == ENOENT)
      return fail(Errc::kInvalidArgument,
                  parsed->target + " does not exist: add --mkfs --size SIZE to create an image");
  }
  auto dev = blockdev::open_device(uri);
  if (!dev) return fail(with_context(dev.error(), "opening " + uri));
  p->base = std::move(*dev);
  if (format) {
    segment::MkfsOptions mo;
    mo.reproducible = true;
    auto plan = segment::format(*p->base, mo);
    if (!plan) return fail(with_context(plan.error(), "formatting " + uri));
  } else {
    auto has = segment::has_f2fs_superblock(*p->base);
    if (!has) return fail(has.error());
    if (!*has) return fail(Errc::kInvalidArgument, uri + " holds no F2FS filesystem: add --mkfs");
  }
  if (o.inject_bitflip) p->flip = std::make_unique<BitflipDevice>(*p->base, o.inject_bitflip);
  return p;
}

}  // namespace f2sc::stress
