#include "segment/segment_manager.h"

#include <cstring>

namespace f2sc::segment {
namespace {

uint32_t vcount(const SitEntry& e) {
  return e.vblocks & kSitVblocksMask;
}

}  // namespace

SegmentManager::SegmentManager(blockdev::BlockDevice& dev, Image image)
    : dev_(dev),
      layout_(image.super.layout),
      loaded_(std::chrono::steady_clock::now()),
      sit_(std::move(image.sit)),
      cp_(std::move(image.cp)) {}

Result<std::unique_ptr<SegmentManager>> SegmentManager::load(blockdev::BlockDevice& dev,
                                                             Image image) {
  if (image.sit.size() != image.super.layout.main_segments)
    return fail(Errc::kInvalidArgument, "image SIT does not cover the main area");
  std::unique_ptr<SegmentManager> sm(new SegmentManager(dev, std::move(image)));
  const Layout& L = sm->layout_;
  sm->elapsed_base_ = sm->cp_.head().elapsed_time;
  sm->reserved_sections_ = sm->cp_.head().rsvd_segment_count / L.segs_per_sec;
  sm->cursegs_ = sm->cp_.cursegs;
  sm->segs_.resize(L.main_segments);
  for (uint32_t s = 0; s < L.main_segments; ++s) {
    SegmentInfo& i = sm->segs_[s];
    i.valid = vcount(sm->sit_[s]);
    sm->valid_total_ += i.valid;
    i.mtime = sm->sit_[s].mtime;
    i.type = static_cast<Log>(sm->sit_[s].vblocks >> kSitVblocksShift);
  }
  for (int l = 0; l < 6; ++l) {
    const CursegState& c = sm->cursegs_[l];
    sm->segs_[c.segno].state = SegState::kCurrent;
    sm->segs_[c.segno].type = static_cast<Log>(l);
    // Every block below blkoff was written by this log; validity comes from the SIT.
  }
  for (uint32_t s = 0; s < L.main_segments; ++s)
    if (sm->segs_[s].state != SegState::kCurrent) sm->set_state_locked(s);
  sm->count_sections_locked();
  return sm;
}

void SegmentManager::set_state_locked(uint32_t segno) {
  SegmentInfo& i = segs_[segno];
  if (i.state == SegState::kCurrent) return;
  if (i.valid == 0) {
    // A segment emptied since the checkpoint stays prefree; one empty at load is free.
    if (i.state != SegState::kFree) i.state = SegState::kPrefree;
  } else if (i.valid == kBlocksPerSeg) {
    i.state = SegState::kFull;
  } else {
    i.state = SegState::kDirty;
  }
}

void SegmentManager::count_sections_locked() {
  free_secs_ = 0;
  for (uint32_t sec = 0; sec < layout_.sections; ++sec) {
    bool all = true;
    for (uint32_t k = 0; k < layout_.segs_per_sec && all; ++k)
      all = segs_[sec * layout_.segs_per_sec + k].state == SegState::kFree;
    free_secs_ += all;
  }
}

uint64_t SegmentManager::now() const {
  auto since = std::chrono::steady_clock::now() - loaded_;
  return elapsed_base_ +
         static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::seconds>(since).count());
}

uint32_t SegmentManager::section_floor(Claim claim) const {
  switch (claim) {
    case Claim::kUser:
      return reserved_sections_;
    case Claim::kRewrite:
      return reserved_sections_ / 2;
    case Claim::kGc:
      break;
  }
  return 0;
}

