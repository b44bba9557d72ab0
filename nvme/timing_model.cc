#include "nvme/timing_model.h"

#include <algorithm>
#include <cmath>

namespace f2sc::nvme {

Result<TimingOptions> link_preset(std::string_view name) {
  TimingOptions o;
  o.link_name = std::string(name);
  if (name == "pcie3x4") {
    o.link_bytes_per_sec = 8e9 * 4 * 128 / 130 / 8;
    o.latency_ns = 10'000;
  } else if (name == "pcie4x4") {
    o.link_bytes_per_sec = 16e9 * 4 * 128 / 130 / 8;
    o.latency_ns = 10'000;
  } else if (name == "tcp1g") {
    o.link_bytes_per_sec = 1e9 / 8;
    o.latency_ns = 50'000;
  } else if (name == "tcp25g") {
    o.link_bytes_per_sec = 25e9 / 8;
    o.latency_ns = 20'000;
  } else {
    return fail(Errc::kInvalidArgument, "unknown link '" + std::string(name) +
                                            "' (known: pcie3x4, pcie4x4, tcp1g, tcp25g)");
  }
  return o;
}

uint64_t Calendar::book(uint64_t ready, uint64_t duration) {
  uint64_t start = std::max(ready, floor_);
  if (duration == 0) return start;
  auto it = busy_.upper_bound(start);
  if (it != busy_.begin() && std::prev(it)->second > start) start = std::prev(it)->second;
  while (it != busy_.end() && it->first < start + duration) {
    start = std::max(start, it->second);
    ++it;
  }
  uint64_t end = start + duration;
  // Insert [start, end), merging with a neighbour that touches it.
  auto next = busy_.lower_bound(start);
  if (next != busy_.end() && next->first == end) {
    end = next->second;
    next = busy_.erase(next);
  }
  if (next != busy_.begin() && std::prev(next)->second == start) {
    std::prev(next)->second = end;
  } else {
    busy_.emplace(start, end);
  }
  while (busy_.size() > kMaxIntervals) {
    floor_ = std::max(floor_, busy_.begin()->second);
    busy_.erase(busy_.begin());
  }
  return start + duration;
}

void Calendar::clear() {
  busy_.clear();
  floor_ = 0;
}

TimingModel::TimingModel(const TimingOptions& options) : options_(options) {}

uint64_t TimingModel::transfer_ns(uint64_t bytes, double bytes_per_sec) {
  if (bytes == 0 || bytes_per_sec <= 0) return 0;
  return static_cast<uint64_t>(std::llround(static_cast<double>(bytes) * 1e9 / bytes_per_sec));
}

uint64_t TimingModel::schedule(uint64_t arrival, uint64_t to_device, uint64_t media,
                               uint64_t to_host) {
  std::lock_guard lock(mu_);
  uint64_t t = arrival;
  if (to_device > 0) t = to_device_.book(t, transfer_ns(to_device, options_.link_bytes_per_sec));
  if (media > 0) t = media_.book(t, transfer_ns(media, 2 * options_.copy_bytes_per_sec));
  if (to_host > 0) t = to_host_.book(t, transfer_ns(to_host, options_.link_bytes_per_sec));
  const uint64_t completion = t + options_.latency_ns;
  last_completion_ = std::max(last_completion_, completion);
  return completion;
}

void TimingModel::observe_completion(uint64_t ns) {
  std::lock_guard lock(mu_);
  host_now_ = std::max(host_now_, ns);
}

uint64_t TimingModel::host_now() const {
  std::lock_guard lock(mu_);
  return host_now_;
}

uint64_t TimingModel::simulated_ns() const {
  std::lock_guard lock(mu_);
  return last_completion_;
}

void TimingModel::reset() {
  std::lock_guard lock(mu_);
  to_device_.clear();
  media_.clear();
  to_host_.clear();
  host_now_ = last_completion_ = 0;
}

}  // namespace f2sc::nvme
