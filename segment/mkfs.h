// Formatting a device as F2FS, with the geometry and defaults of mkfs.f2fs 1.15 (no optional
// features): superblock x2, checkpoint pack 0 (compacted data summaries, node summaries,
// NAT bits) and a version-0 pack 1, zeroed first SIT and NAT copies, a root directory
// (inode 3 in the hot node log, its dentry block in the hot data log).
//
// Only metadata is written. With trim, the whole device is discarded first and, when the
// device then reads zeros, the SIT/NAT zero fill is skipped (sparse images stay sparse).
//
// Thread safety: format() uses the device exclusively for its duration.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>

#include "base/error.h"
#include "blockdev/block_device.h"
#include "segment/format.h"

namespace f2sc::segment {

struct MkfsOptions {
  std::string label;
  double overprovision = 0;  // percent; 0 = the best ratio, as mkfs.f2fs computes it
  uint32_t segs_per_sec = 1;
  uint32_t secs_per_zone = 1;
  std::optional<std::array<uint8_t, 16>> uuid;
  bool trim = true;
  bool reproducible = false;  // fixed seed and time: the same bytes every run
  // Called with (done, total) blocks while zero-filling metadata areas.
  std::function<void(uint64_t, uint64_t)> progress;
};

// The computed format: superblock plus the checkpoint numbers mkfs prints.
struct MkfsPlan {
  SuperBlock sb{};
  double overprovision = 0;
  uint32_t reserved_segments = 0;
  uint32_t overprov_segments = 0;
  uint32_t cur_seg[kNrCursegType] = {};  // indexed by Log
};

// Geometry for a device of `device_bytes` bytes; errors when it is too small.
Result<MkfsPlan> plan_format(const MkfsOptions& opts, uint64_t device_bytes);

// Parses "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx".
Result<std::array<uint8_t, 16>> parse_uuid(const std::string& text);

Result<MkfsPlan> format(blockdev::BlockDevice& dev, const MkfsOptions& opts);

// True when the device holds a superblock with the F2FS magic in either copy.
Result<bool> has_f2fs_superblock(blockdev::BlockDevice& dev);

}  // namespace f2sc::segment
