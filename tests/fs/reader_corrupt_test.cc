// The read path on damaged images: an image written by mkfs.f2fs + sload.f2fs is patched
// (NAT entries, NAT copies, the NAT journal, inode fields, node footers, data addresses,
// dentries) and the reader must either read around it as Linux would (holes, the current
// NAT copy, the journal) or fail with a precise kCorrupt error, never crash.
#include <cstring>
#include <filesystem>
#include <random>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "blockdev/uri.h"
#include "fs/reader.h"
#include "image_util.h"
#include "segment/checkpoint.h"
#include "segment/superblock.h"

namespace f2sc::fs {
namespace {

namespace stdfs = std::filesystem;
using segment::kBlockSize;
using testing::make_image;
using testing::patch;
using testing::patch_value;
using testing::TempDir;

constexpr uint64_t kBigSize = 5 * 1024 * 1024 + 100;  // inode addresses + one direct node

std::string pattern(uint64_t n, uint32_t seed) {
  std::mt19937 g(seed);
  std::string s(n, '\0');
  for (auto& c : s) c = static_cast<char>(g() & 0xff);
  return s;
}

void write_file(const stdfs::path& p, const std::string& d) {
  FILE* f = std::fopen(p.c_str(), "wb");
  REQUIRE(f);
  REQUIRE(std::fwrite(d.data(), 1, d.size(), f) == d.size());
  std::fclose(f);
}

// A small image: /big (5 MiB), /small (inline), /dir with 30 files, /dir/link.
struct Fixture {
  TempDir tmp;
  std::string img;
  std::string big_data = pattern(kBigSize, 1);
  Fixture() {
    const stdfs::path src = tmp.path() / "src";
    stdfs::create_directories(src / "dir");
    write_file(src / "big", big_data);
    write_file(src / "small", "hello, inline world");
    for (int i = 0; i < 30; ++i)
      write_file(src / "dir" / ("file" + std::to_string(i)), pattern(i * 100, i));
    stdfs::create_symlink("../small", src / "dir" / "link");
    img = (tmp.path() / "img").string();
    make_image(src, img, 128ull << 20);
  }

