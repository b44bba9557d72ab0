// Helpers for segment tests: temporary images, running the real f2fs tools.
#pragma once

#include <fcntl.h>
#include <unistd.h>

#include <cstdlib>
#include <string>

#include <catch2/catch.hpp>

#include "tests/support/process.h"
#include "tests/support/temp_file.h"

namespace f2sc::segment::testing {

using TempImage = f2sc::testing::TempFile;

using f2sc::testing::run;
using f2sc::testing::RunResult;

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
