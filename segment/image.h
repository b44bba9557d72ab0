// Image: an F2FS image opened for reading: a valid superblock, the newer valid checkpoint
// pack, and the SIT as of that checkpoint (each SIT block from the copy its version bitmap
// names, overlaid by the SIT journal). Every count is cross-checked: SIT entries against
// their bitmaps, the sum of valid blocks against the checkpoint, free segments against the
// checkpoint, journals against the area bounds. Errors are Errc::kCorrupt naming the
// structure, field and value; a truncated or hostile image never crashes the reader.
//
// Thread safety: open_image() reads the device; Image is a value type.
#pragma once

#include <vector>

#include "base/error.h"
#include "blockdev/block_device.h"
#include "segment/checkpoint.h"
#include "segment/superblock.h"

namespace f2sc::segment {

struct Image {
  SuperBlockInfo super;
  Checkpoint cp;
  std::vector<SitEntry> sit;  // one per main segment
};

Result<Image> open_image(blockdev::BlockDevice& dev);

// NAT entry of `nid` as of the checkpoint (journal first, then the current NAT copy).
Result<NatEntry> read_nat_entry(blockdev::BlockDevice& dev, const Image& img, uint32_t nid);

// Which of its two copies holds NAT block `b` now: a set bit in the checkpoint's NAT
// version bitmap (Layout::nat_bitmap_bytes() long) names copy 1.
inline int current_nat_copy(const uint8_t* nat_bitmap, uint32_t b) {
  return test_bit_msb(nat_bitmap, b) ? 1 : 0;
}

// The entry of `nid` in the current copy of its NAT block, unchecked (the NAT journal,
// which overrides it, is the caller's to look at first).
Result<NatEntry> read_nat_block_entry(blockdev::BlockDevice& dev, const Layout& L,
                                      const uint8_t* nat_bitmap, uint32_t nid);

}  // namespace f2sc::segment
