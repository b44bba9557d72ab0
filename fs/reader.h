// FileSystemReader: read-only access to an F2FS image as of its last checkpoint, keyed by
// inode number, with errno-style errors. This is the read half of the future FileSystem;
// the writers extend the pieces underneath (NodeManager, inodes, BlockMapper, dir).
//
// Errors: ENOENT (no such name, or an inode number with no node), ENOTDIR (a directory
// operation on something else, or a path through a non-directory), EISDIR (read on a
// directory), EINVAL (readlink on a non-symlink), ENAMETOOLONG (a name above 255 bytes),
// EUCLEAN (Linux's EFSCORRUPTED) with Errc::kCorrupt for anything wrong on disk (the message
// names the inode or nid, the structure, the field and the value), EIO from the device.
//
// Thread safety: after open() the reader holds no mutable state, and every method only
// reads the device (BlockDevice is thread safe), so any number of threads may call any
// methods at once. The image must not change underneath the reader: it sees the
// checkpoint it was opened on, and a concurrent writer to the device is not supported.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/error.h"
#include "blockdev/block_device.h"
#include "fs/dir.h"
#include "fs/inode.h"
#include "fs/node.h"
#include "segment/checkpoint.h"
#include "segment/superblock.h"

namespace f2sc::fs {

class FileSystemReader {
 public:
  // Reads the superblock and the newer valid checkpoint pack. The device must outlive the
  // reader. Images with the encrypt, casefold or compression features are refused
  // (kNotSupported): their names and data need more than this reader knows.
  static Result<std::unique_ptr<FileSystemReader>> open(blockdev::BlockDevice& dev);

  uint32_t root_ino() const { return super_.layout.root_ino; }
  const segment::SuperBlockInfo& super() const { return super_; }
  const segment::Checkpoint& checkpoint() const { return cp_; }
  const NodeManager& nodes() const { return nm_; }

  // The validated inode (attributes, flags, address geometry).
  Result<InodeView> inode(uint32_t ino) const;

  Result<InodeAttr> getattr(uint32_t ino) const;
  // Inode number of `name` in directory `dir_ino`.
  Result<uint32_t> lookup(uint32_t dir_ino, std::string_view name) const;
  Result<DirEntryInfo> lookup_entry(uint32_t dir_ino, std::string_view name) const;
  // Bytes read at `offset` (short at end of file). Regular files and symlinks.
  Result<size_t> read(uint32_t ino, uint64_t offset, std::span<std::byte> buf) const;
  // Every entry, "." and ".." included, in a stable order (DirEntryInfo::pos ascending).
  Result<std::vector<DirEntryInfo>> readdir(uint32_t dir_ino) const;
  Result<std::string> readlink(uint32_t ino) const;
  // Absolute or root-relative path, '/'-separated; symlinks are not followed. "." and
  // ".." resolve through the entries stored in each directory.
  Result<uint32_t> resolve(std::string_view path) const;

 private:
  FileSystemReader(blockdev::BlockDevice& dev, segment::SuperBlockInfo super,
                   segment::Checkpoint cp);

  segment::SuperBlockInfo super_;
  segment::Checkpoint cp_;
  NodeManager nm_;
};

}  // namespace f2sc::fs
