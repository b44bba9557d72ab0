// NvmeDevice over the EmulatedController: limits from Identify, offload with only descriptors
// on the host interface, emulation when Copy is absent or switched off, byte-identical
// results both ways, the wire splitting, and the fallback after a partial Copy failure.
#include <fcntl.h>
#include <linux/magic.h>
#include <sys/mman.h>
#include <sys/vfs.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <condition_variable>
#include <mutex>
#include <optional>
#include <random>

#include <catch2/catch.hpp>

#include "blockdev/file_device.h"
#include "blockdev/nvme_device.h"
#include "blockdev/uri.h"
#include "nvme/backing_store.h"
#include "nvme_test_util.h"
#include "tests/support/copy_test_util.h"

namespace f2sc::blockdev {
namespace {

using nvme::testing::TempImage;

constexpr uint32_t kBs = 4096;

std::unique_ptr<NvmeDevice> open_nvme(const std::string& uri) {
  auto d = open_device(uri);
  REQUIRE(d);
  auto* nvme = dynamic_cast<NvmeDevice*>(d->get());
  REQUIRE(nvme != nullptr);
  d->release();
  return std::unique_ptr<NvmeDevice>(nvme);
}

nvme::EmulatedController& emulated(NvmeDevice& d) {
  return dynamic_cast<nvme::EmulatedController&>(d.controller());
}

using testing::fill;
using testing::model_copy;
using testing::random_request;
using testing::snapshot;

TEST_CASE("NvmeDevice takes its geometry and copy limits from Identify") {
  auto d = open_nvme("nvme-emu:mem:1M?mssrl=16&mcl=32&msrc=3");
  CHECK(d->block_size() == 4096);
  CHECK(d->block_count() == 256);
  QueueLimits l = d->limits();
  CHECK(l.copy_offload_supported);
  CHECK(l.copy_offload);
  CHECK(l.hw_copy == CopyLimits{32, 4, 16});  // MCL, MSRC+1, MSSRL
  CHECK(d->max_transfer_blocks() == 128);     // MDTS 7 = 512 KiB

  auto small = open_nvme("nvme-emu:mem:1M?lba=512&mdts=3");
  CHECK(small->block_size() == 512);
  CHECK(small->block_count() == 2048);
  CHECK(small->max_transfer_blocks() == 64);                    // 32 KiB
  CHECK(small->limits().hw_copy == CopyLimits{128, 128, 128});  // QEMU's defaults

  auto none = open_nvme("nvme-emu:mem:1M?copy=0");
  CHECK_FALSE(none->limits().copy_offload_supported);
  CHECK_FALSE(none->set_copy_offload(true));
  auto off = open_nvme("nvme-emu:mem:1M?offload=0");
  CHECK(off->limits().copy_offload_supported);
  CHECK_FALSE(off->limits().copy_offload);
}

TEST_CASE("NvmeDevice splits reads and writes to MDTS and discards with DSM") {
  auto d = open_nvme("nvme-emu:mem:4M?mdts=3");  // 8 blocks per transfer
  auto data = nvme::testing::random_bytes(100 * kBs, 1);
  REQUIRE(d->write(3, data));
  std::vector<std::byte> back(100 * kBs);
  REQUIRE(d->read(3, back));
  CHECK(back == data);
  auto s = emulated(*d).stats();
  CHECK(s.writes == 13);  // ceil(100 / 8)
  CHECK(s.reads == 13);
  REQUIRE(d->discard(10, 20));
  REQUIRE(d->read(3, back));
  CHECK(std::all_of(back.begin() + 7 * kBs, back.begin() + 27 * kBs,
                    [](std::byte b) { return b == std::byte{0}; }));
  CHECK(std::equal(back.begin() + 27 * kBs, back.end(), data.begin() + 27 * kBs));
  CHECK(emulated(*d).stats().dsm == 1);
  REQUIRE(d->flush());
  CHECK(emulated(*d).stats().flushes == 1);
}

TEST_CASE("split_nvme_copy never exceeds MSSRL, MCL or MSRC and keeps the order") {
  std::mt19937_64 rng(7);
  for (int round = 0; round < 200; ++round) {
    CopyLimits limits{1 + rng() % 64, static_cast<uint32_t>(1 + rng() % 8), 1 + rng() % 20};
    CopyCommand cmd;
    cmd.dst = rng() % 1000;
    for (int i = 0, n = 1 + rng() % 10; i < n; ++i)
      cmd.sources.push_back({rng() % 5000, 1 + rng() % 70});
    auto wire = split_nvme_copy(cmd, limits);
    // Concatenating the pieces gives back the sources, destinations back to back.
    uint64_t dst = cmd.dst;
    size_t src = 0;
    uint64_t consumed = 0;
    for (const auto& c : wire) {
      REQUIRE(!c.pieces.empty());
      CHECK(c.pieces.size() <= limits.max_copy_nr_ranges);
      CHECK(c.sdlba == dst);
      uint64_t total = 0;
      for (const auto& p : c.pieces) {
        CHECK(p.blocks >= 1);
        CHECK(p.blocks <= limits.max_copy_range_sectors);
        REQUIRE(src < cmd.sources.size());
        CHECK(p.source_index == src);
        CHECK(p.lba == cmd.sources[src].lba + consumed);
        consumed += p.blocks;
        if (consumed == cmd.sources[src].blocks) {
          ++src;
          consumed = 0;
        }
        total += p.blocks;
      }
      CHECK(total <= limits.max_copy_sectors);
      dst += total;
    }
    CHECK(src == cmd.sources.size());
  }
}

// The property: for seeded random requests, offload, switched-off offload and a device
// without Copy give the same bytes as the model; offload moves only descriptors.
TEST_CASE("copies on NvmeDevice: offload carries only descriptors, results identical") {
  for (uint64_t seed : {11u, 12u, 13u}) {
    INFO("seed " << seed);
    constexpr uint64_t kBlocks = 512;
    auto off = open_nvme("nvme-emu:mem:2M?mssrl=16&mcl=40&msrc=5");
    auto switched = open_nvme("nvme-emu:mem:2M?mssrl=16&mcl=40&msrc=5&offload=0");
    auto no_copy = open_nvme("nvme-emu:mem:2M?copy=0");
    for (auto* d : {off.get(), switched.get(), no_copy.get()}) fill(*d, seed);
    auto model = snapshot(*off);
    std::mt19937_64 rng(seed);
    for (int i = 0; i < 25; ++i) {
      CopyRequest req = random_request(rng, kBlocks, 12, 40);
      auto before = off->stats();
      emulated(*off).reset_stats();
      auto r1 = off->copy(req);
      REQUIRE(r1);
      CHECK(r1->blocks_offloaded == req.total_blocks());
      CHECK(r1->blocks_emulated == 0);
      auto delta = off->stats() - before;
      CHECK(delta.bytes_read == 0);
      CHECK(delta.bytes_written == 0);
      CHECK(delta.copy_descriptor_bytes == delta.copy_ranges * 32);
      // The controller's own view of its host link: the descriptors and nothing else.
      auto wire = emulated(*off).stats();
      CHECK(wire.bytes_to_host == 0);
      CHECK(wire.bytes_to_device == wire.copy_ranges * 32);
      CHECK(wire.errors == 0);  // no command broke MSSRL, MCL or MSRC
      CHECK(wire.bytes_copied_in_device == req.total_blocks() * kBs);

      for (auto* d : {switched.get(), no_copy.get()}) {
        emulated(*d).reset_stats();
        auto r = d->copy(req);
        REQUIRE(r);
        CHECK(r->blocks_emulated == req.total_blocks());
        CHECK(emulated(*d).stats().copies == 0);
        CHECK(emulated(*d).stats().bytes_to_host == req.total_blocks() * kBs);
      }
      model_copy(model, kBs, req);
    }
    CHECK(snapshot(*off) == model);
    CHECK(snapshot(*switched) == model);
    CHECK(snapshot(*no_copy) == model);
  }
}

TEST_CASE("a partially failed Copy continues by emulation from the range DW0 names") {
  auto d = open_nvme("nvme-emu:mem:1M?mssrl=16&mcl=64&msrc=7");
  fill(*d, 21);
  auto model = snapshot(*d);
  CopyRequest req;
  req.sources = {{0, 4}, {10, 6}, {30, 5}, {50, 3}};
  req.dst = 100;
  emulated(*d).inject_copy_fault(2, nvme::Status::error(nvme::StatusCodeType::kMediaError,
                                                        nvme::kScUnrecoveredReadError, false));
  auto before = d->stats();
  auto r = d->copy(req);
  REQUIRE(r);
  CHECK(r->failed_commands == 1);
  CHECK(r->blocks_offloaded == 10);  // ranges 0 and 1
  CHECK(r->blocks_emulated == 8);    // ranges 2 and 3
  CHECK(r->emulation_reason.find("Unrecovered Read Error") != std::string::npos);
  CHECK((d->stats() - before).bytes_read == 8 * kBs);
  model_copy(model, kBs, req);
  CHECK(snapshot(*d) == model);
}

TEST_CASE("async copies on NvmeDevice run concurrently and all land") {
  auto d = open_nvme("nvme-emu:mem:4M?mssrl=8&mcl=24&msrc=3&queues=2&workers=2");
  fill(*d, 31);
  auto model = snapshot(*d);
  std::mutex mu;
  std::condition_variable cv;
  int pending = 8, failures = 0;
  for (int i = 0; i < 8; ++i) {
    CopyRequest req;
    req.sources = {{uint64_t(i) * 20, 10}, {uint64_t(i) * 20 + 12, 5}};  // below block 160
    req.dst = 200 + uint64_t(i) * 20;
    model_copy(model, kBs, req);
    d->copy_async(req, [&](Result<CopyResult> r) {
      std::lock_guard lock(mu);
      if (!r || r->blocks_offloaded != 15) failures++;
      if (--pending == 0) cv.notify_one();
    });
  }
  std::unique_lock lock(mu);
  cv.wait(lock, [&] { return pending == 0; });
  lock.unlock();
  CHECK(failures == 0);
  CHECK(snapshot(*d) == model);
}

TEST_CASE("a file-backed NvmeDevice: plain paths open nvme-emu, file: forces a FileDevice") {
  TempImage img(64 * kBs);
  {
    auto plain = open_device(img.path());
    REQUIRE(plain);
    auto* nvme = dynamic_cast<NvmeDevice*>(plain->get());
    REQUIRE(nvme != nullptr);
    CHECK(nvme->name() == "nvme-emu:" + img.path());
    fill(**plain, 41);
    CopyRequest req;
    req.sources = {{0, 8}, {20, 4}};
    req.dst = 40;
    auto model = snapshot(**plain);
    auto r = (*plain)->copy(req);
    REQUIRE(r);
    CHECK(r->blocks_offloaded == 12);
    model_copy(model, kBs, req);
    REQUIRE((*plain)->flush());
    CHECK(snapshot(**plain) == model);
  }
  auto forced = open_device("file:" + img.path());
  REQUIRE(forced);
  CHECK(dynamic_cast<FileDevice*>(forced->get()) != nullptr);
  auto lba512 = open_device("nvme-emu:" + img.path() + "?lba=512");
  REQUIRE(lba512);
  CHECK((*lba512)->block_count() == 64 * 8);
  // Paths that are not regular files keep their old behaviour.
  auto missing = open_device("/nonexistent/f2sc.img");
  REQUIRE_FALSE(missing);
  CHECK(missing.error().message.find("cannot open") != std::string::npos);
}

// Pages of [offset, offset + bytes) of the file at `path` that the page cache holds dirty
// (written, write-back not started), read from /proc/self/pagemap and /proc/kpageflags;
// nullopt where those do not tell (not root, no such files) or where the file's pages have
// no write-back to start (tmpfs, ramfs: they stay dirty).
std::optional<size_t> dirty_pages(const std::string& path, uint64_t offset, size_t bytes) {
  constexpr uint64_t kPage = 4096, kDirty = 1ull << 4, kPresent = 1ull << 63;
  struct statfs fs {};
  if (statfs(path.c_str(), &fs) != 0 || fs.f_type == TMPFS_MAGIC || fs.f_type == RAMFS_MAGIC)
    return std::nullopt;
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return std::nullopt;
  void* map = mmap(nullptr, bytes, PROT_READ, MAP_SHARED, fd, static_cast<off_t>(offset));
  ::close(fd);
  if (map == MAP_FAILED) return std::nullopt;
  const int pagemap = ::open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
  const int flags = ::open("/proc/kpageflags", O_RDONLY | O_CLOEXEC);
  std::optional<size_t> dirty;
  if (pagemap >= 0 && flags >= 0) {
    dirty = 0;
    for (size_t off = 0; off < bytes && dirty; off += kPage) {
      const auto* p = static_cast<const volatile std::byte*>(map) + off;
      (void)*p;  // map the page-cache page
      const uint64_t vpn = reinterpret_cast<uintptr_t>(p) / kPage;
      uint64_t entry = 0, pf = 0;
      const bool read_entry =
          ::pread(pagemap, &entry, 8, static_cast<off_t>(vpn * 8)) == 8 && (entry & kPresent);
      const uint64_t pfn = entry & ((1ull << 55) - 1);
      if (!read_entry || pfn == 0 || ::pread(flags, &pf, 8, static_cast<off_t>(pfn * 8)) != 8)
        dirty.reset();  // PFNs read as 0 without CAP_SYS_ADMIN
      else if (pf & kDirty)
        ++*dirty;
    }
  }
  if (pagemap >= 0) ::close(pagemap);
  if (flags >= 0) ::close(flags);
  munmap(map, bytes);
  return dirty;
}

TEST_CASE("drain: large writes start the host's write-back and read back the same") {
  // drain=1 (the default) only adds a write-back hint to writes of 256 KiB and more; the
  // data, read through the device and in the image file, must not change either way.
  for (const char* opts : {"", "?drain=1", "?drain=0"}) {
    INFO(opts);
    TempImage img(512 * kBs);
    {
      auto d = open_nvme("nvme-emu:" + img.path() + opts);
      const auto big = nvme::testing::random_bytes(nvme::BackingStore::kDrainBytes * 2, 7);
      const auto small = nvme::testing::random_bytes(kBs, 8);
      REQUIRE(d->write(16, big));
      REQUIRE(d->write(8, small));
      std::vector<std::byte> back(big.size());
      REQUIRE(d->read(16, back));
      CHECK(back == big);
      REQUIRE(d->flush());
      std::vector<std::byte> file(big.size());
      const int fd = ::open(img.path().c_str(), O_RDONLY | O_CLOEXEC);
      REQUIRE(fd >= 0);
      CHECK(::pread(fd, file.data(), file.size(), 16 * kBs) == static_cast<ssize_t>(file.size()));
      CHECK(file == big);
      CHECK(::pread(fd, file.data(), kBs, 8 * kBs) == static_cast<ssize_t>(kBs));
      CHECK(std::equal(small.begin(), small.end(), file.begin()));
      ::close(fd);
    }
  }
  // Whether write-back started: the pages a large write dirtied are dirty no longer right
  // after it with drain=1. drain=0 is the control that shows the pages can be seen dirty
  // here (root, a filesystem with write-back, no flusher run in between).
  std::optional<size_t> dirty[2];
  for (int drain : {0, 1}) {
    TempImage img(512 * kBs);
    auto d = open_nvme("nvme-emu:" + img.path() + "?drain=" + std::to_string(drain));
    const auto big = nvme::testing::random_bytes(nvme::BackingStore::kDrainBytes * 2, 9);
    REQUIRE(d->write(64, big));
    dirty[drain] = dirty_pages(img.path(), 64 * kBs, big.size());
    REQUIRE(d->flush());
  }
  if (dirty[0].value_or(0) == 0) {
    WARN(
        "page flags show no dirty pages here (not root, tmpfs, or flushed already): "
        "write-back start not checked");
  } else {
    INFO("dirty pages after a large write: drain=0 " << *dirty[0] << ", drain=1 "
                                                     << dirty[1].value_or(0));
    REQUIRE(dirty[1]);
    CHECK(*dirty[1] == 0);
  }

  auto bad = open_device("nvme-emu:mem:1M?drain=2");
  REQUIRE_FALSE(bad);
  CHECK(bad.error().message.find("drain") != std::string::npos);
}

TEST_CASE("bad nvme-emu URIs fail with a clear message") {
  struct Case {
    const char* uri;
    const char* says;
  };
  for (const Case& c : {Case{"nvme-emu:mem:1M?msrc=256", "between 0 and 255"},
                        Case{"nvme-emu:mem:1M?mssrl=0", "between 1 and 65535"},
                        Case{"nvme-emu:mem:1M?lba=1024", "512 or 4096"},
                        Case{"nvme-emu:mem:1M?link=pcie9", "unknown link"},
                        Case{"nvme-emu:mem:1M?latency_us=5", "needs link="},
                        Case{"nvme-emu:mem:1M?frob=1", "unknown option 'frob'"},
                        Case{"nvme-emu:mem:1000", "not a positive multiple"},
                        Case{"nvme-emu:/nonexistent/x.img", "cannot open"},
                        Case{"nvmx:/dev/ng0n1", "unknown device scheme"}}) {
    INFO(c.uri);
    auto d = open_device(c.uri);
    REQUIRE_FALSE(d);
    CHECK(d.error().message.find(c.says) != std::string::npos);
  }
  auto timed = open_nvme("nvme-emu:mem:1M?link=tcp1g&copy_mibps=100&latency_us=7&delay=0");
  REQUIRE(timed->write(0, std::vector<std::byte>(kBs)));
  // 4096 bytes over 125 MB/s (32768 ns), then the media at 200 MiB/s, plus 7 us.
  const uint64_t media = static_cast<uint64_t>(std::llround(4096 * 1e9 / (200.0 * 1048576)));
  CHECK(timed->simulated_ns() == 32768 + media + 7000);
  CHECK_FALSE(open_nvme("nvme-emu:mem:1M")->simulated_ns());
}

}  // namespace
}  // namespace f2sc::blockdev

