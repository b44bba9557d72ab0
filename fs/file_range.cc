// File ranges: copy_file_range by device copy, and SEEK_DATA/SEEK_HOLE.
//
// copy_file_range splits the byte range into an unaligned head, whole blocks, and a tail.
// Head, tail, inline files and ranges whose offsets differ in their position inside a
// block go through read+write (write_locked), like any write. Whole blocks are handled in
// runs: a run of source holes (or fallocated, never written blocks) becomes a hole in the
// destination (punch_blocks); a run of source data blocks gets a contiguous destination
// run allocated in the warm data log (as write_blocks would, capped to the room left in
// the log's segment so no tail is wasted), one multi-range CopyRequest from the source
// addresses to it (the copy engine splits it to the queue limits and offloads or emulates
// as the device's copy_offload switch says, the same path the GC's Migrator takes), and
// only after the copy succeeded the destination's slots are pointed at the new blocks with
// a write's bookkeeping: SIT and SSA through allocate_run, old blocks invalidated, i_blocks,
// reserved NEW_ADDR blocks, the cached extent, i_size, mtime, dirty nodes.
//
// Crash safety is that of a write: everything happens under mu_, so no checkpoint sees an
// allocated but uncopied block or a slot pointing at one; node blocks reach the device
// only at the next checkpoint, after the copied data. The source blocks cannot move or be
// freed during the copy: GC commits and checkpoints need mu_.
//
// Thread safety: the *_locked functions expect Impl::mu_ held (see fs_impl.h).
#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <vector>

#include "fs/fs_impl.h"
#include "fs/node_path.h"

