#include "segment/mkfs.h"

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <random>
#include <vector>

#include "segment/checkpoint.h"
#include "segment/crc.h"
#include "segment/superblock.h"

namespace f2sc::segment {
namespace {

constexpr uint32_t kSectorSize = 512;

// Default extension lists of mkfs.f2fs (cold "media" extensions, then hot ones).
constexpr const char* kColdExtensions[] = {
    "mp",  "wm",   "og",   "jp",  "avi", "m4v", "m4p",  "mkv", "mov", "webm", "wav",  "m4a",
    "3gp", "opus", "flac", "gif", "png", "svg", "webp", "jar", "deb", "iso",  "gz",   "xz",
    "zst", "pdf",  "pyc",  "ttc", "ttf", "exe", "apk",  "cnt", "exo", "odex", "vdex", "so"};
constexpr const char* kHotExtensions[] = {"db", "vmdk", "vdi", "qcow2"};

constexpr uint64_t div_up(uint64_t v, uint64_t d) {
  return (v + d - 1) / d;
}

int log_index(Log l) {
  return static_cast<int>(l);
}

// The ratio mkfs.f2fs picks: the one that leaves the most user space.
double best_overprovision(uint32_t main_segs, uint32_t sections) {
  double candidate, end, diff, max_ovp = 0, max_space = 0;
  if (main_segs < 256) {
    candidate = 10;
    end = 95;
    diff = 5;
  } else {
    candidate = 0.01;
    end = 10;
    diff = 0.01;
  }
  const double per_sec = static_cast<double>(div_up(main_segs, sections));
  for (; candidate <= end; candidate += diff) {
    double reserved = (2 * (100 / candidate + 1) + 6) * per_sec;
    double ovp = (main_segs - reserved) * candidate / 100;
    double space = main_segs - reserved - ovp;
    if (max_space < space) {
      max_space = space;
      max_ovp = candidate;
    }
  }
  return max_ovp;
}

void utf8_to_utf16(const std::string& in, uint16_t* out, size_t max_units) {
  size_t n = 0;
  for (size_t i = 0; i < in.size() && n + 1 < max_units;) {
    auto c = static_cast<uint8_t>(in[i]);
    uint32_t cp;
    int len;
    if (c < 0x80) {
      cp = c;
      len = 1;
    } else if ((c & 0xE0) == 0xC0) {
      cp = c & 0x1F;
      len = 2;
    } else if ((c & 0xF0) == 0xE0) {
      cp = c & 0x0F;
      len = 3;
    } else {
      cp = c & 0x07;
      len = 4;
    }
    for (int k = 1; k < len && i + k < in.size(); ++k)
      cp = (cp << 6) | (static_cast<uint8_t>(in[i + k]) & 0x3F);
    i += len;
    if (cp >= 0x10000) {
      if (n + 2 >= max_units) break;
      cp -= 0x10000;
      out[n++] = static_cast<uint16_t>(0xD800 | (cp >> 10));
      out[n++] = static_cast<uint16_t>(0xDC00 | (cp & 0x3FF));
    } else {
      out[n++] = static_cast<uint16_t>(cp);
    }
  }
}

}  // namespace

Result<std::array<uint8_t, 16>> parse_uuid(const std::string& text) {
  std::array<uint8_t, 16> out{};
  static constexpr int kDash[] = {8, 13, 18, 23};
  if (text.size() != 36) return fail(Errc::kInvalidArgument, "UUID '" + text + "' is not 36 chars");
  size_t b = 0;
  for (size_t i = 0; i < text.size();) {
    if (std::find(std::begin(kDash), std::end(kDash), static_cast<int>(i)) != std::end(kDash)) {
      if (text[i] != '-') return fail(Errc::kInvalidArgument, "UUID '" + text + "': bad dash");
      ++i;
      continue;
    }
    auto hex = [](char c) -> int {
      if (c >= '0' && c <= '9') return c - '0';
      if (c >= 'a' && c <= 'f') return c - 'a' + 10;
      if (c >= 'A' && c <= 'F') return c - 'A' + 10;
      return -1;
    };
    int hi = hex(text[i]), lo = hex(text[i + 1]);
    if (hi < 0 || lo < 0) return fail(Errc::kInvalidArgument, "UUID '" + text + "': bad hex");
    out[b++] = static_cast<uint8_t>(hi << 4 | lo);
    i += 2;
  }
  return out;
}

Result<MkfsPlan> plan_format(const MkfsOptions& opts, uint64_t device_bytes) {
  if (opts.segs_per_sec == 0 || opts.segs_per_sec > kMaxSegments)
    return fail(Errc::kInvalidArgument, "segments per section must be >= 1");
  if (opts.secs_per_zone == 0 || opts.secs_per_zone > kMaxSegments / opts.segs_per_sec)
    return fail(Errc::kInvalidArgument, "sections per zone must be >= 1");
  if (opts.overprovision < 0 || opts.overprovision >= 100)
    return fail(Errc::kInvalidArgument, "overprovision ratio must be in [0, 100)");
  if (opts.label.size() > kMaxVolumeName)
    return fail(Errc::kInvalidArgument, "volume label longer than 512 characters");
  MkfsPlan plan;
  SuperBlock& sb = plan.sb;
  const uint32_t segs_per_zone = opts.segs_per_sec * opts.secs_per_zone;
  const uint64_t zone_bytes = uint64_t{segs_per_zone} * kBlocksPerSeg * kBlockSize;
  const uint64_t seg_bytes = uint64_t{kBlocksPerSeg} * kBlockSize;
  sb.magic = kMagic;
  sb.major_ver = 1;
  sb.minor_ver = 15;
  sb.log_sectorsize = 9;
  sb.log_sectors_per_block = 3;
  sb.log_blocksize = kLogBlockSize;
  sb.log_blocks_per_seg = kLogBlocksPerSeg;
  sb.segs_per_sec = opts.segs_per_sec;
  sb.secs_per_zone = opts.secs_per_zone;
  sb.checksum_offset = 0;
  const uint64_t total_sectors = device_bytes / kSectorSize;
  sb.block_count = total_sectors >> 3;
  const uint64_t align_start = div_up(2 * kBlockSize, zone_bytes) * zone_bytes;
  auto too_small = [&] {
    return fail(Errc::kNoSpace,
                "device of " + std::to_string(device_bytes) + " bytes is too small for F2FS");
  };
  if (device_bytes < align_start) return too_small();
  sb.segment0_blkaddr = static_cast<uint32_t>(align_start / kBlockSize);
  sb.cp_blkaddr = sb.segment0_blkaddr;
  const uint64_t total_segments = (total_sectors * kSectorSize - align_start) / seg_bytes;
  if (total_segments > kMaxSegments)
    return fail(Errc::kInvalidArgument, "device larger than F2FS's 16 TiB");
  sb.segment_count = static_cast<uint32_t>(total_segments / segs_per_zone * segs_per_zone);
  sb.segment_count_ckpt = 2;
  sb.sit_blkaddr = sb.segment0_blkaddr + 2 * kBlocksPerSeg;
  const uint32_t sit_segments =
      static_cast<uint32_t>(div_up(div_up(sb.segment_count, kSitEntriesPerBlock), kBlocksPerSeg));
  sb.segment_count_sit = sit_segments * 2;
  sb.nat_blkaddr = sb.sit_blkaddr + sb.segment_count_sit * kBlocksPerSeg;
  if (sb.segment_count < 2 + sb.segment_count_sit) return too_small();
  uint64_t avail = uint64_t{sb.segment_count - (2 + sb.segment_count_sit)} * kBlocksPerSeg;
  const uint64_t blocks_for_nat = div_up(avail, kNatEntriesPerBlock);
  uint32_t nat_segments = static_cast<uint32_t>(div_up(blocks_for_nat, kBlocksPerSeg));
  const uint32_t sit_bitmap_size = sit_segments * kBlocksPerSeg / 8;
  const uint32_t max_sit_bitmap_size = std::min<uint32_t>(
      sit_bitmap_size,
      static_cast<uint32_t>(div_up(div_up(kMaxSegments, kSitEntriesPerBlock), kBlocksPerSeg) *
                            kBlocksPerSeg / 8));
  uint32_t max_nat_bitmap_size;
  if (max_sit_bitmap_size > kMaxSitBitmapSizeInCp) {
    max_nat_bitmap_size = kMaxBitmapSizeInCp;
    sb.cp_payload = static_cast<uint32_t>(div_up(max_sit_bitmap_size, kBlockSize));
  } else {
    max_nat_bitmap_size = kMaxBitmapSizeInCp - max_sit_bitmap_size;
    sb.cp_payload = 0;
  }
  const uint32_t max_nat_segments = (max_nat_bitmap_size * 8) >> kLogBlocksPerSeg;
  nat_segments = std::min(nat_segments, max_nat_segments);
  sb.segment_count_nat = nat_segments * 2;
  sb.ssa_blkaddr = sb.nat_blkaddr + sb.segment_count_nat * kBlocksPerSeg;
  if (sb.segment_count < 2 + sb.segment_count_sit + sb.segment_count_nat) return too_small();
  avail = uint64_t{sb.segment_count - (2 + sb.segment_count_sit + sb.segment_count_nat)} *
          kBlocksPerSeg;
  const uint64_t blocks_for_ssa = avail / kBlocksPerSeg + 1;
  sb.segment_count_ssa = static_cast<uint32_t>(div_up(blocks_for_ssa, kBlocksPerSeg));
  const uint64_t meta_segments =
      uint64_t{2} + sb.segment_count_sit + sb.segment_count_nat + sb.segment_count_ssa;
  if (uint64_t diff = meta_segments % segs_per_zone; diff)
    sb.segment_count_ssa += static_cast<uint32_t>(segs_per_zone - diff);
  const uint64_t meta_zones =
      div_up(meta_segments * kBlocksPerSeg, uint64_t{kBlocksPerSeg} * segs_per_zone);
  sb.main_blkaddr =
      static_cast<uint32_t>(sb.segment0_blkaddr + meta_zones * segs_per_zone * kBlocksPerSeg);
  if (sb.segment_count / segs_per_zone <= meta_zones) return too_small();
  const uint64_t total_zones = sb.segment_count / segs_per_zone - meta_zones;
  sb.section_count = static_cast<uint32_t>(total_zones * opts.secs_per_zone);
  sb.segment_count_main = sb.section_count * opts.segs_per_sec;

  plan.overprovision = opts.overprovision;
  if (plan.overprovision == 0)
    plan.overprovision = best_overprovision(sb.segment_count_main, sb.section_count);
  const double per_sec = static_cast<double>(div_up(sb.segment_count_main, sb.section_count));
  if (plan.overprovision == 0 || total_segments < kMinSegments) return too_small();
  plan.reserved_segments =
      static_cast<uint32_t>((2 * (100 / plan.overprovision + 1) + kNrCursegType) * per_sec);
  if (sb.segment_count_main < kNrCursegType ||
      sb.segment_count_main - kNrCursegType < plan.reserved_segments)
    return too_small();
  if (total_zones <= 6) return too_small();

  uint32_t* cur = plan.cur_seg;
  auto next_zone = [&](Log l) { return cur[log_index(l)] + segs_per_zone; };
  auto last_zone = [&](uint64_t z) { return static_cast<uint32_t>((z - 1) * segs_per_zone); };
  cur[log_index(Log::kHotNode)] = 0;
  cur[log_index(Log::kWarmNode)] = next_zone(Log::kHotNode);
  cur[log_index(Log::kColdNode)] = next_zone(Log::kWarmNode);
  cur[log_index(Log::kHotData)] = next_zone(Log::kColdNode);
  cur[log_index(Log::kColdData)] = std::max(last_zone(total_zones >> 2), next_zone(Log::kHotData));
  cur[log_index(Log::kWarmData)] = std::max(last_zone(total_zones >> 1), next_zone(Log::kColdData));
  // Any two logs in one segment: fall back to consecutive zones in F2FS log order.
  bool clash = false;
  for (uint32_t i = 0; i < kNrCursegType; ++i)
    for (uint32_t j = i + 1; j < kNrCursegType; ++j) clash |= cur[i] == cur[j];
  if (clash) {
    // F2FS numbers these hot node..cold data in mkfs's own order: node logs, then data.
    const Log order[] = {Log::kHotNode, Log::kWarmNode, Log::kColdNode,
                         Log::kHotData, Log::kWarmData, Log::kColdData};
    cur[log_index(order[0])] = 0;
    for (int i = 1; i < 6; ++i)
      cur[log_index(order[i])] = cur[log_index(order[i - 1])] + segs_per_zone;
  }
  const uint32_t usable = sb.segment_count_main;
  plan.overprov_segments =
      static_cast<uint32_t>((usable - plan.reserved_segments) * plan.overprovision / 100) +
      plan.reserved_segments;
  if (usable <= plan.overprov_segments) return too_small();

  if (opts.uuid) std::memcpy(sb.uuid, opts.uuid->data(), 16);
  utf8_to_utf16(opts.label, sb.volume_name, kMaxVolumeName);
  sb.node_ino = 1;
  sb.meta_ino = 2;
  sb.root_ino = 3;
  uint32_t pos = 0;
  for (const char* e : kColdExtensions) std::memcpy(sb.extension_list[pos++], e, std::strlen(e));
  sb.extension_count = pos;
  for (const char* e : kHotExtensions) std::memcpy(sb.extension_list[pos++], e, std::strlen(e));
  sb.hot_ext_count = static_cast<uint8_t>(pos - sb.extension_count);
  static constexpr char kVersion[] = "f2sc mkfs.f2sc 0.1";
  std::memcpy(sb.version, kVersion, sizeof(kVersion));
  std::memcpy(sb.init_version, kVersion, sizeof(kVersion));
  sb.feature = 0;
  return plan;
}

Result<bool> has_f2fs_superblock(blockdev::BlockDevice& dev) {
  if (dev.block_count() < 2 || dev.block_size() != kBlockSize) return false;
  std::vector<std::byte> buf(2 * kBlockSize);
  if (auto s = dev.read(0, buf); !s) return fail(s.error());
  for (int copy = 0; copy < 2; ++copy) {
    uint32_t magic;
    std::memcpy(&magic, buf.data() + copy * kBlockSize + kSuperOffset, sizeof(magic));
    if (magic == kMagic) return true;
  }
  return false;
}

namespace {

class Writer {
 public:
  explicit Writer(blockdev::BlockDevice& dev) : dev_(dev) {}
  Status block(uint64_t addr, const void* data) {
    if (auto s = dev_.write(addr, {static_cast<const std::byte*>(data), kBlockSize}); !s)
      return fail(with_context(s.error(), "mkfs: writing block " + std::to_string(addr)));
    return {};
  }

