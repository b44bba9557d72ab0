// Helpers for segment tests: temporary images, running the real f2fs tools.
#pragma once

#include <fcntl.h>
#include <unistd.h>

#include <sys/wait.h>
#include <array>
#include <cstdio>
#include <cstdlib>
#include <string>

#include <catch2/catch.hpp>

namespace f2sc::segment::testing {

class TempImage {
 public:
  explicit TempImage(uint64_t bytes) {
    const char* t = std::getenv("TMPDIR");
    path_ = std::string(t ? t : "/tmp") + "/f2sc-seg-XXXXXX";
    int fd = mkstemp(path_.data());
    REQUIRE(fd >= 0);
    REQUIRE(ftruncate(fd, static_cast<off_t>(bytes)) == 0);
    close(fd);
  }
  ~TempImage() { unlink(path_.c_str()); }
  TempImage(const TempImage&) = delete;
  TempImage& operator=(const TempImage&) = delete;
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

struct RunResult {
  int status = -1;
  std::string output;
};

inline RunResult run(const std::string& cmd) {
  RunResult r;
  FILE* p = popen((cmd + " 2>&1").c_str(), "r");
  REQUIRE(p != nullptr);
  std::array<char, 4096> buf;
  size_t n;
  while ((n = fread(buf.data(), 1, buf.size(), p)) > 0) r.output.append(buf.data(), n);
  int st = pclose(p);
  r.status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
  return r;
}

// fsck.f2fs --dry-run exits 0 and reports no failure and no fix (the "fixing SIT types"
// banner is printed unconditionally by fsck.f2fs 1.15).
inline bool fsck_clean(const std::string& path, std::string* output) {
  RunResult r = run("fsck.f2fs --dry-run " + path);
  *output = r.output;
  if (r.status != 0) return false;
  // Drop the two lines that name fixing/corruption while reporting nothing wrong.
  std::string text;
  size_t pos = 0;
  while (pos < r.output.size()) {
    size_t end = r.output.find('\n', pos);
    if (end == std::string::npos) end = r.output.size();
    std::string line = r.output.substr(pos, end - pos);
    pos = end + 1;
    if (line == "[FSCK] fixing SIT types") continue;
    if (line.rfind("[FSCK] other corrupted bugs", 0) == 0) {
      if (line.find("[Ok..]") == std::string::npos) return false;
      continue;
    }
    text += line + "\n";
  }
  for (const char* bad : {"[Fail]", "[FIX]", "Error", "error", "Wrong", "Invalid", "invalid",
                          "corrupt", "Corrupt", "mismatch", "fix", "Fix"}) {
    if (text.find(bad) != std::string::npos) return false;
  }
  if (r.output.find("[FSCK] other corrupted bugs") == std::string::npos) return false;
  return true;
}

inline std::string mkfs_f2sc() {
  return MKFS_F2SC_PATH;
}

// A copy of a (possibly packed, so misaligned) on-disk field: Catch binds references to the
// operands of CHECK, which must not point into packed structs.
template <class T>
T val(T v) {
  return v;
}

}  // namespace f2sc::segment::testing
