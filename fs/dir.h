// Directories (read side): dentry tables, the multi-level hash table, lookup and readdir.
//
// A dentry table is a bitmap of slots, an array of 11-byte entries (hash, ino, name_len,
// file type) and an array of 8-byte name slots; an entry's name spans
// ceil(name_len / 8) consecutive slots, all marked in the bitmap (LSB-first per byte;
// writers must set every one: Linux finds free room by runs of clear bits). A
// regular dentry block holds 214 slots. An inline directory (F2FS_INLINE_DENTRY) keeps one
// smaller table in the inode's inline area: with the default 3488-byte area, 182 slots,
// a 23-byte bitmap and 7 reserved bytes before the entries.
//
// Block directories are a hash table of levels 0..i_current_depth-1. Level L has
// 2^(L + dir_level) buckets (2^30 once L + dir_level reaches 31) of 2 blocks each (4 from
// level 31 on); a name lives in bucket hash % buckets of some level, and blocks are laid
// out level after level, bucket after bucket. Lookup walks levels from 0 and only reads
// the name's bucket in each; readdir walks every block in order. Holes are empty blocks.
//
// Thread safety: pure functions over a NodeManager (itself thread safe).
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/error.h"
#include "fs/inode.h"
#include "fs/node.h"

namespace f2sc::fs {

inline constexpr uint32_t kMaxNameLen = 255;
inline constexpr uint32_t kMaxDirHashDepth = 63;

struct DirEntryInfo {
  std::string name;
  uint32_t ino = 0;
  uint8_t file_type = 0;  // F2FS_FT_*: 1 reg, 2 dir, 3 chr, 4 blk, 5 fifo, 6 sock, 7 symlink
  uint64_t pos = 0;       // stable position: block * 214 + slot (inline: slot)
};

// Buckets in hash level `level` and blocks per bucket (Linux dir.c).
uint64_t dir_buckets(uint32_t level, uint32_t dir_level);
uint32_t bucket_blocks(uint32_t level);
// First block of bucket `bucket` of level `level`.
uint64_t dir_block_index(uint32_t level, uint32_t dir_level, uint64_t bucket);

// A view of one dentry table in a block or an inline area.
struct DentryTable {
  const uint8_t* bitmap = nullptr;
  const segment::DirEntry* dentry = nullptr;  // unaligned, packed
  const uint8_t* names = nullptr;             // slots * 8 bytes
  uint32_t slots = 0;
};
DentryTable dentry_table_of_block(const uint8_t* block4k);
// Geometry of the inline dentry table of an inode with `max_inline` inline bytes.
struct InlineDentryGeometry {
  uint32_t slots, bitmap_bytes, reserved_bytes;
};
InlineDentryGeometry inline_dentry_geometry(uint32_t max_inline);
DentryTable dentry_table_of_inline(const InodeView& dir);

// Calls fn(slot, entry, name) for each used entry in slot order; stops early when fn
// returns false. Fails kCorrupt (naming `where`) on an entry whose name is empty, longer
// than 255 bytes or runs past the table.
Status for_each_dentry(
    const DentryTable& t, const std::string& where,
    const std::function<bool(uint32_t, const segment::DirEntry&, std::string_view)>& fn);

// Looks `name` up in directory `dir`; nullopt when absent.
Result<std::optional<DirEntryInfo>> find_entry(const NodeManager& nm, const InodeView& dir,
                                               std::string_view name);

// Every entry of `dir` ("." and ".." included when stored), in position order.
Result<std::vector<DirEntryInfo>> list_entries(const NodeManager& nm, const InodeView& dir);

}  // namespace f2sc::fs