 private:
  blockdev::BlockDevice& dev_;
};

// Do these ranges read as zeros? (after a discard that promised nothing)
Result<bool> reads_zero(blockdev::BlockDevice& dev, uint64_t addr) {
  std::vector<std::byte> b(kBlockSize);
  if (auto s = dev.read(addr, b); !s) return fail(s.error());
  return std::all_of(b.begin(), b.end(), [](std::byte x) { return x == std::byte{0}; });
}

}  // namespace

Result<MkfsPlan> format(blockdev::BlockDevice& dev, const MkfsOptions& opts) {
  if (dev.block_size() != kBlockSize)
    return fail(Errc::kNotSupported,
                "device block size " + std::to_string(dev.block_size()) + " is not 4096");
  MkfsOptions o = opts;
  std::mt19937_64 rng(o.reproducible ? 0 : std::random_device{}());
  if (!o.uuid) {
    std::array<uint8_t, 16> u;
    for (auto& b : u) b = static_cast<uint8_t>(rng());
    u[6] = (u[6] & 0x0F) | 0x40;  // version 4
    u[8] = (u[8] & 0x3F) | 0x80;  // RFC 4122 variant
    o.uuid = u;
  }
  auto plan_or = plan_format(o, dev.size_bytes());
  if (!plan_or) return plan_or;
  MkfsPlan plan = *plan_or;
  const SuperBlock& sb = plan.sb;
  auto layout_or = validate_superblock(sb, dev.block_count());
  if (!layout_or)
    return fail(Errc::kInternal, "mkfs planned a bad superblock: " + layout_or.error().message);
  const Layout& L = *layout_or;
  const uint64_t now =
      o.reproducible
          ? 0
          : static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::seconds>(
                                      std::chrono::system_clock::now().time_since_epoch())
                                      .count());
  auto seg_of = [&](Log l) { return plan.cur_seg[static_cast<int>(l)]; };
  const uint32_t root_node_addr = L.seg_start(seg_of(Log::kHotNode));
  const uint32_t root_data_addr = L.seg_start(seg_of(Log::kHotData));
  Writer w(dev);

