#include "fs/node.h"

#include <cstring>
#include <string>

#include "segment/image.h"

namespace f2sc::fs {

using segment::kBlockSize;
using segment::kNewAddr;
using segment::kNullAddr;

namespace {

std::string nid_str(uint32_t nid) {
  return "nid " + std::to_string(nid);
}

}  // namespace

NodeManager::NodeManager(blockdev::BlockDevice& dev, const segment::Layout& layout,
                         const segment::Checkpoint& cp)
    : dev_(dev), layout_(layout) {
  const uint8_t* bm = cp.nat_bitmap(layout.cp_payload);
  nat_bitmap_.assign(bm, bm + layout.nat_bitmap_bytes());
  const segment::Journal& j = cp.nat_journal();
  // read_checkpoint() already bounds n_entries by the journal's capacity.
  for (uint32_t i = 0; i < j.n_entries; ++i) {
    const segment::NatJournalEntry& e = j.nat.entries[i];
    const uint32_t nid = e.nid;
    if (nid >= layout.max_nid()) {
      journal_status_ =
          fail(Errc::kCorrupt, "NAT journal entry " + std::to_string(i) + ": " + nid_str(nid) +
                                   " not below max_nid " + std::to_string(layout.max_nid()));
      return;
    }
    if (journal_.count(nid)) {
      journal_status_ = fail(Errc::kCorrupt, "NAT journal entry " + std::to_string(i) + ": " +
                                                 nid_str(nid) + " appears twice");
      return;
    }
    journal_.emplace(nid, e.ne);
  }
}

Result<NodeInfo> NodeManager::node_info(uint32_t nid) const {
  if (!journal_status_) return fail(journal_status_.error());
  if (nid < layout_.root_ino || nid >= layout_.max_nid())
    return fail(Errc::kOutOfRange, nid_str(nid) + " outside the valid range " +
                                       std::to_string(layout_.root_ino) + ".." +
                                       std::to_string(layout_.max_nid() - 1));
  NodeInfo info;
  info.nid = nid;
  segment::NatEntry e{};
  if (auto it = journal_.find(nid); it != journal_.end()) {
    e = it->second;
    info.from_journal = true;
  } else {
    auto read = segment::read_nat_block_entry(dev_, layout_, nat_bitmap_.data(), nid);
    if (!read) return fail(read.error());
    e = *read;
  }
  info.ino = e.ino;
  info.blk_addr = e.block_addr;
  info.version = e.version;
  const char* where = info.from_journal ? "NAT journal entry of " : "NAT entry of ";
  if (info.blk_addr != kNullAddr && info.blk_addr != kNewAddr && !layout_.in_main(info.blk_addr))
    return fail(Errc::kCorrupt, where + nid_str(nid) +
                                    ": block_addr = " + std::to_string(info.blk_addr) +
                                    " outside the main area [" + std::to_string(layout_.main_addr) +
                                    ", " + std::to_string(layout_.main_end()) + ")");
  if (info.blk_addr != kNullAddr && (info.ino < layout_.root_ino || info.ino >= max_nid()))
    return fail(Errc::kCorrupt, where + nid_str(nid) + ": ino = " + std::to_string(info.ino) +
                                    " is not a valid inode number");
  return info;
}

Result<segment::NodeBlock> NodeManager::read_node(uint32_t nid, uint32_t ino,
                                                  uint32_t node_offset) const {
  auto info = node_info(nid);
  if (!info) {
    Error e = info.error();
    if (e.code == Errc::kOutOfRange)
      e.code = Errc::kCorrupt, e.sys_errno = default_errno(Errc::kCorrupt);
    return fail(with_context(std::move(e), "inode " + std::to_string(ino) + " node offset " +
                                               std::to_string(node_offset)));
  }
  const std::string what = nid_str(nid) + " (inode " + std::to_string(ino) + ", node offset " +
                           std::to_string(node_offset) + ")";
  if (info->blk_addr == kNullAddr || info->blk_addr == kNewAddr)
    return fail(Errc::kCorrupt, what + ": NAT block_addr = " + std::to_string(info->blk_addr) +
                                    ", the node was never written");
  if (info->ino != ino)
    return fail(Errc::kCorrupt, what + ": NAT entry says ino = " + std::to_string(info->ino));
  segment::NodeBlock node;
  if (auto s = dev_.read(info->blk_addr, {reinterpret_cast<std::byte*>(&node), kBlockSize}); !s)
    return fail(with_context(s.error(), "reading " + what));
  const segment::NodeFooter& f = node.footer;
  const std::string at = what + " at block " + std::to_string(info->blk_addr) + ": footer ";
  if (f.nid != nid) return fail(Errc::kCorrupt, at + "nid = " + std::to_string(f.nid));
  if (f.ino != ino) return fail(Errc::kCorrupt, at + "ino = " + std::to_string(f.ino));
  if (footer_node_offset(f) != node_offset)
    return fail(Errc::kCorrupt, at + "node offset = " + std::to_string(footer_node_offset(f)));
  return node;
}

}  // namespace f2sc::fs
