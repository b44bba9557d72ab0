// Value types shared by every block device: copy requests and results, queue limits, and
// the host-interface traffic counters.
//
// Units: every address and length here is in device blocks (the device's logical block
// size), never in 512-byte sectors, although the limit names follow the Linux copy-offload
// series (max_copy_sectors, ...) so users recognise them.
//
// Thread safety: value types; no shared state.
#pragma once

#include <cstdint>
#include <string>

#include <boost/container/small_vector.hpp>

namespace f2sc::blockdev {

// One source range of a copy: `blocks` blocks starting at `lba`.
struct CopyRange {
  uint64_t lba = 0;
  uint64_t blocks = 0;
  bool operator==(const CopyRange&) const = default;
};

using CopyRangeList = boost::container::small_vector<CopyRange, 8>;

// Copy the sources, back to back in order, to the blocks starting at `dst` (NVMe Copy
// semantics). Sources may overlap each other but not the destination.
struct CopyRequest {
  CopyRangeList sources;
  uint64_t dst = 0;
  // Read+write through the host even where offload is on (a caller that has seen the
  // device's copy commands fail and stops trying them).
  bool emulate = false;

  uint64_t total_blocks() const;
};

// What a finished copy did. blocks_copied == offloaded + emulated == request total on success.
struct CopyResult {
  uint64_t blocks_copied = 0;
  uint64_t blocks_offloaded = 0;  // moved inside the device by copy commands
  uint64_t blocks_emulated = 0;   // moved by read+write through the host
  uint64_t copy_commands = 0;     // offloaded copy commands issued (failed ones included)
  uint64_t copy_ranges = 0;       // source range entries in those commands
  uint64_t max_ranges_per_command = 0;
  uint64_t failed_commands = 0;  // offloaded commands that failed and were finished by emulation
  // failed_commands by cause, from the command's status:
  uint64_t failed_limits = 0;  // Command Size Limit Exceeded, Invalid Field (kInvalidArgument)
  uint64_t failed_out_of_range = 0;  // LBA Out of Range (kOutOfRange)
  uint64_t failed_media = 0;         // media and other device errors
  uint64_t failed_partial = 0;       // of all those, commands that copied some ranges first (DW0)
  uint64_t emulation_reads = 0;      // read commands issued by emulation
  uint64_t emulation_writes = 0;     // write commands issued by emulation
  // Why (part of) the copy was emulated; empty when everything was offloaded.
  std::string emulation_reason;

  void merge(const CopyResult& other);
};

// Copy limits in device blocks. All must be >= 1.
struct CopyLimits {
  uint64_t max_copy_sectors = 0;        // total blocks per offloaded command (NVMe MCL)
  uint32_t max_copy_nr_ranges = 0;      // source ranges per command (NVMe MSRC + 1)
  uint64_t max_copy_range_sectors = 0;  // blocks per source range (NVMe MSSRL)
  bool operator==(const CopyLimits&) const = default;
};

// The copy knobs of a device queue, as the Linux series exposed them in sysfs: what the
// user set beside what the hardware supports (cf. copy_max_bytes / copy_max_hw_bytes).
struct QueueLimits {
  bool copy_offload = false;            // the switch: false forces emulation
  bool copy_offload_supported = false;  // can the device offload at all
  CopyLimits copy;                      // in force (user-set, each <= hw)
  CopyLimits hw_copy;                   // what the device supports
};

// Traffic that crossed the host interface, and commands by kind. Data moved by an
// offloaded copy stays inside the device and appears only in blocks_copied_in_device.
struct DeviceStats {
  uint64_t bytes_read = 0;             // data transferred device -> host
  uint64_t bytes_written = 0;          // data transferred host -> device
  uint64_t copy_descriptor_bytes = 0;  // 32 bytes per source range (NVMe format-0 entry)
  uint64_t read_commands = 0;
  uint64_t write_commands = 0;
  uint64_t flush_commands = 0;
  uint64_t discard_commands = 0;
  uint64_t copy_commands = 0;
  uint64_t copy_ranges = 0;
  uint64_t blocks_copied_in_device = 0;
  uint64_t failed_commands = 0;

  uint64_t host_bytes() const { return bytes_read + bytes_written + copy_descriptor_bytes; }
  DeviceStats operator-(const DeviceStats& base) const;
};

// Size of one source range descriptor on the wire (NVMe Copy, descriptor format 0h).
inline constexpr uint64_t kCopyDescriptorBytes = 32;

}  // namespace f2sc::blockdev
