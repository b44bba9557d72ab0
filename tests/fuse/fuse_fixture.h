// The fixture of the tests that mount f2sc-fuse: an image (mkfs.f2fs), a mountpoint and a
// daemon log in a temporary directory others may traverse (permission tests run as
// nobody); mount() skips with a warning where FUSE cannot mount here.
#pragma once

#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "tests/fs/fs_test_util.h"
#include "tests/fuse/fuse_mount.h"

namespace f2sc::fuse::testing {

// The f2sc-fuse under test: the build's, or $F2SC_FUSE_BIN (e.g. a sanitizer build).
inline std::string fuse_bin() {
  const char* env = std::getenv("F2SC_FUSE_BIN");
  return env && *env ? env : F2SC_FUSE_BIN;
}

struct MountFixture {
  fs::testing::TempDir dir;
  std::string img = (dir.path() / "img").string();
  std::string mnt = (dir.path() / "mnt").string();
  std::string log = (dir.path() / "f2sc-fuse.log").string();
  std::string device = img;  // what f2sc-fuse gets (a URI for special devices)
  std::unique_ptr<FuseMount> m;

  explicit MountFixture(uint64_t bytes = 256ull << 20) {
    std::filesystem::create_directory(mnt);
    std::filesystem::permissions(dir.path(), std::filesystem::perms(0755));
    fs::testing::mkfs_image(img, bytes, "-q");
  }

  // Mounts; false (after a warning) when this machine cannot mount FUSE.
  bool mount(const std::vector<std::string>& opts = {}) {
    if (std::string why = fuse_unavailable(); !why.empty()) {
      WARN("FUSE test skipped: " << why);
      return false;
    }
    m = std::make_unique<FuseMount>(fuse_bin(), device, mnt, log);
    auto s = m->start(opts);
    if (s == FuseMount::Start::kNotPermitted) {
      WARN("FUSE test skipped: mounting is not permitted here:\n" << m->log());
      return false;
    }
    INFO(m->log());
    REQUIRE(s == FuseMount::Start::kMounted);
    return true;
  }

  // Clean unmount: f2sc-fuse exits 0 after its checkpoint.
  void unmount() {
    int status = m->unmount();
    INFO(m->log());
    REQUIRE_FALSE(m->watchdog_fired());
    REQUIRE(status == 0);
    m.reset();
  }

  void require_fsck_clean() {
    std::string out;
    bool clean = fs::testing::fsck_clean(img, &out);
    INFO(out);
    REQUIRE(clean);
  }

  std::string p(const std::string& rel) const { return mnt + "/" + rel; }
};

}  // namespace f2sc::fuse::testing
