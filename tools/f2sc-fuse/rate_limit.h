// LogRateLimit: lets a log line that can repeat at request rate (a full filesystem answers
// every write with ENOSPC) through at most once per interval, and counts the ones it held
// back so the next line can say how many there were.
//
// Thread safety: allow() may be called from any thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <mutex>
#include <optional>

namespace f2sc::fuse {

class LogRateLimit {
 public:
  using Clock = std::chrono::steady_clock;

  explicit LogRateLimit(Clock::duration interval) : interval_(interval) {}

  // Whether to log the line that happens at `now`; if so, the lines held back since the
  // last one logged, else nothing (the line is counted).
  std::optional<uint64_t> allow(Clock::time_point now = Clock::now()) {
    std::lock_guard lock(mu_);
    if (last_ && now - *last_ < interval_) {
      ++held_;
      return std::nullopt;
    }
    last_ = now;
    const uint64_t held = held_;
    held_ = 0;
    return held;
  }

 private:
  const Clock::duration interval_;
  std::mutex mu_;  // guards everything below
  std::optional<Clock::time_point> last_;
  uint64_t held_ = 0;
};

}  // namespace f2sc::fuse
