#include "blockdev/io_workers.h"

namespace f2sc::blockdev {

IoWorkers::IoWorkers(unsigned threads) {
  threads_.reserve(threads);
  for (unsigned i = 0; i < threads; ++i) {
    threads_.emplace_back([this] {
      for (;;) {
        std::function<void()> job;
        queue_.pop(job);
        if (!job) return;  // an empty job is the stop signal
        job();
      }
    });
  }
}

IoWorkers::~IoWorkers() {
  stop();
}

void IoWorkers::post(std::function<void()> job) {
  if (stopped_ || threads_.empty()) {
    job();
    return;
  }
  queue_.push(std::move(job));
}

void IoWorkers::stop() {
  if (stopped_) return;
  for (size_t i = 0; i < threads_.size(); ++i) queue_.push(nullptr);
  for (auto& t : threads_) t.join();
  stopped_ = true;
}

}  // namespace f2sc::blockdev
