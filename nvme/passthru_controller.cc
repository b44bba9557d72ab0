#include "nvme/passthru_controller.h"

#include <fcntl.h>
#include <liburing.h>
#include <linux/nvme_ioctl.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include <tbb/concurrent_queue.h>

namespace f2sc::nvme {

namespace {

static_assert(sizeof(nvme_uring_cmd) <= 80, "the command must fit in a 128-byte SQE");

// Fills the kernel's passthrough command (both structures share the layout up to
// timeout_ms) from our submission entry.
template <class Cmd>
void fill(Cmd& c, const SubmissionEntry& e, std::span<std::byte> data) {
  std::memset(&c, 0, sizeof c);
  c.opcode = e.opcode;
  c.flags = 0;
  c.nsid = e.nsid;
  c.cdw2 = e.cdw2;
  c.cdw3 = e.cdw3;
  c.addr = data.empty() ? 0 : reinterpret_cast<uintptr_t>(data.data());
  c.data_len = static_cast<uint32_t>(data.size());
  c.cdw10 = e.cdw10;
  c.cdw11 = e.cdw11;
  c.cdw12 = e.cdw12;
  c.cdw13 = e.cdw13;
  c.cdw14 = e.cdw14;
  c.cdw15 = e.cdw15;
}

// The kernel's answer: a negative errno, or the NVMe status with the command's result.
Result<Completion> completion(const std::string& name, int rc, uint64_t result) {
  if (rc < 0) {
    const int e = -rc;
    if (e == ENOTTY || e == EOPNOTSUPP) {
      return fail(Errc::kNotSupported, e,
                  name + ": the kernel refused NVMe passthrough (" + std::strerror(e) + ")");
    }
    if (e == EACCES || e == EPERM) {
      return fail(Errc::kInvalidArgument, e,
                  name + ": permission denied for NVMe passthrough (run as root)");
    }
    return tl::unexpected(sys_error(e, name + ": NVMe passthrough"));
  }
  return Completion{Status::from_passthru(static_cast<uint16_t>(rc)),
                    static_cast<uint32_t>(result)};
}

Result<Completion> ioctl_command(int fd, unsigned long request, const std::string& name,
                                 const SubmissionEntry& e, std::span<std::byte> data) {
  nvme_passthru_cmd64 c;
  fill(c, e, data);
  int rc = ioctl(fd, request, &c);
  return completion(name, rc < 0 ? -errno : rc, c.result);
}

struct Job {
  SubmissionEntry sqe;
  std::span<std::byte> data;
  CompletionCallback done;
  bool stop = false;
};

}  // namespace

class PassthruController::Impl {
 public:
  virtual ~Impl() = default;
  virtual unsigned queues() const = 0;
  virtual void submit(unsigned queue, Job job) = 0;
  virtual const char* transport() const = 0;
};

namespace {

// NVME_IOCTL_IO64_CMD on worker threads (the ioctl blocks until the command completes).
class IoctlTransport final : public PassthruController::Impl {
 public:
  IoctlTransport(int fd, std::string name, const PassthruOptions& o)
      : fd_(fd), name_(std::move(name)), queues_(std::max(1u, o.queues)) {
    const unsigned threads = queues_ * std::clamp(o.queue_depth, 1u, 4u);
    for (unsigned i = 0; i < threads; ++i) {
      threads_.emplace_back([this] {
        for (;;) {
          Job job;
          jobs_.pop(job);
          if (job.stop) return;
          job.done(ioctl_command(fd_, NVME_IOCTL_IO64_CMD, name_, job.sqe, job.data));
        }
      });
    }
  }
  ~IoctlTransport() override {
    for (size_t i = 0; i < threads_.size(); ++i) {
      Job stop;
      stop.stop = true;
      jobs_.push(std::move(stop));
    }
    for (auto& t : threads_) t.join();
  }
  unsigned queues() const override { return queues_; }
  void submit(unsigned, Job job) override { jobs_.push(std::move(job)); }
  const char* transport() const override { return "ioctl"; }

