#include "tools/fsck.f2sc/repair.h"

#include <bit>
#include <cstring>
#include <map>
#include <optional>
#include <set>

#include "fs/dir.h"
#include "fs/inode.h"

namespace f2sc::fsck {

using namespace segment;

namespace {

std::string str(uint64_t v) {
  return std::to_string(v);
}

Status read_block(blockdev::BlockDevice& dev, uint32_t addr, void* buf) {
  return dev.read(addr, {static_cast<std::byte*>(buf), kBlockSize});
}
Status write_block(blockdev::BlockDevice& dev, uint32_t addr, const void* buf) {
  return dev.write(addr, {static_cast<const std::byte*>(buf), kBlockSize});
}

void clear_dentry_slots(uint8_t* bitmap, uint32_t slot, uint32_t slots, uint32_t table_slots) {
  for (uint32_t i = slot; i < slot + std::max(slots, 1u) && i < table_slots; ++i)
    bitmap[i >> 3] &= static_cast<uint8_t>(~(1u << (i & 7)));
}

}  // namespace

bool is_fixable(const Finding& f, const RepairOptions& opts) {
  switch (f.fix) {
    case Fix::kNone:
      return false;
    case Fix::kDentry:
    case Fix::kNatFree:
    case Fix::kNatAddress:
      return !opts.only_safe;
    default:
      return true;
  }
}

Result<size_t> repair_image(blockdev::BlockDevice& dev, CheckResult& r, const RepairOptions& opts) {
  if (r.fatal) return size_t{0};
  const Layout& L = r.super.layout;
  size_t fixed = 0;
  bool sit_dirty = false, cp_dirty = false;
  std::set<uint32_t> nat_dirty_blocks;
  std::map<uint32_t, std::vector<const Finding*>> inode_fixes;  // ino -> fixes
  std::vector<uint8_t> blk(kBlockSize);

  // A fix left out (-p) may leave metadata pointing at blocks nothing reachable owns: then
  // the SIT keeps every block it had and only gains the reachable ones.
  bool keep_sit_blocks = false;
  for (const Finding& f : r.findings)
    if (f.fix != Fix::kNone && !is_fixable(f, opts)) keep_sit_blocks = true;

  for (const Finding& f : r.findings) {
    if (!is_fixable(f, opts)) continue;
    ++fixed;
    switch (f.fix) {
      case Fix::kSit:
        sit_dirty = true;
        break;
      case Fix::kCheckpoint:
        cp_dirty = true;
        break;
      case Fix::kNatFree:
        r.nat[f.nid].block_addr = kNullAddr;
        r.nat[f.nid].ino = 0;
        nat_dirty_blocks.insert(f.nid / kNatEntriesPerBlock);
        break;
      case Fix::kNatAddress:  // the check already holds the address it found in r.nat
        nat_dirty_blocks.insert(f.nid / kNatEntriesPerBlock);
        break;
      case Fix::kLinks:
      case Fix::kIBlocks:
      case Fix::kIExt:
        inode_fixes[f.ino].push_back(&f);
        break;
      case Fix::kFooter: {
        if (auto s = read_block(dev, f.block, blk.data()); !s) return fail(s.error());
        auto* node = reinterpret_cast<NodeBlock*>(blk.data());
        node->footer.nid = f.nid, node->footer.ino = f.ino;
        node->footer.flag = (f.value << 3) | (node->footer.flag & 7);
        if (auto s = write_block(dev, f.block, blk.data()); !s) return fail(s.error());
        break;
      }
      case Fix::kSsa: {
        const uint32_t segno = L.segno_of(f.block), off = L.blkoff_of(f.block);
        bool in_cp = false;
        for (CursegState& c : r.cp.cursegs)
          if (c.segno == segno) c.sum.entries[off] = f.summary, in_cp = true;
        if (in_cp) {
          cp_dirty = true;
          break;
        }
        if (auto s = read_block(dev, L.ssa_block_addr(segno), blk.data()); !s)
          return fail(s.error());
        reinterpret_cast<SummaryBlock*>(blk.data())->entries[off] = f.summary;
        if (auto s = write_block(dev, L.ssa_block_addr(segno), blk.data()); !s)
          return fail(s.error());
        break;
      }
      case Fix::kDentry:
      case Fix::kDentryHash: {
        const uint32_t addr = f.inline_dentry ? r.inode_addr[f.ino] : f.block;
        if (auto s = read_block(dev, addr, blk.data()); !s) return fail(s.error());
        fs::DentryTable t = fs::dentry_table_of_block(blk.data());
        std::optional<fs::InodeView> view;
        if (f.inline_dentry) {
          auto v = fs::parse_inode(*reinterpret_cast<const NodeBlock*>(blk.data()), f.ino,
                                   r.super.sb.feature);
          if (!v) return fail(v.error());
          view = std::move(*v);
          t = fs::dentry_table_of_inline(*view);
        }
        const uint8_t* origin = view ? reinterpret_cast<const uint8_t*>(&view->node) : blk.data();
        const size_t bitmap_at = t.bitmap - origin;
        const size_t entry_at = reinterpret_cast<const uint8_t*>(t.dentry + f.slot) - origin;
        if (f.fix == Fix::kDentry) {
          clear_dentry_slots(blk.data() + bitmap_at, f.slot, f.slots, t.slots);
        } else if (f.slot < t.slots) {
          const uint32_t hash = f.value;
          std::memcpy(blk.data() + entry_at + offsetof(DirEntry, hash_code), &hash, sizeof(hash));
        }
        if (auto s = write_block(dev, addr, blk.data()); !s) return fail(s.error());
        break;
      }
      case Fix::kSuperblock: {
        std::vector<std::byte> sb(kBlockSize);
        superblock_block(r.super.sb, sb.data());
        if (auto s = dev.write(f.value, sb); !s) return fail(s.error());
        break;
      }
      default:
        --fixed;
        break;
    }
  }

  for (const auto& [ino, fixes] : inode_fixes) {
    const uint32_t addr = r.inode_addr[ino];
    if (auto s = read_block(dev, addr, blk.data()); !s) return fail(s.error());
    auto* node = reinterpret_cast<NodeBlock*>(blk.data());
    for (const Finding* f : fixes) {
      if (f->fix == Fix::kLinks) node->i.i_links = f->value;
      if (f->fix == Fix::kIBlocks) node->i.i_blocks = f->value;
      if (f->fix == Fix::kIExt) node->i.i_ext = Extent{};
    }
    if (auto s = write_block(dev, addr, blk.data()); !s) return fail(s.error());
  }

  // NAT: flush the journal into the blocks too, so no stale journal entry shadows a fix.
  if (!nat_dirty_blocks.empty()) {
    Journal& j = r.cp.nat_journal();
    for (uint32_t i = 0; i < j.n_entries && i < kNatJournalEntries; ++i)
      if (j.nat.entries[i].nid < r.nat.size())
        nat_dirty_blocks.insert(j.nat.entries[i].nid / kNatEntriesPerBlock);
    j.n_entries = 0;
    const uint8_t* bitmap = r.cp.nat_bitmap(L.cp_payload);
    for (uint32_t b : nat_dirty_blocks) {
      const uint32_t addr = L.nat_block_addr(b, test_bit_msb(bitmap, b) ? 1 : 0);
      if (auto s = read_block(dev, addr, blk.data()); !s) return fail(s.error());
      std::memcpy(blk.data(), &r.nat[static_cast<size_t>(b) * kNatEntriesPerBlock],
                  sizeof(NatEntry) * kNatEntriesPerBlock);
      if (auto s = write_block(dev, addr, blk.data()); !s) return fail(s.error());
    }
    cp_dirty = true;
  }

  // SIT: every entry from the reachable bitmap, the journal flushed.
  uint64_t kept_blocks = 0;
  uint32_t free_segments = r.free_segments;
  if (sit_dirty || cp_dirty) {
    free_segments = 0;
    for (uint32_t segno = 0; segno < L.main_segments; ++segno) {
      SitEntry& e = r.sit[segno];
      const uint8_t* live = r.reachable.data() + static_cast<size_t>(segno) * kSitVblockMapSize;
      uint32_t count = 0, extra = 0;
      for (uint32_t i = 0; i < kSitVblockMapSize; ++i) {
        const uint8_t bits = keep_sit_blocks ? (live[i] | e.valid_map[i]) : live[i];
        extra += std::popcount(static_cast<uint8_t>(bits & ~live[i]));
        e.valid_map[i] = bits;
        count += std::popcount(bits);
      }
      kept_blocks += extra;
      e.vblocks = static_cast<uint16_t>((e.vblocks & ~kSitVblocksMask) | count);
      bool current = false;
      for (const CursegState& c : r.cp.cursegs) current |= c.segno == segno;
      if (count == 0 && !current) ++free_segments;
    }
    r.cp.sit_journal().n_entries = 0;
    const uint8_t* bitmap = r.cp.sit_bitmap(L.cp_payload);
    const uint32_t sit_blocks = (L.main_segments + kSitEntriesPerBlock - 1) / kSitEntriesPerBlock;
    for (uint32_t b = 0; b < sit_blocks; ++b) {
      const uint32_t addr = L.sit_block_addr(b, test_bit_msb(bitmap, b) ? 1 : 0);
      if (auto s = read_block(dev, addr, blk.data()); !s) return fail(s.error());
      for (uint32_t i = 0; i < kSitEntriesPerBlock; ++i) {
        const uint32_t segno = b * kSitEntriesPerBlock + i;
        if (segno >= L.main_segments) break;
        std::memcpy(blk.data() + i * sizeof(SitEntry), &r.sit[segno], sizeof(SitEntry));
      }
      if (auto s = write_block(dev, addr, blk.data()); !s) return fail(s.error());
    }
    cp_dirty = true;
  }

  if (cp_dirty) {
    CheckpointHeader& h = r.cp.head();
    h.valid_block_count = r.valid_blocks + kept_blocks;
    if (!keep_sit_blocks) h.valid_node_count = r.valid_nodes, h.valid_inode_count = r.valid_inodes;
    h.free_segment_count = free_segments;
    CheckpointWriteOptions wo;
    wo.umount = (h.ckpt_flags & kCpUmount) != 0;
    if (auto s = write_checkpoint(dev, L, r.cp, r.cp.pack, wo); !s)
      return fail(with_context(s.error(), "rewriting checkpoint pack " + str(r.cp.pack)));
  }
  if (auto s = dev.flush(); !s) return fail(s.error());
  return fixed;
}

}  // namespace f2sc::fsck