  // 1. Trim; 2. zero the first SIT copy and every first NAT copy unless trim left zeros.
  bool trimmed = false;
  if (o.trim) trimmed = dev.discard(0, dev.block_count()).has_value();
  bool zeroed = false;
  if (trimmed) {
    auto a = reads_zero(dev, L.sit_addr);
    auto b = reads_zero(dev, L.nat_addr);
    auto c = reads_zero(dev, L.seg_start(seg_of(Log::kWarmNode)));
    zeroed = a && *a && b && *b && c && *c;
  }
  if (!zeroed) {
    const uint64_t total = uint64_t{L.sit_segments + L.nat_segments} * kBlocksPerSeg;
    uint64_t done = 0;
    std::vector<std::byte> zero(kBlocksPerSeg * kBlockSize);
    auto fill = [&](uint64_t addr) -> Status {
      if (auto s = dev.write(addr, zero); !s) return fail(with_context(s.error(), "mkfs: zeroing"));
      done += kBlocksPerSeg;
      if (o.progress) o.progress(done, total);
      return {};
    };
    for (uint32_t i = 0; i < L.sit_segments; ++i)
      if (auto s = fill(L.sit_addr + uint64_t{i} * kBlocksPerSeg); !s) return fail(s.error());
    for (uint32_t i = 0; i < L.nat_segments; ++i)
      if (auto s = fill(L.nat_addr + uint64_t{i} * 2 * kBlocksPerSeg); !s) return fail(s.error());
    // No stale node chain for roll-forward recovery to follow from the warm node log.
    std::vector<std::byte> zb(kBlockSize);
    if (auto s = w.block(L.seg_start(seg_of(Log::kWarmNode)), zb.data()); !s)
      return fail(s.error());
  }

