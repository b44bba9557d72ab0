#include "segment/image.h"

#include <bit>
#include <cstring>

namespace f2sc::segment {
namespace {

Error corrupt(const std::string& what) {
  return make_error(Errc::kCorrupt, what);
}

uint32_t popcount_map(const uint8_t* map) {
  uint32_t n = 0;
  for (uint32_t i = 0; i < kSitVblockMapSize; ++i) n += std::popcount(map[i]);
  return n;
}

Status check_sit_entry(const SitEntry& e, uint32_t segno, const char* where) {
  uint32_t vblocks = e.vblocks & kSitVblocksMask;
  uint32_t type = e.vblocks >> kSitVblocksShift;
  std::string seg = std::string(where) + " entry of segment " + std::to_string(segno);
  if (vblocks > kBlocksPerSeg)
    return fail(corrupt(seg + ": vblocks = " + std::to_string(vblocks) + " above 512"));
  if (type >= kNrCursegType)
    return fail(corrupt(seg + ": type = " + std::to_string(type) + " not a log type"));
  uint32_t bits = popcount_map(e.valid_map);
  if (bits != vblocks)
    return fail(corrupt(seg + ": vblocks = " + std::to_string(vblocks) + " but valid_map has " +
                        std::to_string(bits) + " bits"));
  return {};
}

}  // namespace

Result<Image> open_image(blockdev::BlockDevice& dev) {
  Image img;
  auto sb = read_superblock(dev);
  if (!sb) return fail(sb.error());
  img.super = *sb;
  const Layout& L = img.super.layout;
  auto cp = read_checkpoint(dev, L);
  if (!cp) return fail(cp.error());
  img.cp = std::move(*cp);
  const CheckpointHeader& h = img.cp.head();

  // SIT: the current copy of each block, by the version bitmap.
  img.sit.resize(L.main_segments);
  const uint8_t* bitmap = img.cp.sit_bitmap(L.cp_payload);
  const uint32_t sit_blocks = (L.main_segments + kSitEntriesPerBlock - 1) / kSitEntriesPerBlock;
  std::vector<uint8_t> blk(kBlockSize);
  for (uint32_t b = 0; b < sit_blocks; ++b) {
    int copy = test_bit_msb(bitmap, b) ? 1 : 0;
    uint32_t addr = L.sit_block_addr(b, copy);
    if (auto s = dev.read(addr, {reinterpret_cast<std::byte*>(blk.data()), kBlockSize}); !s)
      return fail(with_context(s.error(), "reading SIT block " + std::to_string(b)));
    const auto* sb_ = reinterpret_cast<const SitBlock*>(blk.data());
    for (uint32_t i = 0; i < kSitEntriesPerBlock; ++i) {
      uint32_t segno = b * kSitEntriesPerBlock + i;
      if (segno >= L.main_segments) break;
      img.sit[segno] = sb_->entries[i];
    }
  }
  const Journal& sj = img.cp.sit_journal();
  for (uint32_t i = 0; i < sj.n_entries; ++i) {
    const SitJournalEntry& e = sj.sit.entries[i];
    if (e.segno >= L.main_segments)
      return fail(corrupt("SIT journal entry " + std::to_string(i) +
                          ": segno = " + std::to_string(e.segno) +
                          " not below segment_count_main " + std::to_string(L.main_segments)));
    if (auto s = check_sit_entry(e.se, e.segno, "SIT journal"); !s) return fail(s.error());
    img.sit[e.segno] = e.se;
  }
  uint64_t valid = 0;
  uint32_t free_segs = 0;
  for (uint32_t segno = 0; segno < L.main_segments; ++segno) {
    if (auto s = check_sit_entry(img.sit[segno], segno, "SIT"); !s) return fail(s.error());
    uint32_t v = img.sit[segno].vblocks & kSitVblocksMask;
    valid += v;
    if (v == 0) ++free_segs;
  }
  for (const auto& c : img.cp.cursegs) {
    if (c.segno < L.main_segments && (img.sit[c.segno].vblocks & kSitVblocksMask) == 0)
      --free_segs;  // current segments are in use even when empty
  }
  // Preallocated blocks (fallocate: NEW_ADDR in a dnode, no block yet) count in
  // valid_block_count but not in the SIT, as in Linux; fewer than the SIT is corruption.
  if (valid > h.valid_block_count)
    return fail(corrupt("checkpoint valid_block_count = " + std::to_string(h.valid_block_count) +
                        " but the SIT counts " + std::to_string(valid) + " valid blocks"));
  // Free segments are counted one by one (as Linux's free_segmap and fsck.f2fs do).
  if (free_segs != h.free_segment_count)
    return fail(corrupt("checkpoint free_segment_count = " + std::to_string(h.free_segment_count) +
                        " but the SIT has " + std::to_string(free_segs) + " free segments"));
  const Journal& nj = img.cp.nat_journal();
  for (uint32_t i = 0; i < nj.n_entries; ++i) {
    const NatJournalEntry& e = nj.nat.entries[i];
    if (e.nid >= L.max_nid())
      return fail(corrupt("NAT journal entry " + std::to_string(i) +
                          ": nid = " + std::to_string(e.nid) + " beyond the NAT"));
    uint32_t a = e.ne.block_addr;
    if (a != kNullAddr && a != kNewAddr && !L.in_main(a))
      return fail(corrupt("NAT journal entry " + std::to_string(i) + " (nid " +
                          std::to_string(e.nid) + "): block_addr = " + std::to_string(a) +
                          " outside the main area"));
  }
  return img;
}

Result<NatEntry> read_nat_entry(blockdev::BlockDevice& dev, const Image& img, uint32_t nid) {
  const Layout& L = img.super.layout;
  if (nid >= L.max_nid())
    return fail(Errc::kOutOfRange, "nid " + std::to_string(nid) + " beyond the NAT");
  const Journal& nj = img.cp.nat_journal();
  for (uint32_t i = 0; i < nj.n_entries; ++i)
    if (nj.nat.entries[i].nid == nid) return nj.nat.entries[i].ne;
  auto read = read_nat_block_entry(dev, L, img.cp.nat_bitmap(L.cp_payload), nid);
  if (!read) return read;
  const NatEntry e = *read;
  if (e.block_addr != kNullAddr && e.block_addr != kNewAddr && e.block_addr != 1 &&
      !L.in_main(e.block_addr))
    return fail(corrupt("NAT entry of nid " + std::to_string(nid) + ": block_addr = " +
                        std::to_string(e.block_addr) + " outside the main area"));
  return e;
}

Result<NatEntry> read_nat_block_entry(blockdev::BlockDevice& dev, const Layout& L,
                                      const uint8_t* nat_bitmap, uint32_t nid) {
  const uint32_t b = nid / kNatEntriesPerBlock;
  const int copy = current_nat_copy(nat_bitmap, b);
  std::vector<std::byte> blk(kBlockSize);
  if (auto s = dev.read(L.nat_block_addr(b, copy), blk); !s)
    return fail(with_context(s.error(), "reading NAT block " + std::to_string(b) + " copy " +
                                            std::to_string(copy) + " for nid " +
                                            std::to_string(nid)));
  NatEntry e;
  std::memcpy(&e, blk.data() + (nid % kNatEntriesPerBlock) * sizeof(NatEntry), sizeof(e));
  return e;
}

}  // namespace f2sc::segment