Status SegmentManager::new_segment_locked(Log log, Claim claim) {
  CursegState& c = cursegs_[static_cast<int>(log)];
  const uint32_t sps = layout_.segs_per_sec;
  const uint32_t old = c.segno;
  uint32_t next = UINT32_MAX;
  // Next segment of the same section, when the log owns the rest of it.
  if ((old + 1) % sps != 0 && segs_[old + 1].state == SegState::kFree) next = old + 1;
  if (next == UINT32_MAX) {
    if (free_secs_ <= section_floor(claim))
      return fail(Errc::kNoSpace, "no free section for log " +
                                      std::to_string(static_cast<int>(log)) + " (" +
                                      std::to_string(free_secs_) + " free, " +
                                      std::to_string(reserved_sections_) + " reserved for GC)");
    const uint32_t start = old / sps;
    for (uint32_t k = 1; k <= layout_.sections && next == UINT32_MAX; ++k) {
      uint32_t sec = (start + k) % layout_.sections;
      bool all = true;
      for (uint32_t j = 0; j < sps && all; ++j) all = segs_[sec * sps + j].state == SegState::kFree;
      if (all) next = sec * sps;
    }
    if (next == UINT32_MAX) return fail(Errc::kNoSpace, "no free section");
    --free_secs_;
  }
  // Retire the old segment: its summary goes to the SSA at the next checkpoint.
  c.sum.footer.entry_type = is_node_log(log) ? kSumTypeNode : kSumTypeData;
  pending_ssa_[old] = c.sum;
  SegmentInfo& o = segs_[old];
  o.state = SegState::kDirty;  // recomputed below
  set_state_locked(old);
  if (o.valid == 0) o.state = SegState::kPrefree;
  // Open the new one.
  const Journal saved = c.sum.journal;  // journals stay with the log
  c.segno = next;
  c.blkoff = 0;
  c.alloc_type = 0;
  std::memset(c.sum.entries, 0, sizeof(c.sum.entries));
  c.sum.journal = saved;
  SegmentInfo& n = segs_[next];
  n.state = SegState::kCurrent;
  n.type = log;
  n.mtime = now();
  sit_[next].vblocks = static_cast<uint16_t>(static_cast<uint16_t>(log) << kSitVblocksShift);
  sit_dirty_.insert(next);
  return {};
}

Result<uint32_t> SegmentManager::allocate_locked(Log log, std::span<const Summary> owners,
                                                 Claim claim) {
  if (owners.empty() || owners.size() > kBlocksPerSeg)
    return fail(Errc::kInvalidArgument,
                "run of " + std::to_string(owners.size()) + " blocks (must be 1..512)");
  CursegState& c = cursegs_[static_cast<int>(log)];
  if (c.blkoff + owners.size() > kBlocksPerSeg)
    if (auto s = new_segment_locked(log, claim); !s) return fail(s.error());
  const uint32_t segno = c.segno;
  const uint32_t first = c.blkoff;
  SegmentInfo& info = segs_[segno];
  SitEntry& se = sit_[segno];
  const uint64_t t = now();
  for (size_t k = 0; k < owners.size(); ++k) {
    uint32_t off = first + static_cast<uint32_t>(k);
    c.sum.entries[off] = owners[k];
    set_bit_msb(se.valid_map, off);
    info.mtime = (info.mtime * info.valid + t) / (info.valid + 1);
    ++info.valid;
  }
  valid_total_ += owners.size();
  c.blkoff = static_cast<uint16_t>(first + owners.size());
  se.vblocks = static_cast<uint16_t>(static_cast<uint16_t>(log) << kSitVblocksShift | info.valid);
  se.mtime = info.mtime;
  sit_dirty_.insert(segno);
  // Like F2FS, a log never rests on a full segment; if no section is free now, the next
  // allocation or the checkpoint tries again.
  if (c.blkoff == kBlocksPerSeg) (void)new_segment_locked(log, claim);
  return layout_.seg_start(segno) + first;
}

Result<uint32_t> SegmentManager::allocate(Log log, const Summary& owner, Claim claim) {
  std::lock_guard lock(mu_);
  return allocate_locked(log, std::span(&owner, 1), claim);
}

Result<uint32_t> SegmentManager::allocate_run(Log log, std::span<const Summary> owners,
                                              Claim claim) {
  std::lock_guard lock(mu_);
  return allocate_locked(log, owners, claim);
}

Result<uint32_t> SegmentManager::allocate_held_run(Log log, std::span<const Summary> owners) {
  std::lock_guard lock(mu_);
  auto first = allocate_locked(log, owners, Claim::kGc);
  if (!first) return first;
  HeldBlocks& offs = held_[layout_.segno_of(*first)];
  for (size_t k = 0; k < owners.size(); ++k) offs.set(layout_.blkoff_of(*first) + k);
  return first;
}