  // A fresh device and reader on the image as it is now.
  struct Open {
    std::unique_ptr<blockdev::BlockDevice> dev;
    std::unique_ptr<FileSystemReader> r;
    FileSystemReader* operator->() { return r.get(); }
  };
  Open open() {
    auto dev = blockdev::open_device("file:" + img);
    REQUIRE(dev);
    auto r = FileSystemReader::open(**dev);
    REQUIRE(r);
    return {std::move(*dev), std::move(*r)};
  }
  uint32_t ino(const std::string& path) {
    auto o = open();
    auto i = o->resolve(path);
    REQUIRE(i);
    return *i;
  }
  uint64_t node_block(uint32_t nid) {
    auto o = open();
    auto info = o->nodes().node_info(nid);
    REQUIRE(info);
    return info->blk_addr;
  }
  // Byte offset of `nid`'s entry in the current (cur=true) or other copy of its NAT block.
  uint64_t nat_entry_offset(uint32_t nid, bool cur) {
    auto o = open();
    const auto& L = o->super().layout;
    const uint32_t b = nid / segment::kNatEntriesPerBlock;
    int copy = segment::test_bit_msb(o->checkpoint().nat_bitmap(L.cp_payload), b) ? 1 : 0;
    if (!cur) copy ^= 1;
    return uint64_t{L.nat_block_addr(b, copy)} * kBlockSize +
           (nid % segment::kNatEntriesPerBlock) * sizeof(segment::NatEntry);
  }
};

uint64_t inode_field(uint64_t blk, size_t offset) {
  return blk * kBlockSize + offset;
}

std::string read_all(Fixture::Open& o, uint32_t ino, uint64_t size) {
  std::string s(size, '\0');
  auto n = o->read(ino, 0, std::as_writable_bytes(std::span(s)));
  REQUIRE(n);
  REQUIRE(*n == size);
  return s;
}

void require_corrupt(const Error& e, std::initializer_list<std::string> parts) {
  INFO(e.message);
  CHECK(e.code == Errc::kCorrupt);
  CHECK(e.sys_errno == default_errno(Errc::kCorrupt));  // EUCLEAN, as Linux
  for (const auto& p : parts) CHECK(e.message.find(p) != std::string::npos);
}

TEST_CASE("NAT: the bitmap-selected copy is read and a bad address is named") {
  Fixture fx;
  const uint32_t small = fx.ino("/small");
  {
    auto o = fx.open();
    auto info = o->nodes().node_info(small);
    REQUIRE(info);
    REQUIRE(!info->from_journal);  // sload.f2fs writes NAT blocks, not the journal
    CHECK(info->ino == small);
  }
  // Garbage in the other copy changes nothing.
  const uint64_t other = fx.nat_entry_offset(small, false);
  const segment::NatEntry junk{7, 0xdeadbeef, 0xfeedface};
  patch(fx.img, other, &junk, sizeof(junk));
  {
    auto o = fx.open();
    auto a = o->getattr(small);
    REQUIRE(a);
    CHECK(a->size == 19);
  }
  // The current copy pointing outside the main area is a precise error.
  const uint64_t cur = fx.nat_entry_offset(small, true);
  patch_value<uint32_t>(fx.img, cur + 5, 5);
  auto o = fx.open();
  auto a = o->getattr(small);
  REQUIRE(!a);
  require_corrupt(a.error(), {"nid " + std::to_string(small), "block_addr = 5", "main area"});
  // The name still resolves; only the inode is unreadable.
  CHECK(o->lookup(o->root_ino(), "small"));
  // Other files are unaffected.
  auto big = o->resolve("/big");
  REQUIRE(big);
  CHECK(read_all(o, *big, kBigSize) == fx.big_data);
}

TEST_CASE("NAT: a journal entry in the checkpoint wins over the NAT block") {
  Fixture fx;
  const uint32_t small = fx.ino("/small");
  const uint64_t blk = fx.node_block(small);
  // Break the NAT block's entry, then put the right one in the NAT journal of a new
  // checkpoint written into the other pack.
  patch_value<uint32_t>(fx.img, fx.nat_entry_offset(small, true) + 5, 5);
  {
    auto dev = blockdev::open_device("file:" + fx.img);
    REQUIRE(dev);
    auto sb = segment::read_superblock(**dev);
    REQUIRE(sb);
    auto cp = segment::read_checkpoint(**dev, sb->layout);
    REQUIRE(cp);
    segment::Journal& j = cp->nat_journal();
    const uint16_t n = j.n_entries;  // a packed field: copy it before Catch binds a reference
    REQUIRE(n < segment::kNatJournalEntries);
    segment::NatJournalEntry e{};
    e.nid = small;
    e.ne = {0, small, static_cast<uint32_t>(blk)};
    std::memcpy(&j.nat.entries[n], &e, sizeof(e));
    j.n_entries = static_cast<uint16_t>(n + 1);
    cp->head().checkpoint_ver += 1;
    REQUIRE(segment::write_checkpoint(**dev, sb->layout, *cp, 1 - cp->pack));
  }
  auto o = fx.open();
  auto info = o->nodes().node_info(small);
  REQUIRE(info);
  CHECK(info->from_journal);
  CHECK(info->blk_addr == blk);
  auto link = o->resolve("/dir/link");
  REQUIRE(link);
  CHECK(*o->readlink(*link) == "../small");
  std::string s(19, '\0');
  REQUIRE(o->read(small, 0, std::as_writable_bytes(std::span(s))));
  CHECK(s == "hello, inline world");
}

TEST_CASE("inodes: garbage blocks and bad fields give precise errors") {
  Fixture fx;
  const uint32_t small = fx.ino("/small");
  const uint64_t blk = fx.node_block(small);
  std::vector<char> orig(kBlockSize);
  {
    std::ifstream f(fx.img, std::ios::binary);
    f.seekg(static_cast<std::streamoff>(blk * kBlockSize));
    f.read(orig.data(), kBlockSize);
  }
  auto restore = [&] { patch(fx.img, blk * kBlockSize, orig.data(), kBlockSize); };

  SECTION("random bytes") {
    std::string g = pattern(kBlockSize, 99);
    patch(fx.img, blk * kBlockSize, g.data(), g.size());
    auto o = fx.open();
    auto a = o->getattr(small);
    REQUIRE(!a);
    require_corrupt(a.error(), {"nid " + std::to_string(small), "footer nid = "});
  }
  SECTION("footer ino") {
    patch_value<uint32_t>(fx.img, blk * kBlockSize + offsetof(segment::NodeBlock, footer) + 4,
                          12345);
    auto o = fx.open();
    auto a = o->getattr(small);
    REQUIRE(!a);
    require_corrupt(a.error(), {"footer ino = 12345"});
  }
  SECTION("i_mode") {
    patch_value<uint16_t>(fx.img, inode_field(blk, offsetof(segment::Inode, i_mode)), 0);
    auto o = fx.open();
    auto a = o->getattr(small);
    REQUIRE(!a);
    require_corrupt(a.error(), {"inode " + std::to_string(small), "i_mode = 0"});
  }
  SECTION("inline size") {
    patch_value<uint64_t>(fx.img, inode_field(blk, offsetof(segment::Inode, i_size)), 5000);
    auto o = fx.open();
    auto a = o->getattr(small);
    REQUIRE(!a);
    require_corrupt(a.error(), {"i_size = 5000", "3488 inline bytes"});
  }
  SECTION("nanoseconds") {
    patch_value<uint32_t>(fx.img, inode_field(blk, offsetof(segment::Inode, i_mtime_nsec)),
                          1000000000u);
    auto o = fx.open();
    auto a = o->getattr(small);
    REQUIRE(!a);
    require_corrupt(a.error(), {"i_mtime_nsec = 1000000000"});
  }
  restore();
  auto o = fx.open();
  CHECK(o->getattr(small));
}

TEST_CASE("data: holes read as zeros, bad addresses and node footers are named") {
  Fixture fx;
  const uint32_t big = fx.ino("/big");
  const uint64_t blk = fx.node_block(big);
  const uint64_t addr0 = inode_field(blk, offsetof(segment::Inode, i_addr));
  const uint64_t nid0 = inode_field(blk, offsetof(segment::Inode, i_nid));
  std::string want = fx.big_data;
  {
    auto o = fx.open();
    auto v = o->inode(big);
    REQUIRE(v);
    // sload.f2fs sets F2FS_INLINE_XATTR on every inode: 923 - 50 addresses stay.
    CHECK((v->attr.inline_flags & kInlineXattr));
    CHECK(v->addrs_per_inode == 873);
    CHECK(v->max_inline() == 3488);
  }

  SECTION("NULL_ADDR, NEW_ADDR and a missing direct node are holes") {
    patch_value<uint32_t>(fx.img, addr0 + 2 * 4, segment::kNullAddr);
    patch_value<uint32_t>(fx.img, addr0 + 4 * 4, segment::kNewAddr);
    patch_value<uint32_t>(fx.img, nid0, 0);
    std::memset(want.data() + 2 * kBlockSize, 0, kBlockSize);
    std::memset(want.data() + 4 * kBlockSize, 0, kBlockSize);
    std::memset(want.data() + 873 * kBlockSize, 0, kBigSize - 873 * kBlockSize);
    auto o = fx.open();
    CHECK(read_all(o, big, kBigSize) == want);
  }
  SECTION("a data address outside the main area") {
    patch_value<uint32_t>(fx.img, addr0 + 3 * 4, 7);
    auto o = fx.open();
    std::string s(kBlockSize, '\0');
    auto n = o->read(big, 3 * kBlockSize + 10, std::as_writable_bytes(std::span(s)));
    REQUIRE(!n);
    require_corrupt(n.error(),
                    {"inode " + std::to_string(big), "file block 3", "data block address 7"});
    CHECK(o->read(big, 0, std::as_writable_bytes(std::span(s))));  // block 0 is fine
  }
  SECTION("a direct node with the wrong node offset") {
    uint32_t dnid = 0;
    {
      auto o = fx.open();
      dnid = o->inode(big)->nid(0);
    }
    REQUIRE(dnid != 0);
    const uint64_t dblk = fx.node_block(dnid);
    patch_value<uint32_t>(fx.img, dblk * kBlockSize + offsetof(segment::NodeBlock, footer) + 8,
                          7u << 3);
    auto o = fx.open();
    std::string s(10, '\0');
    auto n = o->read(big, 900 * kBlockSize, std::as_writable_bytes(std::span(s)));
    REQUIRE(!n);
    require_corrupt(n.error(),
                    {"nid " + std::to_string(dnid), "node offset 1", "footer node offset = 7"});
  }
}

TEST_CASE("directories: a bad dentry is named, lookups elsewhere still work") {
  Fixture fx;
  const uint32_t dir = fx.ino("/dir");
  uint32_t dblock = 0;
  {
    auto o = fx.open();
    auto v = o->inode(dir);
    REQUIRE(v);
    dblock = v->addr(0);
  }
  // Slot 2 holds the first entry after "." and "..".
  const uint64_t name_len = uint64_t{dblock} * kBlockSize + offsetof(segment::DentryBlock, dentry) +
                            2 * sizeof(segment::DirEntry) + offsetof(segment::DirEntry, name_len);
  patch_value<uint16_t>(fx.img, name_len, 300);
  auto o = fx.open();
  auto l = o->readdir(dir);
  REQUIRE(!l);
  require_corrupt(l.error(),
                  {"directory inode " + std::to_string(dir), "block 0 slot 2", "name_len = 300"});
  CHECK(o->resolve("/big"));
}

TEST_CASE("directories: a huge i_size over holes is walked quickly, as Linux reads it") {
  Fixture fx;
  const uint32_t dir = fx.ino("/dir");
  std::vector<DirEntryInfo> before;
  {
    auto o = fx.open();
    before = *o->readdir(dir);
  }
  // 2^40 bytes: 2^28 blocks, nearly all of them holes under missing nodes.
  patch_value<uint64_t>(fx.img, inode_field(fx.node_block(dir), offsetof(segment::Inode, i_size)),
                        uint64_t{1} << 40);
  auto o = fx.open();
  auto after = o->readdir(dir);
  REQUIRE(after);
  REQUIRE(after->size() == before.size());
  for (size_t i = 0; i < before.size(); ++i) CHECK((*after)[i].name == before[i].name);
}

TEST_CASE("random damage to node and dentry blocks never crashes the reader") {
  Fixture fx;
  // Every node and directory block the tree uses.
  std::vector<uint64_t> blocks;
  {
    auto o = fx.open();
    std::vector<uint32_t> todo{o->root_ino()};
    while (!todo.empty()) {
      const uint32_t ino = todo.back();
      todo.pop_back();
      auto v = o->inode(ino);
      REQUIRE(v);
      blocks.push_back(fx.node_block(ino));
      if (v->nid(0)) blocks.push_back(fx.node_block(v->nid(0)));
      if (!v->is_dir()) continue;
      blocks.push_back(v->addr(0));
      auto es = o->readdir(ino);
      REQUIRE(es);
      for (const auto& e : *es)
        if (e.name != "." && e.name != "..") todo.push_back(e.ino);
    }
  }
  std::mt19937_64 g(7);
  int errors = 0, clean = 0;
  for (int round = 0; round < 150; ++round) {
    const uint64_t blk = blocks[g() % blocks.size()];
    std::vector<char> orig(kBlockSize);
    {
      std::ifstream f(fx.img, std::ios::binary);
      f.seekg(static_cast<std::streamoff>(blk * kBlockSize));
      f.read(orig.data(), kBlockSize);
    }
    std::vector<char> bad = orig;
    const int flips = 1 + static_cast<int>(g() % 40);
    for (int i = 0; i < flips; ++i) {
      // Bias towards the headers of inodes and dentry blocks, where the interesting fields
      // live, but hit the whole block too.
      const size_t at = (g() % 2) ? g() % 400 : g() % kBlockSize;
      bad[at] = static_cast<char>(g() & 0xff);
    }
    patch(fx.img, blk * kBlockSize, bad.data(), kBlockSize);
    {
      auto o = fx.open();
      std::vector<uint32_t> todo{o->root_ino()};
      int visited = 0;
      while (!todo.empty() && visited++ < 200) {
        const uint32_t ino = todo.back();
        todo.pop_back();
        auto a = o->getattr(ino);
        if (!a) {
          ++errors;
          CHECK(!a.error().message.empty());
          continue;
        }
        ++clean;
        if (S_ISDIR(a->mode)) {
          auto es = o->readdir(ino);
          if (!es) {
            ++errors;
            continue;
          }
          for (const auto& e : *es) {
            if (e.name == "." || e.name == "..") continue;
            auto l = o->lookup(ino, e.name);
            if (l) todo.push_back(*l);
          }
        } else if (S_ISREG(a->mode) || S_ISLNK(a->mode)) {
          std::string s(64 * 1024, '\0');
          (void)o->read(ino, 0, std::as_writable_bytes(std::span(s)));
          (void)o->read(ino, 900 * kBlockSize, std::as_writable_bytes(std::span(s)));
          if (S_ISLNK(a->mode)) (void)o->readlink(ino);
        }
      }
    }
    patch(fx.img, blk * kBlockSize, orig.data(), kBlockSize);
  }
  std::fprintf(stderr, "damage: %d inode visits ok, %d errors reported\n", clean, errors);
  CHECK(errors > 0);
}

}  // namespace
}  // namespace f2sc::fs

