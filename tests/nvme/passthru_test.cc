// PassthruController on this machine: the errors a user sees without a usable device. The
// command path itself is proven against QEMU's NVMe controller by tests/vm/.
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>

#include "blockdev/uri.h"
#include "nvme/passthru_controller.h"
#include "nvme_test_util.h"

namespace f2sc::nvme {
namespace {

TEST_CASE("passthrough names a missing device, a regular file and a non-NVMe char device") {
  auto missing = PassthruController::open("/dev/ng-f2sc-missing0n1");
  REQUIRE_FALSE(missing);
  CHECK(missing.error().code == Errc::kNotFound);
  CHECK(missing.error().message.find("no such device") != std::string::npos);

  testing::TempImage img(4096);
  auto file = PassthruController::open(img.path());
  REQUIRE_FALSE(file);
  CHECK(file.error().message.find("not a character device") != std::string::npos);

  auto null = PassthruController::open("/dev/null");
  REQUIRE_FALSE(null);
  CHECK(null.error().code == Errc::kNotSupported);
  CHECK(null.error().message.find("does not accept NVMe passthrough") != std::string::npos);

  auto uri = blockdev::open_device("nvme:/dev/null?ioctl=1");
  REQUIRE_FALSE(uri);
  CHECK(uri.error().message.find("does not accept NVMe passthrough") != std::string::npos);
  auto bad = blockdev::open_device("nvme:/dev/null?frob=1");
  REQUIRE_FALSE(bad);
  CHECK(bad.error().message.find("unknown option 'frob'") != std::string::npos);
}

TEST_CASE("passthrough without permission says so") {
  if (geteuid() != 0) {
    WARN("SKIP: needs root to drop privileges");
    return;
  }
  testing::TempImage img(4096);
  REQUIRE(chmod(img.path().c_str(), 0600) == 0);
  // A child without root opens the file: EACCES must become the permission message.
  pid_t pid = fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    if (setuid(65534) != 0) _exit(3);
    auto r = PassthruController::open(img.path());
    _exit(!r && r.error().message.find("permission denied") != std::string::npos ? 0 : 1);
  }
  int status = 0;
  REQUIRE(waitpid(pid, &status, 0) == pid);
  CHECK(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 0);
}

}  // namespace
}  // namespace f2sc::nvme