void SegmentManager::release_run(uint32_t first, uint32_t n) {
  if (n == 0 || !layout_.in_main(first)) return;
  std::lock_guard lock(mu_);
  const uint32_t segno = layout_.segno_of(first);
  auto it = held_.find(segno);
  if (it == held_.end()) return;
  for (uint32_t k = 0; k < n && layout_.blkoff_of(first) + k < kBlocksPerSeg; ++k)
    it->second.reset(layout_.blkoff_of(first) + k);
  if (it->second.none()) held_.erase(it);
  sit_dirty_.insert(segno);  // the last checkpoint wrote it without these blocks
}

SitEntry SegmentManager::committed_entry_locked(uint32_t segno) const {
  SitEntry e = sit_[segno];
  auto it = held_.find(segno);
  if (it == held_.end()) return e;
  uint32_t count = vcount(e);
  for (uint32_t off = 0; off < kBlocksPerSeg; ++off)
    if (it->second.test(off) && test_bit_msb(e.valid_map, off)) {
      clear_bit_msb(e.valid_map, off);
      --count;
    }
  e.vblocks = static_cast<uint16_t>((e.vblocks & ~kSitVblocksMask) | count);
  return e;
}

Status SegmentManager::invalidate(uint32_t addr) {
  std::lock_guard lock(mu_);
  uint32_t marked = UINT32_MAX;
  return invalidate_locked(addr, marked);
}

Status SegmentManager::invalidate_blocks(std::span<const uint32_t> addrs) {
  Status first;
  std::lock_guard lock(mu_);
  uint32_t marked = UINT32_MAX;  // a run's blocks share segments: one set insert for each
  for (uint32_t addr : addrs) {
    auto s = invalidate_locked(addr, marked);
    if (!s && first) first = s;
  }
  return first;
}

Status SegmentManager::invalidate_locked(uint32_t addr, uint32_t& marked_dirty) {
  if (!layout_.in_main(addr))
    return fail(Errc::kOutOfRange,
                "invalidate: block " + std::to_string(addr) + " outside the main area");
  const uint32_t segno = layout_.segno_of(addr), off = layout_.blkoff_of(addr);
  SitEntry& se = sit_[segno];
  if (!test_bit_msb(se.valid_map, off))
    return fail(Errc::kInternal, "invalidate: block " + std::to_string(addr) + " is not valid");
  clear_bit_msb(se.valid_map, off);
  SegmentInfo& info = segs_[segno];
  --info.valid;
  --valid_total_;
  se.vblocks = static_cast<uint16_t>((se.vblocks & ~kSitVblocksMask) | info.valid);
  if (info.state != SegState::kCurrent) {
    if (info.valid == 0)
      info.state = SegState::kPrefree;
    else
      info.state = SegState::kDirty;
  }
  if (segno != marked_dirty) sit_dirty_.insert(segno);
  marked_dirty = segno;
  return {};
}

bool SegmentManager::is_valid(uint32_t addr) const {
  if (!layout_.in_main(addr)) return false;
  std::lock_guard lock(mu_);
  return test_bit_msb(sit_[layout_.segno_of(addr)].valid_map, layout_.blkoff_of(addr));
}

std::bitset<kBlocksPerSeg> SegmentManager::segment_valid_map(uint32_t segno) const {
  std::bitset<kBlocksPerSeg> out;
  if (segno >= layout_.main_segments) return out;
  std::lock_guard lock(mu_);
  const uint8_t* map = sit_[segno].valid_map;
  for (uint32_t byte = 0; byte < kBlocksPerSeg / 8; ++byte) {
    if (map[byte] == 0) continue;
    for (uint32_t bit = 0; bit < 8; ++bit)
      if (test_bit_msb(map, byte * 8 + bit)) out.set(byte * 8 + bit);
  }
  return out;
}