 private:
  const int fd_;
  const std::string name_;
  const unsigned queues_;
  tbb::concurrent_bounded_queue<Job> jobs_;
  std::vector<std::thread> threads_;
};

// IORING_OP_URING_CMD: one ring per queue; a reaper thread per ring completes commands.
class UringTransport final : public PassthruController::Impl {
 public:
  static Result<std::unique_ptr<UringTransport>> create(int fd, std::string name,
                                                        const PassthruOptions& o) {
    auto t = std::unique_ptr<UringTransport>(new UringTransport(fd, std::move(name)));
    const unsigned depth = std::clamp(o.queue_depth, 1u, 4096u);
    for (unsigned q = 0; q < std::max(1u, o.queues); ++q) {
      auto ring = std::make_unique<Ring>();
      io_uring_params p;
      std::memset(&p, 0, sizeof p);
      p.flags = IORING_SETUP_SQE128 | IORING_SETUP_CQE32;
      int rc = io_uring_queue_init_params(depth, &ring->ring, &p);
      if (rc < 0) {
        return fail(Errc::kNotSupported, -rc,
                    "io_uring with SQE128|CQE32: " + std::string(std::strerror(-rc)));
      }
      ring->depth = depth;
      ring->ready = true;
      t->rings_.push_back(std::move(ring));
    }
    for (auto& r : t->rings_) {
      Ring* ring = r.get();
      ring->reaper = std::thread([tp = t.get(), ring] { tp->reap(*ring); });
    }
    return t;
  }

  ~UringTransport() override {
    for (auto& r : rings_) {
      if (!r->ready) continue;
      if (r->reaper.joinable()) {
        {
          std::lock_guard lock(r->mu);
          io_uring_sqe* sqe = io_uring_get_sqe(&r->ring);
          while (sqe == nullptr) {
            io_uring_submit(&r->ring);
            sqe = io_uring_get_sqe(&r->ring);
          }
          std::memset(sqe, 0, 128);
          io_uring_prep_nop(sqe);
          io_uring_sqe_set_data64(sqe, 0);  // the stop marker
          io_uring_submit(&r->ring);
        }
        r->reaper.join();
      }
      io_uring_queue_exit(&r->ring);
    }
  }

  unsigned queues() const override { return static_cast<unsigned>(rings_.size()); }
  const char* transport() const override { return "io_uring"; }

  void submit(unsigned queue, Job job) override {
    Ring& r = *rings_[queue % rings_.size()];
    auto* j = new Job(std::move(job));
    std::unique_lock lock(r.mu);
    if (r.inflight >= r.depth) {
      r.backlog.push_back(j);
      return;
    }
    ++r.inflight;
    int rc = push(r, j);
    if (rc < 0) {
      --r.inflight;
      lock.unlock();
      j->done(completion(name_, rc, 0));
      delete j;
    }
  }

 private:
  struct Ring {
    io_uring ring;
    bool ready = false;
    unsigned depth = 0;
    std::mutex mu;  // guards submission, inflight, backlog
    unsigned inflight = 0;
    std::deque<Job*> backlog;
    std::thread reaper;
  };

  UringTransport(int fd, std::string name) : fd_(fd), name_(std::move(name)) {}

