#include "segment/superblock.h"

#include <cstring>
#include <vector>

#include "segment/crc.h"

namespace f2sc::segment {
namespace {

std::string field(const char* name, uint64_t value) {
  return std::string("superblock field ") + name + " = " + std::to_string(value);
}

}  // namespace

Result<Layout> validate_superblock(const SuperBlock& sb, uint64_t device_blocks) {
  auto bad = [](const char* name, uint64_t value, const std::string& why) {
    return fail(Errc::kCorrupt, field(name, value) + ": " + why);
  };
  if (sb.magic != kMagic) return bad("magic", sb.magic, "expected 0xf2f52010");
  if (sb.log_blocksize != kLogBlockSize)
    return bad("log_blocksize", sb.log_blocksize, "only 4 KiB blocks (12) are supported");
  if (sb.log_blocks_per_seg != kLogBlocksPerSeg)
    return bad("log_blocks_per_seg", sb.log_blocks_per_seg, "must be 9 (512 blocks)");
  if (sb.log_sectorsize < 9 || sb.log_sectorsize > 12)
    return bad("log_sectorsize", sb.log_sectorsize, "must be 9..12");
  if (sb.log_sectors_per_block + sb.log_sectorsize != kLogBlockSize)
    return bad("log_sectors_per_block", sb.log_sectors_per_block,
               "log_sectorsize + log_sectors_per_block must be 12");
  if (sb.feature & kFeatureSbChksum) {
    if (sb.checksum_offset != kSbChecksumOffset)
      return bad("checksum_offset", sb.checksum_offset, "must be 3068");
    uint32_t crc = f2fs_crc32(&sb, kSbChecksumOffset);
    if (crc != sb.crc)
      return bad("crc", sb.crc, "checksum mismatch, computed " + std::to_string(crc));
  }
  if (sb.segs_per_sec == 0 || sb.segs_per_sec > kMaxSegments)
    return bad("segs_per_sec", sb.segs_per_sec, "out of range");
  if (sb.secs_per_zone == 0 || sb.secs_per_zone > kMaxSegments / sb.segs_per_sec)
    return bad("secs_per_zone", sb.secs_per_zone, "out of range");
  if (sb.segment_count < kMinSegments || sb.segment_count > kMaxSegments)
    return bad("segment_count", sb.segment_count, "must be 9..8388608");
  if (sb.segment_count_ckpt != 2)
    return bad("segment_count_ckpt", sb.segment_count_ckpt, "must be 2");
  if (sb.segment_count_sit == 0 || sb.segment_count_sit % 2)
    return bad("segment_count_sit", sb.segment_count_sit, "must be even and non-zero");
  if (sb.segment_count_nat == 0 || sb.segment_count_nat % 2)
    return bad("segment_count_nat", sb.segment_count_nat, "must be even and non-zero");
  if (sb.segment_count_ssa == 0) return bad("segment_count_ssa", 0, "must be non-zero");
  if (sb.cp_blkaddr != sb.segment0_blkaddr)
    return bad("cp_blkaddr", sb.cp_blkaddr,
               "must equal segment0_blkaddr " + std::to_string(sb.segment0_blkaddr));
  if (sb.segment0_blkaddr < 2)
    return bad("segment0_blkaddr", sb.segment0_blkaddr, "overlaps the superblocks");
  auto expect_addr = [&](const char* name, uint64_t got, uint64_t prev, uint64_t segs) {
    uint64_t want = prev + segs * kBlocksPerSeg;
    return got == want
               ? Status{}
               : Status(bad(name, got,
                            "must be " + std::to_string(want) + " (end of the previous area)"));
  };
  if (auto s = expect_addr("sit_blkaddr", sb.sit_blkaddr, sb.cp_blkaddr, 2); !s)
    return fail(s.error());
  if (auto s = expect_addr("nat_blkaddr", sb.nat_blkaddr, sb.sit_blkaddr, sb.segment_count_sit); !s)
    return fail(s.error());
  if (auto s = expect_addr("ssa_blkaddr", sb.ssa_blkaddr, sb.nat_blkaddr, sb.segment_count_nat); !s)
    return fail(s.error());
  if (auto s = expect_addr("main_blkaddr", sb.main_blkaddr, sb.ssa_blkaddr, sb.segment_count_ssa);
      !s)
    return fail(s.error());
  uint64_t meta = uint64_t{sb.segment_count_ckpt} + sb.segment_count_sit + sb.segment_count_nat +
                  sb.segment_count_ssa;
  if (meta + sb.segment_count_main > sb.segment_count)
    return bad("segment_count_main", sb.segment_count_main,
               "metadata (" + std::to_string(meta) + ") + main exceed segment_count " +
                   std::to_string(sb.segment_count));
  if (uint64_t{sb.section_count} * sb.segs_per_sec != sb.segment_count_main)
    return bad("section_count", sb.section_count,
               "section_count * segs_per_sec must equal segment_count_main " +
                   std::to_string(sb.segment_count_main));
  if (sb.segment_count_main < kNrCursegType + 1)
    return bad("segment_count_main", sb.segment_count_main, "fewer than 7 main segments");
  uint64_t fs_end = sb.segment0_blkaddr + uint64_t{sb.segment_count} * kBlocksPerSeg;
  if (fs_end > sb.block_count)
    return bad("segment_count", sb.segment_count,
               "segments end at block " + std::to_string(fs_end) + " past block_count " +
                   std::to_string(sb.block_count));
  if (sb.block_count > device_blocks)
    return bad("block_count", sb.block_count,
               "larger than the device (" + std::to_string(device_blocks) + " blocks)");
  // SIT copy must cover every main segment; NAT bitmap must fit the checkpoint.
  uint64_t sit_entries = uint64_t{sb.segment_count_sit / 2} * kBlocksPerSeg * kSitEntriesPerBlock;
  if (sit_entries < sb.segment_count_main)
    return bad("segment_count_sit", sb.segment_count_sit, "too small for the main area");
  uint64_t ssa_blocks = uint64_t{sb.segment_count_ssa} * kBlocksPerSeg;
  if (ssa_blocks < sb.segment_count_main)
    return bad("segment_count_ssa", sb.segment_count_ssa, "too small for the main area");
  uint64_t sit_bitmap = uint64_t{sb.segment_count_sit / 2} * kBlocksPerSeg / 8;
  uint64_t nat_bitmap = uint64_t{sb.segment_count_nat / 2} * kBlocksPerSeg / 8;
  if (sb.cp_payload > kBlocksPerSeg / 2)
    return bad("cp_payload", sb.cp_payload, "larger than half a checkpoint segment");
  if (sit_bitmap + nat_bitmap > kMaxBitmapSizeInCp + uint64_t{sb.cp_payload} * kBlockSize)
    return bad("segment_count_nat", sb.segment_count_nat,
               "SIT and NAT version bitmaps do not fit the checkpoint (+cp_payload)");
  if (sb.root_ino != 3 || sb.node_ino != 1 || sb.meta_ino != 2)
    return bad("root_ino", sb.root_ino, "expected root 3, node 1, meta 2");

  Layout l;
  l.block_count = sb.block_count;
  l.segs_per_sec = sb.segs_per_sec;
  l.secs_per_zone = sb.secs_per_zone;
  l.segment0 = sb.segment0_blkaddr;
  l.cp_addr = sb.cp_blkaddr;
  l.sit_addr = sb.sit_blkaddr;
  l.nat_addr = sb.nat_blkaddr;
  l.ssa_addr = sb.ssa_blkaddr;
  l.main_addr = sb.main_blkaddr;
  l.segment_count = sb.segment_count;
  l.sit_segments = sb.segment_count_sit / 2;
  l.nat_segments = sb.segment_count_nat / 2;
  l.ssa_segments = sb.segment_count_ssa;
  l.main_segments = sb.segment_count_main;
  l.sections = sb.section_count;
  l.cp_payload = sb.cp_payload;
  l.root_ino = sb.root_ino;
  l.node_ino = sb.node_ino;
  l.meta_ino = sb.meta_ino;
  return l;
}

Result<SuperBlockInfo> read_superblock(blockdev::BlockDevice& dev) {
  if (dev.block_size() != kBlockSize)
    return fail(Errc::kNotSupported,
                "device block size " + std::to_string(dev.block_size()) + " is not 4096");
  if (dev.block_count() < 2)
    return fail(Errc::kCorrupt, "image of " + std::to_string(dev.block_count()) +
                                    " blocks is too small to hold the superblocks");
  std::vector<std::byte> buf(2 * kBlockSize);
  if (auto s = dev.read(0, buf); !s) return fail(with_context(s.error(), "reading superblocks"));
  SuperBlockInfo info;
  std::string errors;
  int valid = 0;
  for (int copy = 0; copy < 2; ++copy) {
    SuperBlock sb;
    std::memcpy(&sb, buf.data() + copy * kBlockSize + kSuperOffset, sizeof(sb));
    auto layout = validate_superblock(sb, dev.block_count());
    if (!layout) {
      errors += (errors.empty() ? "" : "; ") + std::string("superblock copy ") +
                std::to_string(copy) + ": " + layout.error().message;
      continue;
    }
    ++valid;
    if (valid == 1) {
      info.sb = sb;
      info.layout = *layout;
      info.copy = copy;
    } else {
      info.other_valid = true;
    }
  }
  if (valid == 0) return fail(Errc::kCorrupt, "no valid superblock: " + errors);
  return info;
}

void seal_superblock(SuperBlock& sb) {
  if (sb.feature & kFeatureSbChksum) {
    sb.checksum_offset = kSbChecksumOffset;
    sb.crc = f2fs_crc32(&sb, kSbChecksumOffset);
  }
}

void superblock_block(const SuperBlock& sb, std::byte* block4k) {
  std::memset(block4k, 0, kBlockSize);
  std::memcpy(block4k + kSuperOffset, &sb, sizeof(sb));
}

}  // namespace f2sc::segment
