// Layout: the F2FS area geometry of one image (superblock x2, checkpoint, SIT, NAT, SSA,
// main), derived from a validated superblock, with the address arithmetic every other part
// of segment/ uses. All addresses are 4 KiB block numbers on the device.
//
// Thread safety: immutable value type.
#pragma once

#include <cstdint>

#include "segment/format.h"

namespace f2sc::segment {

struct Layout {
  uint64_t block_count = 0;  // blocks the filesystem covers
  uint32_t segs_per_sec = 1;
  uint32_t secs_per_zone = 1;
  uint32_t segment0 = 0;  // == cp_addr
  uint32_t cp_addr = 0;
  uint32_t sit_addr = 0;
  uint32_t nat_addr = 0;
  uint32_t ssa_addr = 0;
  uint32_t main_addr = 0;
  uint32_t segment_count = 0;  // all segments from segment0
  uint32_t sit_segments = 0;   // per copy
  uint32_t nat_segments = 0;   // per copy
  uint32_t ssa_segments = 0;
  uint32_t main_segments = 0;
  uint32_t sections = 0;
  uint32_t cp_payload = 0;
  uint32_t root_ino = 3, node_ino = 1, meta_ino = 2;

  uint32_t sit_blocks() const { return sit_segments * kBlocksPerSeg; }  // per copy
  uint32_t nat_blocks() const { return nat_segments * kBlocksPerSeg; }  // per copy
  uint32_t max_nid() const { return nat_blocks() * kNatEntriesPerBlock; }
  uint32_t sit_bitmap_bytes() const { return sit_blocks() / 8; }
  uint32_t nat_bitmap_bytes() const { return nat_blocks() / 8; }
  uint64_t main_end() const {
    return main_addr + static_cast<uint64_t>(main_segments) * kBlocksPerSeg;
  }

  // Block `i` of the SIT / NAT in copy 0 or 1. SIT copies are two contiguous halves; NAT
  // copies alternate segment by segment.
  uint32_t sit_block_addr(uint32_t i, int copy) const {
    return sit_addr + i + (copy ? sit_blocks() : 0);
  }
  uint32_t nat_block_addr(uint32_t i, int copy) const {
    return nat_addr + (i / kBlocksPerSeg) * 2 * kBlocksPerSeg + (copy ? kBlocksPerSeg : 0) +
           i % kBlocksPerSeg;
  }
  uint32_t ssa_block_addr(uint32_t segno) const { return ssa_addr + segno; }
  uint32_t seg_start(uint32_t segno) const { return main_addr + segno * kBlocksPerSeg; }
  bool in_main(uint64_t addr) const { return addr >= main_addr && addr < main_end(); }
  uint32_t segno_of(uint32_t addr) const { return (addr - main_addr) / kBlocksPerSeg; }
  uint32_t blkoff_of(uint32_t addr) const { return (addr - main_addr) % kBlocksPerSeg; }
  uint32_t secno_of_seg(uint32_t segno) const { return segno / segs_per_sec; }
  // Start of checkpoint pack 0 or 1.
  uint32_t cp_pack_addr(int pack) const { return cp_addr + (pack ? kBlocksPerSeg : 0); }
};

}  // namespace f2sc::segment
