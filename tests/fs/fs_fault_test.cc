// Device faults under the GC of a mounted filesystem, with the real owners (inodes and
// direct nodes): failing Copy commands of each cause, and a victim block that cannot be
// read. Files must read back, fsck.f2fs must stay clean, and the unreadable block must be
// reported with its owner and stay where it is.
#include <map>
#include <random>
#include <string>

#include "blockdev/fault_device.h"
#include "tests/fs/fs_test_util.h"

namespace f2sc::fs {
namespace {

constexpr uint64_t kMiB = 1 << 20;
constexpr size_t kBlock = 4096;

// A FileSystem on a FaultDevice over the embedded NVMe controller (real Copy commands).
struct FaultyMount {
  std::unique_ptr<blockdev::BlockDevice> nvme;
  std::unique_ptr<blockdev::FaultDevice> dev;
  std::unique_ptr<FileSystem> fs;
};

FaultyMount mount_faulty(const std::string& img, const MountOptions& o) {
  FaultyMount m;
  auto nvme = blockdev::open_device("nvme-emu:" + img);
  if (!nvme) FAIL("open " << img << ": " << nvme.error().message);
  m.nvme = std::move(*nvme);
  m.dev = std::make_unique<blockdev::FaultDevice>(*m.nvme);
  auto f = FileSystem::mount(*m.dev, o);
  if (!f) FAIL("mount " << img << ": " << f.error().message);
  m.fs = std::move(*f);
  return m;
}

void unmount(FaultyMount& m) {
  auto s = m.fs->unmount();
  if (!s) FAIL("unmount: " << s.error().message);
  m.fs.reset();
  m.dev.reset();
  m.nvme.reset();
}

using Model = std::map<uint32_t, std::string>;  // ino -> content

// Files of 128 blocks, then overwrites of every third block of each: every segment they
// filled is left partly invalid, a GC victim. (On 128 MiB free sections stay far above
// the foreground GC threshold, so the victims are left for the test's own collections.)
Model fragment(FileSystem& f, int files, uint64_t seed) {
  std::mt19937_64 rng(seed);
  Model m;
  for (int i = 0; i < files; ++i) {
    auto c = f.create(f.root_ino(), "f" + std::to_string(i), 0644, 0, 0);
    REQUIRE(c);
    const std::string data = testing::random_string(rng, 128 * kBlock);
    testing::write_all(f, c->ino, 0, data);
    m[c->ino] = data;
  }
  for (auto& [ino, content] : m)
    for (uint64_t b = 1; b < 128; b += 3) {
      const std::string blk = testing::random_string(rng, kBlock);
      testing::write_all(f, ino, b * kBlock, blk);
      content.replace(b * kBlock, kBlock, blk);
    }
  REQUIRE(f.sync());
  return m;
}

void check_model(FileSystem& f, const Model& m) {
  for (const auto& [ino, want] : m) {
    INFO("inode " << ino);
    REQUIRE(testing::read_file(f, ino) == want);
  }
}

void check_fsck(const std::string& img) {
  std::string out;
  const bool clean = testing::fsck_clean(img, &out);
  INFO("fsck.f2fs --dry-run:\n" << out);
  CHECK(clean);
}

MountOptions quiet_options(bool offload) {
  MountOptions o;
  o.copy_offload = offload;
  o.checkpoint_interval_sec = 0;
  return o;
}

TEST_CASE("Failing Copy commands of every cause during GC lose nothing in a mounted filesystem") {
  testing::TempDir dir;
  const std::string img = (dir.path() / "img").string();
  testing::mkfs_image(img, 128 * kMiB);
  FaultyMount m = mount_faulty(img, quiet_options(true));
  const Model model = fragment(*m.fs, 40, 1);
  m.fs->reset_gc_stats();
  // One rule per cause, each firing twice: rules are tried in order, so the first two
  // faulted commands say size limit, the next two LBA out of range, then media errors
  // after copying one range.
  for (auto [code, done] : {std::pair{Errc::kInvalidArgument, 0u}, std::pair{Errc::kOutOfRange, 0u},
                            std::pair{Errc::kIoError, 1u}}) {
    blockdev::FaultRule rule;
    rule.ops = blockdev::kFaultCopy;
    rule.count = 2;
    rule.error = make_error(code, "injected copy fault");
    rule.copy_ranges_done = done;
    m.dev->add_rule(rule);
  }
  uint64_t moved = 0;
  for (int round = 0; round < 6; ++round) {
    auto r = m.fs->gc_collect(2, "greedy");
    INFO((r ? std::string() : r.error().message));
    REQUIRE(r);
    moved += r->moved;
  }
  const gc::GcStatsSnapshot s = m.fs->gc_stats();
  CHECK(moved > 0);
  CHECK(m.dev->faults_injected() == 6);
  CHECK(s.copy_command_faults == 6);
  CHECK(s.faults_limits == 2);
  CHECK(s.faults_out_of_range == 2);
  CHECK(s.faults_media == 2);
  CHECK(s.faults_partial >= 1);  // a faulted command with a single range copies it whole
  CHECK(s.copy_faults == 0);     // emulation finished every faulted command
  CHECK(s.blocks_emulated > 0);
  CHECK(s.blocks_offloaded + s.blocks_emulated == s.blocks_moved());
  CHECK(s.collect_errors == 0);
  check_model(*m.fs, model);
  unmount(m);
  check_fsck(img);
  m = mount_faulty(img, quiet_options(true));
  check_model(*m.fs, model);
  unmount(m);
}

TEST_CASE("A victim block that cannot be read is reported with its owner and stays in place") {
  const bool offload = GENERATE(true, false);
  INFO("copy offload " << offload);
  testing::TempDir dir;
  const std::string img = (dir.path() / "img").string();
  testing::mkfs_image(img, 128 * kMiB);
  FaultyMount m = mount_faulty(img, quiet_options(offload));
  FileSystem& f = *m.fs;
  const Model model = fragment(f, 40, 2);
  const uint32_t victim_ino = model.begin()->first;
  // Block 6 was not overwritten: it sits in the first segment the files filled.
  auto addr = f.bmap(victim_ino, 6);
  REQUIRE(addr);
  REQUIRE(*addr != 0);
  blockdev::FaultRule rule;
  rule.ops = blockdev::kFaultRead | blockdev::kFaultCopy;
  rule.first_lba = rule.last_lba = *addr;
  rule.error = make_error(Errc::kIoError, "injected: Unrecovered Read Error");
  m.dev->add_rule(rule);

  // Collect until the GC has met the block (its segment is partly invalid, so it becomes a
  // victim) and nothing is left to clean.
  for (int round = 0; round < 40; ++round) {
    auto r = f.gc_collect(2, "greedy");
    INFO((r ? std::string() : r.error().message));
    REQUIRE(r);
    if (r->victims == 0) break;
  }
  const auto bad = f.gc_bad_blocks();
  REQUIRE(bad.size() == 1);
  CHECK(bad[0].addr == *addr);
  CHECK(bad[0].kind == gc::BlockKind::kData);
  // Summary is packed: compare copies (Catch binds references to its operands).
  const uint32_t owner_nid = bad[0].owner.nid;
  const uint16_t owner_ofs = bad[0].owner.ofs_in_node;
  CHECK(owner_nid == victim_ino);  // block 6 is addressed by the inode itself
  CHECK(owner_ofs == 6);
  CHECK(bad[0].error.find("Unrecovered Read Error") != std::string::npos);
  const gc::GcStatsSnapshot s = f.gc_stats();
  CHECK(s.unreadable_blocks == 1);
  CHECK(s.bad_sections == 1);
  CHECK(s.blocks_moved() > 0);
  CHECK(f.bmap(victim_ino, 6).value() == *addr);  // not moved, not freed

  // Reading that block reports the error; everything else reads back.
  std::string buf(kBlock, '\0');
  auto bad_read = f.read(victim_ino, 6 * kBlock, std::as_writable_bytes(std::span(buf)));
  CHECK_FALSE(bad_read);
  for (const auto& [ino, want] : model) {
    if (ino == victim_ino) continue;
    INFO("inode " << ino);
    REQUIRE(testing::read_file(f, ino) == want);
  }
  // The device recovers: the block is still the file's, with its content.
  m.dev->clear_rules();
  check_model(f, model);
  unmount(m);
  check_fsck(img);
  m = mount_faulty(img, quiet_options(offload));
  check_model(*m.fs, model);
  unmount(m);
}

}  // namespace
}  // namespace f2sc::fs
