#include "tests/fsck/injector.h"

#include <cstddef>
#include <cstring>
#include <optional>

#include "blockdev/uri.h"
#include "fs/data.h"
#include "fs/dir.h"
#include "fs/reader.h"
#include "segment/checkpoint.h"
#include "segment/superblock.h"

namespace f2sc::fsck::testing {

using namespace segment;

namespace {

std::string str(uint64_t v) {
  return std::to_string(v);
}

struct Ctx {
  std::unique_ptr<blockdev::BlockDevice> dev;
  std::unique_ptr<fs::FileSystemReader> reader;
  Layout L;
  Checkpoint cp;
};

Result<Ctx> open_ctx(const std::string& image) {
  Ctx c;
  auto dev = blockdev::open_device("file:" + image);
  if (!dev) return fail(dev.error());
  c.dev = std::move(*dev);
  auto r = fs::FileSystemReader::open(*c.dev);
  if (!r) return fail(r.error());
  c.reader = std::move(*r);
  c.L = c.reader->super().layout;
  c.cp = c.reader->checkpoint();
  return c;
}

Status rd(Ctx& c, uint32_t addr, void* buf) {
  return c.dev->read(addr, {static_cast<std::byte*>(buf), kBlockSize});
}
Status wr(Ctx& c, uint32_t addr, const void* buf) {
  if (auto s = c.dev->write(addr, {static_cast<const std::byte*>(buf), kBlockSize}); !s) return s;
  return c.dev->flush();
}
Status reseal_checkpoint(Ctx& c) {
  CheckpointWriteOptions o;
  o.umount = (c.cp.flags() & kCpUmount) != 0;
  if (auto s = write_checkpoint(*c.dev, c.L, c.cp, c.cp.pack, o); !s) return s;
  return c.dev->flush();
}

Result<uint32_t> node_addr(Ctx& c, uint32_t nid) {
  auto ni = c.reader->nodes().node_info(nid);
  if (!ni) return fail(ni.error());
  return ni->blk_addr;
}

Result<uint32_t> data_addr(Ctx& c, uint32_t ino, uint64_t block) {
  auto view = c.reader->inode(ino);
  if (!view) return fail(view.error());
  fs::BlockMapper m(c.reader->nodes(), *view);
  return m.map(block);
}

// Edits the SIT entry of `segno` where it lives as of the checkpoint.
template <class Fn>
Status edit_sit(Ctx& c, uint32_t segno, Fn fn) {
  Journal& j = c.cp.sit_journal();
  for (uint32_t i = 0; i < j.n_entries; ++i)
    if (j.sit.entries[i].segno == segno) {
      fn(j.sit.entries[i].se);
      return reseal_checkpoint(c);
    }
  const uint32_t b = segno / kSitEntriesPerBlock;
  const uint32_t addr = c.L.sit_block_addr(b, test_bit_msb(c.cp.sit_bitmap(c.L.cp_payload), b));
  std::vector<uint8_t> blk(kBlockSize);
  if (auto s = rd(c, addr, blk.data()); !s) return s;
  SitEntry e;
  std::byte* at =
      reinterpret_cast<std::byte*>(blk.data()) + (segno % kSitEntriesPerBlock) * sizeof(e);
  std::memcpy(&e, at, sizeof(e));
  fn(e);
  std::memcpy(at, &e, sizeof(e));
  return wr(c, addr, blk.data());
}

template <class Fn>
Status edit_nat(Ctx& c, uint32_t nid, Fn fn) {
  Journal& j = c.cp.nat_journal();
  for (uint32_t i = 0; i < j.n_entries; ++i)
    if (j.nat.entries[i].nid == nid) {
      fn(j.nat.entries[i].ne);
      return reseal_checkpoint(c);
    }
  const uint32_t b = nid / kNatEntriesPerBlock;
  const uint32_t addr = c.L.nat_block_addr(b, test_bit_msb(c.cp.nat_bitmap(c.L.cp_payload), b));
  std::vector<uint8_t> blk(kBlockSize);
  if (auto s = rd(c, addr, blk.data()); !s) return s;
  NatEntry e;
  uint8_t* at = blk.data() + (nid % kNatEntriesPerBlock) * sizeof(e);
  std::memcpy(&e, at, sizeof(e));
  fn(e);
  std::memcpy(at, &e, sizeof(e));
  return wr(c, addr, blk.data());
}

template <class Fn>
Status edit_inode(Ctx& c, uint32_t ino, Fn fn) {
  auto addr = node_addr(c, ino);
  if (!addr) return fail(addr.error());
  NodeBlock node;
  if (auto s = rd(c, *addr, &node); !s) return s;
  fn(node);
  return wr(c, *addr, &node);
}

template <class Fn>
Status edit_summary(Ctx& c, uint32_t addr, Fn fn) {
  const uint32_t segno = c.L.segno_of(addr), off = c.L.blkoff_of(addr);
  for (CursegState& cs : c.cp.cursegs)
    if (cs.segno == segno) {
      fn(cs.sum.entries[off]);
      return reseal_checkpoint(c);
    }
  SummaryBlock sb;
  if (auto s = rd(c, c.L.ssa_block_addr(segno), &sb); !s) return s;
  fn(sb.entries[off]);
  return wr(c, c.L.ssa_block_addr(segno), &sb);
}

// Sets the 32-bit field at `field` (offsetof in DirEntry) of dentry `victim` of `dir`.
Status damage_dentry(Ctx& c, uint32_t dir, std::string_view victim, size_t field, uint32_t value) {
  auto view = c.reader->inode(dir);
  if (!view) return fail(view.error());
  fs::BlockMapper m(c.reader->nodes(), *view);
  const uint64_t blocks = (view->attr.size + kBlockSize - 1) / kBlockSize;
  std::vector<uint8_t> blk(kBlockSize);
  for (uint64_t b = 0; b < blocks; ++b) {
    auto addr = m.map(b);
    if (!addr) return fail(addr.error());
    if (*addr == kNullAddr) continue;
    if (auto s = rd(c, *addr, blk.data()); !s) return s;
    std::optional<uint32_t> slot;
    auto s = fs::for_each_dentry(fs::dentry_table_of_block(blk.data()), "dir",
                                 [&](uint32_t i, const DirEntry&, std::string_view name) {
                                   if (name == victim) slot = i;
                                   return !slot;
                                 });
    if (!s) return s;
    if (!slot) continue;
    const size_t at = offsetof(DentryBlock, dentry) + *slot * sizeof(DirEntry) + field;
    std::memcpy(blk.data() + at, &value, sizeof(value));
    return wr(c, *addr, blk.data());
  }
  return fail(Errc::kNotFound, std::string(victim) + " not in a dentry block");
}

}  // namespace

const std::vector<DamageSpec>& all_damages() {
  static const std::vector<DamageSpec> d = {
      {Damage::kSitCount, "SIT count", "SIT", {}},
      {Damage::kSitBit, "SIT bitmap bit", "SIT", {}},
      {Damage::kNatAddress, "NAT address", "NAT", {}},
      {Damage::kDentry, "dentry", "dentry", {"/e/victim"}},
      {Damage::kDentryHash, "dentry hash", "hash", {}},
      {Damage::kLinkCount, "link count", "i_links", {}},
      {Damage::kCheckpointCount, "checkpoint count", "valid_node_count", {}},
      {Damage::kSsaEntry, "SSA entry", "SSA", {}},
      {Damage::kIExt, "i_ext", "i_ext", {}},
      {Damage::kNodeFooter, "node footer", "node footer", {}},
  };
  return d;
}

Result<std::string> inject(const std::string& image, Damage damage) {
  auto ctx = open_ctx(image);
  if (!ctx) return fail(ctx.error());
  Ctx& c = *ctx;
  auto ino_of = [&](const char* path) { return c.reader->resolve(path); };
  auto a = ino_of("/a"), b = ino_of("/d1/b"), big = ino_of("/d1/d2/big"), e = ino_of("/e");
  if (!a || !b || !big || !e) return fail(Errc::kNotFound, "the test tree is not loaded");
  Status s;
  std::string what;
  switch (damage) {
    case Damage::kSitCount:
    case Damage::kSitBit: {
      auto addr = data_addr(c, *a, 0);
      if (!addr) return fail(addr.error());
      const uint32_t segno = c.L.segno_of(*addr), off = c.L.blkoff_of(*addr);
      const bool bit = damage == Damage::kSitBit;
      s = edit_sit(c, segno, [&](SitEntry& se) {
        if (bit)
          clear_bit_msb(se.valid_map, off), --se.vblocks;
        else
          ++se.vblocks;
      });
      what = "segment " + str(segno) + (bit ? " bit " + str(off) : " count");
      break;
    }
    case Damage::kNatAddress: {
      auto other = node_addr(c, *a);
      if (!other) return fail(other.error());
      s = edit_nat(c, *b, [&](NatEntry& ne) { ne.block_addr = *other; });
      what = "NAT of nid " + str(*b) + " -> block " + str(*other);
      break;
    }
    case Damage::kDentry:
      s = damage_dentry(c, *e, "victim", offsetof(DirEntry, ino), c.L.max_nid() - 1);
      what = "dentry /e/victim -> ino " + str(c.L.max_nid() - 1);
      break;
    case Damage::kDentryHash:
      s = damage_dentry(c, *e, "f5", offsetof(DirEntry, hash_code), 0x12345678);
      what = "hash of dentry /e/f5";
      break;
    case Damage::kLinkCount:
      s = edit_inode(c, *b, [](NodeBlock& n) { n.i.i_links = 7; });
      what = "i_links of /d1/b = 7";
      break;
    case Damage::kCheckpointCount:
      c.cp.head().valid_node_count += 3;
      s = reseal_checkpoint(c);
      what = "valid_node_count + 3";
      break;
    case Damage::kSsaEntry: {
      auto addr = data_addr(c, *big, 3);
      if (!addr) return fail(addr.error());
      s = edit_summary(c, *addr, [](Summary& sum) { sum.ofs_in_node += 1; });
      what = "SSA of block " + str(*addr);
      break;
    }
    case Damage::kIExt: {
      auto addr = data_addr(c, *big, 0);
      if (!addr) return fail(addr.error());
      s = edit_inode(c, *big, [&](NodeBlock& n) { n.i.i_ext = Extent{0, *addr + 7, 4}; });
      what = "i_ext of /d1/d2/big";
      break;
    }
    case Damage::kNodeFooter:
      s = edit_inode(c, *a, [](NodeBlock& n) { n.footer.ino = 999; });
      what = "footer ino of /a = 999";
      break;
  }
  if (!s) return fail(s.error());
  return what;
}

}  // namespace f2sc::fsck::testing
