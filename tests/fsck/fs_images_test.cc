// fsck.f2sc on images our own FileSystem wrote: after a workload with unlinks, truncates,
// overwrites (which leave dead blocks behind for the cleaner), xattrs and hard links, both
// after a clean unmount and after a simulated crash (the FileSystem dropped without
// unmount, so the last checkpoint is what remains), fsck.f2sc and fsck.f2fs are clean.
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "blockdev/uri.h"
#include "fs/file_system.h"
#include "tests/fs/image_util.h"

namespace f2sc::fsck::testing {
namespace {

using fs::testing::run;
using fs::testing::RunResult;
using fs::testing::TempDir;

const std::string kFsck = FSCK_F2SC_PATH;
const std::string kMkfs = MKFS_F2SC_PATH;

void workload(fs::FileSystem& f, std::mt19937& g, int round) {
  const uint32_t root = f.root_ino();
  auto dir = f.mkdir(root, "r" + std::to_string(round), 0755, 0, 0);
  REQUIRE(dir);
  std::vector<std::byte> data(200000);
  for (auto& b : data) b = static_cast<std::byte>(g());
  for (int i = 0; i < 40; ++i) {
    auto file = f.create(dir->ino, "f" + std::to_string(i), S_IFREG | 0644, 0, 0);
    REQUIRE(file);
    const size_t n = g() % data.size();
    REQUIRE(f.write(file->ino, 0, {data.data(), n}));
    if (i % 3 == 0) {  // overwrite
      auto w = f.write(file->ino, n / 2, {data.data(), n / 4});
      const auto gs = f.gc_stats();
      const auto su = f.space_usage();
      INFO((w ? std::string() : w.error().message)
           << "; gc collections " << gs.collections << " victims " << gs.victims << " freed "
           << gs.victims_freed << " moved " << gs.blocks_moved() << "; segments free "
           << su.free << " prefree " << su.prefree << " current " << su.current << " data "
           << su.data_in_use << " (" << su.data_valid_in_use << " valid) node "
           << su.node_in_use << " (" << su.node_valid_in_use << " valid)");
      REQUIRE(w);
    }
    if (i % 5 == 0) REQUIRE(f.truncate(file->ino, n / 3));
    if (i % 7 == 0) REQUIRE(f.link(file->ino, root, "l" + std::to_string(round * 100 + i)));
    if (i % 11 == 0) {
      const std::vector<uint8_t> v(100, 7);
      (void)f.setxattr(file->ino, "user.x", v, 0);  // an xattr node when it works
    }
  }
  for (int i = 0; i < 40; i += 4) REQUIRE(f.unlink(dir->ino, "f" + std::to_string(i)));
  auto sub = f.mkdir(dir->ino, "sub", 0755, 0, 0);
  REQUIRE(sub);
  REQUIRE(f.symlink(sub->ino, "s", "../f1", 0, 0));
}

void expect_clean(const std::string& img, const char* when) {
  RunResult ours = run(kFsck + " -n " + img);
  INFO(when << "\nfsck.f2sc:\n" << ours.output);
  CHECK(ours.status == 0);
  RunResult theirs = run("fsck.f2fs --dry-run " + img);
  INFO("fsck.f2fs:\n" << theirs.output);
  CHECK(theirs.status == 0);
  CHECK(theirs.output.find("[Fail]") == std::string::npos);
}

TEST_CASE("fsck.f2sc: images written by our FileSystem check clean, after a crash too") {
  TempDir d;
  const std::string img = (d.path() / "img").string();
  std::ofstream(img).close();
  std::filesystem::resize_file(img, 128ull << 20);
  REQUIRE(run(kMkfs + " -q -f " + img).status == 0);
  std::mt19937 g(4);
  {
    auto dev = blockdev::open_device("file:" + img);
    REQUIRE(dev);
    auto f = fs::FileSystem::mount(**dev);
    REQUIRE(f);
    workload(**f, g, 0);
    REQUIRE((*f)->unmount());
  }
  expect_clean(img, "after unmount");
  {
    auto dev = blockdev::open_device("file:" + img);
    REQUIRE(dev);
    auto f = fs::FileSystem::mount(**dev);
    REQUIRE(f);
    workload(**f, g, 1);
    REQUIRE((*f)->sync());
    workload(**f, g, 2);  // lost in the crash
  }
  expect_clean(img, "after a crash");
}

// The GC rewrites block maps (data blocks repointed in their dnodes, node blocks moved in
// the NAT): fsck.f2sc and fsck.f2fs must find the images clean after GC, and after a crash
// between GC rounds.
TEST_CASE("fsck.f2sc: images after GC stress check clean, after a crash too") {
  TempDir d;
  const std::string img = (d.path() / "img").string();
  std::ofstream(img).close();
  std::filesystem::resize_file(img, 128ull << 20);
  REQUIRE(run(kMkfs + " -q -f " + img).status == 0);
  std::mt19937 g(9);
  uint64_t moved = 0;
  auto churn = [&](fs::FileSystem& f, int round) {
    workload(f, g, round);
    // Overwrite survivors in place so that every segment holds dead blocks, then clean.
    std::vector<std::byte> blk(4096);
    for (int k = 0; k < 400; ++k) {
      for (auto& b : blk) b = static_cast<std::byte>(g());
      auto a = f.lookup(f.root_ino(), "r" + std::to_string(round));
      REQUIRE(a);
      auto file = f.lookup(a->ino, "f" + std::to_string(1 + 4 * (k % 9)));
      if (!file || file->size < 4096) continue;
      REQUIRE(f.write(file->ino, (g() % (file->size / 4096)) * 4096, blk));
    }
    auto r = f.gc_collect(6, "greedy");
    REQUIRE(r);
    moved += r->moved;
  };
  {
    auto dev = blockdev::open_device("nvme-emu:" + img);
    REQUIRE(dev);
    auto f = fs::FileSystem::mount(**dev);
    REQUIRE(f);
    for (int round = 0; round < 3; ++round) churn(**f, round);
    REQUIRE((*f)->unmount());
  }
  CHECK(moved > 0);
  expect_clean(img, "after GC and unmount");
  {
    auto dev = blockdev::open_device("nvme-emu:" + img);
    REQUIRE(dev);
    auto f = fs::FileSystem::mount(**dev);
    REQUIRE(f);
    churn(**f, 3);
    churn(**f, 4);  // its GC checkpointed; the writes after it are lost in the crash
    std::vector<std::byte> blk(4096, std::byte{1});
    auto x = (*f)->create((*f)->root_ino(), "lost", 0644, 0, 0);
    REQUIRE(x);
    REQUIRE((*f)->write(x->ino, 0, blk));
  }
  expect_clean(img, "after a crash following GC");
}

}  // namespace
}  // namespace f2sc::fsck::testing
