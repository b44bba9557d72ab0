// mkfs.f2sc: format an image file or block device as F2FS (the layout of mkfs.f2fs 1.15).
//
// Exit status: 0 formatted; 1 failure (device error, too small, existing filesystem or
// partition table without -f); 2 bad usage.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <iostream>
#include <optional>
#include <string>

#include <CLI/CLI.hpp>

#include "blockdev/uri.h"
#include "existing_fs.h"
#include "segment/mkfs.h"

namespace {

constexpr int kExitFailed = 1;
constexpr int kExitUsage = 2;

int die(int code, const std::string& msg) {
  std::cerr << "mkfs.f2sc: " << msg << "\n";
  return code;
}

// Without -f, mkfs overwrites nothing that looks like a filesystem or a partition table:
// libblkid's probe where the device is a path (as mkfs.f2fs), and the F2FS superblock check
// on every device. Returns the exit code when it must stop.
std::optional<int> refuse_existing(const std::string& device, f2sc::blockdev::BlockDevice* dev) {
  if (auto path = f2sc::mkfs::probe_path(device)) {
    auto found = f2sc::mkfs::existing_signature(*path);
    if (!found) return die(kExitFailed, found.error().message + "; use -f to format anyway");
    if (*found)
      return die(kExitFailed, device + " appears to contain " + **found + "; use -f to overwrite");
  }
  if (dev == nullptr) return std::nullopt;
  auto has = f2sc::segment::has_f2fs_superblock(*dev);
  if (!has) return die(kExitFailed, has.error().message);
  if (*has) return die(kExitFailed, device + " holds an F2FS filesystem; use -f to overwrite");
  return std::nullopt;
}

// Creates (or extends) a sparse image file of `bytes` bytes.
f2sc::Status make_image_file(const std::string& path, uint64_t bytes) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) return tl::unexpected(f2sc::sys_error(errno, "creating " + path));
  struct stat st;
  if (fstat(fd, &st) == 0 && !S_ISREG(st.st_mode)) {
    ::close(fd);
    return f2sc::fail(f2sc::Errc::kInvalidArgument, "--size needs a regular file: " + path);
  }
  int rc = ftruncate(fd, static_cast<off_t>(bytes));
  int err = errno;
  ::close(fd);
  if (rc != 0) return tl::unexpected(f2sc::sys_error(err, "sizing " + path));
  return {};
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"mkfs.f2sc: make an F2FS filesystem (layout of mkfs.f2fs 1.15)"};
  std::string device, label, uuid, size_text;
  bool force = false, quiet = false, reproducible = false;
  double overprovision = 0;
  uint32_t segs_per_sec = 1, secs_per_zone = 1;
  int trim = 1;
  app.add_option("device", device, "image file, block device, or f2sc device URI")->required();
  app.add_flag("-f,--force", force,
               "overwrite an existing filesystem or partition table (found by libblkid, as "
               "mkfs.f2fs does, and by an F2FS superblock check)");
  app.add_flag("-q,--quiet", quiet, "print nothing but errors");
  app.footer(
      "Exit status: 0 formatted; 1 failure (device error, too small, existing filesystem\n"
      "or partition table without -f); 2 bad usage.");
  app.add_option("-l,--label", label, "volume label");
  app.add_option("-o,--overprovision", overprovision,
                 "overprovision ratio in percent (default, or 0: the best, as mkfs.f2fs)")
      ->check(CLI::Range(0.0, 99.0));
  app.add_option("-s,--segs-per-section", segs_per_sec, "segments per section (GC unit)")
      ->check(CLI::Range(1u, 4096u));
  app.add_option("-z,--secs-per-zone", secs_per_zone, "sections per zone")
      ->check(CLI::Range(1u, 4096u));
  app.add_option("-U,--uuid", uuid, "volume UUID (xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx)");
  app.add_option("-t,--trim", trim, "1: discard the device first (default), 0: do not")
      ->check(CLI::IsMember({0, 1}));
  app.add_flag("-r,--reproducible", reproducible,
               "fixed seed and time: identical images for identical options");
  app.add_option("--size", size_text,
                 "create or resize DEVICE as a sparse image of SIZE (e.g. 64G)");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int rc = app.exit(e);
    return rc == 0 ? 0 : kExitUsage;
  }

  f2sc::segment::MkfsOptions opts;
  opts.label = label;
  opts.overprovision = overprovision;
  opts.segs_per_sec = segs_per_sec;
  opts.secs_per_zone = secs_per_zone;
  opts.trim = trim == 1;
  opts.reproducible = reproducible;
  if (!uuid.empty()) {
    auto u = f2sc::segment::parse_uuid(uuid);
    if (!u) return die(kExitUsage, u.error().message);
    opts.uuid = *u;
  }
  if (!size_text.empty()) {
    auto bytes = f2sc::blockdev::parse_size(size_text);
    if (!bytes) return die(kExitUsage, bytes.error().message);
    if (device.find(':') != std::string::npos && device[0] != '/' && device[0] != '.')
      return die(kExitUsage, "--size needs a plain file path, not a URI");
    struct stat st;
    bool exists = ::stat(device.c_str(), &st) == 0;
    if (exists && !force) {
      // Never resize somebody's filesystem without -f.
      auto dev = f2sc::blockdev::open_device(device);
      if (auto code = refuse_existing(device, dev ? dev->get() : nullptr)) return *code;
    }
    if (auto s = make_image_file(device, *bytes); !s) return die(kExitFailed, s.error().message);
  }
  auto dev = f2sc::blockdev::open_device(device);
  if (!dev) return die(kExitFailed, dev.error().message);
  if (!force)
    if (auto code = refuse_existing(device, dev->get())) return *code;
  const bool show_progress =
      !quiet && isatty(STDERR_FILENO) && (*dev)->size_bytes() >= (8ull << 30);
  if (show_progress) {
    opts.progress = [](uint64_t done, uint64_t total) {
      std::fprintf(stderr, "\rmkfs.f2sc: zeroing metadata %3u%%",
                   static_cast<unsigned>(done * 100 / total));
      if (done == total) std::fputc('\n', stderr);
    };
  }
  auto plan = f2sc::segment::format(**dev, opts);
  if (!plan) return die(kExitFailed, "formatting " + device + ": " + plan.error().message);
  if (!quiet) {
    const auto& sb = plan->sb;
    std::printf(
        "mkfs.f2sc: %s: %llu blocks, %u segments (%u main, %u per section), overprovision "
        "%.3f%% = %u segments (GC reserved %u)\n",
        device.c_str(), static_cast<unsigned long long>(sb.block_count), sb.segment_count,
        sb.segment_count_main, sb.segs_per_sec, plan->overprovision, plan->overprov_segments,
        plan->reserved_segments);
  }
  return 0;
}
