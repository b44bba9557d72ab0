#include "fs/node_path.h"

#include <string>

namespace f2sc::fs {

namespace {

constexpr uint64_t kDirect = kAddrsPerBlock;
constexpr uint64_t kIndirect = uint64_t{kAddrsPerBlock} * kNidsPerBlock;
constexpr uint64_t kDoubleIndirect = kIndirect * kNidsPerBlock;
// Node offsets: inode 0, direct 1 and 2, indirect-1 at 3 followed by its direct nodes,
// indirect-2 after them followed by its direct nodes, then the double-indirect node.
constexpr uint32_t kInd1Offset = 3;
constexpr uint32_t kInd2Offset = 4 + kNidsPerBlock;
constexpr uint32_t kDindOffset = 5 + 2 * kNidsPerBlock;
constexpr uint32_t kLastNodeOffset =
    kDindOffset + kNidsPerBlock * (kNidsPerBlock + 1);  // last direct under the dind

}  // namespace

uint64_t max_file_blocks(uint32_t addrs_per_inode) {
  return addrs_per_inode + 2 * kDirect + 2 * kIndirect + kDoubleIndirect;
}

Result<NodePath> node_path(uint64_t block, uint32_t addrs_per_inode) {
  NodePath p;
  const uint64_t asked = block;
  if (block < addrs_per_inode) {
    p.offset[0] = static_cast<uint32_t>(block);
    return p;
  }
  block -= addrs_per_inode;
  for (uint32_t slot = 0; slot < 2; ++slot) {  // the two direct nodes
    if (block < kDirect) {
      p.level = 1;
      p.offset = {slot, static_cast<uint32_t>(block), 0, 0};
      p.node_offset = {0, 1 + slot, 0, 0};
      return p;
    }
    block -= kDirect;
  }
  for (uint32_t slot = 2; slot < 4; ++slot) {  // the two indirect nodes
    if (block < kIndirect) {
      const uint32_t base = slot == 2 ? kInd1Offset : kInd2Offset;
      const auto child = static_cast<uint32_t>(block / kDirect);
      p.level = 2;
      p.offset = {slot, child, static_cast<uint32_t>(block % kDirect), 0};
      p.node_offset = {0, base, base + 1 + child, 0};
      return p;
    }
    block -= kIndirect;
  }
  if (block < kDoubleIndirect) {
    const auto ind = static_cast<uint32_t>(block / kIndirect);
    const auto dir = static_cast<uint32_t>((block / kDirect) % kNidsPerBlock);
    const uint32_t ind_offset = kDindOffset + 1 + ind * (kNidsPerBlock + 1);
    p.level = 3;
    p.offset = {4, ind, dir, static_cast<uint32_t>(block % kDirect)};
    p.node_offset = {0, kDindOffset, ind_offset, ind_offset + 1 + dir};
    return p;
  }
  return fail(Errc::kOutOfRange, "file block " + std::to_string(asked) +
                                     " is past the largest file the node tree maps (" +
                                     std::to_string(max_file_blocks(addrs_per_inode)) + " blocks)");
}

bool is_direct_node_offset(uint32_t n) {
  if (n <= 2) return true;
  if (n > kLastNodeOffset) return false;
  if (n == kInd1Offset || n == kInd2Offset || n == kDindOffset) return false;
  if (n > kDindOffset) return (n - kDindOffset - 1) % (kNidsPerBlock + 1) != 0;
  return true;
}

Result<uint64_t> first_block_of_node(uint32_t n, uint32_t addrs_per_inode) {
  if (!is_direct_node_offset(n)) {
    return fail(Errc::kInvalidArgument,
                "node offset " + std::to_string(n) + " does not number a direct node");
  }
  if (n == 0) return 0;
  uint64_t base = addrs_per_inode;
  if (n <= 2) return base + (n - 1) * kDirect;
  base += 2 * kDirect;
  if (n < kInd2Offset) return base + (n - kInd1Offset - 1) * kDirect;
  base += kIndirect;
  if (n < kDindOffset) return base + (n - kInd2Offset - 1) * kDirect;
  base += kIndirect;
  const uint32_t rel = n - kDindOffset - 1;
  const uint32_t ind = rel / (kNidsPerBlock + 1), dir = rel % (kNidsPerBlock + 1) - 1;
  return base + (uint64_t{ind} * kNidsPerBlock + dir) * kDirect;
}

}  // namespace f2sc::fs
