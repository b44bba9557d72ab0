#include "tools/f2sc-stress/gc_counters.h"

#include "gc/victim_policy.h"

namespace f2sc::stress {

std::optional<gc::GcStatsSnapshot> gc_stats(fs::FileSystem& fs) {
  if (fs.read_only()) return std::nullopt;  // a read-only mount runs no GC
  return fs.gc_stats();
}

bool apply_gc_policy(fs::FileSystem& fs, const std::string& policy) {
  return static_cast<bool>(fs.set_gc_policy(policy));
}

Counters take_counters(fs::FileSystem* fs, blockdev::BlockDevice* dev) {
  Counters c;
  if (fs) {
    c.fs = fs->stats();
    c.gc = gc_stats(*fs);
  }
  if (dev) c.device = dev->stats();
  return c;
}

namespace {

gc::GcStatsSnapshot minus(const gc::GcStatsSnapshot& a, const gc::GcStatsSnapshot& b) {
  gc::GcStatsSnapshot d = a;
#define F2SC_SUB(f) d.f = a.f - b.f
  F2SC_SUB(collections);
  F2SC_SUB(victims);
  F2SC_SUB(victims_freed);
  F2SC_SUB(blocks_scanned);
  F2SC_SUB(blocks_dead);
  F2SC_SUB(data_blocks_moved);
  F2SC_SUB(node_blocks_moved);
  F2SC_SUB(dropped_copies);
  F2SC_SUB(copy_requests);
  F2SC_SUB(copy_faults);
  F2SC_SUB(owner_errors);
  F2SC_SUB(copy_commands);
  F2SC_SUB(copy_ranges);
  F2SC_SUB(blocks_offloaded);
  F2SC_SUB(blocks_emulated);
  F2SC_SUB(copy_host_bytes);
  F2SC_SUB(node_footer_fixes);
  F2SC_SUB(checkpoints);
  F2SC_SUB(time_ns);
  F2SC_SUB(copy_command_faults);
  F2SC_SUB(faults_limits);
  F2SC_SUB(faults_out_of_range);
  F2SC_SUB(faults_media);
  F2SC_SUB(faults_partial);
  F2SC_SUB(offload_suspensions);
  F2SC_SUB(blocks_retried);
  F2SC_SUB(unreadable_blocks);
  F2SC_SUB(unwritable_blocks);
  F2SC_SUB(collect_errors);
#undef F2SC_SUB
  return d;  // maxima and bad_sections (a state, not a count): a's
}

}  // namespace

Counters delta(const Counters& after, const Counters& before) {
  Counters d;
  if (after.fs && before.fs) {
    d.fs = *after.fs;
    d.fs->checkpoints -= before.fs->checkpoints;
    d.fs->data_blocks_written -= before.fs->data_blocks_written;
    d.fs->node_blocks_written -= before.fs->node_blocks_written;
  }
  if (after.device && before.device) d.device = *after.device - *before.device;
  if (after.gc && before.gc) d.gc = minus(*after.gc, *before.gc);
  return d;
}

std::optional<uint64_t> device_bytes_written(const Counters& c, uint32_t block_size) {
  if (!c.device) return std::nullopt;
  return c.device->bytes_written + c.device->blocks_copied_in_device * block_size;
}

}  // namespace f2sc::stress
