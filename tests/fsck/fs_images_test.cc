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
    if (i % 3 == 0) REQUIRE(f.write(file->ino, n / 2, {data.data(), n / 4}));  // overwrite
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

}  // namespace
}  // namespace f2sc::fsck::testing
