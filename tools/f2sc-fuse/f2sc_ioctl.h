// The ioctls of an f2sc-fuse mount, shared by f2sc-fuse (which serves them) and f2sc-ctl
// (which sends them).
//
// F2FS's own ioctls keep Linux's numbers (include/uapi/linux/f2fs.h) so that tools written
// for F2FS, such as f2fs_io, work on the mount: GARBAGE_COLLECT, GARBAGE_COLLECT_RANGE,
// WRITE_CHECKPOINT and SHUTDOWN; FS_IOC_GETFLAGS/SETFLAGS come from <linux/fs.h>.
//
// f2sc's own ioctls (type 0xf2) carry one fixed-size struct each, as FUSE requires of a
// filesystem's ioctls (the kernel copies _IOC_SIZE bytes in or out and nothing else). Each
// struct starts with a magic and its size so a reader can tell an f2sc answer from another
// filesystem's and an older layout from a newer one; fields are only ever added in the
// reserved space, which senders leave zero.
//
// Thread safety: constants and plain structs.
#pragma once

#include <linux/ioctl.h>

#include <cstdint>

namespace f2sc::ioctl {

// --- F2FS (Linux uapi numbers)

struct F2fsGcRange {
  uint32_t sync;   // 1: foreground GC (fails with EAGAIN when nothing was freed)
  uint64_t start;  // first block (main area)
  uint64_t len;    // blocks
};
static_assert(sizeof(F2fsGcRange) == 24);

inline constexpr unsigned kF2fsIocGarbageCollect = _IOW(0xf5, 6, uint32_t);
inline constexpr unsigned kF2fsIocWriteCheckpoint = _IO(0xf5, 7);
inline constexpr unsigned kF2fsIocGarbageCollectRange = _IOW(0xf5, 11, F2fsGcRange);
// Linux defines it as _IOR although the kernel reads the level from the caller.
inline constexpr unsigned kF2fsIocShutdown = _IOR('X', 125, uint32_t);

// F2FS_IOC_SHUTDOWN levels.
inline constexpr uint32_t kGoingDownFullSync = 0;
inline constexpr uint32_t kGoingDownMetaSync = 1;
inline constexpr uint32_t kGoingDownNoSync = 2;
inline constexpr uint32_t kGoingDownMetaFlush = 3;
inline constexpr uint32_t kGoingDownNeedFsck = 4;

// --- f2sc

inline constexpr uint32_t kStatusMagic = 0xf25c57a7;
inline constexpr uint32_t kSettingMagic = 0xf25c5e77;
inline constexpr uint32_t kGcRequestMagic = 0xf25c6c00;

// Status flags.
inline constexpr uint32_t kStatusReadOnly = 1u << 0;
inline constexpr uint32_t kStatusShutDown = 1u << 1;
inline constexpr uint32_t kStatusBackgroundGc = 1u << 2;
inline constexpr uint32_t kStatusGcUrgent = 1u << 3;
inline constexpr uint32_t kStatusCopyOffload = 1u << 4;           // the switch
inline constexpr uint32_t kStatusCopyOffloadSupported = 1u << 5;  // the device can offload
inline constexpr uint32_t kStatusOffloadEnabled = 1u << 6;        // copies are offloaded now

struct CopyLimits {
  uint64_t max_copy_sectors;        // blocks per command (NVMe MCL)
  uint64_t max_copy_nr_ranges;      // ranges per command (NVMe MSRC + 1)
  uint64_t max_copy_range_sectors;  // blocks per range (NVMe MSSRL)
};

// GC counters (gc::GcStatsSnapshot).
struct GcCounters {
  uint64_t collections, victims, victims_freed, blocks_scanned, blocks_dead;
  uint64_t data_blocks_moved, node_blocks_moved, dropped_copies;
  uint64_t copy_requests, request_ranges, copy_faults, owner_errors;
  uint64_t copy_commands, copy_ranges, max_ranges_per_command, max_blocks_per_request;
  uint64_t blocks_offloaded, blocks_emulated, copy_host_bytes, checkpoints, time_ns;
  // Device faults during GC (see gc_stats.h).
  uint64_t copy_command_faults, faults_limits, faults_out_of_range, faults_media, faults_partial;
  uint64_t offload_suspensions, blocks_retried, unreadable_blocks, unwritable_blocks;
  uint64_t bad_sections, collect_errors;
};

// Device counters (blockdev::DeviceStats): every byte that crossed the host interface.
struct DeviceCounters {
  uint64_t bytes_read, bytes_written, copy_descriptor_bytes;
  uint64_t read_commands, write_commands, flush_commands, discard_commands;
  uint64_t copy_commands, copy_ranges, blocks_copied_in_device, failed_commands;
  uint64_t reserved[5];
};

// Filesystem counters (fs::FsStats).
struct FsCounters {
  uint64_t checkpoints, data_blocks_written, node_blocks_written, dirty_nodes, gc_node_updates;
  // copy_file_range: calls, bytes, blocks copied by the device (offloaded) or by the copy
  // engine's emulation, copy requests, source holes kept, bytes by read+write.
  uint64_t copy_range_calls, copy_range_bytes, copy_range_blocks_offloaded;
  uint64_t copy_range_blocks_emulated, copy_range_requests, copy_range_hole_blocks;
  uint64_t copy_range_rw_bytes;
  uint64_t reserved[4];
};

// GC settings in force: the background thread's timing (F2FS's gc_*_sleep_time), margins,
// migrator limits, and the checkpoint triggers.
struct GcKnobs {
  uint64_t min_sleep_ms, max_sleep_ms, no_gc_sleep_ms, urgent_sleep_ms;
  uint64_t foreground_margin_sections, background_sections, checkpoint_after_collect;
  uint64_t max_in_flight, offload_fault_limit;
  uint64_t checkpoint_interval_sec, dirty_node_limit;
  uint64_t reserved[5];
};

// Space: statfs(2)'s figures and the segments by state (segment::SpaceUsage).
struct Space {
  uint64_t block_size, blocks, bfree, bavail, files, ffree;
  uint64_t segments, free_segments, current_segments, prefree_segments;
  uint64_t data_segments_in_use, node_segments_in_use;
  uint64_t data_valid_in_use, node_valid_in_use;  // valid blocks in those segments
  uint64_t free_sections, reserved_sections;      // wholly free; GC's reserve
  uint64_t reserved[4];
};

struct Status {
  uint32_t magic;  // kStatusMagic
  uint32_t size;   // sizeof(Status)
  uint32_t flags;  // kStatus*
  uint32_t reserved0;
  char device[96];     // the device's name, NUL-terminated
  char gc_policy[32];  // the policy set by gc_policy= or f2sc-ctl; "" = F2FS's defaults
  uint64_t block_size, block_count;
  CopyLimits hw_limits;       // what the device supports
  CopyLimits current_limits;  // in force (each <= hardware)
  DeviceCounters device_stats;
  GcCounters gc;
  FsCounters fs;
  GcKnobs knobs;
  Space space;
  uint8_t reserved[2048 - 1008];
};
static_assert(sizeof(Status) == 2048);
inline constexpr unsigned kIocGetStatus = _IOR(0xf2, 1, Status);

// Runtime settings (root only).
enum class SettingKey : uint32_t {
  kCopyOffload = 1,     // value 0/1; 1 where the device cannot offload: EOPNOTSUPP
  kBackgroundGc = 2,    // value 0/1
  kGcPolicy = 3,        // text: greedy, cost-benefit, age-threshold
  kGcUrgent = 4,        // value 0/1
  kMaxCopySectors = 5,  // value: 1 .. hardware limit (EINVAL otherwise)
  kMaxCopyNrRanges = 6,
  kMaxCopyRangeSectors = 7,
  // The background GC thread's sleeps (F2FS's gc_*_sleep_time), value in ms, 1 .. 2^32-1;
  // a min above the max (or a max under the min) is EINVAL.
  kGcMinSleepMs = 8,
  kGcMaxSleepMs = 9,
  kGcNoGcSleepMs = 10,
  kGcUrgentSleepMs = 11,
};

struct Setting {
  uint32_t magic;  // kSettingMagic
  uint32_t key;    // SettingKey
  uint64_t value;
  char text[32];  // NUL-terminated
  uint64_t reserved[4];
};
static_assert(sizeof(Setting) == 80);
inline constexpr unsigned kIocSet = _IOW(0xf2, 2, Setting);

// Garbage collection now (root only): up to `sections` sections (0 means 1) with `policy`
// ("" = foreground policy with kGcSync, the background policy without), on the request
// thread; the reply carries what it did.
inline constexpr uint32_t kGcSync = 1;
struct GcRequest {
  uint32_t magic;  // kGcRequestMagic
  uint32_t sections;
  uint32_t flags;  // kGcSync
  uint32_t reserved0;
  char policy[32];
  // Out:
  uint64_t victims, freed, moved, dropped, copy_faults, checkpointed;
  uint64_t reserved[4];
};
static_assert(sizeof(GcRequest) == 128);
inline constexpr unsigned kIocGc = _IOWR(0xf2, 3, GcRequest);

}  // namespace f2sc::ioctl
