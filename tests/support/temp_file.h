// A temporary file of a given size in $TMPDIR (or /tmp), removed at scope exit.
#pragma once

#include <fcntl.h>
#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <string>

#include <catch2/catch.hpp>

namespace f2sc::testing {

class TempFile {
 public:
  explicit TempFile(uint64_t bytes, std::string dir = "") {
    if (dir.empty()) {
      const char* t = std::getenv("TMPDIR");
      dir = t ? t : "/tmp";
    }
    path_ = dir + "/f2sc-test-XXXXXX";
    int fd = mkstemp(path_.data());
    REQUIRE(fd >= 0);
    REQUIRE(ftruncate(fd, static_cast<off_t>(bytes)) == 0);
    close(fd);
  }
  ~TempFile() { unlink(path_.c_str()); }
  TempFile(const TempFile&) = delete;
  TempFile& operator=(const TempFile&) = delete;
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

}  // namespace f2sc::testing