namespace f2sc::fs {

using segment::kBlockSize;
using segment::kBlocksPerSeg;
using segment::kNewAddr;
using segment::kNullAddr;

namespace {

std::string ino_str(uint32_t ino) {
  return "inode " + std::to_string(ino);
}

constexpr uint64_t kRwChunk = 1 << 20;  // bytes per read+write step

// The raw slot value of file block `block` (kNullAddr, kNewAddr or an address), walking
// the cached node tree without creating anything. When a whole node on the path is
// missing, *hole_end is the first block after the range that node would map; otherwise
// block + 1.
Result<uint32_t> raw_slot(FileSystem::Impl& fs, uint32_t ino, const InodeView& v, uint64_t block,
                          uint64_t* hole_end) {
  *hole_end = block + 1;
  auto path = node_path(block, v.addrs_per_inode);
  if (!path) {
    *hole_end = UINT64_MAX;
    return kNullAddr;
  }
  auto in = fs.nodes_->get(ino, ino, 0);
  if (!in) return fail(in.error());
  if (path->level == 0) return (*in)->i.i_addr[v.extra_slots + path->offset[0]];
  uint32_t nid = (*in)->i.i_nid[path->offset[0]];
  segment::NodeBlock* node = nullptr;
  for (int d = 1; d <= path->level; ++d) {
    if (nid == 0) {
      // The missing node at depth d maps kAddrsPerBlock^(level - d + 1) blocks.
      uint64_t index = 0, span = 1;
      for (int k = path->level; k >= d; --k) {
        index += path->offset[k] * span;
        span *= kAddrsPerBlock;
      }
      *hole_end = block - index + span;
      return kNullAddr;
    }
    auto got = fs.nodes_->get(nid, ino, path->node_offset[d]);
    if (!got) return fail(got.error());
    node = *got;
    if (d < path->level) nid = node->nid[path->offset[d]];
  }
  return node->addr[path->offset[path->level]];
}

bool is_data(uint32_t a) {
  return a != kNullAddr && a != kNewAddr;
}

void touch_mtime(segment::Inode& i, Timespec t) {
  i.i_mtime = i.i_ctime = static_cast<uint64_t>(t.sec);
  i.i_mtime_nsec = i.i_ctime_nsec = t.nsec;
}

// Copies `len` bytes through a buffer with read_locked + write_locked; returns the bytes
// copied (short after an error that followed progress).
Result<uint64_t> rw_copy(FileSystem::Impl& fs, uint32_t src, uint64_t src_off, uint32_t dst,
                         uint64_t dst_off, uint64_t len) {
  std::vector<std::byte> buf(std::min(len, kRwChunk));
  uint64_t done = 0;
  while (done < len) {
    const size_t want = static_cast<size_t>(std::min<uint64_t>(len - done, buf.size()));
    auto n = fs.read_locked(src, src_off + done, std::span(buf.data(), want));
    if (!n) {
      if (done == 0) return fail(n.error());
      break;
    }
    if (*n == 0) break;
    auto w = fs.write_locked(dst, dst_off + done, std::span<const std::byte>(buf.data(), *n));
    if (!w) {
      if (done == 0) return fail(w.error());
      break;
    }
    done += *w;
    fs.stats_.copy_range_rw_bytes += *w;
    if (*w < *n) break;
  }
  return done;
}

// Grows the destination's size to `end` bytes (never shrinks) and stamps mtime.
Status extend_to(FileSystem::Impl& fs, uint32_t ino, uint64_t end) {
  auto in = fs.nodes_->get(ino, ino, 0);
  if (!in) return fail(in.error());
  segment::Inode& i = (*in)->i;
  i.i_size = std::max<uint64_t>(i.i_size, end);
  touch_mtime(i, fs.now());
  fs.nodes_->mark_dirty(ino);
  return {};
}

// One run of source data blocks [sfirst, sfirst + n) to destination blocks starting at
// dfirst: allocate, copy on the device, repoint. All or nothing; returns the blocks done.
Result<uint64_t> copy_data_run(FileSystem::Impl& fs, uint32_t src, const InodeView& sv,
                               uint64_t sfirst, uint32_t dst, const InodeView& dv, uint64_t dfirst,
                               uint64_t n) {
  constexpr segment::Log kLog = segment::Log::kWarmData;
  // The run ends early at a source hole, and at the room left in the log's segment (looked
  // at again after reserve_locked, whose checkpoint may move the log).
  if (uint32_t room = fs.sm_->log_free_blocks(kLog); room > 0) n = std::min<uint64_t>(n, room);
  std::vector<uint32_t> from;
  from.reserve(n);
  for (uint64_t k = 0; k < n; ++k) {
    uint64_t unused;
    auto a = raw_slot(fs, src, sv, sfirst + k, &unused);
    if (!a) return fail(a.error());
    if (!is_data(*a)) break;
    if (!fs.layout_.in_main(*a))
      return fail(Errc::kCorrupt, ino_str(src) + " block " + std::to_string(sfirst + k) +
                                      ": address " + std::to_string(*a) + " outside the main area");
    from.push_back(*a);
  }
  if (from.empty()) return uint64_t{0};
  if (auto s = fs.reserve_locked(from.size()); !s) return fail(s.error());
  if (uint32_t room = fs.sm_->log_free_blocks(kLog); room > 0 && room < from.size())
    from.resize(room);
  n = from.size();
  std::vector<BlockSlot> slots;
  std::vector<segment::Summary> sums;
  slots.reserve(n);
  sums.reserve(n);
  for (uint64_t k = 0; k < n; ++k) {
    auto s = fs.block_slot(dst, dv, dfirst + k, true);
    if (!s) return fail(s.error());
    slots.push_back(*s);
    sums.push_back(segment::Summary{s->nid, s->version, s->ofs_in_node});
  }
  auto first = fs.sm_->allocate_run(kLog, sums);
  if (!first) {
    Error e = first.error();
    if (e.code == Errc::kNoSpace) e.sys_errno = ENOSPC;
    return fail(with_context(std::move(e), "copy_file_range into " + ino_str(dst)));
  }
  // One request: the source blocks, consecutive addresses merged into ranges, land back to
  // back at the new run.
  blockdev::CopyRequest req;
  req.dst = *first;
  for (uint32_t a : from) {
    auto& r = req.sources;
    if (!r.empty() && r.back().lba + r.back().blocks == a)
      ++r.back().blocks;
    else
      r.push_back({a, 1});
  }
  auto copied = fs.dev_.copy(req);
  if (!copied) {
    for (uint64_t k = 0; k < n; ++k) (void)fs.sm_->invalidate(*first + static_cast<uint32_t>(k));
    return fail(with_context(copied.error(), "copy_file_range " + ino_str(src) + " -> " +
                                                 ino_str(dst) + ": device copy"));
  }
  ++fs.stats_.copy_range_requests;
  fs.stats_.copy_range_blocks_offloaded += copied->blocks_offloaded;
  fs.stats_.copy_range_blocks_emulated += copied->blocks_emulated;
  auto in = fs.nodes_->get(dst, dst, 0);
  if (!in) return fail(in.error());
  segment::Inode& inode = (*in)->i;
  for (uint64_t k = 0; k < n; ++k) {
    const uint32_t old = *slots[k].addr;
    *slots[k].addr = *first + static_cast<uint32_t>(k);
    fs.nodes_->mark_dirty(slots[k].nid);
    if (old == kNullAddr)
      ++inode.i_blocks;
    else if (old == kNewAddr)
      --fs.reserved_blocks_;
    else if (auto s = fs.sm_->invalidate(old); !s)
      return fail(s.error());
  }
  // The cached extent must not name blocks that left the file.
  const segment::Extent ext = inode.i_ext;
  if (ext.len && dfirst <= uint64_t{ext.fofs} + ext.len - 1 && dfirst + n - 1 >= ext.fofs)
    inode.i_ext = segment::Extent{};
  fs.nodes_->mark_dirty(dst);
  return n;
}

// Whole blocks [sfirst, sfirst + n) of `src` to [dfirst, dfirst + n) of `dst`, neither
// inline; updates the destination's size as blocks land. Returns the blocks done.
Result<uint64_t> copy_blocks(FileSystem::Impl& fs, uint32_t src, uint64_t sfirst, uint32_t dst,
                             uint64_t dfirst, uint64_t n) {
  uint64_t done = 0;
  auto progress = [&](const Error& e) -> Result<uint64_t> {
    if (done == 0) return fail(e);
    return done;
  };
  while (done < n) {
    // Views are re-read each round: the inodes may have gained nodes (only the address
    // layout of a view is used, which never changes).
    auto sv = fs.view(src);
    if (!sv) return progress(sv.error());
    auto dv = fs.view(dst);
    if (!dv) return progress(dv.error());
    uint64_t hole_end;
    auto a = raw_slot(fs, src, *sv, sfirst + done, &hole_end);
    if (!a) return progress(a.error());
    if (!is_data(*a)) {
      // A run of holes: skip missing nodes whole, stop at the next data block.
      uint64_t b = std::max(done + 1, std::min(n, hole_end - sfirst));
      while (b < n) {
        auto next = raw_slot(fs, src, *sv, sfirst + b, &hole_end);
        if (!next) return progress(next.error());
        if (is_data(*next)) break;
        b = std::max(b + 1, std::min(n, hole_end - sfirst));
      }
      const uint64_t end = std::min(b, n);
      if (auto s = fs.punch_blocks(dst, dfirst + done, dfirst + end); !s)
        return progress(s.error());
      fs.stats_.copy_range_hole_blocks += end - done;
      done = end;
    } else {
      const uint64_t want = std::min<uint64_t>(n - done, kBlocksPerSeg);
      auto got = copy_data_run(fs, src, *sv, sfirst + done, dst, *dv, dfirst + done, want);
      if (!got) return progress(got.error());
      if (*got == 0)
        return progress(make_error(Errc::kInternal, EIO, "copy_file_range: no progress"));
      done += *got;
    }
    if (auto s = extend_to(fs, dst, (dfirst + done) * kBlockSize); !s) return progress(s.error());
  }
  return done;
}

}  // namespace

Result<uint64_t> FileSystem::Impl::copy_range_locked(uint32_t src, uint64_t src_off, uint32_t dst,
                                                     uint64_t dst_off, uint64_t len) {
  auto sv = view(src);
  if (!sv) return fail(sv.error());
  auto dv = view(dst);
  if (!dv) return fail(dv.error());
  if (sv->is_dir() || dv->is_dir())
    return fail(Errc::kInvalidArgument, EISDIR,
                "copy_file_range: " + ino_str(sv->is_dir() ? src : dst) + " is a directory");
  if (!sv->is_reg() || !dv->is_reg())
    return fail(Errc::kInvalidArgument, EINVAL,
                "copy_file_range: " + ino_str(sv->is_reg() ? dst : src) + " is not a regular file");
  if (src_off + len < src_off || dst_off + len < dst_off)
    return fail(Errc::kInvalidArgument, EOVERFLOW, "copy_file_range: offset + length overflows");
  // As Linux: shorten to the source's end, then to the largest destination file, then
  // refuse overlapping ranges of one file.
  const uint64_t size = sv->attr.size;
  len = src_off >= size ? 0 : std::min(len, size - src_off);
  const uint64_t max_end = max_file_blocks(dv->addrs_per_inode) * kBlockSize - 1;
  if (len > 0 && dst_off >= max_end)
    return fail(Errc::kInvalidArgument, EFBIG, "copy_file_range: past the largest file");
  len = std::min(len, max_end - dst_off);
  if (src == dst && dst_off + len > src_off && dst_off < src_off + len)
    return fail(Errc::kInvalidArgument, EINVAL,
                "copy_file_range: overlapping ranges in " + ino_str(src));
  len = std::min(len, kCopyPieceBytes);
  if (len == 0) return uint64_t{0};

  uint64_t done = 0;
  auto finish = [&](Result<uint64_t> r) -> Result<uint64_t> {
    if (r) done += *r;
    stats_.copy_range_bytes += done;
    if (!r && done == 0) return fail(r.error());
    return done;
  };
  const bool blockwise = !sv->has_inline_data() && src_off % kBlockSize == dst_off % kBlockSize &&
                         !(dv->has_inline_data() && dst_off + len <= dv->max_inline());
  if (!blockwise) return finish(rw_copy(*this, src, src_off, dst, dst_off, len));
  if (dv->has_inline_data())
    if (auto s = convert_inline(dst); !s) return finish(fail(s.error()));
  const uint64_t head = std::min(len, (kBlockSize - src_off % kBlockSize) % kBlockSize);
  const uint64_t blocks = (len - head) / kBlockSize;
  const uint64_t tail = len - head - blocks * kBlockSize;
  if (head) {
    auto n = rw_copy(*this, src, src_off, dst, dst_off, head);
    if (!n || *n < head) return finish(n);
    done += *n;
  }
  if (blocks) {
    auto n = copy_blocks(*this, src, (src_off + head) / kBlockSize, dst,
                         (dst_off + head) / kBlockSize, blocks);
    if (!n) return finish(fail(n.error()));
    done += *n * kBlockSize;
    if (*n < blocks) return finish(uint64_t{0});
  }
  if (tail)
    return finish(rw_copy(*this, src, src_off + len - tail, dst, dst_off + len - tail, tail));
  return finish(uint64_t{0});
}

Result<uint64_t> FileSystem::Impl::seek_data_hole_locked(uint32_t ino, uint64_t offset, bool data) {
  auto v = view(ino);
  if (!v) return fail(v.error());
  if (!v->is_reg())
    return fail(Errc::kInvalidArgument, EINVAL,
                "lseek: " + ino_str(ino) + " is not a regular file");
  const uint64_t size = v->attr.size;
  if (offset >= size)
    return fail(Errc::kInvalidArgument, ENXIO, "lseek: offset at or past the end of file");
  if (v->has_inline_data()) return data ? offset : size;
  const uint64_t last = (size - 1) / kBlockSize;
  for (uint64_t b = offset / kBlockSize; b <= last;) {
    uint64_t hole_end;
    auto a = raw_slot(*this, ino, *v, b, &hole_end);
    if (!a) return fail(a.error());
    if (is_data(*a) && !layout_.in_main(*a))
      return fail(Errc::kCorrupt, ino_str(ino) + " block " + std::to_string(b) + ": address " +
                                      std::to_string(*a) + " outside the main area");
    if (data ? is_data(*a) : *a == kNullAddr) return std::max(offset, b * kBlockSize);
    b = std::max(b + 1, hole_end);
  }
  if (data) return fail(Errc::kInvalidArgument, ENXIO, "lseek: no data after the offset");
  return size;
}

}  // namespace f2sc::fs
