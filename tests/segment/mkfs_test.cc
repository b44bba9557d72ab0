// mkfs.f2sc against the real tools: fsck.f2fs --dry-run judges our images, and our geometry
// must equal mkfs.f2fs 1.15's byte for byte (superblock and checkpoint header) except the
// version strings and the random checkpoint version.
#include <sys/stat.h>

#include <cstring>
#include <fstream>
#include <vector>

#include <catch2/catch.hpp>

#include "blockdev/memory_device.h"
#include "blockdev/uri.h"
#include "segment/checkpoint.h"
#include "segment/crc.h"
#include "segment/image.h"
#include "segment/mkfs.h"
#include "test_util.h"

namespace f2sc::segment {
namespace {

using testing::fsck_clean;
using testing::mkfs_f2sc;
using testing::run;
using testing::TempImage;

std::vector<uint8_t> read_bytes(const std::string& path, uint64_t off, size_t n) {
  std::ifstream f(path, std::ios::binary);
  std::vector<uint8_t> b(n);
  f.seekg(static_cast<std::streamoff>(off));
  f.read(reinterpret_cast<char*>(b.data()), static_cast<std::streamsize>(n));
  return b;
}

TEST_CASE("f2fs crc32 is zlib's crc without the inversions, seeded with the magic") {
  // Bitwise reference of the reflected CRC (what f2fs-tools computes).
  auto ref = [](uint32_t crc, const uint8_t* p, size_t n) {
    while (n--) {
      crc ^= *p++;
      for (int i = 0; i < 8; ++i) crc = (crc >> 1) ^ ((crc & 1) ? 0xEDB88320u : 0);
    }
    return crc;
  };
  std::vector<uint8_t> buf(4096);
  for (size_t i = 0; i < buf.size(); ++i) buf[i] = static_cast<uint8_t>(i * 131 + 7);
  for (size_t len : {0ul, 1ul, 7ul, 4092ul, 4096ul})
    CHECK(f2fs_crc32(buf.data(), len) == ref(kMagic, buf.data(), len));
}

struct Case {
  const char* size;
  const char* opts;
};

TEST_CASE("mkfs.f2sc images pass fsck.f2fs and match mkfs.f2fs geometry") {
  const Case cases[] = {
      {"52M", ""},
      {"64M", ""},
      {"200M", "-s 4"},
      {"256M", "-o 5"},
      {"1G", "-l f2sc-vol"},
      {"1G", "-s 4 -o 10"},
      {"3G", "-s 2 -z 2"},
      {"16G", ""},
      {"64G", ""},
      {"64G", "-s 4 -l big"},
      {"4T", ""},  // 4 TiB: SIT bitmap in cp_payload
  };
  for (const Case& c : cases) {
    DYNAMIC_SECTION(c.size << " " << c.opts) {
      auto bytes = blockdev::parse_size(c.size);
      REQUIRE(bytes);
      TempImage ours(*bytes), theirs(*bytes);
      const std::string uuid = "-U 0f2f5c00-1111-4222-8333-444455556666";
      auto a = run(mkfs_f2sc() + " -q -r " + uuid + " " + c.opts + " " + ours.path());
      REQUIRE(a.status == 0);
      auto b = run("mkfs.f2fs -q -f -r -T 0 " + uuid + " " + c.opts + " " + theirs.path());
      REQUIRE(b.status == 0);
      std::string out;
      bool clean = fsck_clean(ours.path(), &out);
      INFO(out);
      CHECK(clean);
      // Superblocks equal except the version strings.
      auto sa = read_bytes(ours.path(), 1024, sizeof(SuperBlock));
      auto sb = read_bytes(theirs.path(), 1024, sizeof(SuperBlock));
      auto* A = reinterpret_cast<SuperBlock*>(sa.data());
      auto* B = reinterpret_cast<SuperBlock*>(sb.data());
      std::memset(A->version, 0, 512);
      std::memset(B->version, 0, 512);
      CHECK(std::memcmp(A, B, sizeof(SuperBlock)) == 0);
      // Checkpoint pack 0 header equal except the version and crc.
      uint64_t cp = uint64_t{A->cp_blkaddr} * kBlockSize;
      auto ca = read_bytes(ours.path(), cp, kBlockSize);
      auto cb = read_bytes(theirs.path(), cp, kBlockSize);
      std::memset(ca.data(), 0, 8);
      std::memset(cb.data(), 0, 8);
      std::memset(ca.data() + kCpChecksumOffset, 0, 4);
      std::memset(cb.data() + kCpChecksumOffset, 0, 4);
      CHECK(ca == cb);
      // Our reader accepts both.
      for (const std::string* p : {&ours.path(), &theirs.path()}) {
        auto dev = blockdev::open_device("file:" + *p);
        REQUIRE(dev);
        auto img = open_image(**dev);
        INFO(*p << ": " << (img ? std::string() : img.error().message));
        CHECK(img);
      }
      // Sparse: far less allocated than the size.
      struct stat st;
      REQUIRE(stat(ours.path().c_str(), &st) == 0);
      CHECK(uint64_t(st.st_blocks) * 512 < std::max<uint64_t>(*bytes / 64, 8u << 20));
    }
  }
}

TEST_CASE("mkfs.f2sc and mkfs.f2fs agree on the smallest device") {
  MkfsOptions o;
  uint64_t ours_min = 0;
  for (uint64_t mib = 8; mib < 80 && !ours_min; ++mib)
    if (plan_format(o, mib << 20)) ours_min = mib;
  REQUIRE(ours_min > 0);
  TempImage below((ours_min - 1) << 20), at(ours_min << 20);
  CHECK(run("mkfs.f2fs -q -f " + below.path()).status != 0);
  CHECK(run("mkfs.f2fs -q -f " + at.path()).status == 0);
  CHECK(run(mkfs_f2sc() + " -q " + below.path()).status != 0);
  TempImage at2(ours_min << 20);
  REQUIRE(run(mkfs_f2sc() + " -q " + at2.path()).status == 0);
  std::string out;
  bool clean = fsck_clean(at2.path(), &out);
  INFO(out);
  CHECK(clean);
}

TEST_CASE("mkfs.f2sc -r is reproducible and refuses to overwrite without -f") {
  TempImage a(256 << 20), b(256 << 20);
  REQUIRE(run(mkfs_f2sc() + " -q -r -l same " + a.path()).status == 0);
  REQUIRE(run(mkfs_f2sc() + " -q -r -l same " + b.path()).status == 0);
  CHECK(run("cmp -s " + a.path() + " " + b.path()).status == 0);
  auto again = run(mkfs_f2sc() + " -q " + a.path());
  CHECK(again.status == 1);
  CHECK(again.output.find("use -f") != std::string::npos);
  CHECK(run(mkfs_f2sc() + " -q -f " + a.path()).status == 0);
  CHECK(run("cmp -s " + a.path() + " " + b.path()).status != 0);  // new uuid/version
  // Also refuses an image made by mkfs.f2fs.
  TempImage c(256 << 20);
  REQUIRE(run("mkfs.f2fs -q -f " + c.path()).status == 0);
  CHECK(run(mkfs_f2sc() + " -q " + c.path()).status == 1);
}

TEST_CASE("mkfs.f2sc refuses any filesystem or partition table without -f, as mkfs.f2fs") {
  {
    TempImage ext4(64 << 20);
    REQUIRE(run("mkfs.ext4 -q -F " + ext4.path()).status == 0);
    for (const std::string& name : {ext4.path(), "file:" + ext4.path()}) {
      auto r = run(mkfs_f2sc() + " -q " + name);
      INFO(r.output);
      CHECK(r.status == 1);
      CHECK(r.output.find("a filesystem (ext4); use -f") != std::string::npos);
    }
    CHECK(run("blkid -p -s TYPE -o value " + ext4.path()).output == "ext4\n");  // untouched
    // --size on an existing image would resize it: refused the same way.
    CHECK(run(mkfs_f2sc() + " -q --size 128M " + ext4.path()).status == 1);
    REQUIRE(run(mkfs_f2sc() + " -q -f " + ext4.path()).status == 0);
    CHECK(run("blkid -p -s TYPE -o value " + ext4.path()).output == "f2fs\n");
  }
  // A DOS partition table: one Linux partition and the boot signature.
  TempImage disk(64 << 20);
  {
    std::fstream f(disk.path(), std::ios::in | std::ios::out | std::ios::binary);
    const unsigned char entry[16] = {0, 0, 0, 0, 0x83, 0, 0, 0, 0, 8, 0, 0, 0, 0x50, 0, 0};
    f.seekp(446);
    f.write(reinterpret_cast<const char*>(entry), sizeof entry);
    f.seekp(510);
    f.write("\x55\xaa", 2);
  }
  auto r = run(mkfs_f2sc() + " -q " + disk.path());
  INFO(r.output);
  CHECK(r.status == 1);
  CHECK(r.output.find("a partition table (dos)") != std::string::npos);
  // An image of zeros holds nothing: no -f needed.
  TempImage zeros(64 << 20);
  CHECK(run(mkfs_f2sc() + " -q " + zeros.path()).status == 0);
}

TEST_CASE("mkfs.f2sc --size creates a sparse image; -t 0 zero-fills metadata") {
  TempImage dir_anchor(0);
  std::string path = dir_anchor.path() + ".img";
  auto r = run(mkfs_f2sc() + " -q --size 2G " + path);
  REQUIRE(r.status == 0);
  struct stat st;
  REQUIRE(stat(path.c_str(), &st) == 0);
  CHECK(st.st_size == (2ll << 30));
  CHECK(st.st_blocks * 512 < (1 << 20));
  std::string out;
  bool clean = fsck_clean(path, &out);
  INFO(out);
  CHECK(clean);
  // -t 0 on a device full of garbage: SIT/NAT must be zeroed by hand.
  REQUIRE(
      run("dd if=/dev/urandom of=" + path + " bs=1M count=64 conv=notrunc status=none").status ==
      0);
  REQUIRE(run(mkfs_f2sc() + " -q -f -t 0 " + path).status == 0);
  clean = fsck_clean(path, &out);
  INFO(out);
  CHECK(clean);
  CHECK(run(mkfs_f2sc() + " --size 1Q " + path).status == 2);
  unlink(path.c_str());
}

TEST_CASE("format() on a memory device opens as a valid image") {
  auto dev = blockdev::MemoryDevice::create({.block_size = 4096, .block_count = 65536});
  REQUIRE(dev);
  MkfsOptions o;
  o.reproducible = true;
  auto plan = format(**dev, o);
  REQUIRE(plan);
  auto img = open_image(**dev);
  REQUIRE(img);
  CHECK((img->cp.version() & 1) == 1);
  CHECK(img->cp.pack == 0);
  CHECK(testing::val(img->cp.head().valid_block_count) == 2);
  auto root = read_nat_entry(**dev, *img, 3);
  REQUIRE(root);
  CHECK(testing::val(root->block_addr) ==
        img->super.layout.seg_start(img->cp.curseg(Log::kHotNode).segno));
}

}  // namespace
}  // namespace f2sc::segment
