// BlockOwners: how the garbage collector reaches the filesystem that owns the blocks it
// moves. gc/ never includes fs/; the filesystem implements this interface.
//
// Every block in the main area has an SSA summary {nid, version, ofs_in_node}. For a data
// block the owner is slot `ofs_in_node` of direct node (or inode) `nid`; for a node block
// the owner is the NAT entry of `nid`. The GC tells the two apart by the segment's log type
// (segment::is_node_log of SegmentInfo::type), which matches the SSA footer type.
//
// Protocol, per block the GC moves:
//   1. is_live(old, sum): the owner points at `old` now (a hint: it may change at once).
//      An owner may also say no for a block it releases at the next checkpoint (the
//      filesystem does for a dirty node, which the checkpoint writes elsewhere): the GC
//      leaves such a block and writes that checkpoint to free the victim.
//   2. The GC allocates `new` in a GC log with the same summary and copies old -> new.
//   3. Inside run_commit() (no checkpoint may run meanwhile): repoint(old, new, sum).
//      true  -> the owner now points at `new`; the GC invalidates `old` in the SIT.
//      false -> the owner had moved on (a racing write won); the GC invalidates `new`.
//   4. After a batch, checkpoint() commits everything so the emptied victims become free.
//
// What an implementation must guarantee:
//   - repoint() is a compare-and-swap under the owner's lock: it changes nothing unless the
//     owner points at `old_addr` right now, and on success also fixes whatever caches the
//     address (the inode's extent cache, a page cache index, the dnode's dirty state).
//     It never touches the SIT: the GC invalidates.
//   - The filesystem's own writers swap an owner's address under the same lock, and
//     invalidate the address they read there (not one they remembered earlier), so a GC
//     repoint and a user overwrite never both invalidate the same block.
//   - run_commit(fn) runs fn so that no checkpoint starts or is in progress while it runs
//     (F2FS: f2fs_lock_op around GC's block moves). It may be called from any thread.
//     The GC does no device I/O inside fn other than what repoint() itself needs.
//
// Thread safety: the GC calls these from its own threads (the caller of collect() and the
// background thread), possibly several at once; implementations must be thread-safe.
#pragma once

#include <cstdint>
#include <functional>

#include "base/error.h"
#include "segment/format.h"

namespace f2sc::gc {

enum class BlockKind : uint8_t { kData, kNode };

class BlockOwners {
 public:
  virtual ~BlockOwners() = default;

  // Whether the owner named by `sum` points at `addr` now.
  virtual Result<bool> is_live(uint32_t addr, const segment::Summary& sum, BlockKind kind) = 0;
  // Moves the owner from old_addr to new_addr if it still points at old_addr (true), else
  // changes nothing (false). An error also changes nothing.
  virtual Result<bool> repoint(uint32_t old_addr, uint32_t new_addr, const segment::Summary& sum,
                               BlockKind kind) = 0;
  // Runs `commit` excluded from checkpoints; returns what it returns.
  virtual Status run_commit(const std::function<Status()>& commit) = 0;
  // Writes a checkpoint (the filesystem's, which ends in SegmentManager::checkpoint()).
  virtual Status checkpoint() = 0;
};

}  // namespace f2sc::gc