SegmentInfo SegmentManager::segment(uint32_t segno) const {
  std::lock_guard lock(mu_);
  return segno < segs_.size() ? segs_[segno] : SegmentInfo{};
}

Result<Summary> SegmentManager::summary(uint32_t addr) const {
  if (!layout_.in_main(addr))
    return fail(Errc::kOutOfRange,
                "summary: block " + std::to_string(addr) + " outside the main area");
  const uint32_t segno = layout_.segno_of(addr), off = layout_.blkoff_of(addr);
  {
    std::lock_guard lock(mu_);
    for (const auto& c : cursegs_)
      if (c.segno == segno) return c.sum.entries[off];
    if (auto it = pending_ssa_.find(segno); it != pending_ssa_.end())
      return it->second.entries[off];
  }
  SummaryBlock b;
  if (auto s =
          dev_.read(layout_.ssa_block_addr(segno), {reinterpret_cast<std::byte*>(&b), kBlockSize});
      !s)
    return fail(with_context(s.error(), "reading SSA of segment " + std::to_string(segno)));
  return b.entries[off];
}

Result<SummaryBlock> SegmentManager::summary_block(uint32_t segno) const {
  if (segno >= layout_.main_segments)
    return fail(Errc::kOutOfRange,
                "summary_block: segment " + std::to_string(segno) + " outside the main area");
  {
    std::lock_guard lock(mu_);
    for (uint32_t l = 0; l < kNrCursegType; ++l)
      if (cursegs_[l].segno == segno) {
        SummaryBlock b = cursegs_[l].sum;
        b.footer.entry_type = is_node_log(static_cast<Log>(l)) ? kSumTypeNode : kSumTypeData;
        return b;
      }
    if (auto it = pending_ssa_.find(segno); it != pending_ssa_.end()) return it->second;
  }
  SummaryBlock b;
  if (auto s =
          dev_.read(layout_.ssa_block_addr(segno), {reinterpret_cast<std::byte*>(&b), kBlockSize});
      !s)
    return fail(with_context(s.error(), "reading SSA of segment " + std::to_string(segno)));
  return b;
}

std::vector<uint32_t> SegmentManager::dirty_sections() const {
  std::lock_guard lock(mu_);
  std::vector<uint32_t> out;
  const uint32_t sps = layout_.segs_per_sec;
  for (uint32_t sec = 0; sec < layout_.sections; ++sec) {
    bool current = false, any_used = false, any_invalid = false;
    for (uint32_t k = 0; k < sps; ++k) {
      const SegmentInfo& i = segs_[sec * sps + k];
      current |= i.state == SegState::kCurrent;
      any_used |= i.valid > 0;
      any_invalid |= i.state == SegState::kDirty || i.state == SegState::kPrefree ||
                     i.state == SegState::kFree;
    }
    if (!current && any_used && any_invalid) out.push_back(sec);
  }
  return out;
}

uint32_t SegmentManager::section_valid_blocks(uint32_t secno) const {
  std::lock_guard lock(mu_);
  uint32_t v = 0;
  for (uint32_t k = 0; k < layout_.segs_per_sec; ++k)
    v += segs_[secno * layout_.segs_per_sec + k].valid;
  return v;
}

uint64_t SegmentManager::section_mtime(uint32_t secno) const {
  std::lock_guard lock(mu_);
  uint64_t t = 0;
  for (uint32_t k = 0; k < layout_.segs_per_sec; ++k)
    t += segs_[secno * layout_.segs_per_sec + k].mtime;
  return t / layout_.segs_per_sec;
}

bool SegmentManager::section_is_current(uint32_t secno) const {
  std::lock_guard lock(mu_);
  for (const auto& c : cursegs_)
    if (layout_.secno_of_seg(c.segno) == secno) return true;
  return false;
}

