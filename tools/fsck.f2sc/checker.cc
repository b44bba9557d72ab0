#include "tools/fsck.f2sc/checker.h"

#include <sys/stat.h>

#include <bit>
#include <cstdio>
#include <cstring>
#include <memory>
#include <string_view>

#include "fs/dentry_hash.h"
#include "fs/dir.h"
#include "fs/inode.h"
#include "fs/node_path.h"

namespace f2sc::fsck {

using namespace segment;

size_t CheckResult::errors() const {
  size_t n = 0;
  for (const Finding& f : findings) n += f.warning ? 0 : 1;
  return n;
}

namespace {

inline constexpr uint32_t kXattrNodeOffset = 0x1FFFFFFF;
inline constexpr uint32_t kIndirect1Offset = 3;
inline constexpr uint32_t kIndirect2Offset = 4 + fs::kNidsPerBlock;
inline constexpr uint32_t kDoubleIndirectOffset = 5 + 2 * fs::kNidsPerBlock;

std::string str(uint64_t v) {
  return std::to_string(v);
}

enum class NodeKind { kDirect, kIndirect, kDoubleIndirect };

struct InodeFacts {
  uint32_t addr = 0;
  uint32_t links = 0;       // i_links on disk
  uint32_t links_seen = 0;  // dentries naming it (files) / subdirectories (dirs)
  uint32_t parent = 0;      // first directory that named it
  bool dir = false;
  bool orphan = false;
  bool broken = false;  // the inode block did not parse; not checked further
  uint16_t mode = 0;
  std::string path;
};

struct DirTask {
  uint32_t ino = 0;
  uint32_t dir_level = 0;
  uint32_t depth = 0;
  std::vector<std::pair<uint64_t, uint32_t>> blocks;  // file block -> address
  std::optional<fs::InodeView> inline_view;
  uint32_t dots = 0;  // "." and ".." entries seen
};

class Walker {
 public:
  Walker(blockdev::BlockDevice& dev, CheckResult& r, const CheckOptions& opts)
      : dev_(dev), r_(r), opts_(opts), L_(r.super.layout), features_(r.super.sb.feature) {}

  Status run();

 private:
  void add(std::string structure, std::string object, std::string expected, std::string found,
           Fix fix = Fix::kNone) {
    Finding f;
    f.structure = std::move(structure);
    f.object = std::move(object);
    f.expected = std::move(expected);
    f.found = std::move(found);
    f.fix = fix;
    r_.findings.push_back(std::move(f));
  }
  Finding& last() { return r_.findings.back(); }
  std::string inode_name(uint32_t ino) const {
    auto it = inodes_.find(ino);
    std::string s = "inode " + str(ino);
    if (it != inodes_.end() && !it->second.path.empty()) s += " (" + it->second.path + ")";
    return s;
  }

  Status load_sit();
  Status load_nat();
  const SummaryBlock* summary_of(uint32_t segno);
  int curseg_of(uint32_t segno) const;
  bool mark_block(uint32_t addr, const std::string& owner);
  void check_summary(uint32_t addr, const Summary& want, uint8_t type, const std::string& owner);
  bool read_node(uint32_t nid, uint32_t ino, uint32_t node_offset, NodeBlock& node,
                 const std::string& owner);
  std::optional<uint32_t> find_node_by_ssa(uint32_t nid, uint32_t ino, uint32_t node_offset,
                                           NodeBlock& node);
  InodeFacts* visit_inode(uint32_t ino, uint32_t parent, const std::string& path, bool orphan);
  void walk_node(uint32_t nid, uint32_t node_offset, NodeKind kind, const fs::InodeView& inode,
                 uint64_t& blocks, DirTask* dir);
  void data_block(uint32_t addr, uint64_t file_block, uint32_t dnid, uint32_t ofs,
                  const fs::InodeView& inode, uint64_t& blocks, DirTask* dir);
  void walk_dir(DirTask& task);
  void dentry(DirTask& task, const DirEntry& e, std::string_view name, uint32_t slot,
              uint32_t block_addr, bool inline_table);
  void finish_inodes();
  void check_sit_and_counts();

