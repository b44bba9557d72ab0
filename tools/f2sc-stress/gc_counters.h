// Counters: the one place f2sc-stress reads what the filesystem, the GC and the device did.
//
// GC statistics come from gc_stats() in gc_counters.cc and nowhere else: the GcStatsSnapshot
// of the GcController inside FileSystem. Where there is none (a read-only mount; --mount,
// where the filesystem lives in f2sc-fuse) gc_stats() returns nullopt and every gc.* figure
// is reported as null (JSON) or n/a (tables) - never estimated.
//
// Device counters are the BlockDevice host-interface counters (blockdev/types.h
// DeviceStats); they are nullopt through --mount, where the device belongs to f2sc-fuse.
//
// Thread safety: take() may be called from any thread (the sources are thread-safe).
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "blockdev/block_device.h"
#include "fs/file_system.h"
#include "gc/gc_stats.h"

namespace f2sc::stress {

struct Counters {
  std::optional<fs::FsStats> fs;
  std::optional<blockdev::DeviceStats> device;
  std::optional<gc::GcStatsSnapshot> gc;
};

// The GcStatsSnapshot of the GC running inside `fs`, or nullopt when it runs none.
std::optional<gc::GcStatsSnapshot> gc_stats(fs::FileSystem& fs);

// Sets the filesystem's GC victim policy by name (gc::make_policy) for foreground and
// background GC. Returns false when it could not (the policy is then only recorded).
bool apply_gc_policy(fs::FileSystem& fs, const std::string& policy);

// Either pointer may be null (no filesystem object through --mount; no device likewise).
Counters take_counters(fs::FileSystem* fs, blockdev::BlockDevice* dev);

// after - before, field by field (maxima are taken from `after`).
Counters delta(const Counters& after, const Counters& before);

// Bytes the device wrote: host writes plus blocks copied inside the device (an offloaded
// copy writes flash just as a host write does; it only saves the host interface).
std::optional<uint64_t> device_bytes_written(const Counters& c, uint32_t block_size);

}  // namespace f2sc::stress