std::vector<SectionUsage> SegmentManager::victim_candidates() const {
  std::lock_guard lock(mu_);
  std::vector<SectionUsage> out;
  const uint32_t sps = layout_.segs_per_sec;
  for (uint32_t sec = 0; sec < layout_.sections; ++sec) {
    if (pinned_secs_.count(sec)) continue;
    bool current = false, any_invalid = false;
    uint32_t valid = 0;
    uint64_t mtime = 0;
    for (uint32_t k = 0; k < sps; ++k) {
      const SegmentInfo& i = segs_[sec * sps + k];
      current |= i.state == SegState::kCurrent;
      valid += i.valid;
      mtime += i.mtime;
      any_invalid |= i.state == SegState::kDirty || i.state == SegState::kPrefree ||
                     i.state == SegState::kFree;
    }
    if (!current && valid > 0 && any_invalid) out.push_back({sec, valid, mtime / sps});
  }
  return out;
}

uint32_t SegmentManager::log_free_blocks(Log log) const {
  std::lock_guard lock(mu_);
  return kBlocksPerSeg - cursegs_[static_cast<int>(log)].blkoff;
}

bool SegmentManager::try_pin_section(uint32_t secno) {
  std::lock_guard lock(mu_);
  if (secno >= layout_.sections) return false;
  return pinned_secs_.insert(secno).second;
}

void SegmentManager::unpin_section(uint32_t secno) {
  std::lock_guard lock(mu_);
  pinned_secs_.erase(secno);
}

bool SegmentManager::section_pinned(uint32_t secno) const {
  std::lock_guard lock(mu_);
  return pinned_secs_.count(secno) != 0;
}

uint32_t SegmentManager::free_sections() const {
  std::lock_guard lock(mu_);
  return free_secs_;
}

SpaceUsage SegmentManager::space_usage() const {
  std::lock_guard lock(mu_);
  SpaceUsage u;
  u.segments = static_cast<uint32_t>(segs_.size());
  u.free_sections = free_secs_;
  u.reserved_sections = reserved_sections_;
  for (const SegmentInfo& s : segs_) {
    switch (s.state) {
      case SegState::kFree:
        ++u.free;
        break;
      case SegState::kCurrent:
        ++u.current;
        break;
      case SegState::kPrefree:
        ++u.prefree;
        break;
      case SegState::kDirty:
      case SegState::kFull:
        if (is_node_log(s.type)) {
          ++u.node_in_use;
          u.node_valid_in_use += s.valid;
        } else {
          ++u.data_in_use;
          u.data_valid_in_use += s.valid;
        }
        break;
    }
  }
  return u;
}

uint32_t SegmentManager::prefree_segments() const {
  std::lock_guard lock(mu_);
  uint32_t n = 0;
  for (const auto& s : segs_) n += s.state == SegState::kPrefree;
  return n;
}

uint64_t SegmentManager::valid_blocks() const {
  std::lock_guard lock(mu_);
  return valid_total_;
}

uint64_t SegmentManager::user_block_count() const {
  std::lock_guard lock(mu_);
  return cp_.head().user_block_count;
}

uint64_t SegmentManager::checkpoint_version() const {
  std::lock_guard lock(mu_);
  return cp_.version();
}

