// Migrator: moves the live blocks of victim sections to the GC logs with multi-source copy
// requests, and repoints their owners.
//
// migrate(sections):
//  1. Scan: every SIT-valid block of each section (the segment's valid map, read once);
//     its SSA summary (one SSA read per segment, whose footer type must match the SIT's log
//     type: data or node);
//     BlockOwners::is_live(). Dead blocks are skipped: a write in flight invalidates them,
//     or the next checkpoint does (a dirty node it rewrites elsewhere), so a victim left
//     holding only those is freed by a checkpoint (MigrationResult::not_live).
//  2. Plan: live blocks in address order, data and node apart, become copy requests that
//     fit the device's copy limits (ranges per command, blocks per command, blocks per
//     range) and the room left in the GC log's segment, so each request is one device
//     command when offloaded and one contiguous destination run. Consecutive addresses form
//     one source range; blocks of several victims may share one request. Victims are
//     scanned one at a time and each one's requests are submitted at once, so its copies
//     run while the next victim is scanned; only a last request with room to spare waits
//     for the next victim's blocks.
//  3. Copy: each request's destination is allocate_held_run(kColdData | kColdNode, the
//     same summaries) -- SIT and SSA are right for the copies from the start, but
//     checkpoints leave them out until the commit -- and up to `max_in_flight` requests run
//     at once through BlockDevice::copy_async (the copy engine offloads, or emulates with
//     read+write when offload is off or unsupported).
//  4. Commit, on the calling thread, per finished request, inside BlockOwners::run_commit():
//     repoint(old, new) per block; moved -> invalidate old; lost race -> invalidate new
//     (the request's invalidations in one invalidate_blocks() call, after its repoints);
//     then release_run() lets checkpoints record the copies.
//
// Faults. A copy command the device fails (Command Size Limit Exceeded, LBA Out of Range,
// a media error; partly done or not) is finished by the copy engine's emulation from its
// DW0, and counted by cause. After `offload_fault_limit` failed commands in one migrate()
// call the remaining requests are emulated outright, so a device whose copies keep failing
// costs a bounded number of commands per collection. A request that fails even by
// emulation is retried once block by block (read, then write to the same destination):
// blocks that make it are committed as usual; a block that cannot be read is reported with
// its owner (MigrationResult::unreadable) and stays where it is, valid and owned, so its
// victim is not freed; a destination that cannot be written is invalidated and the block
// stays too. Nothing is lost. After a power cut (kPowerCut) nothing is retried.
//
// Victims must be pinned (SegmentManager::try_pin_section) by the caller for the whole call:
// a checkpoint between a copy and its repoint would otherwise free a victim whose blocks
// were all overwritten meanwhile, and a writer reusing `old` for the same owner would make
// a late repoint(old -> new) succeed with stale data. Pinned prefree segments stay prefree.
//
// Node blocks are copied as they are. Their footer holds nid, ino, flag, cp_ver and
// next_blkaddr; none depends on where the block lives. next_blkaddr and cp_ver matter only
// to roll-forward recovery, which walks the warm node chain written since the last
// checkpoint starting at the warm node log; GC copies go to the cold node log, outside that
// chain, and the originals the chain names stay intact on disk until a checkpoint makes the
// victim free -- after which that chain is no longer replayed. So no block is rewritten
// (GcStats::node_footer_fixes stays 0), as in F2FS, where a GC'd node's stale footer is
// likewise ignored outside the fsync chain.
//
// Crash consistency: a checkpoint during the copies records neither the copies (held) nor
// any repoint (commits exclude checkpoints), so a crash at any point recovers the
// pre-GC placement, with no valid block lacking an owner; after a commit, the next
// checkpoint records copies, repoints and invalidations together.
//
// Lock order: BlockOwners::run_commit (the filesystem's checkpoint exclusion) -> the
// owner's own lock inside repoint() -> SegmentManager's mutex (invalidate_blocks). The
// Migrator holds no lock of its own across device I/O or across calls into BlockOwners.
//
// Thread safety: migrate() may run on several threads at once on disjoint pinned sections.
#pragma once

#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <vector>

#include "base/error.h"
#include "blockdev/block_device.h"
#include "gc/block_owners.h"
#include "gc/gc_stats.h"
#include "segment/segment_manager.h"

namespace f2sc::gc {

struct MigratorOptions {
  unsigned max_in_flight = 8;        // copy requests submitted at once
  unsigned offload_fault_limit = 3;  // failed copy commands per migrate() before emulating
  // Tracing: called on the migrating thread with each copy request just before it is
  // submitted (f2sc-bench replays the GC's own requests to measure the raw copy path).
  std::function<void(const blockdev::CopyRequest&)> on_copy_request;
};

// A victim block that could not be read, and who owns it (for the user's report).
struct UnreadableBlock {
  uint32_t addr = 0;
  BlockKind kind = BlockKind::kData;
  segment::Summary owner{};  // nid, version, ofs_in_node
  std::string error;
};

struct MigrationResult {
  uint32_t sections = 0;           // victims examined
  uint32_t sections_freed = 0;     // left with 0 valid blocks (prefree until a checkpoint)
  uint64_t live_blocks = 0;        // found live in the scan
  uint64_t not_live = 0;           // valid in the SIT, but their owner has moved on
  uint64_t moved = 0;              // repointed to their copies
  uint64_t dropped = 0;            // copies dropped because a racing write won
  uint64_t copy_faults = 0;        // requests that failed even by emulation (then retried)
  uint64_t command_faults = 0;     // failed copy commands (finished by emulation)
  bool offload_suspended = false;  // command faults reached the limit: the rest was emulated
  std::vector<UnreadableBlock> unreadable;
  uint64_t copy_requests = 0;
  uint64_t errors = 0;        // owner or SSA errors (those blocks stayed in place)
  bool out_of_space = false;  // the GC logs found no free section; the rest stayed
};

class Migrator {
 public:
  // All references must outlive the Migrator. `dev` is the device `sm` lives on.
  Migrator(segment::SegmentManager& sm, blockdev::BlockDevice& dev, BlockOwners& owners,
           GcStats& stats, MigratorOptions options = {});

  // Migrates the live blocks of `sections` (pinned by the caller). Device copy errors and
  // owner errors are counted in the result, not returned; an error return means the
  // segment manager refused an invalidation (a broken invariant).
  Result<MigrationResult> migrate(std::span<const uint32_t> sections);

 private:
  struct LiveBlock {
    uint32_t addr;
    segment::Summary sum;
  };
  struct Chunk;

  Status scan(uint32_t secno, std::vector<LiveBlock>& data, std::vector<LiveBlock>& node,
              MigrationResult& result);
  struct Flight;
  // Submits `blocks` (one kind, address order) as copy requests and removes them; unless
  // `last`, a final request with room to spare stays in `blocks` for the next victim.
  void move(std::vector<LiveBlock>& blocks, BlockKind kind, bool last, Flight& flight,
            MigrationResult& result);
  // Waits for the oldest request in flight and commits it.
  void retire_oldest(Flight& flight, MigrationResult& result);
  Status commit(Chunk& chunk, MigrationResult& result);
  // After a failed request: copies its blocks one at a time; ok[i] says which made it.
  std::vector<uint8_t> retry_blocks(const Chunk& chunk, MigrationResult& result);

  segment::SegmentManager& sm_;
  blockdev::BlockDevice& dev_;
  BlockOwners& owners_;
  GcStats& stats_;
  MigratorOptions options_;
};

}  // namespace f2sc::gc