  // 3. Root inode.
  NodeBlock node{};
  node.footer.nid = sb.root_ino;
  node.footer.ino = sb.root_ino;
  node.footer.cp_ver = 1;
  node.footer.next_blkaddr = root_node_addr + 1;
  Inode& ino = node.i;
  ino.i_mode = 0x41ed;
  ino.i_links = 2;
  ino.i_uid = getuid();
  ino.i_gid = getgid();
  ino.i_size = kBlockSize;
  ino.i_blocks = 2;
  ino.i_atime = ino.i_ctime = ino.i_mtime = now;
  ino.i_current_depth = 1;
  ino.i_addr[0] = root_data_addr;
  if (auto s = w.block(root_node_addr, &node); !s) return fail(s.error());

  // 4. NAT block 0 (copy 0): node, meta and root inodes.
  NatBlock nat{};
  nat.entries[sb.root_ino] = {0, sb.root_ino, root_node_addr};
  nat.entries[sb.node_ino] = {0, sb.node_ino, 1};
  nat.entries[sb.meta_ino] = {0, sb.meta_ino, 1};
  {
    std::vector<uint8_t> blk(kBlockSize, 0);
    std::memcpy(blk.data(), &nat, sizeof(nat));
    if (auto s = w.block(L.nat_block_addr(0, 0), blk.data()); !s) return fail(s.error());
  }

