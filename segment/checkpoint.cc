#include "segment/checkpoint.h"

#include <algorithm>
#include <cstring>

#include "segment/crc.h"

namespace f2sc::segment {
namespace {

constexpr uint32_t kSumInFirstCompact =
    (kBlockSize - 2 * kSumJournalSize - kSumFooterSize) / sizeof(Summary);
constexpr uint32_t kSumInCompact = (kBlockSize - kSumFooterSize) / sizeof(Summary);

constexpr Log kDataLogs[] = {Log::kHotData, Log::kWarmData, Log::kColdData};
constexpr Log kNodeLogs[] = {Log::kHotNode, Log::kWarmNode, Log::kColdNode};

std::string pack_name(int pack) {
  return "checkpoint pack " + std::to_string(pack);
}

Error corrupt(int pack, const std::string& what) {
  return make_error(Errc::kCorrupt, pack_name(pack) + ": " + what);
}

std::string field(const char* name, uint64_t v) {
  return std::string(name) + " = " + std::to_string(v);
}

// Summary entries a data log contributes to the compacted form.
uint32_t data_sum_count(const CursegState& c) {
  return c.alloc_type == 1 ? kBlocksPerSeg : c.blkoff;
}

}  // namespace

uint8_t* Checkpoint::sit_bitmap(uint32_t cp_payload) {
  uint8_t* base = blocks.data() + kCpBitmapOffset;
  if (head().ckpt_flags & kCpLargeNatBitmap)
    return base + head().nat_ver_bitmap_bytesize + sizeof(uint32_t);
  if (cp_payload > 0) return blocks.data() + kBlockSize;
  return base;
}

uint8_t* Checkpoint::nat_bitmap(uint32_t cp_payload) {
  uint8_t* base = blocks.data() + kCpBitmapOffset;
  if (head().ckpt_flags & kCpLargeNatBitmap) return base + sizeof(uint32_t);
  if (cp_payload > 0) return base;
  return base + head().sit_ver_bitmap_bytesize;
}

uint32_t checkpoint_crc(const uint8_t* block, uint32_t checksum_offset) {
  uint32_t crc = f2fs_crc32(block, checksum_offset);
  if (checksum_offset < kCpChecksumOffset) {
    uint32_t after = checksum_offset + sizeof(uint32_t);
    crc = f2fs_crc32(crc, block + after, kBlockSize - after);
  }
  return crc;
}

uint32_t compact_summary_blocks(const std::array<CursegState, kNrCursegType>& cursegs) {
  uint32_t count = 0;
  for (Log l : kDataLogs) count += data_sum_count(cursegs[static_cast<int>(l)]);
  if (count <= kSumInFirstCompact) return 1;
  if (count - kSumInFirstCompact <= kSumInCompact) return 2;
  return 3;
}

Status validate_checkpoint_header(const CheckpointHeader& h, const Layout& layout) {
  auto bad = [](const std::string& f, const std::string& why) {
    return fail(Errc::kCorrupt, f + ": " + why);
  };
  const uint32_t main = layout.main_segments;
  for (int i = 0; i < 3; ++i) {
    if (h.cur_node_segno[i] >= main)
      return bad(field(("cur_node_segno[" + std::to_string(i) + "]").c_str(), h.cur_node_segno[i]),
                 "not below segment_count_main " + std::to_string(main));
    if (h.cur_data_segno[i] >= main)
      return bad(field(("cur_data_segno[" + std::to_string(i) + "]").c_str(), h.cur_data_segno[i]),
                 "not below segment_count_main " + std::to_string(main));
    if (h.cur_node_blkoff[i] >= kBlocksPerSeg)
      return bad(
          field(("cur_node_blkoff[" + std::to_string(i) + "]").c_str(), h.cur_node_blkoff[i]),
          "not below 512");
    if (h.cur_data_blkoff[i] >= kBlocksPerSeg)
      return bad(
          field(("cur_data_blkoff[" + std::to_string(i) + "]").c_str(), h.cur_data_blkoff[i]),
          "not below 512");
  }
  uint32_t segs[6] = {h.cur_data_segno[0], h.cur_data_segno[1], h.cur_data_segno[2],
                      h.cur_node_segno[0], h.cur_node_segno[1], h.cur_node_segno[2]};
  for (int i = 0; i < 6; ++i)
    for (int j = i + 1; j < 6; ++j)
      if (segs[i] == segs[j])
        return bad("current segments", "logs " + std::to_string(i) + " and " + std::to_string(j) +
                                           " share segment " + std::to_string(segs[i]));
  if (h.sit_ver_bitmap_bytesize != layout.sit_bitmap_bytes())
    return bad(field("sit_ver_bitmap_bytesize", h.sit_ver_bitmap_bytesize),
               "expected " + std::to_string(layout.sit_bitmap_bytes()));
  if (h.nat_ver_bitmap_bytesize != layout.nat_bitmap_bytes())
    return bad(field("nat_ver_bitmap_bytesize", h.nat_ver_bitmap_bytesize),
               "expected " + std::to_string(layout.nat_bitmap_bytes()));
  if (h.cp_pack_start_sum < layout.cp_payload + 1 ||
      h.cp_pack_start_sum > kBlocksPerSeg - 1 - kNrCursegType)
    return bad(field("cp_pack_start_sum", h.cp_pack_start_sum), "out of range");
  if (h.cp_pack_total_block_count < h.cp_pack_start_sum + 2 ||
      h.cp_pack_total_block_count > kBlocksPerSeg)
    return bad(field("cp_pack_total_block_count", h.cp_pack_total_block_count), "out of range");
  uint64_t main_blocks = uint64_t{main} * kBlocksPerSeg;
  if (h.user_block_count == 0 || h.user_block_count >= main_blocks)
    return bad(field("user_block_count", h.user_block_count),
               "must be in 1.." + std::to_string(main_blocks - 1));
  if (h.valid_block_count > h.user_block_count)
    return bad(field("valid_block_count", h.valid_block_count),
               "exceeds user_block_count " + std::to_string(h.user_block_count));
  if (h.free_segment_count > main)
    return bad(field("free_segment_count", h.free_segment_count),
               "exceeds segment_count_main " + std::to_string(main));
  if (h.rsvd_segment_count >= main || h.overprov_segment_count >= main ||
      h.rsvd_segment_count > h.overprov_segment_count)
    return bad(field("overprov_segment_count", h.overprov_segment_count),
               "inconsistent with rsvd_segment_count " + std::to_string(h.rsvd_segment_count) +
                   " and segment_count_main " + std::to_string(main));
  if (h.valid_node_count > h.valid_block_count)
    return bad(field("valid_node_count", h.valid_node_count), "exceeds valid_block_count");
  if (h.valid_inode_count > h.valid_node_count)
    return bad(field("valid_inode_count", h.valid_inode_count), "exceeds valid_node_count");
  if (h.next_free_nid >= layout.max_nid())
    return bad(field("next_free_nid", h.next_free_nid),
               "not below the NAT's " + std::to_string(layout.max_nid()) + " entries");
  return {};
}

namespace {

// Reads one pack; ok only when header and footer agree and everything validates.
Result<Checkpoint> read_pack(blockdev::BlockDevice& dev, const Layout& layout, int pack) {
  const uint32_t start = layout.cp_pack_addr(pack);
  Checkpoint cp;
  cp.pack = pack;
  cp.blocks.assign(size_t{1 + layout.cp_payload} * kBlockSize, 0);
  if (auto s = dev.read(start, {reinterpret_cast<std::byte*>(cp.blocks.data()), kBlockSize}); !s)
    return fail(with_context(s.error(), "reading " + pack_name(pack)));
  const CheckpointHeader& h = cp.head();
  const bool large_nat = h.ckpt_flags & kCpLargeNatBitmap;
  if (h.checksum_offset != kCpChecksumOffset &&
      !(large_nat && h.checksum_offset == kCpBitmapOffset))
    return fail(corrupt(pack, field("checksum_offset", h.checksum_offset) + ": must be 4092"));
  uint32_t stored;
  std::memcpy(&stored, cp.blocks.data() + h.checksum_offset, sizeof(stored));
  uint32_t crc = checkpoint_crc(cp.blocks.data(), h.checksum_offset);
  if (crc != stored)
    return fail(corrupt(
        pack, "header crc " + std::to_string(stored) + " does not match " + std::to_string(crc)));
  if (h.cp_pack_total_block_count < 2 || h.cp_pack_total_block_count > kBlocksPerSeg)
    return fail(corrupt(pack, field("cp_pack_total_block_count", h.cp_pack_total_block_count) +
                                  ": out of range 2..512"));
  std::vector<uint8_t> foot(kBlockSize);
  if (auto s = dev.read(start + h.cp_pack_total_block_count - 1,
                        {reinterpret_cast<std::byte*>(foot.data()), kBlockSize});
      !s)
    return fail(with_context(s.error(), "reading " + pack_name(pack) + " footer"));
  const auto& fh = *reinterpret_cast<const CheckpointHeader*>(foot.data());
  if (fh.checksum_offset != h.checksum_offset)
    return fail(corrupt(pack, "footer " + field("checksum_offset", fh.checksum_offset) +
                                  " differs from the header"));
  std::memcpy(&stored, foot.data() + fh.checksum_offset, sizeof(stored));
  if (checkpoint_crc(foot.data(), fh.checksum_offset) != stored)
    return fail(corrupt(pack, "footer crc mismatch"));
  if (fh.checkpoint_ver != h.checkpoint_ver)
    return fail(corrupt(pack, "footer " + field("checkpoint_ver", fh.checkpoint_ver) +
                                  " differs from header " + std::to_string(h.checkpoint_ver)));
  if (auto s = validate_checkpoint_header(h, layout); !s)
    return fail(corrupt(pack, s.error().message));
  if (layout.cp_payload > 0) {
    auto payload = std::span(reinterpret_cast<std::byte*>(cp.blocks.data()) + kBlockSize,
                             size_t{layout.cp_payload} * kBlockSize);
    if (auto s = dev.read(start + 1, payload); !s) return fail(s.error());
  }
  // Orphan blocks.
  uint32_t orphan_blocks = h.cp_pack_start_sum - 1 - layout.cp_payload;
  if (orphan_blocks > 0 && !(h.ckpt_flags & kCpOrphanPresent))
    return fail(corrupt(pack, field("cp_pack_start_sum", h.cp_pack_start_sum) +
                                  ": leaves orphan blocks but the orphan flag is clear"));
  for (uint32_t i = 0; i < orphan_blocks; ++i) {
    OrphanBlock ob;
    if (auto s = dev.read(start + 1 + layout.cp_payload + i,
                          {reinterpret_cast<std::byte*>(&ob), kBlockSize});
        !s)
      return fail(s.error());
    if (ob.entry_count > kOrphansPerBlock)
      return fail(corrupt(pack, "orphan block " + std::to_string(i) + " " +
                                    field("entry_count", ob.entry_count) + ": above 1020"));
    for (uint32_t j = 0; j < ob.entry_count; ++j) cp.orphans.push_back(uint32_t{ob.ino[j]});
  }
  // Current segment positions.
  for (int i = 0; i < 3; ++i) {
    CursegState& d = cp.cursegs[static_cast<int>(kDataLogs[i])];
    d.segno = h.cur_data_segno[i];
    d.blkoff = h.cur_data_blkoff[i];
    d.alloc_type = h.alloc_type[static_cast<int>(kDataLogs[i])];
    CursegState& n = cp.cursegs[static_cast<int>(kNodeLogs[i])];
    n.segno = h.cur_node_segno[i];
    n.blkoff = h.cur_node_blkoff[i];
    n.alloc_type = h.alloc_type[static_cast<int>(kNodeLogs[i])];
  }
  for (auto& c : cp.cursegs)
    if (c.alloc_type > 1) return fail(corrupt(pack, field("alloc_type", c.alloc_type)));
  // Data summaries.
  uint32_t addr = start + h.cp_pack_start_sum;
  const bool compact = h.ckpt_flags & kCpCompactSum;
  uint32_t data_blocks = compact ? compact_summary_blocks(cp.cursegs) : 3;
  uint32_t node_blocks = (h.ckpt_flags & kCpUmount) ? 3 : 0;
  if (h.cp_pack_start_sum + data_blocks + node_blocks + 1 > h.cp_pack_total_block_count)
    return fail(corrupt(pack, field("cp_pack_total_block_count", h.cp_pack_total_block_count) +
                                  ": too small for " + std::to_string(data_blocks) + " data and " +
                                  std::to_string(node_blocks) + " node summary blocks"));
  std::vector<uint8_t> sums(size_t{data_blocks + node_blocks} * kBlockSize);
  if (auto s = dev.read(addr, {reinterpret_cast<std::byte*>(sums.data()), sums.size()}); !s)
    return fail(s.error());
  if (compact) {
    const uint8_t* p = sums.data();
    std::memcpy(&cp.nat_journal(), p, kSumJournalSize);
    std::memcpy(&cp.sit_journal(), p + kSumJournalSize, kSumJournalSize);
    uint32_t off = 2 * kSumJournalSize;
    uint32_t blk = 0;
    for (Log l : kDataLogs) {
      CursegState& c = cp.curseg(l);
      uint32_t n = data_sum_count(c);
      for (uint32_t j = 0; j < n; ++j) {
        std::memcpy(&c.sum.entries[j], sums.data() + blk * kBlockSize + off, sizeof(Summary));
        off += sizeof(Summary);
        if (off + sizeof(Summary) > kBlockSize - kSumFooterSize) {
          ++blk;
          off = 0;
        }
      }
      c.sum.footer.entry_type = kSumTypeData;
    }
  } else {
    for (int i = 0; i < 3; ++i)
      std::memcpy(&cp.curseg(kDataLogs[i]).sum, sums.data() + static_cast<size_t>(i) * kBlockSize,
                  kBlockSize);
  }
  for (int i = 0; i < 3; ++i) {
    CursegState& c = cp.curseg(kNodeLogs[i]);
    if (node_blocks) {
      std::memcpy(&c.sum, sums.data() + static_cast<size_t>(data_blocks + i) * kBlockSize,
                  kBlockSize);
    } else if (auto s = dev.read(layout.ssa_block_addr(c.segno),
                                 {reinterpret_cast<std::byte*>(&c.sum), kBlockSize});
               !s) {
      return fail(s.error());
    }
  }
  if (cp.nat_journal().n_entries > kNatJournalEntries)
    return fail(
        corrupt(pack, "NAT journal " + field("n_nats", cp.nat_journal().n_entries) + ": above 38"));
  if (cp.sit_journal().n_entries > kSitJournalEntries)
    return fail(
        corrupt(pack, "SIT journal " + field("n_sits", cp.sit_journal().n_entries) + ": above 6"));
  return cp;
}

}  // namespace

Result<Checkpoint> read_checkpoint(blockdev::BlockDevice& dev, const Layout& layout) {
  auto a = read_pack(dev, layout, 0);
  auto b = read_pack(dev, layout, 1);
  if (!a && !b)
    return fail(Errc::kCorrupt,
                "no valid checkpoint: " + a.error().message + "; " + b.error().message);
  if (a && b) return a->version() >= b->version() ? std::move(*a) : std::move(*b);
  return a ? std::move(*a) : std::move(*b);
}

Status write_checkpoint(blockdev::BlockDevice& dev, const Layout& layout, Checkpoint& cp, int pack,
                        const CheckpointWriteOptions& opts) {
  CheckpointHeader& h = cp.head();
  uint32_t data_blocks = compact_summary_blocks(cp.cursegs);
  const bool compact = data_blocks < 3;
  const uint32_t orphan_blocks =
      static_cast<uint32_t>((cp.orphans.size() + kOrphansPerBlock - 1) / kOrphansPerBlock);
  const uint32_t node_blocks = opts.umount ? 3 : 0;
  const uint32_t start_sum = 1 + layout.cp_payload + orphan_blocks;
  const uint32_t total = start_sum + data_blocks + node_blocks + 1;
  if (total > kBlocksPerSeg)
    return fail(Errc::kNoSpace,
                "checkpoint pack of " + std::to_string(total) + " blocks does not fit a segment");
  for (int i = 0; i < 3; ++i) {
    const CursegState& d = cp.curseg(kDataLogs[i]);
    const CursegState& n = cp.curseg(kNodeLogs[i]);
    h.cur_data_segno[i] = d.segno;
    h.cur_data_blkoff[i] = d.blkoff;
    h.cur_node_segno[i] = n.segno;
    h.cur_node_blkoff[i] = n.blkoff;
  }
  for (int i = 0; i < 6; ++i) h.alloc_type[i] = cp.cursegs[i].alloc_type;
  uint32_t flags = h.ckpt_flags;
  flags &= ~(kCpCompactSum | kCpOrphanPresent | kCpUmount | kCpNatBits | kCpFastboot);
  if (compact) flags |= kCpCompactSum;
  if (orphan_blocks) flags |= kCpOrphanPresent;
  if (opts.umount) flags |= kCpUmount;
  h.ckpt_flags = flags;
  h.cp_pack_start_sum = start_sum;
  h.cp_pack_total_block_count = total;
  if (auto s = validate_checkpoint_header(h, layout); !s)
    return fail(Errc::kInternal, "refusing to write checkpoint: " + s.error().message);
  uint32_t crc = checkpoint_crc(cp.blocks.data(), h.checksum_offset);
  std::memcpy(cp.blocks.data() + h.checksum_offset, &crc, sizeof(crc));

  std::vector<uint8_t> buf(size_t{total} * kBlockSize, 0);
  std::memcpy(buf.data(), cp.blocks.data(), cp.blocks.size());
  for (uint32_t i = 0; i < orphan_blocks; ++i) {
    auto* ob =
        reinterpret_cast<OrphanBlock*>(buf.data() + size_t{1 + layout.cp_payload + i} * kBlockSize);
    size_t first = static_cast<size_t>(i) * kOrphansPerBlock;
    size_t n = std::min<size_t>(kOrphansPerBlock, cp.orphans.size() - first);
    std::memcpy(ob->ino, cp.orphans.data() + first, n * sizeof(uint32_t));
    ob->blk_addr = static_cast<uint16_t>(i);
    ob->blk_count = static_cast<uint16_t>(orphan_blocks);
    ob->entry_count = static_cast<uint32_t>(n);
    ob->check_sum = f2fs_crc32(ob, offsetof(OrphanBlock, check_sum));
  }
  uint8_t* sum = buf.data() + size_t{start_sum} * kBlockSize;
  if (compact) {
    std::memcpy(sum, &cp.nat_journal(), kSumJournalSize);
    std::memcpy(sum + kSumJournalSize, &cp.sit_journal(), kSumJournalSize);
    uint32_t off = 2 * kSumJournalSize;
    uint32_t blk = 0;
    for (Log l : kDataLogs) {
      const CursegState& c = cp.curseg(l);
      for (uint32_t j = 0; j < data_sum_count(c); ++j) {
        std::memcpy(sum + blk * kBlockSize + off, &c.sum.entries[j], sizeof(Summary));
        off += sizeof(Summary);
        if (off + sizeof(Summary) > kBlockSize - kSumFooterSize) {
          ++blk;
          off = 0;
        }
      }
    }
  } else {
    for (int i = 0; i < 3; ++i) {
      CursegState& c = cp.curseg(kDataLogs[i]);
      c.sum.footer.entry_type = kSumTypeData;
      std::memcpy(sum + static_cast<size_t>(i) * kBlockSize, &c.sum, kBlockSize);
    }
  }
  for (int i = 0; i < 3; ++i) {
    CursegState& c = cp.curseg(kNodeLogs[i]);
    c.sum.footer.entry_type = kSumTypeNode;
    if (opts.umount) {
      std::memcpy(sum + static_cast<size_t>(data_blocks + i) * kBlockSize, &c.sum, kBlockSize);
    } else if (auto s = dev.write(layout.ssa_block_addr(c.segno),
                                  {reinterpret_cast<const std::byte*>(&c.sum), kBlockSize});
               !s) {
      return fail(with_context(s.error(), "writing node summary to SSA"));
    }
  }
  std::memcpy(buf.data() + size_t{total - 1} * kBlockSize, cp.blocks.data(), kBlockSize);

  const uint32_t start = layout.cp_pack_addr(pack);
  auto bytes = std::span(reinterpret_cast<const std::byte*>(buf.data()), buf.size());
  // Body first; the footer, written after a flush, is what makes the pack valid.
  if (auto s = dev.write(start, bytes.first(size_t{total - 1} * kBlockSize)); !s)
    return fail(with_context(s.error(), "writing " + pack_name(pack)));
  if (auto s = dev.flush(); !s) return fail(s.error());
  if (auto s = dev.write(start + total - 1, bytes.last(kBlockSize)); !s)
    return fail(with_context(s.error(), "writing " + pack_name(pack) + " footer"));
  if (auto s = dev.flush(); !s) return fail(s.error());
  cp.pack = pack;
  return {};
}

}  // namespace f2sc::segment
