// IoWorkers: a fixed set of threads that run queued I/O jobs (device hooks, copy jobs).
//
// Jobs run in FIFO order per thread pick-up; a job may block (it is meant for system calls).
// Thread safety: post() may be called from any thread, including from a job. stop() drains
// the jobs already queued, then joins; post() after stop() runs the job inline.
#pragma once

#include <functional>
#include <thread>
#include <vector>

#include <tbb/concurrent_queue.h>

namespace f2sc::blockdev {

class IoWorkers {
 public:
  explicit IoWorkers(unsigned threads);
  ~IoWorkers();
  IoWorkers(const IoWorkers&) = delete;
  IoWorkers& operator=(const IoWorkers&) = delete;

  void post(std::function<void()> job);
  void stop();
  unsigned threads() const { return static_cast<unsigned>(threads_.size()); }

 private:
  tbb::concurrent_bounded_queue<std::function<void()>> queue_;
  std::vector<std::thread> threads_;
  bool stopped_ = false;
};

}  // namespace f2sc::blockdev
