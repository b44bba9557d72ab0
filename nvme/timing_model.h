// TimingModel: simulated device time for an emulated controller, so a user can see what
// copy offload does where the host link is the bottleneck. Off unless asked for.
//
// The arithmetic (all times in simulated nanoseconds):
//  - A command arrives at `arrival`: the latest completion the host had seen when it
//    submitted the command (a host that waits for a completion before its next command pays
//    every step; one that keeps a queue full overlaps them).
//  - It passes up to three serial resources in order. Each resource keeps a calendar of busy
//    intervals; a stage of d = bytes / rate takes the earliest free interval of length d at
//    or after the stage's ready time t, and the next stage is ready at its end. (A calendar
//    rather than a FIFO, so that a command scheduled later but ready earlier - a read behind
//    a write that waits for the link - uses the gap as real hardware would.)
//      1. the host->device link direction: Write data, Copy and DSM descriptors;
//      2. the media: a Read or Write moves its bytes through it once, a Copy twice (read and
//         write), at 2 x copy_bytes_per_sec, so a Copy moves data at copy_bytes_per_sec;
//      3. the device->host link direction: Read data.
//    The two link directions are independent (PCIe and Ethernet are full duplex).
//  - completion = t + latency (latency overlaps across commands).
//  - simulated time = the latest completion so far.
//
// Thread safety: all methods may be called concurrently (one mutex).
#pragma once

#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <string_view>

#include "base/error.h"

namespace f2sc::nvme {

struct TimingOptions {
  std::string link_name = "custom";
  double link_bytes_per_sec = 0;      // each direction
  double copy_bytes_per_sec = 2.8e9;  // device-internal copy bandwidth (media: twice that)
  uint64_t latency_ns = 10'000;       // per command
  bool delay_completions = true;      // hold each completion until its simulated time
};

// Presets: pcie3x4 (8 GT/s x4, 128b/130b: 3.94 GB/s), pcie4x4 (7.88 GB/s), tcp1g
// (125 MB/s, 50 us latency), tcp25g (3.125 GB/s, 20 us latency).
Result<TimingOptions> link_preset(std::string_view name);

// Busy intervals of one serial resource, in simulated ns. Keeps the latest kMaxIntervals
// intervals; time before the oldest kept one counts as busy.
class Calendar {
 public:
  // Books `duration` at the earliest free time >= ready; returns the end.
  uint64_t book(uint64_t ready, uint64_t duration);
  void clear();

 private:
  static constexpr size_t kMaxIntervals = 4096;
  std::map<uint64_t, uint64_t> busy_;  // start -> end; disjoint, touching ones merged
  uint64_t floor_ = 0;
};

class TimingModel {
 public:
  explicit TimingModel(const TimingOptions& options);

  const TimingOptions& options() const { return options_; }

  // Schedules one command and returns its simulated completion time. media_bytes: bytes
  // read or written on the media (a Copy of N bytes: 2N).
  uint64_t schedule(uint64_t arrival_ns, uint64_t bytes_to_device, uint64_t media_bytes,
                    uint64_t bytes_to_host);
  // The host saw a completion at `ns`: later submissions arrive no earlier.
  void observe_completion(uint64_t ns);
  // The arrival time of a command submitted now.
  uint64_t host_now() const;
  // Latest completion scheduled so far.
  uint64_t simulated_ns() const;
  void reset();

 private:
  static uint64_t transfer_ns(uint64_t bytes, double bytes_per_sec);

  const TimingOptions options_;
  mutable std::mutex mu_;
  Calendar to_device_, media_, to_host_;
  uint64_t host_now_ = 0;
  uint64_t last_completion_ = 0;
};

}  // namespace f2sc::nvme
