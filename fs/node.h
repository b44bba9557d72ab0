// Node manager (read side): the NAT as of the last checkpoint, and node blocks read through
// it with their footers checked.
//
// A node id (nid) names an inode, a direct node, an indirect node or an xattr node. Its
// current block address lives in the NAT: the NAT block holding the nid exists in two copies
// and the checkpoint's NAT version bitmap says which copy is current (bit set: copy 1). The
// NAT journal in the checkpoint's hot-data summary holds newer entries than either copy and
// wins. Valid nids start at the root inode's number (Linux rejects 0, node_ino and meta_ino
// as ordinary nids) and stop below max_nid (NAT blocks x 455).
//
// Every error on disk input is Errc::kCorrupt naming the nid, the structure, the field and
// the value; a nid the caller passes out of range is kOutOfRange.
//
// Thread safety: immutable after construction; lookups only read the device (which is
// thread safe), so any number of threads may call them at once.
#pragma once

#include <cstdint>
#include <unordered_map>
#include <vector>

#include "base/error.h"
#include "blockdev/block_device.h"
#include "segment/checkpoint.h"
#include "segment/format.h"
#include "segment/layout.h"

namespace f2sc::fs {

struct NodeInfo {
  uint32_t nid = 0;
  uint32_t ino = 0;           // the inode owning this node (== nid for an inode)
  uint32_t blk_addr = 0;      // kNullAddr: no such node; kNewAddr: allocated, never written
  uint8_t version = 0;        // bumped when the nid is freed and reused
  bool from_journal = false;  // found in the checkpoint's NAT journal
};

// Node offset stored in the footer's flag word (bits 31:3); the low bits are cold / fsync /
// dentry marks.
inline uint32_t footer_node_offset(const segment::NodeFooter& f) {
  return f.flag >> 3;
}

class NodeManager {
 public:
  NodeManager(blockdev::BlockDevice& dev, const segment::Layout& layout,
              const segment::Checkpoint& cp);

  // The NAT entry of `nid`: journal first, then the current copy of its NAT block.
  Result<NodeInfo> node_info(uint32_t nid) const;

  // Reads node `nid`, which must belong to inode `ino` and carry node offset
  // `node_offset` in its footer (0 for an inode). A nid without a block is kCorrupt here:
  // callers only follow nids that something on disk references.
  Result<segment::NodeBlock> read_node(uint32_t nid, uint32_t ino, uint32_t node_offset) const;

  uint32_t max_nid() const { return layout_.max_nid(); }
  const segment::Layout& layout() const { return layout_; }
  blockdev::BlockDevice& device() const { return dev_; }

 private:
  blockdev::BlockDevice& dev_;
  segment::Layout layout_;
  std::vector<uint8_t> nat_bitmap_;                          // one bit per NAT block
  std::unordered_map<uint32_t, segment::NatEntry> journal_;  // nid -> newest entry
  Status journal_status_;  // a bad journal fails every lookup with the same precise error
};

}  // namespace f2sc::fs
