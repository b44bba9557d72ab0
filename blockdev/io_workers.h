// IoWorkers: a fixed set of threads that run queued I/O jobs (device hooks, copy jobs).
//
// Starts up to `threads` threads (fewer if the system refuses more; with none, jobs run
// inline). Jobs run in FIFO order per thread pick-up; a job may block (it is meant for system
// calls). Thread safety: post() may be called from any thread, including from a job or another
// device's thread. stop() waits for post() calls still inside the queue (a job can finish
// before the thread that queued it has returned from push), drains the jobs already
// queued, then joins; post() after stop() runs the job inline.
#pragma once

#include <atomic>
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
  std::atomic<bool> stopped_{false};
  std::atomic<unsigned> posting_{0};  // post() calls between entering and leaving push()
};

}  // namespace f2sc::blockdev