  // 5. Root dentry block: "." and "..".
  DentryBlock dent{};
  dent.dentry[0] = {0, sb.root_ino, 1, kFtDir};
  std::memcpy(dent.filename[0], ".", 1);
  dent.dentry[1] = {0, sb.root_ino, 2, kFtDir};
  std::memcpy(dent.filename[1], "..", 2);
  dent.bitmap[0] = 0x3;  // slots 0 and 1 (LSB-first)
  if (auto s = w.block(root_data_addr, &dent); !s) return fail(s.error());

  // 6. Checkpoint pack 0.
  Checkpoint cp;
  cp.blocks.assign(size_t{1 + L.cp_payload} * kBlockSize, 0);
  CheckpointHeader& h = cp.head();
  h.checkpoint_ver = (rng() & 0x7FFFFFFF) | 1;
  for (uint32_t i = 3; i < kMaxActiveLogs; ++i) {
    h.cur_node_segno[i] = 0xFFFFFFFF;
    h.cur_data_segno[i] = 0xFFFFFFFF;
  }
  for (int l = 0; l < 6; ++l) cp.cursegs[l].segno = plan.cur_seg[l];
  cp.curseg(Log::kHotNode).blkoff = 1;
  cp.curseg(Log::kHotData).blkoff = 1;
  h.valid_block_count = 2;
  h.rsvd_segment_count = plan.reserved_segments;
  h.overprov_segment_count = plan.overprov_segments;
  h.free_segment_count = sb.segment_count_main - kNrCursegType;
  h.user_block_count =
      uint64_t{h.free_segment_count + kNrCursegType - h.overprov_segment_count} * kBlocksPerSeg;
  h.ckpt_flags = trimmed ? kCpTrimmed : 0;
  h.valid_node_count = 1;
  h.valid_inode_count = 1;
  h.next_free_nid = 4;
  h.sit_ver_bitmap_bytesize = L.sit_bitmap_bytes();
  h.nat_ver_bitmap_bytesize = L.nat_bitmap_bytes();
  h.checksum_offset = kCpChecksumOffset;
  // Journals: the root's NAT entry; SIT entries of the six current segments.
  Journal& nj = cp.nat_journal();
  nj.n_entries = 1;
  nj.nat.entries[0] = {sb.root_ino, {0, sb.root_ino, root_node_addr}};
  Journal& sj = cp.sit_journal();
  sj.n_entries = 6;
  const Log jorder[] = {Log::kHotNode, Log::kWarmNode, Log::kColdNode,
                        Log::kHotData, Log::kWarmData, Log::kColdData};
  for (int i = 0; i < 6; ++i) {
    Log l = jorder[i];
    SitJournalEntry& e = sj.sit.entries[i];
    e.segno = seg_of(l);
    bool used = l == Log::kHotNode || l == Log::kHotData;
    e.se.vblocks =
        static_cast<uint16_t>(static_cast<uint16_t>(l) << kSitVblocksShift | (used ? 1 : 0));
    if (used) set_bit_msb(e.se.valid_map, 0);
  }
  cp.curseg(Log::kHotData).sum.entries[0] = {sb.root_ino, 0, 0};
  cp.curseg(Log::kHotNode).sum.entries[0] = {sb.root_ino, 0, 0};
  if (auto s = write_checkpoint(dev, L, cp, 0); !s) return fail(s.error());

