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

TimingModel::TimingModel(const TimingOptions& options) : options_(options) {}

uint64_t TimingModel::transfer_ns(uint64_t bytes, double bytes_per_sec) {
  if (bytes == 0 || bytes_per_sec <= 0) return 0;
  return static_cast<uint64_t>(std::llround(static_cast<double>(bytes) * 1e9 / bytes_per_sec));
}

uint64_t TimingModel::schedule(uint64_t arrival, uint64_t to_device, uint64_t to_host,
                               uint64_t copied) {
  std::lock_guard lock(mu_);
  uint64_t link_end = arrival;
  if (to_device > 0) {
    to_device_free_ =
        std::max(arrival, to_device_free_) + transfer_ns(to_device, options_.link_bytes_per_sec);
    link_end = std::max(link_end, to_device_free_);
  }
  if (to_host > 0) {
    to_host_free_ =
        std::max(arrival, to_host_free_) + transfer_ns(to_host, options_.link_bytes_per_sec);
    link_end = std::max(link_end, to_host_free_);
  }
  uint64_t end = link_end;
  if (copied > 0) {
    copy_free_ = std::max(link_end, copy_free_) + transfer_ns(copied, options_.copy_bytes_per_sec);
    end = copy_free_;
  }
  const uint64_t completion = end + options_.latency_ns;
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
  to_device_free_ = to_host_free_ = copy_free_ = host_now_ = last_completion_ = 0;
}

}  // namespace f2sc::nvme