namespace f2sc::fs {
namespace {

TEST_CASE("inline dentries: the table Linux lays out in the inode reads like the block") {
  // Linux f2fs.h: NR_INLINE_DENTRY = MAX_INLINE_DATA * 8 / ((11 + 8) * 8 + 1), the bitmap
  // rounded up to bytes, the rest reserved; with 3488 inline bytes: 182, 23, 7.
  const InlineDentryGeometry g = inline_dentry_geometry(3488);
  CHECK(g.slots == 182);
  CHECK(g.bitmap_bytes == 23);
  CHECK(g.reserved_bytes == 7);

  // sload.f2fs never writes inline directories, so turn /dir (33 entries with "." and "..") into
  // one the way Linux stores it: its dentry block's table copied into the inline area of the inode.
  Fixture fx;
  const uint32_t dir = fx.ino("/dir");
  const uint64_t blk = fx.node_block(dir);
  std::vector<DirEntryInfo> before;
  segment::NodeBlock node;
  std::vector<uint8_t> dentry_block(kBlockSize);
  {
    auto o = fx.open();
    auto l = o->readdir(dir);
    REQUIRE(l);
    before = *l;
    auto v = o->inode(dir);
    REQUIRE(v);
    node = v->node;
    REQUIRE(o->nodes().device().read(
        v->addr(0), {reinterpret_cast<std::byte*>(dentry_block.data()), kBlockSize}));
  }
  REQUIRE(before.size() == 33);
  const auto* db = reinterpret_cast<const segment::DentryBlock*>(dentry_block.data());
  uint8_t* area = reinterpret_cast<uint8_t*>(&node.i.i_addr[1]);
  std::memset(&node.i.i_addr[0], 0, 4 * (923 - 50));
  std::memcpy(area, db->bitmap, g.bitmap_bytes);  // slots 0..181 of the block's bitmap
  for (int b = 182; b < 184; ++b) area[b / 8] &= static_cast<uint8_t>(~(1u << (b % 8)));
  uint8_t* dentries = area + g.bitmap_bytes + g.reserved_bytes;
  std::memcpy(dentries, db->dentry, g.slots * sizeof(segment::DirEntry));
  std::memcpy(dentries + g.slots * sizeof(segment::DirEntry), db->filename, g.slots * 8);
  node.i.i_inline |= kInlineDentry;
  node.i.i_size = 3488;
  patch(fx.img, blk * kBlockSize, &node, kBlockSize);

  auto o = fx.open();
  auto v = o->inode(dir);
  REQUIRE(v);
  CHECK(v->has_inline_dentry());
  auto after = o->readdir(dir);
  REQUIRE(after);
  REQUIRE(after->size() == before.size());
  for (size_t i = 0; i < before.size(); ++i) {
    CHECK((*after)[i].name == before[i].name);
    CHECK((*after)[i].ino == before[i].ino);
    CHECK((*after)[i].file_type == before[i].file_type);
    auto l = o->lookup(dir, before[i].name);
    REQUIRE(l);
    CHECK(*l == before[i].ino);
  }
  CHECK(*o->readlink(*o->resolve("/dir/link")) == "../small");
  auto miss = o->lookup(dir, "file30");
  REQUIRE(!miss);
  CHECK(miss.error().sys_errno == ENOENT);
}

}  // namespace
}  // namespace f2sc::fs