namespace f2sc::blockdev {
namespace {

TEST_CASE("ro=1: a write-protected namespace reads, refuses writes and has no offload") {
  TempImage img(16 * kBs);
  std::vector<std::byte> written;
  {
    auto rw = open_device(img.path());
    REQUIRE(rw);
    fill(**rw, 51);
    written = snapshot(**rw);
  }
  auto d = open_nvme("nvme-emu:" + img.path() + "?ro=1");
  CHECK((d->identify_namespace().nsattr & 1) == 1);
  CHECK_FALSE(d->limits().copy_offload_supported);
  std::vector<std::byte> back(16 * kBs);
  REQUIRE(d->read(0, back));
  CHECK(testing::same_bytes(back, written));
  auto w = d->write(0, std::vector<std::byte>(kBs));
  REQUIRE_FALSE(w);
  CHECK(w.error().code == Errc::kReadOnly);
  CHECK(w.error().message.find("Namespace is Write Protected") != std::string::npos);
  CHECK(d->flush());
  // The controller refuses Copy, Write Zeroes and deallocation too.
  auto& c = emulated(*d);
  CHECK(nvme::testing::copy(c, {{0, 1}}, 8).status.to_passthru() == 0x4020);
  auto wz = c.execute(0, nvme::make_rw(nvme::IoOpcode::kWriteZeroes, 1, 0, 1), {});
  REQUIRE(wz);
  CHECK(wz->status.to_passthru() == 0x4020);
  CHECK_FALSE(d->discard(0, 1));
}

}  // namespace
}  // namespace f2sc::blockdev
