// Directory writer: adds, removes and repoints entries in F2FS directories, inline or in
// dentry blocks, the way Linux lays them out (so Linux, fsck.f2fs and our reader agree).
//
// The writer reaches the directory through DirStore, which the filesystem implements over
// its node cache and block allocator: the writer edits the raw inode (i_size,
// i_current_depth, i_inline flags, the inline dentry area) and whole dentry blocks; it never
// allocates or frees blocks itself. Lookup and listing also go through the store, so they
// see changes not yet checkpointed.
//
// Layout rules (Linux fs/f2fs/dir.c, inline.c):
// - a new entry goes into the first run of free slots long enough for its name, searching
//   level 0 .. i_current_depth - 1, in each level only the name's bucket; when every level
//   is full, i_current_depth grows by one (up to kMaxDirHashDepth: ENOSPC beyond);
// - every slot a name spans is marked in the bitmap; removing clears them all and zeroes the
//   entry and its name slots (Linux only clears the bits); a dentry block left without any
//   entry is punched, i_size unchanged (f2fs_delete_entry; block 0 keeps "." and "..");
// - an inline directory whose table is full is converted: its table moves to block 0 (same
//   slots), the inline area is zeroed, F2FS_INLINE_DENTRY is cleared, i_current_depth
//   becomes 1, i_size at least one block, then the entry is added as in a block directory.
//   With i_dir_level set, Linux (and we) instead re-add every inline entry by its hash
//   (f2fs_move_rehashed_dirents). i_addr[0] of an inline directory must be 0 (else EUCLEAN);
// - an entry added inline sets i_current_depth to 0, as Linux's f2fs_update_parent_metadata;
// - i_size of a block directory covers every block written: adding into block b makes it at
//   least (b + 1) * 4096 (f2fs_get_new_data_page); it never shrinks here.
//
// Errors: ENAMETOOLONG (name over 255 bytes), EINVAL (empty name, or one with '/' or a NUL),
// ENOENT (remove/set of an absent name), ENOSPC (no hash level left), EUCLEAN/kCorrupt for a
// bad table, and whatever the store returns.
//
// Thread safety: pure functions over the store; the caller serializes access to one
// directory.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

#include "base/error.h"
#include "fs/dir.h"
#include "fs/inode.h"
#include "segment/format.h"

namespace f2sc::fs {

using Block = std::array<uint8_t, segment::kBlockSize>;

class DirStore {
 public:
  virtual ~DirStore() = default;
  // The directory's inode with its geometry. The writer edits only `node` (never `attr`);
  // the store re-derives attributes and marks the inode dirty when the writer returns.
  virtual InodeView& dir() = 0;
  // Dentry block `index` of the directory; nullopt for a hole.
  virtual Result<std::optional<Block>> read_block(uint64_t index) = 0;
  // Stores block `index` (out of place: the store allocates a new address).
  virtual Status write_block(uint64_t index, const Block& data) = 0;
  // Drops block `index` (it becomes a hole).
  virtual Status punch_block(uint64_t index) = 0;
};

// Sets up a new directory's "." and ".." entries: in the inline area when the inode has
// F2FS_INLINE_DENTRY, else in block 0 (i_current_depth 1, i_size one block).
Status init_dir(DirStore& store, uint32_t self_ino, uint32_t parent_ino);

// `name` in the directory; nullopt when absent.
Result<std::optional<DirEntryInfo>> dir_find(DirStore& store, std::string_view name);

// Every entry, "." and ".." included, in position order (DirEntryInfo::pos ascending;
// positions stay stable while other entries come and go).
Result<std::vector<DirEntryInfo>> dir_list(DirStore& store);

// Adds name -> (ino, file_type). The caller has checked that `name` is absent.
Status dir_add(DirStore& store, std::string_view name, uint32_t ino, uint8_t file_type);

// Removes `name`; returns the entry it removed.
Result<DirEntryInfo> dir_remove(DirStore& store, std::string_view name);

// Repoints the existing entry `name` to (ino, file_type) in place (rename over a target,
// RENAME_EXCHANGE, a moved directory's "..").
Status dir_set(DirStore& store, std::string_view name, uint32_t ino, uint8_t file_type);

// True when the directory holds nothing but "." and "..".
Result<bool> dir_is_empty(DirStore& store);

}  // namespace f2sc::fs