namespace f2sc::fs {
namespace {

// sload.f2fs only builds trees as deep as the files it loads, and a file needing the
// double-indirect node is over 4 GiB. So graft one onto /big by hand: three nodes in
// free blocks at the end of the main area, with NAT entries for three unused nids.
TEST_CASE("data: blocks under the double-indirect node") {
  Fixture fx;
  const uint32_t big = fx.ino("/big");
  const uint64_t inode_blk = fx.node_block(big);
  uint32_t data1 = 0, max_nid = 0;
  uint64_t main_end = 0;
  {
    auto o = fx.open();
    auto v = o->inode(big);
    REQUIRE(v);
    REQUIRE(v->addrs_per_inode == 873);
    data1 = v->addr(1);
    max_nid = o->nodes().max_nid();
    main_end = o->super().layout.main_end();
  }
  const uint32_t nid_dind = max_nid - 1, nid_ind = max_nid - 2, nid_dir = max_nid - 3;
  const uint32_t blk_dind = static_cast<uint32_t>(main_end - 1);
  const uint32_t blk_ind = blk_dind - 1, blk_dir = blk_dind - 2;
  // Node offsets as Linux numbers them: the double-indirect node is 5 + 2 * 1018, its
  // first indirect child one more, that child's direct node `d` 1 + d more.
  constexpr uint32_t kDind = 5 + 2 * 1018;
  auto write_node = [&](uint32_t blk, uint32_t nid, uint32_t offset, uint32_t slot,
                        uint32_t value) {
    segment::NodeBlock n{};
    n.nid[slot] = value;
    n.footer.nid = nid;
    n.footer.ino = big;
    n.footer.flag = offset << 3;
    patch(fx.img, uint64_t{blk} * kBlockSize, &n, kBlockSize);
    const segment::NatEntry e{0, big, blk};
    patch(fx.img, fx.nat_entry_offset(nid, true), &e, sizeof(e));
  };
  write_node(blk_dind, nid_dind, kDind, 0, nid_ind);    // indirect child 0
  write_node(blk_ind, nid_ind, kDind + 1, 1, nid_dir);  // direct child 1
  write_node(blk_dir, nid_dir, kDind + 3, 5, data1);    // slot 5: /big's block 1
  const uint64_t dind_first = 873 + 2 * 1018 + 2 * 1018 * 1018;
  const uint64_t target = dind_first + 1 * 1018 + 5;
  patch_value<uint32_t>(fx.img, inode_field(inode_blk, offsetof(segment::Inode, i_nid)) + 16,
                        nid_dind);
  patch_value<uint64_t>(fx.img, inode_field(inode_blk, offsetof(segment::Inode, i_size)),
                        (dind_first + 1018 * 1018 + 10) * kBlockSize);

  auto o = fx.open();
  std::string got(3 * kBlockSize, 'x');
  auto n = o->read(big, (target - 1) * kBlockSize, std::as_writable_bytes(std::span(got)));
  REQUIRE(n);
  REQUIRE(*n == 3 * kBlockSize);
  const std::string zeros(kBlockSize, '\0');
  CHECK(got.substr(0, kBlockSize) == zeros);  // slot 4: NULL_ADDR
  CHECK(got.substr(kBlockSize, kBlockSize) == fx.big_data.substr(kBlockSize, kBlockSize));
  CHECK(got.substr(2 * kBlockSize) == zeros);  // slot 6
  // Under a missing indirect child of the double-indirect node: zeros.
  std::string far(kBlockSize, 'x');
  auto m = o->read(big, (dind_first + 1018 * 1018 + 7) * kBlockSize,
                   std::as_writable_bytes(std::span(far)));
  REQUIRE(m);
  CHECK(*m == kBlockSize);
  CHECK(far == zeros);
  // A direct node numbered for another place in the tree is named.
  patch_value<uint32_t>(fx.img,
                        uint64_t{blk_dir} * kBlockSize + offsetof(segment::NodeBlock, footer) + 8,
                        (kDind + 2) << 3);
  auto o2 = fx.open();
  auto bad = o2->read(big, target * kBlockSize, std::as_writable_bytes(std::span(far)));
  REQUIRE(!bad);
  require_corrupt(bad.error(),
                  {"nid " + std::to_string(nid_dir), "node offset " + std::to_string(kDind + 3),
                   "footer node offset = " + std::to_string(kDind + 2)});
}

}  // namespace
}  // namespace f2sc::fs

namespace f2sc::fs {
namespace {

TEST_CASE("images with features the reader does not know are refused") {
  Fixture fx;
  // Both superblock copies (no sb_checksum feature by default, so no crc to fix).
  const uint64_t feature = segment::kSuperOffset + offsetof(segment::SuperBlock, feature);
  for (uint64_t copy : {0u, 1u}) patch_value<uint32_t>(fx.img, copy * kBlockSize + feature, 0x2000);
  auto dev = blockdev::open_device("file:" + fx.img);
  REQUIRE(dev);
  auto r = FileSystemReader::open(**dev);
  REQUIRE(!r);
  CHECK(r.error().code == Errc::kNotSupported);
  CHECK(r.error().message.find("compression") != std::string::npos);
}

}  // namespace
}  // namespace f2sc::fs