Status SegmentManager::checkpoint(const CheckpointRequest& req) {
  std::lock_guard cp_lock(cp_mu_);
  // 1. Snapshot under the state lock: the pack to write, SIT and SSA blocks to write.
  Checkpoint next;
  std::map<uint32_t, SummaryBlock> ssa;
  std::map<uint32_t, std::vector<uint8_t>> sit_blocks;  // SIT block index -> image
  std::set<uint32_t> dirty;
  std::vector<uint32_t> prefree;
  {
    std::lock_guard lock(mu_);
    for (int l = 0; l < 6; ++l)
      if (cursegs_[l].blkoff == kBlocksPerSeg)
        if (auto s = new_segment_locked(static_cast<Log>(l), Claim::kGc); !s)
          return fail(with_context(s.error(), "checkpoint: a full log has nowhere to go"));
    next = cp_;
    // Copied, not moved: summary() and summary_block() keep answering from memory until
    // the SSA blocks are on the device (a reader would otherwise see them half written).
    ssa = pending_ssa_;
    dirty.swap(sit_dirty_);
    next.cursegs = cursegs_;
    // The NAT journal belongs to the filesystem (req.fill); the SIT journal is rebuilt
    // from the entries it held (they live nowhere else) plus everything dirtied since.
    next.nat_journal() = cp_.nat_journal();
    const Journal& old = cp_.sit_journal();
    for (uint32_t i = 0; i < old.n_entries; ++i) dirty.insert(uint32_t{old.sit.entries[i].segno});
    Journal& sj = next.sit_journal();
    std::memset(&sj, 0, sizeof(sj));
    if (dirty.size() <= kSitJournalEntries) {
      for (uint32_t segno : dirty) {
        SitJournalEntry& e = sj.sit.entries[sj.n_entries++];
        e.segno = segno;
        e.se = committed_entry_locked(segno);
      }
    } else {
      for (uint32_t segno : dirty) sit_blocks[segno / kSitEntriesPerBlock];
      for (auto& [b, img] : sit_blocks) {
        img.assign(kBlockSize, 0);
        auto* blk = reinterpret_cast<SitBlock*>(img.data());
        for (uint32_t i = 0; i < kSitEntriesPerBlock; ++i) {
          uint32_t segno = b * kSitEntriesPerBlock + i;
          if (segno < layout_.main_segments) blk->entries[i] = committed_entry_locked(segno);
        }
      }
    }
    uint64_t valid = 0;
    uint32_t free_segs = 0;
    for (uint32_t s = 0; s < layout_.main_segments; ++s) {
      const uint32_t v = held_.count(s) ? vcount(committed_entry_locked(s)) : segs_[s].valid;
      valid += v;
      if (v == 0 && segs_[s].state != SegState::kCurrent) ++free_segs;
      if (segs_[s].state == SegState::kPrefree) prefree.push_back(s);
    }
    CheckpointHeader& h = next.head();
    h.valid_block_count = valid;
    h.free_segment_count = free_segs;
    h.elapsed_time = now();
    h.checkpoint_ver = cp_.version() + 1;
  }
  auto restore = [&](Error e) {
    std::lock_guard lock(mu_);
    sit_dirty_.insert(dirty.begin(), dirty.end());
    return fail(std::move(e));
  };
  // 2. SSA blocks of segments the logs left.
  for (auto& [segno, b] : ssa)
    if (auto s = dev_.write(layout_.ssa_block_addr(segno),
                            {reinterpret_cast<const std::byte*>(&b), kBlockSize});
        !s)
      return restore(with_context(s.error(), "checkpoint: writing SSA"));
  // 3. SIT blocks to the copy the last checkpoint does not use.
  uint8_t* bitmap = next.sit_bitmap(layout_.cp_payload);
  for (auto& [b, img] : sit_blocks) {
    int copy = test_bit_msb(bitmap, b) ? 0 : 1;
    if (auto s = dev_.write(layout_.sit_block_addr(b, copy),
                            {reinterpret_cast<const std::byte*>(img.data()), kBlockSize});
        !s)
      return restore(with_context(s.error(), "checkpoint: writing SIT"));
    if (copy)
      set_bit_msb(bitmap, b);
    else
      clear_bit_msb(bitmap, b);
  }
  if (req.fill) req.fill(next);
  // 4. The pack: body, flush (SSA and SIT above included), footer, flush.
  if (auto s = write_checkpoint(dev_, layout_, next, 1 - cp_.pack, {.umount = req.umount}); !s)
    return restore(s.error());
  // 5. Committed: prefree segments of the snapshot are free now.
  std::lock_guard lock(mu_);
  cp_ = std::move(next);
  // A retired segment cannot retire again before it is free, which is below: the copies
  // written above are still the pending ones.
  for (auto& [segno, b] : ssa) pending_ssa_.erase(segno);
  for (uint32_t s : prefree)
    if (segs_[s].state == SegState::kPrefree && segs_[s].valid == 0 &&
        !pinned_secs_.count(layout_.secno_of_seg(s)))
      segs_[s].state = SegState::kFree;
  count_sections_locked();
  return {};
}

}  // namespace f2sc::segment
