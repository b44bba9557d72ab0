#include "blockdev/io_workers.h"

#include <system_error>

namespace f2sc::blockdev {

IoWorkers::IoWorkers(unsigned threads) {
  threads_.reserve(threads);
  for (unsigned i = 0; i < threads; ++i) {
    try {
      threads_.emplace_back([this] {
        for (;;) {
          std::function<void()> job;
          queue_.pop(job);
          if (!job) return;  // an empty job is the stop signal
          job();
        }
      });
    } catch (const std::system_error&) {
      break;  // the system refuses more threads: run with those we have (or inline)
    }
  }
}

IoWorkers::~IoWorkers() {
  stop();
}

void IoWorkers::post(std::function<void()> job) {
  posting_.fetch_add(1);
  if (stopped_.load() || threads_.empty()) {
    posting_.fetch_sub(1);
    job();
    return;
  }
  queue_.push(std::move(job));
  posting_.fetch_sub(1);
}

void IoWorkers::stop() {
  if (stopped_.exchange(true)) return;
  // seq_cst (the defaults) on stopped_ and posting_: post() raises posting_ then reads
  // stopped_, stop() sets stopped_ then reads posting_, so one of them sees the other.
  // The caller has seen every job it waits for complete, but the threads that queued them
  // may still be returning from push(): the queue must outlive them.
  while (posting_.load() != 0) std::this_thread::yield();
  for (size_t i = 0; i < threads_.size(); ++i) queue_.push(nullptr);
  for (auto& t : threads_) t.join();
}

}  // namespace f2sc::blockdev
