// TimingModel: simulated device time for an emulated controller, so a user can see what
// copy offload does where the host link is the bottleneck. Off unless asked for.
//
// The arithmetic (all times in simulated nanoseconds):
//  - A command arrives at `arrival`: the latest completion the host had seen when it
//    submitted the command (a host that waits for a completion before its next command pays
//    every step; one that keeps a queue full overlaps them).
//  - Its data crosses the link in its direction (host->device: Write data, Copy and DSM
//    descriptors; device->host: Read data). Each direction is one serial resource (PCIe and
//    Ethernet are full duplex):  link_end = max(arrival, dir_free) + bytes / link_bandwidth.
//  - A Copy then moves its blocks inside the device on one serial copy engine:
//    copy_end = max(link_end, copy_free) + copied_bytes / copy_bandwidth.
//  - completion = max(link_end, copy_end) + latency (latency overlaps across commands).
//  - simulated time = the latest completion so far.
//
// Thread safety: all methods may be called concurrently (one mutex).
#pragma once

#include <cstdint>
#include <mutex>
#include <string>
#include <string_view>

#include "base/error.h"

namespace f2sc::nvme {

struct TimingOptions {
  std::string link_name = "custom";
  double link_bytes_per_sec = 0;      // each direction
  double copy_bytes_per_sec = 2.8e9;  // device-internal copy bandwidth
  uint64_t latency_ns = 10'000;       // per command
  bool delay_completions = true;      // hold each completion until its simulated time
};

// Presets: pcie3x4 (8 GT/s x4, 128b/130b: 3.94 GB/s), pcie4x4 (7.88 GB/s), tcp1g
// (125 MB/s, 50 us latency), tcp25g (3.125 GB/s, 20 us latency).
Result<TimingOptions> link_preset(std::string_view name);

class TimingModel {
 public:
  explicit TimingModel(const TimingOptions& options);

  const TimingOptions& options() const { return options_; }

  // Schedules one command and returns its simulated completion time.
  uint64_t schedule(uint64_t arrival_ns, uint64_t bytes_to_device, uint64_t bytes_to_host,
                    uint64_t copied_bytes);
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
  uint64_t to_device_free_ = 0;
  uint64_t to_host_free_ = 0;
  uint64_t copy_free_ = 0;
  uint64_t host_now_ = 0;
  uint64_t last_completion_ = 0;
};

}  // namespace f2sc::nvme
