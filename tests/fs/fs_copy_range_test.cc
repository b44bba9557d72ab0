// FileSystem::copy_file_range and seek_data_hole on the embedded NVMe controller over an
// image file: contents after the copy, the device's host-interface counters (offload moves
// no data bytes, emulation moves every block twice), holes kept, the unaligned, short, EOF,
// overlap and error cases, crash behaviour, and fsck.f2fs --dry-run after a remount.
#include <cerrno>
#include <random>
#include <string>

#include "tests/fs/fs_test_util.h"

namespace f2sc::fs {
namespace {

using testing::bytes_of;
using testing::err_of;
using testing::random_string;
using testing::read_file;
using testing::read_str;
using testing::write_all;

constexpr uint64_t kMiB = 1 << 20;
constexpr uint64_t kBlock = 4096;

using Device = testing::Mounted;

Device mount_on(const std::string& img, bool offload, bool read_only = false) {
  MountOptions o;
  o.copy_offload = offload;
  o.checkpoint_interval_sec = 0;
  o.read_only = read_only;
  return testing::mount_uri("nvme-emu:" + img, o);
}

void require_fsck_clean(const std::string& img) {
  std::string out;
  const bool clean = testing::fsck_clean(img, &out);
  INFO(out);
  REQUIRE(clean);
}

uint32_t create(FileSystem& f, const std::string& name) {
  auto c = f.create(f.root_ino(), name, 0644, 0, 0);
  if (!c) FAIL("create " << name << ": " << c.error().message);
  return c->ino;
}

uint64_t copy(FileSystem& f, uint32_t src, uint64_t src_off, uint32_t dst, uint64_t dst_off,
              uint64_t len) {
  auto n = f.copy_file_range(src, src_off, dst, dst_off, len);
  if (!n) FAIL("copy_file_range: " << n.error().message);
  return *n;
}

uint64_t seek(FileSystem& f, uint32_t ino, uint64_t off, bool data) {
  auto r = f.seek_data_hole(ino, off, data);
  if (!r) FAIL("seek_data_hole @" << off << ": " << r.error().message);
  return *r;
}

struct Fixture {
  testing::TempDir dir;
  std::string img = (dir.path() / "img").string();
  explicit Fixture(uint64_t bytes = 128 * kMiB) { testing::mkfs_image(img, bytes, "-q"); }
};

TEST_CASE("copy_file_range: whole blocks by device copy, holes kept, in both copy modes") {
  const bool offload = GENERATE(true, false);
  INFO("copy offload " << offload);
  Fixture fx;
  Device d = mount_on(fx.img, offload);
  std::mt19937_64 rng(1);
  // 8 MiB + 123 bytes with a 1 MiB hole at 2 MiB: 1792 data blocks to copy, 256 holes, and
  // a 123-byte tail that goes through read+write.
  const uint64_t size = 8 * kMiB + 123;
  std::string want(size, '\0');
  const uint32_t src = create(*d.fs, "src");
  const std::string a = random_string(rng, 2 * kMiB), b = random_string(rng, size - 3 * kMiB);
  write_all(*d.fs, src, 0, a);
  write_all(*d.fs, src, 3 * kMiB, b);
  want.replace(0, a.size(), a);
  want.replace(3 * kMiB, b.size(), b);
  const uint32_t dst = create(*d.fs, "dst");
  REQUIRE(d->sync());

  const FsStats before = d->stats();
  d.dev->reset_stats();
  CHECK(copy(*d.fs, src, 0, dst, 0, 1ull << 40) == size);  // stops at the source's end
  const blockdev::DeviceStats dev = d.dev->stats();
  const FsStats after = d->stats();
  constexpr uint64_t kData = 1792, kHoles = 256;
  CHECK(after.copy_range_calls - before.copy_range_calls == 1);
  CHECK(after.copy_range_bytes - before.copy_range_bytes == size);
  CHECK(after.copy_range_hole_blocks - before.copy_range_hole_blocks == kHoles);
  CHECK(after.copy_range_rw_bytes - before.copy_range_rw_bytes == 123);
  CHECK(after.copy_range_requests - before.copy_range_requests >= kData / 512);
  // Host-interface traffic besides the copied blocks: the tail block (read once, written
  // once) and the source's two direct nodes, read to map it (nodes are written only at
  // the next checkpoint).
  const uint64_t other_reads = kBlock + 2 * kBlock;
  if (offload) {
    CHECK(after.copy_range_blocks_offloaded - before.copy_range_blocks_offloaded == kData);
    CHECK(after.copy_range_blocks_emulated == before.copy_range_blocks_emulated);
    CHECK(dev.copy_commands > 0);
    CHECK(dev.blocks_copied_in_device == kData);
    CHECK(dev.bytes_read <= other_reads);
    CHECK(dev.bytes_written == kBlock);
    CHECK(dev.copy_descriptor_bytes > 0);
  } else {
    CHECK(after.copy_range_blocks_emulated - before.copy_range_blocks_emulated == kData);
    CHECK(after.copy_range_blocks_offloaded == before.copy_range_blocks_offloaded);
    CHECK(dev.copy_commands == 0);
    CHECK(dev.blocks_copied_in_device == 0);
    CHECK(dev.bytes_read >= kData * kBlock);
    CHECK(dev.bytes_read <= kData * kBlock + other_reads);
    CHECK(dev.bytes_written == (kData + 1) * kBlock);
  }
  CHECK(read_file(*d.fs, dst) == want);
  // The hole is a hole in the copy too, and it uses as many blocks as its source.
  CHECK(seek(*d.fs, dst, 0, false) == 2 * kMiB);
  CHECK(seek(*d.fs, dst, 2 * kMiB, true) == 3 * kMiB);
  CHECK(d->getattr(dst)->blocks == d->getattr(src)->blocks);

  // Overwriting the source afterwards leaves the copy alone (no shared blocks).
  write_all(*d.fs, src, 0, std::string(kBlock, 'x'));
  CHECK(read_str(*d.fs, dst, 0, kBlock) == want.substr(0, kBlock));

  testing::unmount(d);
  require_fsck_clean(fx.img);
  d = mount_on(fx.img, offload);
  CHECK(read_file(*d.fs, dst) == want);
  testing::unmount(d);
}

TEST_CASE("copy_file_range: a fragmented source becomes one multi-range request per run") {
  Fixture fx;
  Device d = mount_on(fx.img, true);
  std::mt19937_64 rng(2);
  const uint32_t src = create(*d.fs, "src");
  std::string want = random_string(rng, 256 * kBlock);
  write_all(*d.fs, src, 0, want);
  // Every other block rewritten: the source's addresses alternate between two runs.
  for (uint64_t blk = 0; blk < 256; blk += 2) {
    const std::string x = random_string(rng, kBlock);
    write_all(*d.fs, src, blk * kBlock, x);
    want.replace(blk * kBlock, kBlock, x);
  }
  const uint32_t dst = create(*d.fs, "dst");
  const FsStats before = d->stats();
  d.dev->reset_stats();
  CHECK(copy(*d.fs, src, 0, dst, 0, want.size()) == want.size());
  const blockdev::DeviceStats dev = d.dev->stats();
  const uint64_t requests = d->stats().copy_range_requests - before.copy_range_requests;
  CHECK(requests >= 1);
  CHECK(requests <= 2);  // 2 when the log's segment had less room than 256 blocks
  CHECK(dev.copy_ranges > dev.copy_commands);  // several source ranges per command
  CHECK(dev.blocks_copied_in_device == 256);
  CHECK(dev.bytes_read + dev.bytes_written == 0);
  CHECK(read_file(*d.fs, dst) == want);
  testing::unmount(d);
  require_fsck_clean(fx.img);
}

TEST_CASE("copy_file_range: unaligned, short, past EOF, inline, fallocated and overwrite cases") {
  Fixture fx;
  Device d = mount_on(fx.img, true);
  std::mt19937_64 rng(3);
  const std::string data = random_string(rng, 3 * kMiB + 777);
  const uint32_t src = create(*d.fs, "src");
  write_all(*d.fs, src, 0, data);

  SECTION("same offset inside a block: head and tail by read+write, blocks by device copy") {
    const uint32_t dst = create(*d.fs, "dst");
    const FsStats before = d->stats();
    CHECK(copy(*d.fs, src, 1000, dst, kBlock + 1000, 2 * kMiB) == 2 * kMiB);
    const FsStats after = d->stats();
    CHECK(after.copy_range_rw_bytes - before.copy_range_rw_bytes == kBlock);  // 3096 + 1000
    CHECK(after.copy_range_blocks_offloaded - before.copy_range_blocks_offloaded ==
          2 * kMiB / kBlock - 1);
    std::string want(kBlock + 1000, '\0');
    want += data.substr(1000, 2 * kMiB);
    CHECK(read_file(*d.fs, dst) == want);
  }
  SECTION("different offsets inside a block: all by read+write") {
    const uint32_t dst = create(*d.fs, "dst");
    const FsStats before = d->stats();
    CHECK(copy(*d.fs, src, 1000, dst, 0, kMiB) == kMiB);
    const FsStats after = d->stats();
    CHECK(after.copy_range_rw_bytes - before.copy_range_rw_bytes == kMiB);
    CHECK(after.copy_range_blocks_offloaded == before.copy_range_blocks_offloaded);
    CHECK(read_file(*d.fs, dst) == data.substr(1000, kMiB));
  }
  SECTION("at and past the source's end") {
    const uint32_t dst = create(*d.fs, "dst");
    CHECK(copy(*d.fs, src, data.size(), dst, 0, kMiB) == 0);
    CHECK(copy(*d.fs, src, data.size() + kMiB, dst, 0, kMiB) == 0);
    CHECK(copy(*d.fs, src, 0, dst, 0, 0) == 0);
    CHECK(d->getattr(dst)->size == 0);
    CHECK(copy(*d.fs, src, 3 * kMiB, dst, 0, kMiB) == 777);
    CHECK(read_file(*d.fs, dst) == data.substr(3 * kMiB));
  }
  SECTION("into the middle of an existing file, and past its end") {
    const uint32_t dst = create(*d.fs, "dst");
    std::string want = random_string(rng, 4 * kMiB);
    write_all(*d.fs, dst, 0, want);
    CHECK(copy(*d.fs, src, kMiB, dst, 512 * kBlock, kMiB) == kMiB);
    want.replace(512 * kBlock, kMiB, data.substr(kMiB, kMiB));
    CHECK(copy(*d.fs, src, 0, dst, 6 * kMiB, 8 * kBlock) == 8 * kBlock);
    want.resize(6 * kMiB, '\0');
    want += data.substr(0, 8 * kBlock);
    CHECK(read_file(*d.fs, dst) == want);
    CHECK(seek(*d.fs, dst, 4 * kMiB, false) == 4 * kMiB);
    CHECK(seek(*d.fs, dst, 4 * kMiB, true) == 6 * kMiB);
  }
  SECTION("inline source, inline destination, and a destination that outgrows inline") {
    const uint32_t small = create(*d.fs, "small");
    write_all(*d.fs, small, 0, "inline bytes");
    const uint32_t dst = create(*d.fs, "dst");
    CHECK(copy(*d.fs, small, 0, dst, 10, 100) == 12);
    CHECK(read_file(*d.fs, dst) == std::string(10, '\0') + "inline bytes");
    CHECK(d->getattr(dst)->inline_flags & kInlineData);
    CHECK(copy(*d.fs, src, 0, dst, 0, kMiB) == kMiB);
    CHECK((d->getattr(dst)->inline_flags & kInlineData) == 0);
    CHECK(read_file(*d.fs, dst) == data.substr(0, kMiB));
  }
  SECTION("fallocated blocks: unwritten source blocks become holes, reserved ones are used") {
    const uint32_t pre = create(*d.fs, "pre");
    REQUIRE(d->fallocate(pre, 0, 0, 64 * kBlock));
    write_all(*d.fs, pre, 16 * kBlock, std::string(kBlock, 'p'));
    const uint32_t dst = create(*d.fs, "dst");
    REQUIRE(d->fallocate(dst, 0, 0, 2 * kMiB));
    CHECK(copy(*d.fs, pre, 0, dst, 0, 64 * kBlock) == 64 * kBlock);
    std::string want(2 * kMiB, '\0');
    want.replace(16 * kBlock, kBlock, std::string(kBlock, 'p'));
    CHECK(read_file(*d.fs, dst) == want);
    CHECK(copy(*d.fs, src, 0, dst, kMiB, kMiB) == kMiB);
    want.replace(kMiB, kMiB, data.substr(0, kMiB));
    CHECK(read_file(*d.fs, dst) == want);
  }
  SECTION("one file: disjoint ranges copy, overlapping ones are EINVAL") {
    CHECK(copy(*d.fs, src, 0, src, 4 * kMiB, kMiB) == kMiB);
    std::string want = data;
    want.resize(4 * kMiB, '\0');
    want += data.substr(0, kMiB);
    CHECK(read_file(*d.fs, src) == want);
    CHECK(err_of(d->copy_file_range(src, 0, src, kMiB - 1, kMiB)) == EINVAL);
    CHECK(err_of(d->copy_file_range(src, kMiB, src, 0, kMiB + 1)) == EINVAL);
    // Linux checks the length shortened to the source's end.
    CHECK(copy(*d.fs, src, want.size() - kBlock, src, want.size(), kMiB) == kBlock);
  }
  testing::unmount(d);
  require_fsck_clean(fx.img);
}

TEST_CASE("copy_file_range: errors") {
  Fixture fx;
  Device d = mount_on(fx.img, true);
  const uint32_t src = create(*d.fs, "src");
  write_all(*d.fs, src, 0, std::string(3 * kBlock, 's'));
  const uint32_t dst = create(*d.fs, "dst");
  auto sub = d->mkdir(d->root_ino(), "sub", 0755, 0, 0);
  REQUIRE(sub);
  CHECK(err_of(d->copy_file_range(sub->ino, 0, dst, 0, 10)) == EISDIR);
  CHECK(err_of(d->copy_file_range(src, 0, sub->ino, 0, 10)) == EISDIR);
  auto fifo = d->mknod(d->root_ino(), "fifo", S_IFIFO | 0644, 0, 0, 0);
  REQUIRE(fifo);
  CHECK(err_of(d->copy_file_range(src, 0, fifo->ino, 0, 10)) == EINVAL);
  CHECK(err_of(d->copy_file_range(src, 0, 999999, 0, 10)) == ENOENT);
  CHECK(err_of(d->copy_file_range(src, 1, dst, 0, UINT64_MAX)) == EOVERFLOW);
  CHECK(err_of(d->copy_file_range(src, 0, dst, 1ull << 50, 10)) == EFBIG);
  CHECK(d->getattr(dst)->size == 0);
  // Inode flags: immutable takes nothing; append-only takes only at its end.
  REQUIRE(d->set_flags(dst, kFlagImmutable));
  CHECK(err_of(d->copy_file_range(src, 0, dst, 0, 10)) == EPERM);
  REQUIRE(d->set_flags(dst, kFlagAppend));
  CHECK(copy(*d.fs, src, 0, dst, 0, 10) == 10);
  CHECK(err_of(d->copy_file_range(src, 0, dst, 0, 10)) == EPERM);
  CHECK(copy(*d.fs, src, 0, dst, 10, 10) == 10);
  REQUIRE(d->set_flags(dst, 0));
  CHECK(d->getattr(dst)->size == 20);
  testing::unmount(d);
  d = mount_on(fx.img, true, /*read_only=*/true);
  CHECK(err_of(d->copy_file_range(src, 0, dst, 0, 10)) == EROFS);
  testing::unmount(d);
  require_fsck_clean(fx.img);
}

TEST_CASE("copy_file_range: ENOSPC gives an honest short count or an error, never a lie") {
  Fixture fx;
  Device d = mount_on(fx.img, true);
  std::mt19937_64 rng(4);
  const std::string data = random_string(rng, 12 * kMiB);
  const uint32_t src = create(*d.fs, "src");
  write_all(*d.fs, src, 0, data);
  bool enospc = false;
  for (int i = 0; i < 20 && !enospc; ++i) {
    const uint32_t dst = create(*d.fs, "copy" + std::to_string(i));
    auto n = d->copy_file_range(src, 0, dst, 0, data.size());
    if (!n) {
      CHECK(n.error().sys_errno == ENOSPC);
      CHECK(d->getattr(dst)->size == 0);
      enospc = true;
      break;
    }
    CHECK(d->getattr(dst)->size == *n);
    CHECK(read_file(*d.fs, dst) == data.substr(0, *n));
    enospc = *n < data.size();
  }
  CHECK(enospc);
  testing::unmount(d);
  require_fsck_clean(fx.img);
}

TEST_CASE("copy_file_range: crash safety as a write's") {
  Fixture fx;
  std::mt19937_64 rng(5);
  const std::string data = random_string(rng, 2 * kMiB);
  Device d = mount_on(fx.img, true);
  const uint32_t src = create(*d.fs, "src");
  write_all(*d.fs, src, 0, data);
  const uint32_t synced = create(*d.fs, "synced"), lost = create(*d.fs, "lost");
  REQUIRE(d->sync());
  CHECK(copy(*d.fs, src, 0, synced, 0, data.size()) == data.size());
  REQUIRE(d->fsync(synced));
  CHECK(copy(*d.fs, src, 0, lost, 0, data.size()) == data.size());
  d.fs.reset();  // a crash: no unmount checkpoint
  d.dev.reset();
  require_fsck_clean(fx.img);
  d = mount_on(fx.img, true);
  CHECK(read_file(*d.fs, synced) == data);
  CHECK(d->getattr(lost)->size == 0);  // as of the last checkpoint
  testing::unmount(d);
  require_fsck_clean(fx.img);
}

TEST_CASE("seek_data_hole: SEEK_DATA and SEEK_HOLE as Linux f2fs answers them") {
  Fixture fx;
  Device d = mount_on(fx.img, true);
  const uint32_t f = create(*d.fs, "sparse");
  // Data at [0, 8K), a hole, data at [1M, 1M + 4K), then a hole reaching past 5 GiB (whole
  // missing nodes), data at 5 GiB, and the size 100 bytes beyond it.
  const uint64_t far = 5ull << 30;
  write_all(*d.fs, f, 0, std::string(2 * kBlock, 'a'));
  write_all(*d.fs, f, kMiB, std::string(kBlock, 'b'));
  write_all(*d.fs, f, far, std::string(100, 'c'));
  CHECK(seek(*d.fs, f, 0, true) == 0);
  CHECK(seek(*d.fs, f, 5, true) == 5);
  CHECK(seek(*d.fs, f, 0, false) == 2 * kBlock);
  CHECK(seek(*d.fs, f, 2 * kBlock, true) == kMiB);
  CHECK(seek(*d.fs, f, kMiB + 10, false) == kMiB + kBlock);
  CHECK(seek(*d.fs, f, kMiB + kBlock, true) == far);
  CHECK(seek(*d.fs, f, far + 50, true) == far + 50);
  CHECK(seek(*d.fs, f, far, false) == far + 100);  // the end of file counts as a hole
  CHECK(err_of(d->seek_data_hole(f, far + 100, true)) == ENXIO);
  CHECK(err_of(d->seek_data_hole(f, far + 100, false)) == ENXIO);

  // Only holes after the offset: SEEK_DATA is ENXIO.
  REQUIRE(d->truncate(f, far - kMiB));
  CHECK(err_of(d->seek_data_hole(f, 2 * kMiB, true)) == ENXIO);
  CHECK(seek(*d.fs, f, 2 * kMiB, false) == 2 * kMiB);

  // Fallocated, never written blocks are neither data nor a hole (as f2fs_seek_block).
  const uint32_t pre = create(*d.fs, "pre");
  REQUIRE(d->fallocate(pre, 0, 0, 4 * kBlock));
  REQUIRE(d->truncate(pre, 8 * kBlock));
  CHECK(seek(*d.fs, pre, 0, false) == 4 * kBlock);
  CHECK(err_of(d->seek_data_hole(pre, 0, true)) == ENXIO);

  // Inline data: all data, the hole at the end.
  const uint32_t small = create(*d.fs, "small");
  write_all(*d.fs, small, 0, "tiny");
  CHECK(seek(*d.fs, small, 1, true) == 1);
  CHECK(seek(*d.fs, small, 1, false) == 4);
  CHECK(err_of(d->seek_data_hole(small, 4, true)) == ENXIO);

  CHECK(err_of(d->seek_data_hole(d->root_ino(), 0, true)) == EINVAL);
  testing::unmount(d);
}

}  // namespace
}  // namespace f2sc::fs
