// NodeStore: the write side of the node manager: the NAT as the mounted filesystem sees it
// (the last checkpoint's NAT blocks and journal, overlaid by entries changed since), free
// node ids, and a cache of node blocks in which the filesystem edits inodes and direct and
// indirect nodes.
//
// Nodes are written out of place, only at a checkpoint: flush() gives every dirty node a new
// block in its node log (hot node: directory inodes and direct nodes; warm node: those of
// other files; cold node: indirect nodes, as Linux's __get_segment_type_6), invalidates the
// block the NAT named, and updates the NAT entry. write_nat() then stores changed entries
// in the NAT journal when they fit, else in the NAT blocks' alternate copies, and returns
// the journal and version bitmap that belong in the checkpoint pack.
//
// A freed nid keeps its NAT entry NULL and is reused only after the next checkpoint (the
// last checkpoint may still name it); its version is bumped as Linux does.
//
// Thread safety: none. The filesystem serializes every call under its own lock.
#pragma once

#include <cstdint>
#include <memory>
#include <set>
#include <unordered_map>
#include <vector>

#include "base/error.h"
#include "blockdev/block_device.h"
#include "segment/checkpoint.h"
#include "segment/format.h"
#include "segment/layout.h"
#include "segment/segment_manager.h"

namespace f2sc::fs {

class NodeStore {
 public:
  NodeStore(blockdev::BlockDevice& dev, const segment::Layout& layout, segment::SegmentManager& sm,
            const segment::Checkpoint& cp);

  // Validates the NAT journal and scans the NAT for free nids. Called once at mount.
  Status load();

  Result<segment::NatEntry> nat(uint32_t nid);
  // Node `nid` from the cache (read on a miss, footer checked against ino and
  // node_offset). The pointer stays valid until remove(nid) or trim().
  Result<segment::NodeBlock*> get(uint32_t nid, uint32_t ino, uint32_t node_offset);
  // Node `nid` of whichever inode the NAT names, at whatever node offset its footer says
  // (the GC knows a block's nid, not its place in the tree). Fails kNotFound for a free nid.
  Result<segment::NodeBlock*> get_any(uint32_t nid);
  bool is_dirty(uint32_t nid) const { return dirty_.count(nid) != 0; }
  // The cached node, or nullptr when not cached.
  segment::NodeBlock* cached(uint32_t nid);
  void mark_dirty(uint32_t nid);
  // Drops clean nodes when the cache is large; invalidates pointers to clean nodes.
  void trim();

  // A free nid (ENOSPC when none).
  Result<uint32_t> alloc_nid();
  // A new, zeroed, dirty node with its footer set (NAT: NEW_ADDR until the first flush).
  Result<segment::NodeBlock*> create(uint32_t nid, uint32_t ino, uint32_t node_offset, bool is_dir);
  // Drops node `nid`: its block is invalidated, its NAT entry becomes NULL, and the nid is
  // free after the next checkpoint.
  Status remove(uint32_t nid);

  // The node's block moved (GC): updates the NAT only when it still names `old_addr` and the
  // cached copy is not dirty. Returns whether it did.
  Result<bool> repoint(uint32_t nid, uint32_t old_addr, uint32_t new_addr);

  // Checkpoint, step 1: writes every dirty node to its log. `cp_ver` goes in the footers.
  Status flush(uint64_t cp_ver);
  // Checkpoint, step 2: writes the changed NAT entries to the NAT blocks' alternate copies
  // unless they fit the journal; returns the journal and the NAT version bitmap for the pack.
  Status write_nat(segment::Journal& journal, std::vector<uint8_t>& bitmap);
  // Checkpoint, step 3 (after the pack is durable): nids freed before it become reusable.
  void committed();

  size_t dirty_count() const { return dirty_.size(); }
  uint32_t free_nid_count() const { return free_count_; }
  uint32_t max_nid() const { return layout_.max_nid(); }
  uint32_t next_free_nid_hint() const { return cursor_; }
  uint64_t nodes_written() const { return nodes_written_; }

 private:
  struct Cached {
    segment::NodeBlock node;
    bool dirty = false;
    bool is_dir = false;
  };
  Result<segment::NatEntry> read_nat_from_disk(uint32_t nid);
  void set_nat(uint32_t nid, const segment::NatEntry& e);
  bool used(uint32_t nid) const { return used_[nid / 64] >> (nid % 64) & 1; }
  void set_used(uint32_t nid, bool on);

  blockdev::BlockDevice& dev_;
  const segment::Layout layout_;
  segment::SegmentManager& sm_;
  std::vector<uint8_t> nat_bitmap_;                      // current copy per NAT block (MSB-first)
  std::unordered_map<uint32_t, segment::NatEntry> nat_;  // entries read or changed
  std::set<uint32_t> journal_nids_;      // entries the last checkpoint keeps in its journal
  std::set<uint32_t> nat_dirty_;         // changed since the last checkpoint
  std::vector<uint8_t> pending_bitmap_;  // written by write_nat, adopted by committed()
  bool pending_journal_ = false;         // write_nat put every change in the journal
  std::set<uint32_t> pending_clean_;     // NAT entries write_nat stored
  std::vector<uint64_t> used_;           // one bit per nid: in use or not yet reusable
  uint32_t free_count_ = 0;
  uint32_t cursor_ = 0;          // where alloc_nid looks first
  std::vector<uint32_t> freed_;  // freed since the last checkpoint
  std::unordered_map<uint32_t, std::unique_ptr<Cached>> cache_;
  std::set<uint32_t> dirty_;
  std::vector<segment::NatJournalEntry> journal_at_mount_;
  uint64_t nodes_written_ = 0;
};

}  // namespace f2sc::fs