  // NAT bits at the end of the first checkpoint segment, when they fit.
  const uint32_t nat_bits_bytes = sb.segment_count_nat << 5;
  const uint32_t nat_bits_blocks =
      static_cast<uint32_t>((uint64_t{nat_bits_bytes} * 2 + 8 + kBlockSize - 1) / kBlockSize);
  if (h.cp_pack_total_block_count <= kBlocksPerSeg - nat_bits_blocks) {
    h.ckpt_flags |= kCpNatBits;
    uint32_t crc = checkpoint_crc(cp.blocks.data(), h.checksum_offset);
    std::memcpy(cp.blocks.data() + h.checksum_offset, &crc, sizeof(crc));
    // Header and footer again with the flag (same version, same pack).
    if (auto s = w.block(L.cp_pack_addr(0), cp.blocks.data()); !s) return fail(s.error());
    if (auto s = w.block(L.cp_pack_addr(0) + h.cp_pack_total_block_count - 1, cp.blocks.data()); !s)
      return fail(s.error());
    std::vector<uint8_t> bits(size_t{nat_bits_blocks} * kBlockSize, 0);
    uint64_t tag = h.checkpoint_ver | (uint64_t{crc} << 32);
    std::memcpy(bits.data(), &tag, 8);
    uint8_t* empty = bits.data() + 8 + nat_bits_bytes;
    std::memset(empty, 0xFF, nat_bits_bytes);
    empty[0] &= 0xFE;  // NAT block 0 holds entries (LSB-first bit 0)
    for (uint32_t i = 0; i < nat_bits_blocks; ++i)
      if (auto s = w.block(L.cp_addr + kBlocksPerSeg - nat_bits_blocks + i,
                           bits.data() + static_cast<size_t>(i) * kBlockSize);
          !s)
        return fail(s.error());
  }
  // Pack 1: header and footer with version 0, so pack 0 wins.
  {
    std::vector<uint8_t> p1(cp.blocks.begin(), cp.blocks.begin() + kBlockSize);
    auto& h1 = *reinterpret_cast<CheckpointHeader*>(p1.data());
    h1.checkpoint_ver = 0;
    uint32_t crc = checkpoint_crc(p1.data(), h1.checksum_offset);
    std::memcpy(p1.data() + h1.checksum_offset, &crc, sizeof(crc));
    std::vector<uint8_t> zero(kBlockSize, 0);
    if (auto s = w.block(L.cp_pack_addr(1), p1.data()); !s) return fail(s.error());
    if (!zeroed)
      for (uint32_t i = 0; i < L.cp_payload; ++i)
        if (auto s = w.block(L.cp_pack_addr(1) + 1 + i, zero.data()); !s) return fail(s.error());
    if (auto s = w.block(L.cp_pack_addr(1) + h1.cp_pack_total_block_count - 1, p1.data()); !s)
      return fail(s.error());
  }
  // 7. Superblocks last: until they land the device is not an F2FS image.
  if (auto s = dev.flush(); !s) return fail(s.error());
  std::vector<std::byte> sbblk(kBlockSize);
  superblock_block(sb, sbblk.data());
  for (int copy = 0; copy < 2; ++copy)
    if (auto s = w.block(copy, sbblk.data()); !s) return fail(s.error());
  if (auto s = dev.flush(); !s) return fail(s.error());
  return plan;
}

}  // namespace f2sc::segment
