// FileDevice on the machine's filesystem and on XFS over a loop device (root only), and
// device URIs.
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <random>

#include <catch2/catch.hpp>

#include "blockdev/file_device.h"
#include "blockdev/memory_device.h"
#include "blockdev/uri.h"
#include "tests/support/copy_test_util.h"
#include "tests/support/temp_file.h"

namespace f2sc::blockdev {
namespace {

using testing::fill;
using testing::model_copy;
using testing::random_request;
using testing::snapshot;
using testing::TempFile;

constexpr uint32_t kBs = 4096;

// Random copies through a FileDevice at `path`, offloaded then emulated, against the model.
void exercise_file(const std::string& dir) {
  constexpr uint64_t kBlocks = 512;
  TempFile a(kBlocks * kBs, dir), b(kBlocks * kBs, dir);
  auto off = FileDevice::open(a.path(), {});
  auto emu = FileDevice::open(b.path(), {});
  REQUIRE(off);
  REQUIRE(emu);
  REQUIRE((*off)->limits().copy_offload);
  REQUIRE((*emu)->set_copy_offload(false));
  fill(**off, 21);
  fill(**emu, 21);
  auto model = snapshot(**off);
  std::mt19937_64 rng(21);
  for (int i = 0; i < 20; ++i) {
    CopyRequest req = random_request(rng, kBlocks, 8, 40);
    auto before = (*off)->stats();
    auto r1 = (*off)->copy(req);
    auto r2 = (*emu)->copy(req);
    REQUIRE(r1);
    REQUIRE(r2);
    CHECK(r1->blocks_offloaded == req.total_blocks());
    CHECK(((*off)->stats() - before).bytes_read == 0);
    model_copy(model, kBs, req);
  }
  REQUIRE((*off)->flush());
  CHECK(testing::same_bytes(snapshot(**off), model));
  CHECK(testing::same_bytes(snapshot(**emu), model));
}

TEST_CASE("FileDevice offloads with copy_file_range on the test machine's filesystem") {
  exercise_file("");
}

TEST_CASE("FileDevice with O_DIRECT reads and writes unaligned caller buffers") {
  TempFile f(64 * kBs);
  FileDeviceOptions o;
  o.direct = true;
  auto dev = FileDevice::open(f.path(), o);
  if (!dev && dev.error().sys_errno == EINVAL) {
    WARN("SKIP: this filesystem does not support O_DIRECT");
    return;
  }
  REQUIRE(dev);
  std::vector<std::byte> raw(3 * kBs + 1);
  std::span<std::byte> unaligned(raw.data() + 1, 3 * kBs);
  auto data = testing::random_bytes(3 * kBs, 9);
  std::copy(data.begin(), data.end(), unaligned.begin());
  REQUIRE((*dev)->write(5, unaligned));
  std::fill(unaligned.begin(), unaligned.end(), std::byte{0});
  REQUIRE((*dev)->read(5, unaligned));
  CHECK(std::equal(data.begin(), data.end(), unaligned.begin()));
}

TEST_CASE("FileDevice refuses files that are not a whole number of blocks, and missing files") {
  TempFile f(kBs + 100);
  auto dev = FileDevice::open(f.path(), {});
  REQUIRE_FALSE(dev);
  CHECK(dev.error().message.find("not a positive multiple") != std::string::npos);
  auto missing = FileDevice::open("/nonexistent/f2sc.img", {});
  REQUIRE_FALSE(missing);
  CHECK(missing.error().code == Errc::kNotFound);
}

TEST_CASE("FileDevice read-only refuses writes and offload") {
  TempFile f(16 * kBs);
  FileDeviceOptions o;
  o.read_only = true;
  auto dev = FileDevice::open(f.path(), o);
  REQUIRE(dev);
  CHECK_FALSE((*dev)->limits().copy_offload_supported);
  auto s = (*dev)->write(0, std::vector<std::byte>(kBs));
  REQUIRE_FALSE(s);
  CHECK(s.error().code == Errc::kReadOnly);
}

TEST_CASE("FileDevice discard punches a hole that reads as zeros") {
  TempFile f(16 * kBs);
  auto dev = FileDevice::open(f.path(), {});
  REQUIRE(dev);
  fill(**dev, 2);
  REQUIRE((*dev)->discard(4, 4));
  std::vector<std::byte> back(4 * kBs);
  REQUIRE((*dev)->read(4, back));
  CHECK(std::all_of(back.begin(), back.end(), [](std::byte b) { return b == std::byte{0}; }));
}

// XFS shares extents on copy_file_range (reflink): the path the issue asks us to prove.
TEST_CASE("FileDevice offloads on XFS over a loop device") {
  if (geteuid() != 0) {
    WARN("SKIP: not root, cannot mount an XFS loop image");
    return;
  }
  if (std::system("command -v mkfs.xfs >/dev/null 2>&1") != 0) {
    WARN("SKIP: mkfs.xfs is not installed (Debian xfsprogs)");
    return;
  }
  TempFile image(512ull << 20);
  char dir_template[] = "/tmp/f2sc-xfs-XXXXXX";
  REQUIRE(mkdtemp(dir_template) != nullptr);
  std::string dir = dir_template;
  std::string cmd = "mkfs.xfs -q -f " + image.path() + " && mount -o loop " + image.path() + " " +
                    dir + " 2>/dev/null";
  if (std::system(cmd.c_str()) != 0) {
    rmdir(dir.c_str());
    WARN("SKIP: cannot mount an XFS loop image here (no loop devices?)");
    return;
  }
  struct Unmount {
    std::string dir;
    ~Unmount() {
      umount2(dir.c_str(), MNT_DETACH);
      rmdir(dir.c_str());
    }
  } unmount{dir};
  exercise_file(dir);
}

TEST_CASE("sizes parse with binary suffixes") {
  CHECK(*parse_size("4096") == 4096);
  CHECK(*parse_size("64K") == 64 << 10);
  CHECK(*parse_size("16M") == 16 << 20);
  CHECK(*parse_size("2GiB") == 2ull << 30);
  CHECK(*parse_size("1T") == 1ull << 40);
  CHECK_FALSE(parse_size("12X"));
  CHECK_FALSE(parse_size(""));
  CHECK_FALSE(parse_size("M"));
  CHECK_FALSE(parse_size("99999999999999999999"));
  CHECK_FALSE(parse_size("16777216T"));
}

TEST_CASE("device URIs open memory and file devices with their options") {
  auto mem =
      open_device("mem:1M?bs=512&max_copy_nr_ranges=3&max_copy_range_sectors=7&max_copy_sectors=9");
  REQUIRE(mem);
  CHECK((*mem)->block_size() == 512);
  CHECK((*mem)->block_count() == 2048);
  CHECK((*mem)->limits().hw_copy == CopyLimits{9, 3, 7});

  auto no_copy = open_device("mem:64K?copy=0");
  REQUIRE(no_copy);
  CHECK_FALSE((*no_copy)->limits().copy_offload_supported);
  auto off = open_device("mem:64K?offload=0");
  REQUIRE(off);
  CHECK((*off)->limits().copy_offload_supported);
  CHECK_FALSE((*off)->limits().copy_offload);

  TempFile f(16 * kBs);
  auto plain = open_device(f.path());
  REQUIRE(plain);
  CHECK((*plain)->block_count() == 16);
  auto forced = open_device("file:" + f.path() + "?ro=1");
  REQUIRE(forced);
  CHECK_FALSE((*forced)->write(0, std::vector<std::byte>(kBs)));
}

TEST_CASE("bad device URIs fail with a clear message") {
  struct Case {
    const char* uri;
    const char* says;
  };
  for (const Case& c :
       {Case{"", "empty device name"}, Case{"bogus:x", "unknown device scheme"},
        Case{"mem:", "names no size"}, Case{"mem:10K?bs=4096", "multiple"},
        Case{"mem:1M?bs=1000", "power of two"}, Case{"mem:1M?frob=1", "unknown option 'frob'"},
        Case{"mem:1M?bs", "key=value"}, Case{"mem:1M?max_copy_sectors=0", "must be between 1 and"},
        Case{"mem:1M?max_copy_nr_ranges=4294967296", "must be between 1 and"},
        Case{"mem:1M?workers=100000000", "must be between 0 and 64"},
        Case{"mem:1M?workers=x", "not a non-negative integer"},
        Case{"file:/nonexistent/x.img", "cannot open"}}) {
    INFO(c.uri);
    auto d = open_device(c.uri);
    REQUIRE_FALSE(d);
    CHECK(d.error().message.find(c.says) != std::string::npos);
  }
}

}  // namespace
}  // namespace f2sc::blockdev
