// GcStats: counters of everything the garbage collector did, updated by the Migrator and
// the GcController, read as a plain GcStatsSnapshot.
//
// Copy figures come from the copy engine's CopyResult of each GC copy request, so they
// count the GC's own traffic exactly even when the filesystem uses the device meanwhile.
// copy_host_bytes is what those copies moved across the host interface: 2 x block size per
// emulated block (read + write) plus 32 bytes per offloaded source range descriptor.
//
// Thread safety: every method may be called from any thread; a snapshot is not atomic as a
// whole (each counter is read on its own).
#pragma once

#include <atomic>
#include <cstdint>

namespace f2sc::blockdev {
struct CopyResult;
}

namespace f2sc::gc {

struct GcStatsSnapshot {
  uint64_t collections = 0;     // collect() calls that picked at least one victim
  uint64_t victims = 0;         // sections migrated
  uint64_t victims_freed = 0;   // of those, left with 0 valid blocks (prefree)
  uint64_t blocks_scanned = 0;  // SIT-valid blocks examined in victims
  uint64_t blocks_dead = 0;     // SIT-valid, owner gone (a write in flight, a dirty node)
  uint64_t data_blocks_moved = 0;
  uint64_t node_blocks_moved = 0;
  uint64_t dropped_copies = 0;  // copies thrown away because a racing write won
  uint64_t copy_requests = 0;   // multi-source requests the GC built
  uint64_t request_ranges = 0;  // source ranges in those requests
  uint64_t copy_faults = 0;     // requests that failed even by emulation (retried block by block)
  uint64_t owner_errors = 0;    // is_live / repoint errors (the block was left in place)
  uint64_t copy_commands = 0;   // offloaded device commands
  uint64_t copy_ranges = 0;     // source ranges in those commands
  uint64_t max_ranges_per_command = 0;
  uint64_t max_blocks_per_request = 0;
  uint64_t blocks_offloaded = 0;
  uint64_t blocks_emulated = 0;
  uint64_t copy_host_bytes = 0;
  uint64_t node_footer_fixes = 0;  // always 0: see migrator.h on node footers
  // Copy command faults (each finished by emulation from its DW0), by cause.
  uint64_t copy_command_faults = 0;
  uint64_t faults_limits = 0;        // Command Size Limit Exceeded / Invalid Field
  uint64_t faults_out_of_range = 0;  // LBA Out of Range
  uint64_t faults_media = 0;         // media and other device errors
  uint64_t faults_partial = 0;       // faulted commands that had copied some ranges (DW0 > 0)
  uint64_t offload_suspensions = 0;  // collections that stopped offloading after repeated faults
  uint64_t blocks_retried = 0;       // blocks of failed requests retried one at a time
  uint64_t unreadable_blocks = 0;    // victim blocks that could not be read (left in place)
  uint64_t unwritable_blocks = 0;    // retried blocks whose copy could not be written
  uint64_t bad_sections = 0;    // now excluded from victims (unreadable blocks); the controller's
  uint64_t collect_errors = 0;  // collections that returned an error
  uint64_t checkpoints = 0;
  uint64_t time_ns = 0;  // wall time inside collect()

  uint64_t blocks_moved() const { return data_blocks_moved + node_blocks_moved; }
  double mean_ranges_per_command() const {
    return copy_commands ? static_cast<double>(copy_ranges) / copy_commands : 0.0;
  }
  double mean_blocks_per_command() const {
    return copy_commands ? static_cast<double>(blocks_offloaded) / copy_commands : 0.0;
  }
  double mean_ranges_per_request() const {
    return copy_requests ? static_cast<double>(request_ranges) / copy_requests : 0.0;
  }
  double mean_blocks_per_request() const {
    return copy_requests ? static_cast<double>(blocks_offloaded + blocks_emulated) / copy_requests
                         : 0.0;
  }
};

class GcStats {
 public:
  GcStatsSnapshot snapshot() const;
  void reset();

  // Adds one finished copy request of `blocks` blocks of `block_size` bytes.
  void add_copy(const blockdev::CopyResult& result, uint64_t blocks, uint64_t ranges,
                uint32_t block_size);

  std::atomic<uint64_t> collections{0}, victims{0}, victims_freed{0}, blocks_scanned{0},
      blocks_dead{0}, data_blocks_moved{0}, node_blocks_moved{0}, dropped_copies{0},
      copy_requests{0}, request_ranges{0}, copy_faults{0}, owner_errors{0}, copy_commands{0},
      copy_ranges{0}, max_ranges_per_command{0}, max_blocks_per_request{0}, blocks_offloaded{0},
      blocks_emulated{0}, copy_host_bytes{0}, checkpoints{0}, time_ns{0}, copy_command_faults{0},
      faults_limits{0}, faults_out_of_range{0}, faults_media{0}, faults_partial{0},
      offload_suspensions{0}, blocks_retried{0}, unreadable_blocks{0}, unwritable_blocks{0},
      collect_errors{0};
};

}  // namespace f2sc::gc
