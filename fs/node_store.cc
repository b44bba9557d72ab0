#include "fs/node_store.h"

#include <sys/stat.h>

#include <cstring>
#include <map>
#include <string>

#include "fs/node_path.h"
#include "segment/image.h"

namespace f2sc::fs {

using segment::kBlockSize;
using segment::kNatEntriesPerBlock;
using segment::kNewAddr;
using segment::kNullAddr;
using segment::NatEntry;
using segment::NodeBlock;

namespace {

constexpr size_t kCleanCacheLimit = 16384;  // clean nodes kept (64 MiB)

std::string nid_str(uint32_t nid) {
  return "nid " + std::to_string(nid);
}

}  // namespace

NodeStore::NodeStore(blockdev::BlockDevice& dev, const segment::Layout& layout,
                     segment::SegmentManager& sm, const segment::Checkpoint& cp)
    : dev_(dev), layout_(layout), sm_(sm) {
  const uint8_t* bm = cp.nat_bitmap(layout.cp_payload);
  nat_bitmap_.assign(bm, bm + layout.nat_bitmap_bytes());
  const segment::Journal& j = cp.nat_journal();
  for (uint32_t i = 0; i < j.n_entries; ++i) journal_at_mount_.push_back(j.nat.entries[i]);
  used_.assign(layout.max_nid() / 64 + 1, 0);
}

void NodeStore::set_used(uint32_t nid, bool on) {
  uint64_t& w = used_[nid / 64];
  const uint64_t bit = uint64_t{1} << (nid % 64);
  if (on && !(w & bit)) w |= bit, --free_count_;
  if (!on && (w & bit)) w &= ~bit, ++free_count_;
}

Status NodeStore::load() {
  const uint32_t max = layout_.max_nid();
  for (size_t i = 0; i < journal_at_mount_.size(); ++i) {
    // Copies: the journal entry is packed, its fields misaligned for references.
    const uint32_t nid = journal_at_mount_[i].nid;
    const NatEntry ne = journal_at_mount_[i].ne;
    if (nid >= max)
      return fail(Errc::kCorrupt, "NAT journal entry " + std::to_string(i) + ": " + nid_str(nid) +
                                      " not below max_nid " + std::to_string(max));
    if (!nat_.emplace(nid, ne).second)
      return fail(Errc::kCorrupt, "NAT journal entry " + std::to_string(i) + ": " + nid_str(nid) +
                                      " appears twice");
    journal_nids_.insert(nid);
  }
  // Every nid starts used; the scan frees those whose entry is NULL. Nids below the root's
  // (node and meta inodes, and 0) are never handed out.
  std::fill(used_.begin(), used_.end(), ~uint64_t{0});
  free_count_ = 0;
  std::vector<std::byte> blk(kBlockSize);
  for (uint32_t b = 0; b * kNatEntriesPerBlock < max; ++b) {
    const int copy = segment::current_nat_copy(nat_bitmap_.data(), b);
    if (auto s = dev_.read(layout_.nat_block_addr(b, copy), blk); !s)
      return fail(with_context(s.error(), "reading NAT block " + std::to_string(b)));
    const auto* entries = reinterpret_cast<const NatEntry*>(blk.data());
    for (uint32_t k = 0; k < kNatEntriesPerBlock; ++k) {
      const uint32_t nid = b * kNatEntriesPerBlock + k;
      if (nid < layout_.root_ino || nid >= max) continue;
      uint32_t addr = entries[k].block_addr;
      if (auto it = nat_.find(nid); it != nat_.end()) addr = it->second.block_addr;
      if (addr == kNullAddr) set_used(nid, false);
    }
  }
  cursor_ = layout_.root_ino;
  return {};
}

Result<NatEntry> NodeStore::read_nat_from_disk(uint32_t nid) {
  return segment::read_nat_block_entry(dev_, layout_, nat_bitmap_.data(), nid);
}

Result<NatEntry> NodeStore::nat(uint32_t nid) {
  if (nid < layout_.root_ino || nid >= layout_.max_nid())
    return fail(Errc::kOutOfRange, ENOENT, nid_str(nid) + " outside the valid range");
  if (auto it = nat_.find(nid); it != nat_.end()) return it->second;
  auto e = read_nat_from_disk(nid);
  if (!e) return e;
  if (e->block_addr != kNullAddr && e->block_addr != kNewAddr && !layout_.in_main(e->block_addr))
    return fail(Errc::kCorrupt, "NAT entry of " + nid_str(nid) + ": block_addr = " +
                                    std::to_string(e->block_addr) + " outside the main area");
  nat_.emplace(nid, *e);
  return e;
}

void NodeStore::set_nat(uint32_t nid, const NatEntry& e) {
  nat_[nid] = e;
  nat_dirty_.insert(nid);
}

segment::NodeBlock* NodeStore::cached(uint32_t nid) {
  auto it = cache_.find(nid);
  return it == cache_.end() ? nullptr : &it->second->node;
}

void NodeStore::trim() {
  if (cache_.size() - dirty_.size() <= kCleanCacheLimit) return;
  for (auto it = cache_.begin(); it != cache_.end() && cache_.size() > kCleanCacheLimit / 2;) {
    if (!it->second->dirty)
      it = cache_.erase(it);
    else
      ++it;
  }
}

Result<NodeBlock*> NodeStore::get(uint32_t nid, uint32_t ino, uint32_t node_offset) {
  if (auto it = cache_.find(nid); it != cache_.end()) {
    const auto& f = it->second->node.footer;
    if (f.ino != ino || (f.flag >> 3) != node_offset)
      return fail(Errc::kCorrupt, nid_str(nid) + " belongs to inode " + std::to_string(f.ino) +
                                      " at node offset " + std::to_string(f.flag >> 3) +
                                      ", not inode " + std::to_string(ino) + " offset " +
                                      std::to_string(node_offset));
    return &it->second->node;
  }
  auto e = nat(nid);
  if (!e) return fail(e.error());
  const std::string what = nid_str(nid) + " (inode " + std::to_string(ino) + ", node offset " +
                           std::to_string(node_offset) + ")";
  if (e->block_addr == kNullAddr || e->block_addr == kNewAddr)
    return fail(Errc::kCorrupt, what + ": NAT block_addr = " + std::to_string(e->block_addr));
  if (e->ino != ino)
    return fail(Errc::kCorrupt, what + ": NAT entry says ino = " + std::to_string(e->ino));
  auto c = std::make_unique<Cached>();
  if (auto s = dev_.read(e->block_addr, {reinterpret_cast<std::byte*>(&c->node), kBlockSize}); !s)
    return fail(with_context(s.error(), "reading " + what));
  const auto& f = c->node.footer;
  const std::string at = what + " at block " + std::to_string(e->block_addr) + ": footer ";
  if (f.nid != nid) return fail(Errc::kCorrupt, at + "nid = " + std::to_string(f.nid));
  if (f.ino != ino) return fail(Errc::kCorrupt, at + "ino = " + std::to_string(f.ino));
  if ((f.flag >> 3) != node_offset)
    return fail(Errc::kCorrupt, at + "node offset = " + std::to_string(f.flag >> 3));
  c->is_dir = node_offset == 0 ? S_ISDIR(c->node.i.i_mode) : !(f.flag & 1);
  NodeBlock* p = &c->node;
  cache_.emplace(nid, std::move(c));
  return p;
}

Result<NodeBlock*> NodeStore::get_any(uint32_t nid) {
  if (auto it = cache_.find(nid); it != cache_.end()) return &it->second->node;
  auto e = nat(nid);
  if (!e) return fail(e.error());
  if (e->block_addr == kNullAddr || e->block_addr == kNewAddr)
    return fail(Errc::kNotFound, ENOENT, nid_str(nid) + " has no block");
  segment::NodeBlock probe;
  if (auto s = dev_.read(e->block_addr, {reinterpret_cast<std::byte*>(&probe), kBlockSize}); !s)
    return fail(with_context(s.error(), "reading " + nid_str(nid)));
  return get(nid, e->ino, probe.footer.flag >> 3);
}

void NodeStore::mark_dirty(uint32_t nid) {
  auto it = cache_.find(nid);
  if (it == cache_.end()) return;
  it->second->dirty = true;
  dirty_.insert(nid);
}

Result<uint32_t> NodeStore::alloc_nid() {
  const uint32_t max = layout_.max_nid();
  if (free_count_ == 0) return fail(Errc::kNoSpace, ENOSPC, "no free node id");
  for (uint32_t n = 0; n < max; ++n) {
    uint32_t nid = cursor_ + n;
    if (nid >= max) nid = layout_.root_ino + (nid - max) % (max - layout_.root_ino);
    if (nid % 64 == 0 && used_[nid / 64] == ~uint64_t{0}) {
      n += 63;
      continue;
    }
    if (nid < layout_.root_ino || used(nid)) continue;
    set_used(nid, true);
    cursor_ = nid + 1 < max ? nid + 1 : layout_.root_ino;
    return nid;
  }
  return fail(Errc::kNoSpace, ENOSPC, "no free node id");
}

Result<NodeBlock*> NodeStore::create(uint32_t nid, uint32_t ino, uint32_t node_offset,
                                     bool is_dir) {
  auto e = nat(nid);
  if (!e) return fail(e.error());
  if (e->block_addr != kNullAddr)
    return fail(Errc::kInternal, "creating " + nid_str(nid) + " which is in use");
  auto c = std::make_unique<Cached>();
  std::memset(&c->node, 0, sizeof(c->node));
  c->node.footer.nid = nid;
  c->node.footer.ino = ino;
  c->node.footer.flag = node_offset << 3 | (is_dir ? 0 : 1);
  c->dirty = true;
  c->is_dir = is_dir;
  NodeBlock* p = &c->node;
  cache_[nid] = std::move(c);
  dirty_.insert(nid);
  set_nat(nid, NatEntry{e->version, ino, kNewAddr});
  return p;
}

Status NodeStore::remove(uint32_t nid) {
  auto e = nat(nid);
  if (!e) return fail(e.error());
  if (e->block_addr != kNullAddr && e->block_addr != kNewAddr)
    if (auto s = sm_.invalidate(e->block_addr); !s) return s;
  set_nat(nid, NatEntry{static_cast<uint8_t>(e->version + 1), 0, kNullAddr});
  cache_.erase(nid);
  dirty_.erase(nid);
  freed_.push_back(nid);
  return {};
}

Result<bool> NodeStore::repoint(uint32_t nid, uint32_t old_addr, uint32_t new_addr) {
  auto e = nat(nid);
  if (!e) return fail(e.error());
  if (e->block_addr != old_addr) return false;
  if (auto it = cache_.find(nid); it != cache_.end() && it->second->dirty) return false;
  set_nat(nid, NatEntry{e->version, e->ino, new_addr});
  return true;
}

Status NodeStore::flush(uint64_t cp_ver) {
  if (dirty_.empty()) return {};
  // Group by log so each log's blocks are consecutive and written in runs.
  std::map<segment::Log, std::vector<uint32_t>> by_log;
  for (uint32_t nid : dirty_) {
    const Cached& c = *cache_.at(nid);
    const uint32_t ofs = c.node.footer.flag >> 3;
    segment::Log log = !is_direct_node_offset(ofs) ? segment::Log::kColdNode
                       : c.is_dir                  ? segment::Log::kHotNode
                                                   : segment::Log::kWarmNode;
    by_log[log].push_back(nid);
  }
  std::vector<std::byte> run;
  uint32_t run_start = 0;
  auto write_run = [&]() -> Status {
    if (run.empty()) return {};
    auto s = dev_.write(run_start, run);
    if (!s) return fail(with_context(s.error(), "checkpoint: writing node blocks"));
    run.clear();
    return {};
  };
  for (auto& [log, nids] : by_log) {
    for (uint32_t nid : nids) {
      Cached& c = *cache_.at(nid);
      auto e = nat(nid);
      if (!e) return fail(e.error());
      auto addr = sm_.allocate(log, segment::Summary{nid, 0, 0}, segment::Claim::kGc);
      if (!addr) return fail(with_context(addr.error(), "checkpoint: allocating a node block"));
      if (e->block_addr != kNullAddr && e->block_addr != kNewAddr)
        if (auto s = sm_.invalidate(e->block_addr); !s) return s;
      set_nat(nid, NatEntry{e->version, c.node.footer.ino, *addr});
      c.node.footer.cp_ver = cp_ver;
      c.node.footer.next_blkaddr = *addr + 1;
      if (!run.empty() && run_start + run.size() / kBlockSize != *addr)
        if (auto s = write_run(); !s) return s;
      if (run.empty()) run_start = *addr;
      const auto* p = reinterpret_cast<const std::byte*>(&c.node);
      run.insert(run.end(), p, p + kBlockSize);
      c.dirty = false;
      ++nodes_written_;
    }
  }
  if (auto s = write_run(); !s) return s;
  dirty_.clear();
  return {};
}

Status NodeStore::write_nat(segment::Journal& j, std::vector<uint8_t>& bitmap) {
  std::set<uint32_t> changed = nat_dirty_;
  changed.insert(journal_nids_.begin(), journal_nids_.end());
  pending_bitmap_ = nat_bitmap_;
  pending_clean_ = nat_dirty_;
  std::memset(&j, 0, sizeof(j));
  if (changed.size() <= segment::kNatJournalEntries) {
    pending_journal_ = true;
    for (uint32_t nid : changed) {
      auto& e = j.nat.entries[j.n_entries++];
      e.nid = nid;
      e.ne = nat_.at(nid);
    }
  } else {
    pending_journal_ = false;
    std::map<uint32_t, std::vector<uint32_t>> blocks;
    for (uint32_t nid : changed) blocks[nid / kNatEntriesPerBlock].push_back(nid);
    std::vector<std::byte> blk(kBlockSize);
    for (auto& [b, nids] : blocks) {
      const int copy = segment::current_nat_copy(nat_bitmap_.data(), b);
      if (auto s = dev_.read(layout_.nat_block_addr(b, copy), blk); !s)
        return fail(with_context(s.error(), "checkpoint: reading NAT block " + std::to_string(b)));
      auto* entries = reinterpret_cast<NatEntry*>(blk.data());
      for (uint32_t nid : nids) entries[nid % kNatEntriesPerBlock] = nat_.at(nid);
      if (auto s = dev_.write(layout_.nat_block_addr(b, 1 - copy), blk); !s)
        return fail(with_context(s.error(), "checkpoint: writing NAT block " + std::to_string(b)));
      if (copy)
        segment::clear_bit_msb(pending_bitmap_.data(), b);
      else
        segment::set_bit_msb(pending_bitmap_.data(), b);
    }
  }
  bitmap = pending_bitmap_;
  return {};
}

void NodeStore::committed() {
  nat_bitmap_ = pending_bitmap_;
  if (pending_journal_) {
    journal_nids_.insert(pending_clean_.begin(), pending_clean_.end());
  } else {
    journal_nids_.clear();
  }
  // Entries changed after write_nat() (none while the filesystem holds its lock) stay dirty.
  for (uint32_t nid : pending_clean_) nat_dirty_.erase(nid);
  pending_clean_.clear();
  for (uint32_t nid : freed_) set_used(nid, false);
  freed_.clear();
}

}  // namespace f2sc::fs
