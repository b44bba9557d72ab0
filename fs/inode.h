// Inodes as F2FS stores them: attributes, the inline flags, and the geometry of the
// inode's address array.
//
// The i_addr array (923 slots) is shared by three users: with F2FS_EXTRA_ATTR set, the first
// i_extra_isize / 4 slots hold extra attributes; inline xattrs take the last slots (50 when
// F2FS_INLINE_XATTR or F2FS_INLINE_DENTRY is set; with the flexible_inline_xattr feature,
// i_inline_xattr_size slots); the rest maps file blocks 0..addrs_per_inode-1. Inline data
// and inline dentries live in that middle part after one reserved slot, so at most
// 4 * (addrs_per_inode - 1) bytes (3488 with the default inline xattrs).
//
// Thread safety: value types and pure functions.
#pragma once

#include <sys/stat.h>

#include <cstdint>
#include <span>

#include "base/error.h"
#include "segment/format.h"

namespace f2sc::fs {

// The on-disk constants of inodes live with the format; the filesystem names them unqualified.
using segment::kDataExist;
using segment::kDefaultInlineXattrAddrs;
using segment::kExtraAttr;
using segment::kFeatureExtraAttr;
using segment::kFeatureFlexibleInlineXattr;
using segment::kInlineData;
using segment::kInlineDentry;
using segment::kInlineDots;
using segment::kInlineReservedSlots;
using segment::kInlineXattr;

struct Timespec {
  int64_t sec = 0;
  uint32_t nsec = 0;
};

struct InodeAttr {
  uint32_t ino = 0;
  uint16_t mode = 0;  // S_IFMT type | permission bits
  uint32_t uid = 0, gid = 0;
  uint32_t links = 0;
  uint64_t size = 0;
  uint64_t blocks = 0;  // i_blocks: 4 KiB blocks in use, the inode's own block included
  Timespec atime, ctime, mtime;
  uint32_t generation = 0;
  uint32_t flags = 0;  // i_flags (FS_*_FL)
  uint8_t inline_flags = 0;
  uint32_t current_depth = 0;  // directories: hash levels in use
  uint8_t dir_level = 0;
  uint32_t xattr_nid = 0;
  uint32_t pino = 0;
  uint64_t rdev = 0;  // character and block devices: the device number (makedev)
};

// A validated inode block with its address geometry.
struct InodeView {
  InodeAttr attr;
  segment::NodeBlock node;
  uint32_t extra_slots = 0;         // i_addr slots taken by extra attributes
  uint32_t inline_xattr_slots = 0;  // i_addr slots taken by inline xattrs
  uint32_t addrs_per_inode = 0;     // data addresses the inode maps

  bool is_dir() const { return S_ISDIR(attr.mode); }
  bool is_reg() const { return S_ISREG(attr.mode); }
  bool is_symlink() const { return S_ISLNK(attr.mode); }
  bool has_inline_data() const { return attr.inline_flags & kInlineData; }
  bool has_inline_dentry() const { return attr.inline_flags & kInlineDentry; }
  // Address of file block `i` (< addrs_per_inode) stored in the inode itself.
  uint32_t addr(uint32_t i) const { return node.i.i_addr[extra_slots + i]; }
  uint32_t nid(uint32_t slot) const { return node.i.i_nid[slot]; }
  // Bytes of inline data / inline dentry area and where it starts.
  uint32_t max_inline() const { return 4 * (addrs_per_inode - kInlineReservedSlots); }
  std::span<const uint8_t> inline_area() const {
    const auto* p = reinterpret_cast<const uint8_t*>(&node.i.i_addr[extra_slots + 1]);
    return {p, max_inline()};
  }
};

// Validates the inode block `node` of inode `ino` (footer already checked by the node
// manager): file type, extra attribute size, inline flags against the type, inline size.
// `features` is the superblock feature word.
Result<InodeView> parse_inode(const segment::NodeBlock& node, uint32_t ino, uint32_t features);

// F2FS directory entry file type of a mode (F2FS_FT_*).
uint8_t file_type_of_mode(uint16_t mode);

}  // namespace f2sc::fs
