#include "gc/gc_stats.h"

#include "blockdev/types.h"

namespace f2sc::gc {
namespace {

void raise_to(std::atomic<uint64_t>& max, uint64_t v) {
  uint64_t cur = max.load(std::memory_order_relaxed);
  while (v > cur && !max.compare_exchange_weak(cur, v, std::memory_order_relaxed)) {
  }
}

}  // namespace

GcStatsSnapshot GcStats::snapshot() const {
  GcStatsSnapshot s;
  s.collections = collections.load();
  s.victims = victims.load();
  s.victims_freed = victims_freed.load();
  s.blocks_scanned = blocks_scanned.load();
  s.blocks_dead = blocks_dead.load();
  s.data_blocks_moved = data_blocks_moved.load();
  s.node_blocks_moved = node_blocks_moved.load();
  s.dropped_copies = dropped_copies.load();
  s.copy_requests = copy_requests.load();
  s.request_ranges = request_ranges.load();
  s.copy_faults = copy_faults.load();
  s.owner_errors = owner_errors.load();
  s.copy_commands = copy_commands.load();
  s.copy_ranges = copy_ranges.load();
  s.max_ranges_per_command = max_ranges_per_command.load();
  s.max_blocks_per_request = max_blocks_per_request.load();
  s.blocks_offloaded = blocks_offloaded.load();
  s.blocks_emulated = blocks_emulated.load();
  s.copy_host_bytes = copy_host_bytes.load();
  s.checkpoints = checkpoints.load();
  s.time_ns = time_ns.load();
  s.copy_command_faults = copy_command_faults.load();
  s.faults_limits = faults_limits.load();
  s.faults_out_of_range = faults_out_of_range.load();
  s.faults_media = faults_media.load();
  s.faults_partial = faults_partial.load();
  s.offload_suspensions = offload_suspensions.load();
  s.blocks_retried = blocks_retried.load();
  s.unreadable_blocks = unreadable_blocks.load();
  s.unwritable_blocks = unwritable_blocks.load();
  s.collect_errors = collect_errors.load();
  return s;
}

void GcStats::reset() {
  for (auto* c : {&collections,
                  &victims,
                  &victims_freed,
                  &blocks_scanned,
                  &blocks_dead,
                  &data_blocks_moved,
                  &node_blocks_moved,
                  &dropped_copies,
                  &copy_requests,
                  &request_ranges,
                  &copy_faults,
                  &owner_errors,
                  &copy_commands,
                  &copy_ranges,
                  &max_ranges_per_command,
                  &max_blocks_per_request,
                  &blocks_offloaded,
                  &blocks_emulated,
                  &copy_host_bytes,
                  &checkpoints,
                  &time_ns,
                  &copy_command_faults,
                  &faults_limits,
                  &faults_out_of_range,
                  &faults_media,
                  &faults_partial,
                  &offload_suspensions,
                  &blocks_retried,
                  &unreadable_blocks,
                  &unwritable_blocks,
                  &collect_errors})
    c->store(0);
}

void GcStats::add_copy(const blockdev::CopyResult& r, uint64_t blocks, uint64_t ranges,
                       uint32_t block_size) {
  request_ranges += ranges;
  copy_commands += r.copy_commands;
  copy_ranges += r.copy_ranges;
  raise_to(max_ranges_per_command, r.max_ranges_per_command);
  raise_to(max_blocks_per_request, blocks);
  blocks_offloaded += r.blocks_offloaded;
  blocks_emulated += r.blocks_emulated;
  copy_command_faults += r.failed_commands;
  faults_limits += r.failed_limits;
  faults_out_of_range += r.failed_out_of_range;
  faults_media += r.failed_media;
  faults_partial += r.failed_partial;
  copy_host_bytes +=
      2 * r.blocks_emulated * block_size + r.copy_ranges * blockdev::kCopyDescriptorBytes;
}

}  // namespace f2sc::gc
