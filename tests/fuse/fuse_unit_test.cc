// f2sc-fuse's helpers that need no mount: finding a mount's device in mountinfo.
#include <cerrno>
#include <string>

#include <catch2/catch.hpp>

#include "tools/f2sc-fuse/readahead.h"

namespace f2sc::fuse {
namespace {

TEST_CASE("mount_device_of reads mountinfo's escaped paths and takes the newest mount") {
  const std::string info =
      "22 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw\n"
      "40 22 0:39 / /mnt/a rw,nosuid - fuse.f2sc /img rw\n"
      "47 22 0:41 / /var/tmp/mnt\\040a\\011b\\134c rw - fuse.f2sc /img2 rw\n"
      "48 40 0:42 / /mnt/a rw - fuse.f2sc /img3 rw\n"  // mounted over /mnt/a
      "garbage\n";
  auto d = mount_device_of(info, "/mnt/a");
  REQUIRE(d);
  CHECK(*d == "0:42");
  d = mount_device_of(info, "/var/tmp/mnt a\tb\\c");
  REQUIRE(d);
  CHECK(*d == "0:41");
  CHECK(mount_device_of(info, "/")->compare("8:1") == 0);
  d = mount_device_of(info, "/mnt");
  REQUIRE_FALSE(d);
  CHECK(d.error().sys_errno == ENOENT);
  CHECK_FALSE(mount_device_of(info, "/var/tmp/mnt\\040a\\011b\\134c"));  // not unescaped
}

}  // namespace
}  // namespace f2sc::fuse
