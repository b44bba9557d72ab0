// F2FS on-disk structures, as the format defines them (Linux include/linux/f2fs_fs.h,
// f2fs-tools 1.15). Our own definitions: packed little-endian PODs whose sizes and field
// offsets are pinned with static_assert. Blocks are 4 KiB; segments 512 blocks.
//
// These are raw images of disk bytes: they never validate themselves (see superblock.h,
// checkpoint.h). Fields are host-endian because f2sc only builds for little-endian hosts.
//
// Thread safety: plain value types.
#pragma once

#include <bit>
#include <cstddef>
#include <cstdint>

namespace f2sc::segment {

static_assert(std::endian::native == std::endian::little, "f2sc reads F2FS in place: LE only");

inline constexpr uint32_t kMagic = 0xF2F52010;
inline constexpr uint32_t kBlockSize = 4096;
inline constexpr uint32_t kLogBlockSize = 12;
inline constexpr uint32_t kBlocksPerSeg = 512;
inline constexpr uint32_t kLogBlocksPerSeg = 9;
inline constexpr uint32_t kSuperOffset = 1024;  // byte offset of the superblock in blocks 0, 1
inline constexpr uint32_t kNullAddr = 0;
inline constexpr uint32_t kNewAddr = 0xFFFFFFFF;
inline constexpr uint32_t kMaxVolumeName = 512;  // UTF-16 units
inline constexpr uint32_t kMaxExtensions = 64;
inline constexpr uint32_t kExtensionLen = 8;
inline constexpr uint32_t kVersionLen = 256;
inline constexpr uint32_t kMaxDevices = 8;
inline constexpr uint32_t kMaxQuotas = 3;
inline constexpr uint32_t kCpChecksumOffset = 4092;
inline constexpr uint32_t kMinNatBitmapSize = 64;
inline constexpr uint32_t kMaxSegments = 16 * 1024 * 1024 / 2;  // 32-bit block addresses
inline constexpr uint32_t kMinSegments = 9;
inline constexpr uint32_t kMaxActiveLogs = 8;  // slots in the checkpoint
inline constexpr uint32_t kNrCursegType = 6;

// The six logs, in the order F2FS numbers them (also the SIT "type" field).
enum class Log : uint8_t {
  kHotData = 0,
  kWarmData = 1,
  kColdData = 2,
  kHotNode = 3,
  kWarmNode = 4,
  kColdNode = 5,
};
inline constexpr bool is_node_log(Log l) {
  return static_cast<uint8_t>(l) >= 3;
}

// Checkpoint flags.
inline constexpr uint32_t kCpUmount = 0x1;
inline constexpr uint32_t kCpOrphanPresent = 0x2;
inline constexpr uint32_t kCpCompactSum = 0x4;
inline constexpr uint32_t kCpError = 0x8;
inline constexpr uint32_t kCpFsck = 0x10;
inline constexpr uint32_t kCpFastboot = 0x20;
inline constexpr uint32_t kCpCrcRecovery = 0x40;
inline constexpr uint32_t kCpNatBits = 0x80;
inline constexpr uint32_t kCpTrimmed = 0x100;
inline constexpr uint32_t kCpNocrcRecovery = 0x200;
inline constexpr uint32_t kCpLargeNatBitmap = 0x400;
inline constexpr uint32_t kCpQuotaNeedFsck = 0x800;
inline constexpr uint32_t kCpDisabled = 0x1000;
inline constexpr uint32_t kCpDisabledQuick = 0x2000;
inline constexpr uint32_t kCpResizefs = 0x4000;

// Superblock feature bits (the first two change the inode layout: fs/inode.h).
inline constexpr uint32_t kFeatureExtraAttr = 0x0008;
inline constexpr uint32_t kFeatureFlexibleInlineXattr = 0x0040;
inline constexpr uint32_t kFeatureSbChksum = 0x0800;
inline constexpr uint32_t kFeatureRo = 0x4000;

// Inode i_inline flags.
inline constexpr uint8_t kInlineXattr = 0x01;
inline constexpr uint8_t kInlineData = 0x02;
inline constexpr uint8_t kInlineDentry = 0x04;
inline constexpr uint8_t kDataExist = 0x08;
inline constexpr uint8_t kInlineDots = 0x10;
inline constexpr uint8_t kExtraAttr = 0x20;

// Inline xattr slots at the end of i_addr without flexible_inline_xattr, and the slot
// reserved before inline data and dentries.
inline constexpr uint32_t kDefaultInlineXattrAddrs = 50;
inline constexpr uint32_t kInlineReservedSlots = 1;

#pragma pack(push, 1)

struct DeviceSlot {
  char path[64];
  uint32_t total_segments;
};
static_assert(sizeof(DeviceSlot) == 68);

struct SuperBlock {
  uint32_t magic;
  uint16_t major_ver;
  uint16_t minor_ver;
  uint32_t log_sectorsize;
  uint32_t log_sectors_per_block;
  uint32_t log_blocksize;
  uint32_t log_blocks_per_seg;
  uint32_t segs_per_sec;
  uint32_t secs_per_zone;
  uint32_t checksum_offset;
  uint64_t block_count;
  uint32_t section_count;
  uint32_t segment_count;
  uint32_t segment_count_ckpt;
  uint32_t segment_count_sit;
  uint32_t segment_count_nat;
  uint32_t segment_count_ssa;
  uint32_t segment_count_main;
  uint32_t segment0_blkaddr;
  uint32_t cp_blkaddr;
  uint32_t sit_blkaddr;
  uint32_t nat_blkaddr;
  uint32_t ssa_blkaddr;
  uint32_t main_blkaddr;
  uint32_t root_ino;
  uint32_t node_ino;
  uint32_t meta_ino;
  uint8_t uuid[16];
  uint16_t volume_name[kMaxVolumeName];
  uint32_t extension_count;
  uint8_t extension_list[kMaxExtensions][kExtensionLen];
  uint32_t cp_payload;
  uint8_t version[kVersionLen];
  uint8_t init_version[kVersionLen];
  uint32_t feature;
  uint8_t encryption_level;
  uint8_t encrypt_pw_salt[16];
  DeviceSlot devs[kMaxDevices];
  uint32_t qf_ino[kMaxQuotas];
  uint8_t hot_ext_count;
  uint16_t s_encoding;
  uint16_t s_encoding_flags;
  uint8_t reserved[306];
  uint32_t crc;
};
static_assert(sizeof(SuperBlock) == 3072);
static_assert(offsetof(SuperBlock, block_count) == 36);
static_assert(offsetof(SuperBlock, uuid) == 108);
static_assert(offsetof(SuperBlock, extension_count) == 1148);
static_assert(offsetof(SuperBlock, cp_payload) == 1664);
static_assert(offsetof(SuperBlock, feature) == 2180);
static_assert(offsetof(SuperBlock, devs) == 2201);
static_assert(offsetof(SuperBlock, crc) == 3068);
inline constexpr uint32_t kSbChecksumOffset = offsetof(SuperBlock, crc);

struct CheckpointHeader {
  uint64_t checkpoint_ver;
  uint64_t user_block_count;
  uint64_t valid_block_count;
  uint32_t rsvd_segment_count;
  uint32_t overprov_segment_count;
  uint32_t free_segment_count;
  uint32_t cur_node_segno[kMaxActiveLogs];
  uint16_t cur_node_blkoff[kMaxActiveLogs];
  uint32_t cur_data_segno[kMaxActiveLogs];
  uint16_t cur_data_blkoff[kMaxActiveLogs];
  uint32_t ckpt_flags;
  uint32_t cp_pack_total_block_count;
  uint32_t cp_pack_start_sum;
  uint32_t valid_node_count;
  uint32_t valid_inode_count;
  uint32_t next_free_nid;
  uint32_t sit_ver_bitmap_bytesize;
  uint32_t nat_ver_bitmap_bytesize;
  uint32_t checksum_offset;
  uint64_t elapsed_time;
  uint8_t alloc_type[16];
  // followed by the SIT and NAT version bitmaps
};
static_assert(sizeof(CheckpointHeader) == 192);
static_assert(offsetof(CheckpointHeader, cur_node_segno) == 36);
static_assert(offsetof(CheckpointHeader, cur_data_blkoff) == 116);
static_assert(offsetof(CheckpointHeader, ckpt_flags) == 132);
static_assert(offsetof(CheckpointHeader, elapsed_time) == 168);
inline constexpr uint32_t kCpBitmapOffset = sizeof(CheckpointHeader);
inline constexpr uint32_t kMaxBitmapSizeInCp = kCpChecksumOffset - kCpBitmapOffset;
inline constexpr uint32_t kMaxSitBitmapSizeInCp = kMaxBitmapSizeInCp - kMinNatBitmapSize;

// Orphan inode block (in the checkpoint pack).
inline constexpr uint32_t kOrphansPerBlock = 1020;
struct OrphanBlock {
  uint32_t ino[kOrphansPerBlock];
  uint32_t reserved;
  uint16_t blk_addr;  // index of this block among the orphan blocks
  uint16_t blk_count;
  uint32_t entry_count;
  uint32_t check_sum;
};
static_assert(sizeof(OrphanBlock) == kBlockSize);

// SSA: one summary entry per block of a segment.
struct Summary {
  uint32_t nid;  // owner: node id (for data: the dnode; for nodes: the node itself)
  uint8_t version;
  uint16_t ofs_in_node;
};
static_assert(sizeof(Summary) == 7);

inline constexpr uint32_t kEntriesInSum = 512;
inline constexpr uint32_t kSumFooterSize = 5;
inline constexpr uint32_t kSumEntrySize = sizeof(Summary) * kEntriesInSum;
inline constexpr uint32_t kSumJournalSize = kBlockSize - kSumFooterSize - kSumEntrySize;
static_assert(kSumJournalSize == 507);

inline constexpr uint8_t kSumTypeData = 0;
inline constexpr uint8_t kSumTypeNode = 1;
struct SummaryFooter {
  uint8_t entry_type;
  uint32_t check_sum;
};
static_assert(sizeof(SummaryFooter) == kSumFooterSize);

struct NatEntry {
  uint8_t version;
  uint32_t ino;
  uint32_t block_addr;
};
static_assert(sizeof(NatEntry) == 9);
inline constexpr uint32_t kNatEntriesPerBlock = kBlockSize / sizeof(NatEntry);
static_assert(kNatEntriesPerBlock == 455);
struct NatBlock {
  NatEntry entries[kNatEntriesPerBlock];
};
static_assert(sizeof(NatBlock) == 4095);

inline constexpr uint32_t kSitVblockMapSize = 64;
inline constexpr uint32_t kSitVblocksShift = 10;
inline constexpr uint16_t kSitVblocksMask = (1u << kSitVblocksShift) - 1;
struct SitEntry {
  uint16_t vblocks;  // bits 15:10 log type, 9:0 valid block count
  uint8_t valid_map[kSitVblockMapSize];
  uint64_t mtime;
};
static_assert(sizeof(SitEntry) == 74);
inline constexpr uint32_t kSitEntriesPerBlock = kBlockSize / sizeof(SitEntry);
static_assert(kSitEntriesPerBlock == 55);
struct SitBlock {
  SitEntry entries[kSitEntriesPerBlock];
};
static_assert(sizeof(SitBlock) == 4070);

struct NatJournalEntry {
  uint32_t nid;
  NatEntry ne;
};
static_assert(sizeof(NatJournalEntry) == 13);
struct SitJournalEntry {
  uint32_t segno;
  SitEntry se;
};
static_assert(sizeof(SitJournalEntry) == 78);

inline constexpr uint32_t kNatJournalEntries = (kSumJournalSize - 2) / sizeof(NatJournalEntry);
inline constexpr uint32_t kSitJournalEntries = (kSumJournalSize - 2) / sizeof(SitJournalEntry);
static_assert(kNatJournalEntries == 38 && kSitJournalEntries == 6);

struct Journal {
  uint16_t n_entries;  // n_nats or n_sits
  union {
    struct {
      NatJournalEntry entries[kNatJournalEntries];
      uint8_t reserved[kSumJournalSize - 2 - sizeof(NatJournalEntry) * kNatJournalEntries];
    } nat;
    struct {
      SitJournalEntry entries[kSitJournalEntries];
      uint8_t reserved[kSumJournalSize - 2 - sizeof(SitJournalEntry) * kSitJournalEntries];
    } sit;
    struct {
      uint64_t kbytes_written;
      uint8_t reserved[kSumJournalSize - 2 - 8];
    } info;
  };
};
static_assert(sizeof(Journal) == kSumJournalSize);

struct SummaryBlock {
  Summary entries[kEntriesInSum];
  Journal journal;
  SummaryFooter footer;
};
static_assert(sizeof(SummaryBlock) == kBlockSize);

// Nodes.
struct NodeFooter {
  uint32_t nid;
  uint32_t ino;
  uint32_t flag;  // offset in the node tree << 3 | cold/fsync/dentry bits
  uint64_t cp_ver;
  uint32_t next_blkaddr;
};
static_assert(sizeof(NodeFooter) == 24);

struct Extent {
  uint32_t fofs;
  uint32_t blk_addr;
  uint32_t len;
};
static_assert(sizeof(Extent) == 12);

inline constexpr uint32_t kAddrsPerInode = 923;
inline constexpr uint32_t kNidsPerInode = 5;
inline constexpr uint32_t kAddrsPerBlock = 1018;
struct Inode {
  uint16_t i_mode;
  uint8_t i_advise;
  uint8_t i_inline;
  uint32_t i_uid;
  uint32_t i_gid;
  uint32_t i_links;
  uint64_t i_size;
  uint64_t i_blocks;
  uint64_t i_atime;
  uint64_t i_ctime;
  uint64_t i_mtime;
  uint32_t i_atime_nsec;
  uint32_t i_ctime_nsec;
  uint32_t i_mtime_nsec;
  uint32_t i_generation;
  uint32_t i_current_depth;
  uint32_t i_xattr_nid;
  uint32_t i_flags;
  uint32_t i_pino;
  uint32_t i_namelen;
  uint8_t i_name[255];
  uint8_t i_dir_level;
  Extent i_ext;
  uint32_t i_addr[kAddrsPerInode];
  uint32_t i_nid[kNidsPerInode];
};
static_assert(offsetof(Inode, i_name) == 92);
static_assert(offsetof(Inode, i_addr) == 360);
static_assert(sizeof(Inode) == kBlockSize - sizeof(NodeFooter));

struct NodeBlock {
  union {
    Inode i;
    uint32_t addr[kAddrsPerBlock];  // direct node
    uint32_t nid[kAddrsPerBlock];   // indirect node
  };
  NodeFooter footer;
};
static_assert(sizeof(NodeBlock) == kBlockSize);

// Directory entry block.
inline constexpr uint32_t kDentrySlots = 214;
inline constexpr uint32_t kSlotLen = 8;
inline constexpr uint8_t kFtDir = 2;
struct DirEntry {
  uint32_t hash_code;
  uint32_t ino;
  uint16_t name_len;
  uint8_t file_type;
};
static_assert(sizeof(DirEntry) == 11);
struct DentryBlock {
  uint8_t bitmap[(kDentrySlots + 7) / 8];
  uint8_t reserved[3];
  DirEntry dentry[kDentrySlots];
  uint8_t filename[kDentrySlots][kSlotLen];
};
static_assert(sizeof(DentryBlock) == kBlockSize);

#pragma pack(pop)

// F2FS bitmaps in SIT valid maps and version bitmaps are MSB-first within each byte.
inline bool test_bit_msb(const uint8_t* map, uint32_t nr) {
  return map[nr >> 3] & (0x80u >> (nr & 7));
}
inline void set_bit_msb(uint8_t* map, uint32_t nr) {
  map[nr >> 3] |= (0x80u >> (nr & 7));
}
inline void clear_bit_msb(uint8_t* map, uint32_t nr) {
  map[nr >> 3] &= static_cast<uint8_t>(~(0x80u >> (nr & 7)));
}

}  // namespace f2sc::segment
