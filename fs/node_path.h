// Where a file block's address lives in the F2FS node tree.
//
// An inode holds `addrs_per_inode` data addresses, then five node ids: two direct nodes,
// two indirect nodes (each pointing at direct nodes) and one double-indirect node. A direct
// node holds kAddrsPerBlock addresses; an indirect node holds kNidsPerBlock node ids.
// Every node of a file also has a number, its "node offset" (stored in the node footer):
// 0 for the inode, then the tree's nodes in a fixed order. The GC and fsck use it to turn
// a node block back into the file range it maps.
//
// Thread safety: pure functions.
#pragma once

#include <array>
#include <cstdint>

#include "base/error.h"
#include "segment/format.h"

namespace f2sc::fs {

using segment::kAddrsPerBlock;  // data addresses in a direct node
using segment::kNidsPerInode;   // direct x2, indirect x2, double indirect
// Node ids in an indirect node: its nid array has the direct node's 1018 slots.
inline constexpr uint32_t kNidsPerBlock = segment::kAddrsPerBlock;

// The path from the inode to the address of one file block.
struct NodePath {
  // 0: the address is in the inode; 1: in a direct node; 2: under an indirect node;
  // 3: under the double-indirect node.
  int level = 0;
  // offset[0]: the address slot in the inode (level 0) or the i_nid slot 0..4 (level >= 1);
  // offset[k], k >= 1: the slot inside the node at depth k.
  std::array<uint32_t, 4> offset{};
  // node_offset[k]: the node offset (footer number) of the node at depth k; [0] is 0.
  std::array<uint32_t, 4> node_offset{};
};

// Fails with kOutOfRange for a block past the largest file the tree can map.
Result<NodePath> node_path(uint64_t block, uint32_t addrs_per_inode);

// Largest number of blocks a file can map with this many addresses in its inode.
uint64_t max_file_blocks(uint32_t addrs_per_inode);

// True when `node_offset` numbers a direct node (or the inode, 0), i.e. a node that holds
// data addresses rather than node ids.
bool is_direct_node_offset(uint32_t node_offset);

// The first file block mapped by the direct node numbered `node_offset` (0: the inode).
// Fails for an indirect node's number or one past the tree.
Result<uint64_t> first_block_of_node(uint32_t node_offset, uint32_t addrs_per_inode);

}  // namespace f2sc::fs
