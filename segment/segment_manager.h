// SegmentManager: the in-memory SIT and the six logs of a mounted image, the way F2FS's
// segment manager keeps them.
//
// State per main segment: valid-block bitmap and count, mean mtime, log type. Every segment
// is in exactly one set: current (a log writes into it), free, prefree (emptied since the
// last checkpoint: its blocks may still be referenced by that checkpoint, so it is reused
// only after the next one), dirty (partly valid), or full. Allocation is LFS: a log fills its
// segment in order, then moves to the next segment of its section if free, else to the
// next free section. The reserved sections (rsvd_segment_count, as F2FS) are GC's: how deep
// into them an allocation may open a new section is its Claim.
//
// Allocation and invalidation never touch the device: summaries of segments a log leaves
// are kept in memory until the next checkpoint, which writes them to the SSA, writes dirty
// SIT entries to the journal or to the alternate SIT copy, and then the checkpoint pack
// (body, flush, footer, flush). Only then do prefree segments become free.
//
// Thread safety: all methods may be called from any thread. State is guarded by one mutex
// that is never held across device I/O; checkpoint() calls are serialized by a second mutex.
#pragma once

#include <bitset>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <span>
#include <vector>

#include "base/error.h"
#include "blockdev/block_device.h"
#include "segment/checkpoint.h"
#include "segment/image.h"

namespace f2sc::segment {

enum class SegState : uint8_t { kFree, kCurrent, kDirty, kFull, kPrefree };

struct SegmentInfo {
  uint32_t valid = 0;
  uint64_t mtime = 0;
  Log type = Log::kHotData;
  SegState state = SegState::kFree;
};

// One GC candidate section and its usage, from victim_candidates().
struct SectionUsage {
  uint32_t secno = 0;
  uint32_t valid = 0;  // valid blocks in the section
  uint64_t mtime = 0;  // mean SIT mtime of its segments
};

// Segments by state, from one pass under the lock. "In use" is dirty or full: the segments
// that hold data and are neither free, prefree nor open for writing -- the population a
// cleaner chooses victims from, and whose live fraction the greedy cleaning model means.
struct SpaceUsage {
  uint32_t segments = 0, free = 0, current = 0, prefree = 0;
  uint32_t data_in_use = 0, node_in_use = 0;
  uint64_t data_valid_in_use = 0, node_valid_in_use = 0;  // valid blocks in those segments
  // Sections wholly free, and GC's reserve (user writes keep clear of it, see Claim).
  uint32_t free_sections = 0, reserved_sections = 0;
};

// How far into GC's reserved sections an allocation may open a new one. Each claim opens
// a section only while more than section_floor(claim) are free; the filesystem admits
// writes with the same floors, so what it admits the allocator grants.
enum class Claim : uint8_t {
  kUser,     // new user blocks: none of the reserve
  kRewrite,  // user blocks replacing ones they invalidate: down to half of it, as what
             // they invalidate is what GC reclaims (F2FS would fill holes instead: SSR)
  kGc,       // GC's copies and the checkpoint's node blocks: all of it
};

struct CheckpointRequest {
  bool umount = true;
  // Called with the pack about to be written, after the manager set its own fields
  // (cursegs, SIT bitmap and journal, valid_block_count, free_segment_count, version): the
  // filesystem fills node counts, next_free_nid, the NAT journal and bitmap, orphans.
  std::function<void(Checkpoint&)> fill;
};

class SegmentManager {
 public:
  // Takes the state of an opened image; `dev` must outlive the manager.
  static Result<std::unique_ptr<SegmentManager>> load(blockdev::BlockDevice& dev, Image image);

  const Layout& layout() const { return layout_; }

  // One block in `log`, recording its owner in the segment's summary. Returns its address.
  Result<uint32_t> allocate(Log log, const Summary& owner, Claim claim = Claim::kUser);
  // `owners.size()` consecutive blocks (at most one segment) in `log`: the log moves to a
  // new segment first when the current one lacks room. For GC copies.
  Result<uint32_t> allocate_run(Log log, std::span<const Summary> owners,
                                Claim claim = Claim::kUser);
  // Marks a valid block invalid (its owner moved or died).
  Status invalidate(uint32_t addr);
  // invalidate() of each address under one lock. Every valid one is invalidated even when
  // another fails; the first failure is returned.
  Status invalidate_blocks(std::span<const uint32_t> addrs);

