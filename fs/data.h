// File data (read side): file block -> data block address through the node tree, and byte
// reads that turn holes into zeros and serve inline data from the inode.
//
// A block maps through the inode's own addresses, then direct, indirect and
// double-indirect nodes (fs/node_path.h). A missing node (nid 0) or a NULL_ADDR slot is a
// hole; NEW_ADDR (reserved by fallocate, never written) reads as zeros too. Every node on
// the path must carry this inode's number and the node offset its position implies; every
// data address must lie in the main area.
//
// Thread safety: a BlockMapper caches the nodes of its last lookup and belongs to one
// thread; the free functions create their own and are safe to call concurrently.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>

#include "base/error.h"
#include "fs/inode.h"
#include "fs/node.h"

namespace f2sc::fs {

class BlockMapper {
 public:
  BlockMapper(const NodeManager& nm, const InodeView& inode) : nm_(nm), inode_(inode) {}

  // Data block address of file block `block`: kNullAddr for a hole (NEW_ADDR is reported
  // as kNullAddr too). Blocks past the tree's reach are holes. When the hole is a whole
  // missing node and `hole_end` is given, *hole_end is set to the first block after the
  // range that node would map (UINT64_MAX past the tree), so callers can skip it.
  Result<uint32_t> map(uint64_t block, uint64_t* hole_end = nullptr);

 private:
  struct Cached {
    uint32_t nid = 0;
    uint32_t node_offset = 0;
    segment::NodeBlock node;
  };
  Result<const segment::NodeBlock*> node_at(int depth, uint32_t nid, uint32_t node_offset);

  const NodeManager& nm_;
  const InodeView& inode_;
  std::array<std::optional<Cached>, 4> cache_;  // by depth 1..3
};

// Reads up to buf.size() bytes at `offset` of a regular file or symlink; returns the count
// (short at end of file, 0 at or past it).
Result<size_t> read_data(const NodeManager& nm, const InodeView& inode, uint64_t offset,
                         std::span<std::byte> buf);

}  // namespace f2sc::fs
