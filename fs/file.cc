// File data: the block map through the node tree (made on demand when writing), inline data,
// reads, out-of-place writes, truncation, hole punching and fallocate.
#include <sys/stat.h>

#include <algorithm>
#include <array>
#include <cstring>

#include "fs/fs_impl.h"
#include "fs/node_path.h"

namespace f2sc::fs {

using segment::kBlockSize;
using segment::kNewAddr;
using segment::kNullAddr;
using segment::NodeBlock;

namespace {

std::string ino_str(uint32_t ino) {
  return "inode " + std::to_string(ino);
}

// Number of file blocks one node at tree depth `d` (1 under the inode) maps, for a node
// whose subtree is `height` levels tall (1: a direct node).
uint64_t span_of(int height) {
  uint64_t s = segment::kAddrsPerBlock;
  for (int h = 1; h < height; ++h) s *= kNidsPerBlock;
  return s;
}

// First file block of the subtree under i_nid[k] and its height.
std::pair<uint64_t, int> nid_slot_range(uint32_t k, uint32_t addrs_per_inode) {
  const uint64_t A = addrs_per_inode, B = span_of(1), I = span_of(2);
  switch (k) {
    case 0:
      return {A, 1};
    case 1:
      return {A + B, 1};
    case 2:
      return {A + 2 * B, 2};
    case 3:
      return {A + 2 * B + I, 2};
    default:
      return {A + 2 * B + 2 * I, 3};
  }
}

void touch_mtime(segment::Inode& i, Timespec t) {
  i.i_mtime = i.i_ctime = static_cast<uint64_t>(t.sec);
  i.i_mtime_nsec = i.i_ctime_nsec = t.nsec;
}

// The inode's cached extent must never name a block that moved or went away.
void drop_extent_over(segment::Inode& i, uint64_t first, uint64_t last) {
  if (i.i_ext.len == 0) return;
  if (last < i.i_ext.fofs || first >= uint64_t{i.i_ext.fofs} + i.i_ext.len) return;
  i.i_ext = {};
}

}  // namespace

Result<BlockSlot> FileSystem::Impl::block_slot(uint32_t ino, uint64_t block, bool create) {
  auto v = view(ino);
  if (!v) return fail(v.error());
  return block_slot(ino, *v, block, create);
}

Result<BlockSlot> FileSystem::Impl::block_slot(uint32_t ino, const InodeView& geometry,
                                               uint64_t block, bool create) {
  const InodeView* v = &geometry;
  auto path = node_path(block, v->addrs_per_inode);
  if (!path)
    return fail(Errc::kInvalidArgument, EFBIG, ino_str(ino) + ": block past the largest file");
  auto in = nodes_->get(ino, ino, 0);
  if (!in) return fail(in.error());
  NodeBlock* inode = *in;
  BlockSlot slot;
  if (path->level == 0) {
    slot.addr = &inode->i.i_addr[v->extra_slots + path->offset[0]];
    slot.nid = ino;
    slot.ofs_in_node = static_cast<uint16_t>(path->offset[0]);
  } else {
    uint32_t* parent_ptr = &inode->i.i_nid[path->offset[0]];
    uint32_t parent_nid = ino;
    NodeBlock* node = nullptr;
    for (int d = 1; d <= path->level; ++d) {
      uint32_t nid = *parent_ptr;
      if (nid == 0) {
        if (!create) return slot;
        auto n = nodes_->alloc_nid();
        if (!n) return fail(n.error());
        auto made = nodes_->create(*n, ino, path->node_offset[d], v->is_dir());
        if (!made) return fail(made.error());
        ++valid_nodes_;
        ++inode->i.i_blocks;
        *parent_ptr = *n;
        nodes_->mark_dirty(parent_nid);
        nodes_->mark_dirty(ino);
        nid = *n;
      }
      auto got = nodes_->get(nid, ino, path->node_offset[d]);
      if (!got) return fail(got.error());
      node = *got;
      parent_nid = nid;
      if (d < path->level) parent_ptr = &node->nid[path->offset[d]];
    }
    slot.addr = &node->addr[path->offset[path->level]];
    slot.nid = parent_nid;
    slot.ofs_in_node = static_cast<uint16_t>(path->offset[path->level]);
  }
  auto e = nodes_->nat(slot.nid);
  if (!e) return fail(e.error());
  slot.version = e->version;
  return slot;
}

Result<uint32_t> FileSystem::Impl::map_block(uint32_t ino, uint64_t block) {
  auto v = view(ino);
  if (!v) return fail(v.error());
  return map_block(ino, *v, block);
}

Result<uint32_t> FileSystem::Impl::map_block(uint32_t ino, const InodeView& geometry,
                                             uint64_t block) {
  auto s = block_slot(ino, geometry, block, false);
  if (!s) return fail(s.error());
  if (!s->addr) return kNullAddr;
  const uint32_t a = *s->addr;
  if (a == kNewAddr) return kNullAddr;
  if (a != kNullAddr && !layout_.in_main(a))
    return fail(Errc::kCorrupt, ino_str(ino) + " block " + std::to_string(block) + ": address " +
                                    std::to_string(a) + " outside the main area");
  return a;
}

Result<ReadPlan> FileSystem::Impl::plan_read(uint32_t ino, uint64_t offset,
                                             std::span<std::byte> buf) {
  auto v = view(ino);
  if (!v) return fail(v.error());
  if (v->is_dir()) return fail(Errc::kInvalidArgument, EISDIR, ino_str(ino) + " is a directory");
  if (!v->is_reg() && !v->is_symlink())
    return fail(Errc::kInvalidArgument, EINVAL, ino_str(ino) + " is not a regular file");
  ReadPlan plan;
  plan.offset = offset;
  const uint64_t size = v->attr.size;
  if (offset >= size || buf.empty()) return plan;
  plan.n = static_cast<size_t>(std::min<uint64_t>(buf.size(), size - offset));
  if (v->has_inline_data()) {
    auto area = v->inline_area();
    std::memset(buf.data(), 0, plan.n);
    if (v->attr.inline_flags & kDataExist) {
      const uint64_t have = std::min<uint64_t>(area.size(), size);
      if (offset < have)
        std::memcpy(buf.data(), area.data() + offset, std::min<uint64_t>(plan.n, have - offset));
    }
    plan.inline_done = true;
    return plan;
  }
  // Runs of consecutive addresses, each read with one device request.
  plan.first = offset / kBlockSize;
  const uint64_t last = (offset + plan.n - 1) / kBlockSize;
  plan.blocks = last - plan.first + 1;
  for (uint64_t b = plan.first; b <= last; ++b) {
    auto a = map_block(ino, *v, b);
    if (!a) return fail(a.error());
    if (*a == kNullAddr) continue;
    if (!plan.runs.empty()) {
      ReadPlan::Run& r = plan.runs.back();
      if (r.block + r.len == b && r.addr + r.len == *a && r.len < 256) {
        ++r.len;
        continue;
      }
    }
    plan.runs.push_back({b, *a, 1});
  }
  return plan;
}

Result<size_t> FileSystem::Impl::execute_read(uint32_t ino, const ReadPlan& plan,
                                              std::span<std::byte> buf) {
  if (plan.inline_done || plan.n == 0) return plan.n;
  auto read = [&](uint32_t addr, std::span<std::byte> into) -> Status {
    if (auto s = dev_.read(addr, into); !s)
      return fail(with_context(s.error(), "reading " + ino_str(ino)));
    return {};
  };
  if (plan.offset % kBlockSize == 0) {
    // Block-aligned, as the page cache reads: whole blocks go from the device straight into
    // `buf` and holes are zeroed there; only a partial last block (at EOF) is bounced.
    const uint64_t whole = plan.n / kBlockSize;  // buf's whole blocks, from plan.first on
    uint64_t filled = 0;
    auto zero_to = [&](uint64_t upto) {
      if (upto > filled)
        std::memset(buf.data() + filled * kBlockSize, 0, (upto - filled) * kBlockSize);
    };
    for (const ReadPlan::Run& r : plan.runs) {
      const uint64_t lo = r.block - plan.first, hi = std::min<uint64_t>(lo + r.len, whole);
      if (lo >= hi) continue;
      zero_to(lo);
      if (auto s = read(r.addr, buf.subspan(lo * kBlockSize, (hi - lo) * kBlockSize)); !s)
        return fail(s.error());
      filled = hi;
    }
    zero_to(whole);
    if (const size_t rest = plan.n % kBlockSize; rest != 0) {
      std::array<std::byte, kBlockSize> block{};  // zeros: a hole
      const uint64_t b = plan.first + whole;
      for (const ReadPlan::Run& r : plan.runs)
        if (r.block <= b && b < r.block + r.len)
          if (auto s = read(r.addr + static_cast<uint32_t>(b - r.block), block); !s)
            return fail(s.error());
      std::memcpy(buf.data() + whole * kBlockSize, block.data(), rest);
    }
    return plan.n;
  }
  std::vector<std::byte> tmp(plan.blocks * kBlockSize);  // zeros: holes
  for (const ReadPlan::Run& r : plan.runs) {
    const auto into =
        std::span(tmp).subspan((r.block - plan.first) * kBlockSize, uint64_t{r.len} * kBlockSize);
    if (auto s = read(r.addr, into); !s) return fail(s.error());
  }
  std::memcpy(buf.data(), tmp.data() + plan.offset % kBlockSize, plan.n);
  return plan.n;
}

Result<size_t> FileSystem::Impl::read_locked(uint32_t ino, uint64_t offset,
                                             std::span<std::byte> buf) {
  auto plan = plan_read(ino, offset, buf);
  if (!plan) return fail(plan.error());
  return execute_read(ino, *plan, buf);
}

Status FileSystem::Impl::write_blocks(uint32_t ino, uint64_t first, std::span<const std::byte> data,
                                      segment::Log log) {
  const uint64_t count = data.size() / kBlockSize;
  if (count == 0) return {};
  // Admitted as overwrites, the blocks may be allocated as such (into GC's reserve).
  segment::Claim claim = segment::Claim::kUser;
  if (!has_room_locked(count, 0)) {
    // Short of room: count the blocks that replace one the file has (or fallocated), which
    // need less (a lookup per block, so only here, not on every write).
    uint64_t rewrites = 0;
    auto v = view(ino);
    if (!v) return fail(v.error());
    for (uint64_t k = 0; k < count; ++k) {
      auto s = block_slot(ino, *v, first + k, false);
      if (!s) return fail(s.error());
      if (s->addr && *s->addr != kNullAddr) ++rewrites;
    }
    if (auto s = reserve_locked(count, rewrites); !s) return s;
    if (rewrites >= count) claim = segment::Claim::kRewrite;
  }
  auto v = view(ino);
  if (!v) return fail(v.error());
  std::vector<BlockSlot> slots;
  slots.reserve(count);
  for (uint64_t k = 0; k < count; ++k) {
    auto s = block_slot(ino, *v, first + k, true);
    if (!s) return fail(s.error());
    slots.push_back(*s);
  }
  // Allocate, write, and only then repoint: a failed write leaves the file as it was.
  std::vector<uint32_t> addrs(count);
  for (uint64_t k = 0; k < count; ++k) {
    auto a = sm_->allocate(
        log, segment::Summary{slots[k].nid, slots[k].version, slots[k].ofs_in_node}, claim);
    if (!a) {
      for (uint64_t j = 0; j < k; ++j) (void)sm_->invalidate(addrs[j]);
      Error e = a.error();
      if (e.code == Errc::kNoSpace) e.sys_errno = ENOSPC;
      return fail(with_context(std::move(e), "writing " + ino_str(ino)));
    }
    addrs[k] = *a;
  }
  for (uint64_t k = 0; k < count;) {
    uint64_t j = k + 1;
    while (j < count && addrs[j] == addrs[j - 1] + 1) ++j;
    auto s = dev_.write(addrs[k], data.subspan(k * kBlockSize, (j - k) * kBlockSize));
    if (!s) {
      for (uint64_t m = 0; m < count; ++m) (void)sm_->invalidate(addrs[m]);
      return fail(with_context(s.error(), "writing " + ino_str(ino)));
    }
    k = j;
  }
  auto in = nodes_->get(ino, ino, 0);
  if (!in) return fail(in.error());
  segment::Inode& inode = (*in)->i;
  for (uint64_t k = 0; k < count; ++k) {
    const uint32_t old = *slots[k].addr;
    *slots[k].addr = addrs[k];
    nodes_->mark_dirty(slots[k].nid);
    if (old == kNullAddr)
      ++inode.i_blocks;
    else if (old == kNewAddr)
      --reserved_blocks_;
    else if (auto s = sm_->invalidate(old); !s)
      return s;
  }
  drop_extent_over(inode, first, first + count - 1);
  nodes_->mark_dirty(ino);
  stats_.data_blocks_written += count;
  return {};
}

Status FileSystem::Impl::convert_inline(uint32_t ino) {
  auto v = view(ino);
  if (!v) return fail(v.error());
  if (!v->has_inline_data()) return {};
  std::vector<std::byte> block(kBlockSize);
  const bool exist = v->attr.inline_flags & kDataExist;
  const uint64_t have = std::min<uint64_t>(v->attr.size, v->max_inline());
  if (exist) std::memcpy(block.data(), v->inline_area().data(), have);
  auto in = nodes_->get(ino, ino, 0);
  if (!in) return fail(in.error());
  segment::Inode& i = (*in)->i;
  // Clear the area (it becomes i_addr slots) and the flags, then write block 0.
  std::memset(&i.i_addr[v->extra_slots + kInlineReservedSlots], 0, v->max_inline());
  i.i_addr[v->extra_slots] = kNullAddr;
  i.i_inline &= static_cast<uint8_t>(~(kInlineData | kDataExist));
  nodes_->mark_dirty(ino);
  if (exist && have > 0)
    return write_blocks(ino, 0, block,
                        v->is_dir() ? segment::Log::kHotData : segment::Log::kWarmData);
  return {};
}

Result<size_t> FileSystem::Impl::write_locked(uint32_t ino, uint64_t offset,
                                              std::span<const std::byte> data) {
  auto v = view(ino);
  if (!v) return fail(v.error());
  if (v->is_dir()) return fail(Errc::kInvalidArgument, EISDIR, ino_str(ino) + " is a directory");
  if (!v->is_reg() && !v->is_symlink())
    return fail(Errc::kInvalidArgument, EINVAL, ino_str(ino) + " is not a regular file");
  if (data.empty()) return size_t{0};
  const uint64_t end = offset + data.size();
  if (end / kBlockSize >= max_file_blocks(v->addrs_per_inode) || end < offset)
    return fail(Errc::kInvalidArgument, EFBIG, ino_str(ino) + ": write past the largest file");
  if (v->has_inline_data() && end <= v->max_inline()) {
    auto in = nodes_->get(ino, ino, 0);
    if (!in) return fail(in.error());
    segment::Inode& i = (*in)->i;
    auto* area = reinterpret_cast<std::byte*>(&i.i_addr[v->extra_slots + kInlineReservedSlots]);
    if (!(i.i_inline & kDataExist)) std::memset(area, 0, v->max_inline());
    std::memcpy(area + offset, data.data(), data.size());
    i.i_inline |= kDataExist;
    i.i_size = std::max<uint64_t>(i.i_size, end);
    touch_mtime(i, now());
    nodes_->mark_dirty(ino);
    return data.size();
  }
  if (v->has_inline_data())
    if (auto s = convert_inline(ino); !s) return fail(s.error());
  // Whole blocks covering [offset, end): edges are read, merged and rewritten.
  const uint64_t first = offset / kBlockSize, last = (end - 1) / kBlockSize;
  constexpr uint64_t kChunk = 256;  // blocks per allocation batch (1 MiB)
  std::vector<std::byte> buf;
  for (uint64_t b = first; b <= last; b += kChunk) {
    const uint64_t nb = std::min(kChunk, last - b + 1);
    const uint64_t lo = std::max(offset, b * kBlockSize);
    const uint64_t hi = std::min(end, (b + nb) * kBlockSize);
    const uint64_t head = lo / kBlockSize, tail = (hi - 1) / kBlockSize;
    std::span<const std::byte> blocks;
    if (lo % kBlockSize == 0 && hi % kBlockSize == 0) {
      // Whole blocks: written from the caller's buffer, no merge buffer and no copy.
      blocks = data.subspan(lo - offset, hi - lo);
    } else {
      buf.assign(nb * kBlockSize, std::byte{0});  // zeros past EOF in a partial edge
      auto read_edge = [&](uint64_t blk) -> Status {
        auto r = read_locked(ino, blk * kBlockSize,
                             std::span(buf).subspan((blk - b) * kBlockSize, kBlockSize));
        if (!r) return fail(r.error());
        return {};
      };
      if (lo % kBlockSize)
        if (auto s = read_edge(head); !s) return fail(s.error());
      if (hi % kBlockSize && !(tail == head && lo % kBlockSize))
        if (auto s = read_edge(tail); !s) return fail(s.error());
      std::memcpy(buf.data() + (lo - b * kBlockSize), data.data() + (lo - offset), hi - lo);
      blocks = buf;
    }
    if (auto s = write_blocks(ino, b, blocks, segment::Log::kWarmData); !s) {
      if (b == first) return fail(s.error());
      break;  // a short write: what was written stays
    }
    auto in = nodes_->get(ino, ino, 0);
    if (!in) return fail(in.error());
    segment::Inode& i = (*in)->i;
    i.i_size = std::max<uint64_t>(i.i_size, hi);
    touch_mtime(i, now());
    nodes_->mark_dirty(ino);
    if (hi == end) return data.size();
  }
  auto in = nodes_->get(ino, ino, 0);
  if (!in) return fail(in.error());
  const uint64_t done = (*in)->i.i_size > offset ? (*in)->i.i_size - offset : 0;
  return static_cast<size_t>(std::min<uint64_t>(done, data.size()));
}

Status FileSystem::Impl::release_addr(NodeBlock* inode, uint32_t addr) {
  if (addr == kNullAddr) return {};
  --inode->i.i_blocks;
  if (addr == kNewAddr) {
    --reserved_blocks_;
    return {};
  }
  return sm_->invalidate(addr);
}

Status FileSystem::Impl::punch_blocks(uint32_t ino, uint64_t from, uint64_t to) {
  auto v = view(ino);
  if (!v) return fail(v.error());
  const uint64_t max = max_file_blocks(v->addrs_per_inode);
  to = std::min(to, max);
  if (from >= to) return {};
  auto in = nodes_->get(ino, ino, 0);
  if (!in) return fail(in.error());
  NodeBlock* inode = *in;
  // Addresses in the inode.
  for (uint64_t b = from; b < std::min<uint64_t>(to, v->addrs_per_inode); ++b) {
    uint32_t& a = inode->i.i_addr[v->extra_slots + b];
    if (auto s = release_addr(inode, a); !s) return s;
    a = kNullAddr;
  }
  // Subtrees: clear data addresses in [from, to), then drop nodes that only map blocks at or
  // past `from` when the range runs to the end of the tree.
  const bool to_end = to >= max;
  std::function<Result<bool>(uint32_t, uint32_t, int, int, uint64_t)> walk =
      [&](uint32_t nid, uint32_t node_offset, int depth, int height,
          uint64_t start) -> Result<bool> {
    const uint64_t span = span_of(height);
    if (start >= to || start + span <= from) return false;
    auto got = nodes_->get(nid, ino, node_offset);
    if (!got) return fail(got.error());
    NodeBlock* node = *got;
    if (height == 1) {
      for (uint32_t k = 0; k < segment::kAddrsPerBlock; ++k) {
        const uint64_t b = start + k;
        if (b < from || b >= to) continue;
        if (auto s = release_addr(inode, node->addr[k]); !s) return fail(s.error());
        node->addr[k] = kNullAddr;
      }
      nodes_->mark_dirty(nid);
    } else {
      const uint64_t child_span = span_of(height - 1);
      for (uint32_t k = 0; k < kNidsPerBlock; ++k) {
        const uint64_t cs = start + k * child_span;
        if (node->nid[k] == 0 || cs >= to || cs + child_span <= from) continue;
        auto path = node_path(cs, v->addrs_per_inode);
        if (!path) return fail(path.error());
        auto dropped = walk(node->nid[k], path->node_offset[depth + 1], depth + 1, height - 1, cs);
        if (!dropped) return dropped;
        if (*dropped) {
          node->nid[k] = 0;
          nodes_->mark_dirty(nid);
        }
      }
    }
    if (to_end && start >= from) {
      if (auto s = nodes_->remove(nid); !s) return fail(s.error());
      --valid_nodes_;
      --inode->i.i_blocks;
      return true;
    }
    return false;
  };
  for (uint32_t k = 0; k < kNidsPerInode; ++k) {
    const uint32_t nid = inode->i.i_nid[k];
    if (nid == 0) continue;
    auto [start, height] = nid_slot_range(k, v->addrs_per_inode);
    auto path = node_path(start, v->addrs_per_inode);
    if (!path) return fail(path.error());
    auto dropped = walk(nid, path->node_offset[1], 1, height, start);
    if (!dropped) return fail(dropped.error());
    if (*dropped) inode->i.i_nid[k] = 0;
  }
  drop_extent_over(inode->i, from, to - 1);
  nodes_->mark_dirty(ino);
  return {};
}

Status FileSystem::Impl::truncate_locked(uint32_t ino, uint64_t size) {
  auto v = view(ino);
  if (!v) return fail(v.error());
  const uint64_t old = v->attr.size;
  if (v->has_inline_data()) {
    if (size > v->max_inline()) {
      if (auto s = convert_inline(ino); !s) return s;
    } else {
      auto in = nodes_->get(ino, ino, 0);
      if (!in) return fail(in.error());
      segment::Inode& i = (*in)->i;
      auto* area = reinterpret_cast<uint8_t*>(&i.i_addr[v->extra_slots + kInlineReservedSlots]);
      if (size < old) std::memset(area + size, 0, std::min<uint64_t>(old, v->max_inline()) - size);
      i.i_size = size;
      touch_mtime(i, now());
      nodes_->mark_dirty(ino);
      return {};
    }
  }
  if (size < old) {
    const uint64_t keep = (size + kBlockSize - 1) / kBlockSize;
    if (auto s = punch_blocks(ino, keep, UINT64_MAX); !s) return s;
    // Zero the tail of the last kept block so a later extension reads zeros.
    if (size % kBlockSize) {
      auto a = map_block(ino, size / kBlockSize);
      if (!a) return fail(a.error());
      if (*a != kNullAddr) {
        std::vector<std::byte> blk(kBlockSize);
        if (auto r = dev_.read(*a, blk); !r) return r;
        std::memset(blk.data() + size % kBlockSize, 0, kBlockSize - size % kBlockSize);
        if (auto s = write_blocks(ino, size / kBlockSize, blk, segment::Log::kWarmData); !s)
          return s;
      }
    }
  }
  auto in = nodes_->get(ino, ino, 0);
  if (!in) return fail(in.error());
  (*in)->i.i_size = size;
  touch_mtime((*in)->i, now());
  nodes_->mark_dirty(ino);
  return {};
}

Status FileSystem::Impl::fallocate_locked(uint32_t ino, int mode, uint64_t offset,
                                          uint64_t length) {
  auto v = view(ino);
  if (!v) return fail(v.error());
  if (v->is_dir()) return fail(Errc::kInvalidArgument, EISDIR, ino_str(ino) + " is a directory");
  if (!v->is_reg()) return fail(Errc::kInvalidArgument, ENODEV, ino_str(ino) + " is not a file");
  if (length == 0 || mode & ~(kFallocKeepSize | kFallocPunchHole))
    return fail(Errc::kInvalidArgument, length == 0 ? EINVAL : EOPNOTSUPP,
                "fallocate: bad length or mode");
  if ((mode & kFallocPunchHole) && !(mode & kFallocKeepSize))
    return fail(Errc::kInvalidArgument, EOPNOTSUPP, "fallocate: punch hole needs keep size");
  const uint64_t end = offset + length;
  if (end < offset || end / kBlockSize >= max_file_blocks(v->addrs_per_inode))
    return fail(Errc::kInvalidArgument, EFBIG, "fallocate: past the largest file");
  if (v->has_inline_data())
    if (auto s = convert_inline(ino); !s) return s;
  if (mode & kFallocPunchHole) {
    const uint64_t size = v->attr.size;
    const uint64_t stop = std::min(end, size);
    if (offset >= stop) return {};
    // Partial blocks at the edges are zeroed in place of being dropped.
    const uint64_t first_full = (offset + kBlockSize - 1) / kBlockSize;
    const uint64_t last_full = stop / kBlockSize;  // exclusive
    auto zero_range = [&](uint64_t lo, uint64_t hi) -> Status {
      if (lo >= hi) return {};
      std::vector<std::byte> zeros(hi - lo);
      auto w = write_locked(ino, lo, zeros);
      if (!w) return fail(w.error());
      return {};
    };
    if (first_full >= last_full) return zero_range(offset, stop);
    if (auto s = zero_range(offset, first_full * kBlockSize); !s) return s;
    if (auto s = zero_range(last_full * kBlockSize, stop); !s) return s;
    if (auto s = punch_blocks(ino, first_full, last_full); !s) return s;
    auto in = nodes_->get(ino, ino, 0);
    if (!in) return fail(in.error());
    touch_mtime((*in)->i, now());
    nodes_->mark_dirty(ino);
    return {};
  }
  // Reserve: NEW_ADDR in every hole (counted as used, read as zeros).
  const uint64_t first = offset / kBlockSize, last = (end - 1) / kBlockSize;
  uint64_t holes = 0;
  for (uint64_t b = first; b <= last; ++b) {
    auto a = block_slot(ino, b, false);
    if (!a) return fail(a.error());
    if (!a->addr || *a->addr == kNullAddr) ++holes;
  }
  if (auto s = reserve_locked(holes); !s) return s;
  for (uint64_t b = first; b <= last; ++b) {
    auto a = block_slot(ino, b, true);
    if (!a) return fail(a.error());
    if (*a->addr != kNullAddr) continue;
    *a->addr = kNewAddr;
    nodes_->mark_dirty(a->nid);
    ++reserved_blocks_;
    auto in = nodes_->get(ino, ino, 0);
    if (!in) return fail(in.error());
    ++(*in)->i.i_blocks;
  }
  auto in = nodes_->get(ino, ino, 0);
  if (!in) return fail(in.error());
  segment::Inode& i = (*in)->i;
  if (!(mode & kFallocKeepSize) && end > i.i_size) i.i_size = end;
  const Timespec t = now();
  i.i_ctime = static_cast<uint64_t>(t.sec);
  i.i_ctime_nsec = t.nsec;
  nodes_->mark_dirty(ino);
  return {};
}

}  // namespace f2sc::fs