  // Puts one command on the ring and submits it. Called with r.mu held. Fails only when no
  // submission entry could be had: once the entry is filled it is visible to the kernel (the
  // ring's tail has moved), so the command will run and complete through the reaper even
  // if io_uring_enter fails now; the job must stay alive for it.
  int push(Ring& r, Job* j) {
    io_uring_sqe* sqe = io_uring_get_sqe(&r.ring);
    if (sqe == nullptr) {
      io_uring_submit(&r.ring);
      sqe = io_uring_get_sqe(&r.ring);
      if (sqe == nullptr) return -EBUSY;
    }
    std::memset(sqe, 0, 128);  // an SQE128 entry
    sqe->opcode = IORING_OP_URING_CMD;
    sqe->fd = fd_;
    sqe->cmd_op = NVME_URING_CMD_IO;
    io_uring_sqe_set_data64(sqe, reinterpret_cast<uintptr_t>(j));
    fill(*reinterpret_cast<nvme_uring_cmd*>(sqe->cmd), j->sqe, j->data);
    // Transient refusals (a full completion queue the reaper is draining, a signal) are
    // retried; anything else leaves the entry queued for the next submission.
    for (int attempt = 0; attempt < 1000; ++attempt) {
      int rc = io_uring_submit(&r.ring);
      if (rc >= 0 || (rc != -EAGAIN && rc != -EBUSY && rc != -EINTR)) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    return 0;
  }

  void reap(Ring& r) {
    for (;;) {
      io_uring_cqe* cqe = nullptr;
      int rc = io_uring_wait_cqe(&r.ring, &cqe);
      if (rc == -EINTR) continue;
      if (rc < 0) return;
      const uint64_t data = io_uring_cqe_get_data64(cqe);
      const int res = cqe->res;
      const uint64_t result = cqe->big_cqe[0];
      io_uring_cqe_seen(&r.ring, cqe);
      if (data == 0) return;
      Job* j = reinterpret_cast<Job*>(data);
      std::vector<Job*> failed;
      {
        std::lock_guard lock(r.mu);
        --r.inflight;
        while (!r.backlog.empty() && r.inflight < r.depth) {
          Job* next = r.backlog.front();
          r.backlog.pop_front();
          ++r.inflight;
          if (push(r, next) < 0) {
            --r.inflight;
            failed.push_back(next);
          }
        }
      }
      j->done(completion(name_, res, result));
      delete j;
      for (Job* f : failed) {
        f->done(completion(name_, -EBUSY, 0));
        delete f;
      }
    }
  }

  const int fd_;
  const std::string name_;
  std::vector<std::unique_ptr<Ring>> rings_;
};

}  // namespace

Result<std::unique_ptr<PassthruController>> PassthruController::open(const std::string& path,
                                                                     const PassthruOptions& o) {
  int fd = ::open(path.c_str(), O_RDWR | O_CLOEXEC);
  if (fd < 0) {
    const int e = errno;
    if (e == ENOENT) {
      return fail(Errc::kNotFound, e,
                  "no such device " + path +
                      " (an NVMe namespace's generic char device is /dev/ngXnY, Linux 5.13+)");
    }
    if (e == EACCES || e == EPERM) {
      return fail(Errc::kInvalidArgument, e,
                  "permission denied opening " + path +
                      ": NVMe passthrough needs read-write access (run as root)");
    }
    return tl::unexpected(sys_error(e, "cannot open " + path));
  }
  auto close_with = [fd](Error e) {
    ::close(fd);
    return tl::unexpected(std::move(e));
  };
  struct stat st;
  if (fstat(fd, &st) != 0) return close_with(sys_error(errno, "cannot stat " + path));
  if (!S_ISCHR(st.st_mode)) {
    return close_with(
        make_error(Errc::kInvalidArgument, path + " is not a character device: nvme: needs an NVMe "
                                                  "generic char device (/dev/ngXnY)"));
  }
  int nsid = ioctl(fd, NVME_IOCTL_ID);
  if (nsid <= 0) {
    const int e = nsid < 0 ? errno : EINVAL;
    return close_with(make_error(
        Errc::kNotSupported, e,
        path +
            " does not accept NVMe passthrough ioctls (not an NVMe namespace, or a kernel "
            "without NVMe passthrough): " +
            std::strerror(e)));
  }
  const std::string name = "nvme:" + path;
  std::unique_ptr<Impl> impl;
  if (!o.force_ioctl) {
    auto uring = UringTransport::create(fd, name, o);
    if (uring) {
      // Probe: a kernel before 5.19 rejects uring_cmd on this device.
      SubmissionEntry flush;
      flush.opcode = static_cast<uint8_t>(IoOpcode::kFlush);
      flush.nsid = static_cast<uint32_t>(nsid);
      std::mutex mu;
      std::condition_variable cv;
      std::optional<Result<Completion>> probe;
      (*uring)->submit(0, Job{flush, {}, [&](Result<Completion> r) {
                                std::lock_guard lock(mu);
                                probe.emplace(std::move(r));
                                cv.notify_one();
                              }});
      std::unique_lock lock(mu);
      cv.wait(lock, [&] { return probe.has_value(); });
      if (*probe) impl = std::move(*uring);
    }
  }
  if (!impl) impl = std::make_unique<IoctlTransport>(fd, name, o);
  return std::unique_ptr<PassthruController>(
      new PassthruController(name, fd, static_cast<uint32_t>(nsid), std::move(impl)));
}

PassthruController::PassthruController(std::string name, int fd, uint32_t nsid,
                                       std::unique_ptr<Impl> impl)
    : name_(std::move(name)), fd_(fd), nsid_(nsid), impl_(std::move(impl)) {}

PassthruController::~PassthruController() {
  impl_.reset();
  ::close(fd_);
}

unsigned PassthruController::queue_count() const {
  return impl_->queues();
}

const char* PassthruController::transport() const {
  return impl_->transport();
}

void PassthruController::submit(unsigned queue, const SubmissionEntry& command,
                                std::span<std::byte> data, CompletionCallback done) {
  impl_->submit(queue, Job{command, data, std::move(done)});
}

Result<Completion> PassthruController::admin(const SubmissionEntry& command,
                                             std::span<std::byte> data) {
  return ioctl_command(fd_, NVME_IOCTL_ADMIN64_CMD, name_, command, data);
}

}  // namespace f2sc::nvme