  // GC copies in flight: allocate_held_run() is allocate_run(kGc) whose blocks are valid
  // in memory at once but held out of checkpoints (the SIT they write shows them invalid)
  // until release_run(), which the GC calls when it commits the copies (repointed or
  // invalidated), under the filesystem's checkpoint exclusion. A crash before the commit
  // thus leaves no valid block without an owner.
  Result<uint32_t> allocate_held_run(Log log, std::span<const Summary> owners);
  void release_run(uint32_t first, uint32_t n);

  bool is_valid(uint32_t addr) const;
  // The valid blocks of a main segment by offset (bit k: block k), read under one lock: a
  // snapshot, which writers may change right after.
  std::bitset<kBlocksPerSeg> segment_valid_map(uint32_t segno) const;
  SegmentInfo segment(uint32_t segno) const;
  // The SSA entry of a block: from memory for segments touched since the last checkpoint,
  // else from the SSA area.
  Result<Summary> summary(uint32_t addr) const;
  // The whole summary block of a main segment, from the same places (one SSA read at most).
  Result<SummaryBlock> summary_block(uint32_t segno) const;

  // Sections for victim selection: not current, not free, not prefree, with invalid blocks.
  std::vector<uint32_t> dirty_sections() const;
  uint32_t section_valid_blocks(uint32_t secno) const;
  uint64_t section_mtime(uint32_t secno) const;  // mean over its segments
  bool section_is_current(uint32_t secno) const;
  uint32_t free_sections() const;
  // dirty_sections() with the usage of each, in one pass under the lock, leaving out pinned
  // sections: what a GC victim policy ranks.
  std::vector<SectionUsage> victim_candidates() const;
  // Blocks left in the current segment of `log` (a run this long or shorter stays there).
  uint32_t log_free_blocks(Log log) const;

  // Pins: a GC pins its victim sections while it copies their blocks, so that a checkpoint
  // in the meantime cannot turn them free (and let a writer reuse an address the GC is
  // about to repoint from). A pinned section is never a victim candidate; its prefree
  // segments stay prefree through checkpoints until it is unpinned, and become free at the
  // first checkpoint after that. try_pin_section() fails when the section is pinned already.
  bool try_pin_section(uint32_t secno);
  void unpin_section(uint32_t secno);
  bool section_pinned(uint32_t secno) const;
  uint32_t reserved_sections() const { return reserved_sections_; }
  // The free sections `claim` leaves alone (see Claim).
  uint32_t section_floor(Claim claim) const;
  uint32_t prefree_segments() const;
  SpaceUsage space_usage() const;
  uint64_t valid_blocks() const;
  // Blocks users may fill (the checkpoint's user_block_count): main area minus the
  // overprovisioned space GC works in. valid_blocks() never exceeds it at a checkpoint.
  uint64_t user_block_count() const;
  // Seconds on the SIT clock (checkpoint elapsed_time + time since load).
  uint64_t now() const;

  // The commit point; see the header comment.
  Status checkpoint(const CheckpointRequest& req = {});
  uint64_t checkpoint_version() const;

 private:
  SegmentManager(blockdev::BlockDevice& dev, Image image);
  Result<uint32_t> allocate_locked(Log log, std::span<const Summary> owners, Claim claim);
  Status new_segment_locked(Log log, Claim claim);
  // `marked_dirty`: the segment last added to sit_dirty_ by the caller's loop (or UINT32_MAX),
  // updated here.
  Status invalidate_locked(uint32_t addr, uint32_t& marked_dirty);
  void set_state_locked(uint32_t segno);
  void count_sections_locked();
  // sit_[segno] as checkpoints see it: held blocks cleared.
  SitEntry committed_entry_locked(uint32_t segno) const;

  blockdev::BlockDevice& dev_;
  const Layout layout_;
  const std::chrono::steady_clock::time_point loaded_;
  uint64_t elapsed_base_ = 0;
  uint32_t reserved_sections_ = 0;

  mutable std::mutex mu_;  // guards everything below
  std::vector<SitEntry> sit_;
  std::vector<SegmentInfo> segs_;
  uint64_t valid_total_ = 0;  // the sum of segs_[*].valid, kept as they change
  std::array<CursegState, kNrCursegType> cursegs_{};
  std::set<uint32_t> sit_dirty_;                  // segnos changed since checkpoint
  std::map<uint32_t, SummaryBlock> pending_ssa_;  // left by a log since checkpoint
  Checkpoint cp_;                                 // last committed pack
  uint32_t free_secs_ = 0;
  std::set<uint32_t> pinned_secs_;
  using HeldBlocks = std::bitset<kBlocksPerSeg>;
  std::map<uint32_t, HeldBlocks> held_;  // segno -> block offsets held from checkpoints

  std::mutex cp_mu_;  // serializes checkpoint()
};

}  // namespace f2sc::segment
