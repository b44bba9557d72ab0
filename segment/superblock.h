// Superblock: validation of the raw superblock, the Layout it describes, and reading the
// two copies (blocks 0 and 1, byte offset 1024) from a device.
//
// Errors are Errc::kCorrupt with messages naming the copy, the field and the value.
//
// Thread safety: pure functions; read_superblock() only reads the device.
#pragma once

#include <cstdint>

#include "base/error.h"
#include "blockdev/block_device.h"
#include "segment/format.h"
#include "segment/layout.h"

namespace f2sc::segment {

// Checks every field fsck.f2fs checks (magic, sizes, area boundaries and counts) against
// a device of `device_blocks` 4 KiB blocks, and returns the layout.
Result<Layout> validate_superblock(const SuperBlock& sb, uint64_t device_blocks);

struct SuperBlockInfo {
  SuperBlock sb;
  Layout layout;
  int copy = 0;              // the copy that was used (0 or 1)
  bool other_valid = false;  // the other copy validated too
};

// Reads both copies; the first valid one wins (as Linux does). Fails with the errors of both
// copies when neither is valid.
Result<SuperBlockInfo> read_superblock(blockdev::BlockDevice& dev);

// Sets the crc when the superblock has the sb_checksum feature.
void seal_superblock(SuperBlock& sb);

// The block image of superblock copy: zeros, with `sb` at byte 1024.
void superblock_block(const SuperBlock& sb, std::byte* block4k);

}  // namespace f2sc::segment