  blockdev::BlockDevice& dev_;
  CheckResult& r_;
  const CheckOptions& opts_;
  const Layout& L_;
  uint32_t features_;
  std::unordered_map<uint32_t, std::unique_ptr<SummaryBlock>> ssa_;
  std::unordered_map<uint32_t, InodeFacts> inodes_;
  std::vector<DirTask> dirs_;
  std::unordered_multimap<uint32_t, uint32_t> ssa_nodes_;  // nid -> SIT-valid node blocks
  bool ssa_nodes_built_ = false;
  std::vector<uint8_t> segment_kinds_;  // per segment: 1 data blocks seen, 2 node blocks
  // Extent check state of the inode being walked.
  uint32_t ext_matched_ = 0;
  bool ext_bad_ = false;
  uint64_t last_data_block_ = 0;
  bool has_data_ = false;
};

Status Walker::load_sit() {
  const uint32_t segs = L_.main_segments;
  r_.sit.assign(segs, SitEntry{});
  const uint8_t* bitmap = r_.cp.sit_bitmap(L_.cp_payload);
  std::vector<std::byte> blk(kBlockSize);
  const uint32_t sit_blocks = (segs + kSitEntriesPerBlock - 1) / kSitEntriesPerBlock;
  for (uint32_t b = 0; b < sit_blocks && b < L_.sit_blocks(); ++b) {
    const int copy = test_bit_msb(bitmap, b) ? 1 : 0;
    if (auto s = dev_.read(L_.sit_block_addr(b, copy), blk); !s)
      return fail(with_context(s.error(), "reading SIT block " + str(b)));
    for (uint32_t i = 0; i < kSitEntriesPerBlock; ++i) {
      const uint32_t segno = b * kSitEntriesPerBlock + i;
      if (segno >= segs) break;
      std::memcpy(&r_.sit[segno], blk.data() + i * sizeof(SitEntry), sizeof(SitEntry));
    }
  }
  const Journal& j = r_.cp.sit_journal();
  for (uint32_t i = 0; i < j.n_entries && i < kSitJournalEntries; ++i) {
    const SitJournalEntry& e = j.sit.entries[i];
    if (e.segno >= segs) {
      add("SIT journal", "entry " + str(i), "segno below " + str(segs), str(e.segno), Fix::kSit);
      continue;
    }
    r_.sit[e.segno] = e.se;
  }
  for (uint32_t segno = 0; segno < segs; ++segno) {
    const SitEntry& e = r_.sit[segno];
    uint32_t bits = 0;
    for (uint8_t byte : e.valid_map) bits += std::popcount(byte);
    const uint32_t count = e.vblocks & kSitVblocksMask;
    if (count != bits)
      add("SIT", "segment " + str(segno), "valid block count " + str(bits) + " (its bitmap)",
          str(count), Fix::kSit);
  }
  return {};
}

Status Walker::load_nat() {
  const uint32_t max_nid = L_.max_nid();
  r_.nat.assign(max_nid, NatEntry{});
  r_.nid_used.assign(max_nid, false);
  const uint8_t* bitmap = r_.cp.nat_bitmap(L_.cp_payload);
  std::vector<std::byte> seg(static_cast<size_t>(kBlocksPerSeg) * 2 * kBlockSize);
  for (uint32_t s = 0; s < L_.nat_segments; ++s) {
    const uint32_t first = s * kBlocksPerSeg;
    if (auto st = dev_.read(L_.nat_block_addr(first, 0), seg); !st)
      return fail(with_context(st.error(), "reading NAT segment " + str(s)));
    for (uint32_t i = 0; i < kBlocksPerSeg; ++i) {
      const uint32_t b = first + i;
      const int copy = test_bit_msb(bitmap, b) ? 1 : 0;
      const std::byte* src =
          seg.data() + (static_cast<size_t>(copy) * kBlocksPerSeg + i) * kBlockSize;
      std::memcpy(&r_.nat[static_cast<size_t>(b) * kNatEntriesPerBlock], src,
                  sizeof(NatEntry) * kNatEntriesPerBlock);
    }
  }
  const Journal& j = r_.cp.nat_journal();
  for (uint32_t i = 0; i < j.n_entries && i < kNatJournalEntries; ++i) {
    const NatJournalEntry& e = j.nat.entries[i];
    if (e.nid >= max_nid) {
      add("NAT journal", "entry " + str(i), "nid below " + str(max_nid), str(e.nid));
      continue;
    }
    r_.nat[e.nid] = e.ne;
  }
  return {};
}

int Walker::curseg_of(uint32_t segno) const {
  for (int i = 0; i < static_cast<int>(kNrCursegType); ++i)
    if (r_.cp.cursegs[i].segno == segno) return i;
  return -1;
}

const SummaryBlock* Walker::summary_of(uint32_t segno) {
  if (int c = curseg_of(segno); c >= 0) return &r_.cp.cursegs[c].sum;
  auto it = ssa_.find(segno);
  if (it != ssa_.end()) return it->second.get();
  auto blk = std::make_unique<SummaryBlock>();
  if (!dev_.read(L_.ssa_block_addr(segno), {reinterpret_cast<std::byte*>(blk.get()), kBlockSize}))
    return nullptr;
  return ssa_.emplace(segno, std::move(blk)).first->second.get();
}

bool Walker::mark_block(uint32_t addr, const std::string& owner) {
  const uint32_t idx = addr - L_.main_addr;
  if (test_bit_msb(r_.reachable.data(), idx)) {
    add("block map", "block " + str(addr), "one owner", "referenced again by " + owner);
    return false;
  }
  set_bit_msb(r_.reachable.data(), idx);
  return true;
}

void Walker::check_summary(uint32_t addr, const Summary& want, uint8_t type,
                           const std::string& owner) {
  const uint32_t segno = L_.segno_of(addr), off = L_.blkoff_of(addr);
  const SummaryBlock* sb = summary_of(segno);
  if (!sb) {
    add("SSA", "segment " + str(segno), "readable summary block", "read error");
    return;
  }
  const Summary got = sb->entries[off];
  const bool node = type == kSumTypeNode;
  uint8_t& kinds = segment_kinds_[segno];
  if (!(kinds & (node ? 2 : 1)) && sb->footer.entry_type != type)
    add("SSA", "segment " + str(segno) + " summary footer",
        std::string("entry type ") + (node ? "node" : "data") + " (it holds " + owner + ")",
        "entry type " + str(sb->footer.entry_type));
  kinds |= node ? 2 : 1;
  const bool ok = got.nid == want.nid &&
                  (node || (got.ofs_in_node == want.ofs_in_node && got.version == want.version));
  if (!ok) {
    auto fmt = [&](const Summary& s) {
      return node ? "nid " + str(s.nid)
                  : "nid " + str(s.nid) + " ofs_in_node " + str(s.ofs_in_node) + " version " +
                        str(s.version);
    };
    add("SSA", "block " + str(addr) + " of " + owner, fmt(want), fmt(got), Fix::kSsa);
    last().block = addr;
    last().summary = want;
    if (node) last().summary.version = got.version, last().summary.ofs_in_node = got.ofs_in_node;
  }
}

// Reads node `nid` of inode `ino` through the NAT, checks the footer, marks the block and
// checks its SSA entry. False when the node cannot be used.
bool Walker::read_node(uint32_t nid, uint32_t ino, uint32_t node_offset, NodeBlock& node,
                       const std::string& owner) {
  const std::string what =
      "nid " + str(nid) + " (" + owner + ", node offset " + str(node_offset) + ")";
  if (nid < L_.root_ino || nid >= L_.max_nid()) {
    add("node tree", what, "nid in " + str(L_.root_ino) + ".." + str(L_.max_nid() - 1), str(nid));
    return false;
  }
  if (r_.nid_used[nid]) {
    add("node tree", what, "one reference to the nid", "referenced again");
    return false;
  }
  NatEntry e = r_.nat[nid];
  std::string problem;
  if (e.block_addr == kNullAddr || e.block_addr == kNewAddr || !L_.in_main(e.block_addr)) {
    add("NAT", what,
        "block address in the main area [" + str(L_.main_addr) + ", " + str(L_.main_end()) + ")",
        str(e.block_addr));
    problem = "bad address";
  } else if (e.ino != ino) {
    add("NAT", what, "ino " + str(ino), "ino " + str(e.ino));
    problem = "bad ino";
  } else if (!dev_.read(e.block_addr, {reinterpret_cast<std::byte*>(&node), kBlockSize})) {
    add("node", what, "readable block " + str(e.block_addr), "read error");
    problem = "read error";
  } else if (const NodeFooter& f = node.footer;
             f.nid != nid || f.ino != ino || fs::footer_node_offset(f) != node_offset) {
    // The SSA corroborates which node the block is: then only the footer is wrong.
    const SummaryBlock* sb = summary_of(L_.segno_of(e.block_addr));
    const bool ssa_agrees = sb && sb->entries[L_.blkoff_of(e.block_addr)].nid == nid;
    add("node footer", what + " at block " + str(e.block_addr),
        "nid " + str(nid) + " ino " + str(ino) + " offset " + str(node_offset),
        "nid " + str(f.nid) + " ino " + str(f.ino) + " offset " + str(fs::footer_node_offset(f)),
        ssa_agrees ? Fix::kFooter : Fix::kNone);
    last().block = e.block_addr, last().nid = nid, last().ino = ino, last().value = node_offset;
    if (ssa_agrees) {
      node.footer.nid = nid, node.footer.ino = ino;
      node.footer.flag = (node_offset << 3) | (node.footer.flag & 7);
    } else {
      problem = "footer names another node";
    }
  }
  if (!problem.empty()) {
    // The NAT is wrong: look for the node where the SSA says it is.
    auto found = find_node_by_ssa(nid, ino, node_offset, node);
    if (!found) return false;
    // The footer was right for the block the NAT named: the NAT finding replaces it.
    if (r_.findings.back().structure == "node footer") r_.findings.pop_back();
    add("NAT", what, "block " + str(*found) + " (the node its SSA entry and footer name)",
        "block " + str(e.block_addr) + " ino " + str(e.ino), Fix::kNatAddress);
    last().nid = nid;
    e.block_addr = *found, e.ino = ino;
    r_.nat[nid] = e;
  }
  r_.nid_used[nid] = true;
  if (!mark_block(e.block_addr, what)) return false;
  ++r_.valid_nodes;
  ++r_.valid_blocks;
  check_summary(e.block_addr, Summary{nid, 0, 0}, kSumTypeNode, what);
  return true;
}

std::optional<uint32_t> Walker::find_node_by_ssa(uint32_t nid, uint32_t ino, uint32_t node_offset,
                                                 NodeBlock& node) {
  if (!ssa_nodes_built_) {
    ssa_nodes_built_ = true;
    for (uint32_t segno = 0; segno < L_.main_segments; ++segno) {
      const SitEntry& se = r_.sit[segno];
      if ((se.vblocks & kSitVblocksMask) == 0 || (se.vblocks >> kSitVblocksShift) < 3) continue;
      const SummaryBlock* sb = summary_of(segno);
      if (!sb) continue;
      for (uint32_t off = 0; off < kBlocksPerSeg; ++off)
        if (test_bit_msb(se.valid_map, off)) {
          const uint32_t owner = sb->entries[off].nid;  // a copy: the entry is packed
          ssa_nodes_.emplace(owner, L_.seg_start(segno) + off);
        }
    }
  }
  std::optional<uint32_t> best;
  uint64_t best_ver = 0;
  NodeBlock candidate;
  auto [lo, hi] = ssa_nodes_.equal_range(nid);
  for (auto it = lo; it != hi; ++it) {
    const uint32_t addr = it->second;
    if (test_bit_msb(r_.reachable.data(), addr - L_.main_addr)) continue;
    if (!dev_.read(addr, {reinterpret_cast<std::byte*>(&candidate), kBlockSize})) continue;
    const NodeFooter& f = candidate.footer;
    if (f.nid != nid || f.ino != ino || fs::footer_node_offset(f) != node_offset) continue;
    if (!best || f.cp_ver > best_ver) {
      best = addr, best_ver = f.cp_ver;
      node = candidate;
    }
  }
  return best;
}

void Walker::data_block(uint32_t addr, uint64_t file_block, uint32_t dnid, uint32_t ofs,
                        const fs::InodeView& inode, uint64_t& blocks, DirTask* dir) {
  if (addr == kNullAddr) return;
  if (addr == kNewAddr) {
    ++blocks;
    ++r_.valid_blocks;
    return;
  }
  const uint32_t ino = inode.attr.ino;
  if (!L_.in_main(addr)) {
    add("data block", inode_name(ino) + " file block " + str(file_block),
        "address in the main area", str(addr));
    return;
  }
  ++blocks;
  const std::string owner = inode_name(ino) + " file block " + str(file_block);
  if (!mark_block(addr, owner)) return;
  ++r_.valid_blocks;
  has_data_ = true;
  last_data_block_ = std::max(last_data_block_, file_block);
  check_summary(addr, Summary{dnid, r_.nat[dnid].version, static_cast<uint16_t>(ofs)}, kSumTypeData,
                owner);
  const Extent& x = inode.node.i.i_ext;
  if (x.len && file_block >= x.fofs && file_block < uint64_t{x.fofs} + x.len) {
    if (addr == x.blk_addr + (file_block - x.fofs))
      ++ext_matched_;
    else
      ext_bad_ = true;
  }
  if (dir) dir->blocks.emplace_back(file_block, addr);
}

void Walker::walk_node(uint32_t nid, uint32_t node_offset, NodeKind kind,
                       const fs::InodeView& inode, uint64_t& blocks, DirTask* dir) {
  if (nid == 0) return;
  const uint32_t ino = inode.attr.ino;
  auto node = std::make_unique<NodeBlock>();
  if (!read_node(nid, ino, node_offset, *node, inode_name(ino))) return;
  ++blocks;
  if (kind == NodeKind::kDirect) {
    auto first = fs::first_block_of_node(node_offset, inode.addrs_per_inode);
    if (!first) return;
    for (uint32_t j = 0; j < kAddrsPerBlock; ++j)
      data_block(node->addr[j], *first + j, nid, j, inode, blocks, dir);
    return;
  }
  for (uint32_t j = 0; j < fs::kNidsPerBlock; ++j) {
    if (kind == NodeKind::kIndirect)
      walk_node(node->nid[j], node_offset + 1 + j, NodeKind::kDirect, inode, blocks, dir);
    else
      walk_node(node->nid[j], node_offset + 1 + j * (fs::kNidsPerBlock + 1), NodeKind::kIndirect,
                inode, blocks, dir);
  }
}

InodeFacts* Walker::visit_inode(uint32_t ino, uint32_t parent, const std::string& path,
                                bool orphan) {
  if (auto it = inodes_.find(ino); it != inodes_.end()) return &it->second;
  NodeBlock node;
  InodeFacts facts;
  facts.path = path, facts.parent = parent, facts.orphan = orphan;
  inodes_[ino] = facts;
  if (!read_node(ino, ino, 0, node, path.empty() ? "inode " + str(ino) : path)) {
    inodes_.erase(ino);
    return nullptr;
  }
  InodeFacts& me = inodes_[ino];
  me.addr = r_.nat[ino].block_addr;
  r_.inode_addr[ino] = me.addr;
  ++r_.valid_inodes;
  auto view = fs::parse_inode(node, ino, features_);
  if (!view) {
    me.broken = true;
    add("inode", inode_name(ino), "a valid inode", view.error().message);
    return &me;
  }
  me.links = view->attr.links;
  me.mode = view->attr.mode;
  me.dir = view->is_dir();
  std::unique_ptr<DirTask> task;
  if (me.dir) {
    task = std::make_unique<DirTask>();
    task->ino = ino, task->dir_level = view->attr.dir_level, task->depth = view->attr.current_depth;
  }
  ext_matched_ = 0, ext_bad_ = false, has_data_ = false, last_data_block_ = 0;
  uint64_t blocks = 1;
  const bool inline_body = view->has_inline_data() || view->has_inline_dentry();
  if (!inline_body) {
    for (uint32_t i = 0; i < view->addrs_per_inode; ++i)
      data_block(view->addr(i), i, ino, i, *view, blocks, task.get());
    walk_node(view->nid(0), 1, NodeKind::kDirect, *view, blocks, task.get());
    walk_node(view->nid(1), 2, NodeKind::kDirect, *view, blocks, task.get());
    walk_node(view->nid(2), kIndirect1Offset, NodeKind::kIndirect, *view, blocks, task.get());
    walk_node(view->nid(3), kIndirect2Offset, NodeKind::kIndirect, *view, blocks, task.get());
    walk_node(view->nid(4), kDoubleIndirectOffset, NodeKind::kDoubleIndirect, *view, blocks,
              task.get());
  } else if (view->has_inline_data() && view->attr.size > view->max_inline()) {
    add("inode", inode_name(ino), "i_size at most " + str(view->max_inline()) + " (inline)",
        str(view->attr.size));
  }
  if (const uint32_t xnid = view->attr.xattr_nid) {
    NodeBlock xnode;
    if (read_node(xnid, ino, kXattrNodeOffset, xnode, inode_name(ino) + " xattr")) ++blocks;
  }
  if (view->attr.blocks != blocks) {
    add("inode", inode_name(ino), "i_blocks " + str(blocks), str(view->attr.blocks), Fix::kIBlocks);
    last().ino = ino, last().value = static_cast<uint32_t>(blocks);
  }
  const Extent& x = node.i.i_ext;
  if (x.len && (ext_bad_ || ext_matched_ != x.len)) {
    add("inode", inode_name(ino) + " i_ext",
        "fofs " + str(x.fofs) + " blk " + str(x.blk_addr) + " len " + str(x.len) +
            " matching the block map",
        str(ext_matched_) + " blocks match" + (ext_bad_ ? ", others differ" : ""), Fix::kIExt);
    last().ino = ino;
  }
  if (view->is_reg() && has_data_ &&
      last_data_block_ >= (view->attr.size + kBlockSize - 1) / kBlockSize && !inline_body) {
    add("inode", inode_name(ino), "data blocks within i_size " + str(view->attr.size),
        "file block " + str(last_data_block_));
    last().warning = true;
  }
  if (task) {
    if (view->has_inline_dentry()) task->inline_view = *view;
    dirs_.push_back(std::move(*task));
  }
  return &me;
}

void Walker::dentry(DirTask& task, const DirEntry& e, std::string_view name, uint32_t slot,
                    uint32_t block_addr, bool inline_table) {
  InodeFacts& dir = inodes_[task.ino];
  const uint32_t child = e.ino;
  const std::string child_path = (dir.path == "/" ? "" : dir.path) + "/" + std::string(name);
  const std::string where = "dentry " + child_path + (inline_table ? " (inline in " : " (block ") +
                            (inline_table ? inode_name(task.ino) : str(block_addr)) + ")";
  if (name == "." || name == "..") {
    ++task.dots;
    const uint32_t want = name == "." ? task.ino : (dir.parent ? dir.parent : task.ino);
    if (child != want) add("dentry", where, "ino " + str(want), "ino " + str(child));
    return;
  }
  const uint32_t hash = fs::dentry_hash(name);
  if (e.hash_code != hash) {
    add("dentry", where, "hash " + str(hash), "hash " + str(e.hash_code), Fix::kDentryHash);
    Finding& f = last();
    f.ino = task.ino, f.block = block_addr, f.slot = slot, f.value = hash;
    f.inline_dentry = inline_table;
  }
  auto drop = [&](std::string expected, std::string found) {
    add("dentry", where, std::move(expected), std::move(found), Fix::kDentry);
    Finding& f = last();
    f.ino = task.ino, f.block = block_addr, f.slot = slot;
    f.slots = (e.name_len + kSlotLen - 1) / kSlotLen, f.inline_dentry = inline_table;
  };
  if (child < L_.root_ino || child >= L_.max_nid()) {
    drop("ino in " + str(L_.root_ino) + ".." + str(L_.max_nid() - 1), "ino " + str(child));
    return;
  }
  const bool seen = inodes_.count(child) != 0;
  if (!seen && (r_.nat[child].block_addr == kNullAddr || r_.nat[child].ino != child)) {
    drop("an allocated inode " + str(child),
         "NAT block address " + str(r_.nat[child].block_addr) + " ino " + str(r_.nat[child].ino));
    return;
  }
  InodeFacts* c = visit_inode(child, task.ino, child_path, false);
  if (!c) {
    drop("a readable inode " + str(child), "none (see the findings above)");
    return;
  }
  if (!c->broken && fs::file_type_of_mode(c->mode) != e.file_type)
    add("dentry", where, "file type " + str(fs::file_type_of_mode(c->mode)), str(e.file_type));
  if (c->dir) {
    if (seen) {
      drop("one name for directory " + str(child), "another name (directory hard link)");
      return;
    }
    ++dir.links_seen;  // its ".." names this directory
  } else {
    ++c->links_seen;
  }
}

void Walker::walk_dir(DirTask& task) {
  if (task.inline_view) {
    const fs::DentryTable t = fs::dentry_table_of_inline(*task.inline_view);
    auto s = fs::for_each_dentry(t, inode_name(task.ino) + " inline dentries",
                                 [&](uint32_t slot, const DirEntry& e, std::string_view name) {
                                   dentry(task, e, name, slot, 0, true);
                                   return true;
                                 });
    if (!s) add("dentry", inode_name(task.ino), "well-formed inline dentries", s.error().message);
    return;
  }
  std::vector<uint8_t> blk(kBlockSize);
  for (const auto& entry : task.blocks) {
    const uint64_t file_block = entry.first;  // (clang 14: lambdas cannot capture bindings)
    const uint32_t addr = entry.second;
    // Which level and bucket the block belongs to.
    std::optional<uint64_t> bucket;
    uint64_t buckets = 0;
    for (uint32_t level = 0; level < task.depth && level <= fs::kMaxDirHashDepth; ++level) {
      const uint64_t start = fs::dir_block_index(level, task.dir_level, 0);
      const uint64_t n = fs::dir_buckets(level, task.dir_level);
      const uint64_t end = start + n * fs::bucket_blocks(level);
      if (file_block >= start && file_block < end) {
        bucket = (file_block - start) / fs::bucket_blocks(level);
        buckets = n;
        break;
      }
    }
    if (!dev_.read(addr, {reinterpret_cast<std::byte*>(blk.data()), kBlockSize})) {
      add("dentry block", inode_name(task.ino) + " block " + str(addr), "readable", "read error");
      continue;
    }
    const fs::DentryTable t = fs::dentry_table_of_block(blk.data());
    auto s = fs::for_each_dentry(
        t, inode_name(task.ino) + " dentry block " + str(addr),
        [&](uint32_t slot, const DirEntry& e, std::string_view name) {
          if (name != "." && name != "..") {
            if (!bucket)
              add("dentry", inode_name(task.ino) + " block " + str(addr) + " slot " + str(slot),
                  "a block inside hash levels 0.." + str(task.depth),
                  "file block " + str(file_block));
            else if (fs::dentry_hash(name) % buckets != *bucket)
              add("dentry", inode_name(task.ino) + " name " + std::string(name),
                  "bucket " + str(fs::dentry_hash(name) % buckets), "bucket " + str(*bucket));
          }
          dentry(task, e, name, slot, addr, false);
          return true;
        });
    if (!s) add("dentry", inode_name(task.ino), "well-formed dentries", s.error().message);
  }
}

void Walker::finish_inodes() {
  for (auto& [ino, f] : inodes_) {
    if (f.broken || f.orphan) continue;
    const uint32_t want = f.dir ? 2 + f.links_seen : f.links_seen;
    if (f.links != want) {
      add("inode", inode_name(ino), "i_links " + str(want), str(f.links), Fix::kLinks);
      last().ino = ino, last().value = want;
    }
  }
}

void Walker::check_sit_and_counts() {
  const uint32_t segs = L_.main_segments;
  uint32_t free_segs = 0;
  for (uint32_t segno = 0; segno < segs; ++segno) {
    const uint8_t* mine = r_.reachable.data() + static_cast<size_t>(segno) * kSitVblockMapSize;
    const SitEntry& e = r_.sit[segno];
    uint32_t live = 0;
    for (uint32_t i = 0; i < kSitVblockMapSize; ++i) live += std::popcount(mine[i]);
    if (live == 0 && curseg_of(segno) < 0) ++free_segs;
    const uint32_t count = e.vblocks & kSitVblocksMask;
    const uint32_t sit_type = e.vblocks >> kSitVblocksShift;
    const uint8_t kinds = segment_kinds_[segno];
    if (kinds == 3)
      add("segment", "segment " + str(segno), "data or node blocks", "both");
    else if (kinds && (kinds == 2) != (sit_type >= 3 && sit_type < kNrCursegType))
      add("SIT", "segment " + str(segno) + " type",
          std::string("a ") + (kinds == 2 ? "node" : "data") + " log type",
          "type " + str(sit_type));
    if (count == 0 && live > 0)
      add("SIT", "segment " + str(segno),
          "a segment in use (it holds " + str(live) + " live blocks)", "free", Fix::kSit);
    if (std::memcmp(mine, e.valid_map, kSitVblockMapSize) != 0) {
      uint32_t first = 0;
      while (first < kBlocksPerSeg && test_bit_msb(mine, first) == test_bit_msb(e.valid_map, first))
        ++first;
      add("SIT", "segment " + str(segno) + " block " + str(L_.seg_start(segno) + first),
          test_bit_msb(mine, first) ? "valid" : "free",
          test_bit_msb(e.valid_map, first) ? "valid" : "free", Fix::kSit);
    } else if (count != live) {
      // (the count-vs-bitmap mismatch was reported while loading)
    }
  }
  r_.free_segments = free_segs;
  const CheckpointHeader& h = r_.cp.head();
  auto cmp = [&](const char* field, uint64_t want, uint64_t got) {
    if (want != got) add("checkpoint", field, str(want), str(got), Fix::kCheckpoint);
  };
  cmp("valid_block_count", r_.valid_blocks, h.valid_block_count);
  cmp("valid_node_count", r_.valid_nodes, h.valid_node_count);
  cmp("valid_inode_count", r_.valid_inodes, h.valid_inode_count);
  cmp("free_segment_count", free_segs, h.free_segment_count);
  // Current logs: every block from blkoff on is still free.
  for (int i = 0; i < static_cast<int>(kNrCursegType); ++i) {
    const CursegState& c = r_.cp.cursegs[i];
    if (c.segno >= segs) {
      add("checkpoint", "current segment of log " + str(i), "segno below " + str(segs),
          str(c.segno));
      continue;
    }
    for (uint32_t off = c.blkoff; off < kBlocksPerSeg; ++off)
      if (test_bit_msb(r_.reachable.data(), c.segno * kBlocksPerSeg + off)) {
        add("checkpoint", "current segment " + str(c.segno) + " of log " + str(i),
            "blocks from blkoff " + str(c.blkoff) + " free",
            "block " + str(L_.seg_start(c.segno) + off) + " in use");
        break;
      }
  }
  // NAT entries nothing reaches.
  for (uint32_t nid = L_.root_ino; nid < r_.nat.size(); ++nid) {
    const NatEntry& e = r_.nat[nid];
    if (e.block_addr == kNullAddr || r_.nid_used[nid]) continue;
    add("NAT", "nid " + str(nid), "no block (nothing references the nid)",
        "block " + str(e.block_addr) + " ino " + str(e.ino), Fix::kNatFree);
    last().nid = nid;
  }
}

Status Walker::run() {
  r_.reachable.assign(static_cast<size_t>(L_.main_segments) * kSitVblockMapSize, 0);
  segment_kinds_.assign(L_.main_segments, 0);
  if (opts_.progress) std::fprintf(stderr, "fsck.f2sc: [1/4] SIT and NAT\n");
  if (auto s = load_sit(); !s) return s;
  if (auto s = load_nat(); !s) return s;
  if (opts_.progress) std::fprintf(stderr, "fsck.f2sc: [2/4] node tree\n");
  InodeFacts* root = visit_inode(L_.root_ino, 0, "/", false);
  if (root && !root->dir)
    add("inode", "root inode " + str(L_.root_ino), "a directory", "mode " + str(root->mode));
  for (uint32_t ino : r_.cp.orphans) {
    if (ino < L_.root_ino || ino >= L_.max_nid()) {
      add("checkpoint", "orphan inode " + str(ino), "a valid inode number", str(ino));
      continue;
    }
    if (!visit_inode(ino, 0, "", true))
      add("checkpoint", "orphan inode " + str(ino), "a readable inode", "none");
  }
  if (opts_.progress) std::fprintf(stderr, "fsck.f2sc: [3/4] directories\n");
  // Directories found while walking directories are appended; index, do not iterate.
  for (size_t i = 0; i < dirs_.size(); ++i) {
    DirTask task = std::move(dirs_[i]);
    walk_dir(task);
    if (task.dots != 2)
      add("directory", inode_name(task.ino), "one \".\" and one \"..\" entry",
          str(task.dots) + " of them");
  }
  finish_inodes();
  if (opts_.progress) std::fprintf(stderr, "fsck.f2sc: [4/4] SIT, SSA and counts\n");
  check_sit_and_counts();
  return {};
}

void check_superblocks(blockdev::BlockDevice& dev, CheckResult& r) {
  const uint64_t blocks = dev.block_count() * dev.block_size() / kBlockSize;
  std::vector<std::byte> blk(kBlockSize);
  for (int copy = 0; copy < 2; ++copy) {
    if (copy == r.super.copy) continue;
    SuperBlock sb;
    if (!dev.read(copy, blk)) continue;
    std::memcpy(&sb, blk.data() + kSuperOffset, sizeof(sb));
    auto v = validate_superblock(sb, blocks);
    if (v && std::memcmp(&sb, &r.super.sb, sizeof(sb)) == 0) continue;
    Finding f;
    f.structure = "superblock", f.object = "copy " + str(copy);
    f.expected = "a copy equal to superblock " + str(r.super.copy);
    f.found = v ? std::string("a copy that differs") : v.error().message;
    f.fix = Fix::kSuperblock, f.value = static_cast<uint32_t>(copy);
    r.findings.push_back(std::move(f));
  }
}

}  // namespace

Result<CheckResult> check_image(blockdev::BlockDevice& dev, const CheckOptions& opts) {
  CheckResult r;
  auto fatal = [&](std::string structure, std::string message) {
    Finding f;
    f.structure = std::move(structure), f.object = "image", f.expected = "valid";
    f.found = std::move(message);
    r.findings.push_back(std::move(f));
    r.fatal = true;
    return std::move(r);
  };
  if (dev.block_size() != kBlockSize && dev.block_size() != 512)
    return fail(Errc::kInvalidArgument, "device block size " + str(dev.block_size()));
  auto super = read_superblock(dev);
  if (!super) {
    if (super.error().code == Errc::kIoError) return fail(super.error());
    return fatal("superblock", super.error().message);
  }
  r.super = *super;
  check_superblocks(dev, r);
  auto cp = read_checkpoint(dev, r.super.layout);
  if (!cp) {
    if (cp.error().code == Errc::kIoError) return fail(cp.error());
    return fatal("checkpoint", cp.error().message);
  }
  r.cp = std::move(*cp);
  Walker w(dev, r, opts);
  if (auto s = w.run(); !s) return fail(s.error());
  return r;
}

}  // namespace f2sc::fsck
