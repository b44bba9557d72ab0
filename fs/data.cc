#include "fs/data.h"

#include <algorithm>
#include <cstring>
#include <string>
#include <vector>

#include "fs/node_path.h"

namespace f2sc::fs {

using segment::kBlockSize;
using segment::kNewAddr;
using segment::kNullAddr;

namespace {
constexpr uint64_t kMaxRunBlocks = 256;  // 1 MiB per device read
}  // namespace

Result<const segment::NodeBlock*> BlockMapper::node_at(int depth, uint32_t nid,
                                                       uint32_t node_offset) {
  auto& c = cache_[depth];
  if (c && c->nid == nid && c->node_offset == node_offset) return &c->node;
  auto n = nm_.read_node(nid, inode_.attr.ino, node_offset);
  if (!n) return fail(n.error());
  c.emplace(Cached{nid, node_offset, *n});
  for (int d = depth + 1; d < 4; ++d) cache_[d].reset();
  return &c->node;
}

Result<uint32_t> BlockMapper::map(uint64_t block, uint64_t* hole_end) {
  const uint32_t ino = inode_.attr.ino;
  if (hole_end) *hole_end = block + 1;
  auto path = node_path(block, inode_.addrs_per_inode);
  if (!path) {
    if (hole_end) *hole_end = UINT64_MAX;
    return kNullAddr;
  }
  uint32_t addr;
  if (path->level == 0) {
    addr = inode_.addr(path->offset[0]);
  } else {
    uint32_t nid = inode_.nid(path->offset[0]);
    const segment::NodeBlock* node = nullptr;
    for (int d = 1; d <= path->level; ++d) {
      if (nid == 0) {
        if (hole_end) {  // the missing node at depth d maps kAddrsPerBlock^(level-d+1) blocks
          uint64_t index = 0, span = 1;
          for (int k = path->level; k >= d; --k) {
            index += path->offset[k] * span;
            span *= kAddrsPerBlock;
          }
          *hole_end = block - index + span;
        }
        return kNullAddr;
      }
      auto n = node_at(d, nid, path->node_offset[d]);
      if (!n) return fail(n.error());
      node = *n;
      if (d < path->level) nid = node->nid[path->offset[d]];
    }
    addr = node->addr[path->offset[path->level]];
  }
  if (addr == kNullAddr || addr == kNewAddr) return kNullAddr;
  const segment::Layout& L = nm_.layout();
  if (!L.in_main(addr))
    return fail(Errc::kCorrupt,
                "inode " + std::to_string(ino) + " file block " + std::to_string(block) +
                    ": data block address " + std::to_string(addr) + " outside the main area [" +
                    std::to_string(L.main_addr) + ", " + std::to_string(L.main_end()) + ")");
  return addr;
}

Result<size_t> read_data(const NodeManager& nm, const InodeView& inode, uint64_t offset,
                         std::span<std::byte> buf) {
  const uint64_t size = inode.attr.size;
  if (offset >= size || buf.empty()) return size_t{0};
  const size_t n = static_cast<size_t>(std::min<uint64_t>(buf.size(), size - offset));
  if (inode.has_inline_data()) {
    // parse_inode() bounds i_size by the inline area.
    auto area = inode.inline_area();
    std::memcpy(buf.data(), area.data() + offset, n);
    return n;
  }
  BlockMapper mapper(nm, inode);
  std::vector<std::byte> blk(kBlockSize);
  size_t done = 0;
  while (done < n) {
    const uint64_t pos = offset + done;
    const uint64_t block = pos / kBlockSize;
    const size_t in_block = pos % kBlockSize;
    const size_t chunk = std::min<size_t>(kBlockSize - in_block, n - done);
    auto addr = mapper.map(block);
    if (!addr) return fail(addr.error());
    if (*addr == kNullAddr) {
      std::memset(buf.data() + done, 0, chunk);
    } else if (in_block == 0 && chunk == kBlockSize) {
      // Whole blocks at consecutive addresses go to the device as one read.
      const uint64_t max_run = std::min<uint64_t>((n - done) / kBlockSize, kMaxRunBlocks);
      uint64_t run = 1;
      while (run < max_run) {
        auto next = mapper.map(block + run);
        if (!next) return fail(next.error());
        if (*next != uint64_t{*addr} + run) break;
        ++run;
      }
      if (auto s = nm.device().read(*addr, buf.subspan(done, run * kBlockSize)); !s)
        return fail(with_context(s.error(), "inode " + std::to_string(inode.attr.ino) +
                                                " file blocks " + std::to_string(block) + ".." +
                                                std::to_string(block + run - 1)));
      done += run * kBlockSize;
      continue;
    } else {
      if (auto s = nm.device().read(*addr, blk); !s)
        return fail(with_context(s.error(), "inode " + std::to_string(inode.attr.ino) +
                                                " file block " + std::to_string(block)));
      std::memcpy(buf.data() + done, blk.data() + in_block, chunk);
    }
    done += chunk;
  }
  return n;
}

}  // namespace f2sc::fs
