// f2sc-fuse's helpers that need no mount: finding a mount's device in mountinfo, and the
// rate limit of its ENOSPC log line.
#include <cerrno>
#include <chrono>
#include <optional>
#include <string>

#include <catch2/catch.hpp>

#include "tools/f2sc-fuse/rate_limit.h"
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

TEST_CASE("LogRateLimit lets one line through per interval and counts the others") {
  using std::chrono::seconds;
  LogRateLimit limit(seconds(10));
  const LogRateLimit::Clock::time_point t0{seconds(1000)};
  CHECK(limit.allow(t0) == std::optional<uint64_t>(0));
  CHECK_FALSE(limit.allow(t0));
  CHECK_FALSE(limit.allow(t0 + seconds(5)));
  CHECK_FALSE(limit.allow(t0 + seconds(9)));
  CHECK(limit.allow(t0 + seconds(10)) == std::optional<uint64_t>(3));
  CHECK_FALSE(limit.allow(t0 + seconds(19)));
  CHECK(limit.allow(t0 + seconds(60)) == std::optional<uint64_t>(1));
  CHECK(limit.allow(t0 + seconds(70)) == std::optional<uint64_t>(0));
}

}  // namespace
}  // namespace f2sc::fuse
