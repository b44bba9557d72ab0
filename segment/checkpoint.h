// Checkpoint packs: the commit point of F2FS. A pack is a header block, cp_payload blocks
// (the SIT version bitmap when it does not fit the header), orphan blocks, the current
// segments' summaries (data: compacted or normal; node: only in an unmount checkpoint),
// and a footer copy of the header. The pack is valid only when header and footer carry the
// same version and both crcs match; the newer valid pack of the two wins.
//
// Thread safety: Checkpoint is a value type; read/write functions only touch the device and
// their arguments. Callers serialize checkpoint writes.
#pragma once

#include <array>
#include <cstdint>
#include <vector>

#include "base/error.h"
#include "blockdev/block_device.h"
#include "segment/format.h"
#include "segment/layout.h"

namespace f2sc::segment {

struct CursegState {
  uint32_t segno = 0;
  uint16_t blkoff = 0;     // next block to allocate in the segment
  uint8_t alloc_type = 0;  // 0 LFS, 1 SSR
  SummaryBlock sum{};      // entries of the segment so far; hot data holds the NAT journal,
                           // cold data the SIT journal
};

struct Checkpoint {
  // Header block followed by cp_payload blocks, as on disk (the header's crc is computed on
  // write).
  std::vector<uint8_t> blocks;
  std::vector<uint32_t> orphans;
  std::array<CursegState, kNrCursegType> cursegs{};  // indexed by Log
  int pack = 0;                                      // pack it was read from / written to

  CheckpointHeader& head() { return *reinterpret_cast<CheckpointHeader*>(blocks.data()); }
  const CheckpointHeader& head() const {
    return *reinterpret_cast<const CheckpointHeader*>(blocks.data());
  }
  uint64_t version() const { return head().checkpoint_ver; }
  uint32_t flags() const { return head().ckpt_flags; }
  CursegState& curseg(Log l) { return cursegs[static_cast<int>(l)]; }
  const CursegState& curseg(Log l) const { return cursegs[static_cast<int>(l)]; }

  // Version bitmaps (MSB-first bit per SIT/NAT block: set = copy 1 is current).
  uint8_t* sit_bitmap(uint32_t cp_payload);
  uint8_t* nat_bitmap(uint32_t cp_payload);
  const uint8_t* sit_bitmap(uint32_t cp_payload) const {
    return const_cast<Checkpoint*>(this)->sit_bitmap(cp_payload);
  }
  const uint8_t* nat_bitmap(uint32_t cp_payload) const {
    return const_cast<Checkpoint*>(this)->nat_bitmap(cp_payload);
  }

  Journal& nat_journal() { return curseg(Log::kHotData).sum.journal; }
  Journal& sit_journal() { return curseg(Log::kColdData).sum.journal; }
  const Journal& nat_journal() const { return curseg(Log::kHotData).sum.journal; }
  const Journal& sit_journal() const { return curseg(Log::kColdData).sum.journal; }
};

// The crc F2FS stores at checksum_offset of a checkpoint header block.
uint32_t checkpoint_crc(const uint8_t* block4k, uint32_t checksum_offset);

// Number of blocks the data summaries take in compacted form (1..3) for these cursegs.
uint32_t compact_summary_blocks(const std::array<CursegState, kNrCursegType>& cursegs);

// Reads and validates both packs; returns the newer valid one with its summaries parsed.
// Errors name the pack, the field and the value.
Result<Checkpoint> read_checkpoint(blockdev::BlockDevice& dev, const Layout& layout);

// Validates one pack's header fields against the layout (used by read_checkpoint).
Status validate_checkpoint_header(const CheckpointHeader& h, const Layout& layout);

struct CheckpointWriteOptions {
  bool umount = true;  // node summaries go into the pack (else into their SSA blocks)
};

// Writes `cp` as pack `pack` (the one not holding the current checkpoint): every block but
// the footer, flush, then the footer, flush. Sets cp_pack_* fields, flags and crcs.
// Until the footer is durable the previous pack remains the valid checkpoint.
Status write_checkpoint(blockdev::BlockDevice& dev, const Layout& layout, Checkpoint& cp, int pack,
                        const CheckpointWriteOptions& opts = {});

}  // namespace f2sc::segment
