// PassthruController: a real NVMe namespace through Linux passthrough on its generic char
// device /dev/ngXnY (works without a block device and with any opcode, Copy included).
//
// I/O commands go through io_uring IORING_OP_URING_CMD (NVME_URING_CMD_IO) on rings set up
// with IORING_SETUP_SQE128 | IORING_SETUP_CQE32, one ring per queue with a reaper thread;
// where the kernel has no uring passthrough, through NVME_IOCTL_IO64_CMD on worker threads.
// Admin commands (Identify) use NVME_IOCTL_ADMIN64_CMD. The completion maps exactly: the
// kernel's status (SC | SCT << 8 | CRD << 11 | M << 13 | DNR << 14) becomes nvme::Status,
// the 64-bit result's low half DW0; a negative errno becomes an Error.
//
// Thread safety: as Controller.
#pragma once

#include <memory>
#include <string>

#include "nvme/controller.h"

namespace f2sc::nvme {

struct PassthruOptions {
  unsigned queues = 2;
  unsigned queue_depth = 64;
  bool force_ioctl = false;  // skip io_uring
};

class PassthruController final : public Controller {
 public:
  // Opens `path` (e.g. /dev/ng0n1). Fails with a clear message for a missing device, no
  // permission, a path that is not an NVMe generic char device, or a kernel without NVMe
  // passthrough.
  static Result<std::unique_ptr<PassthruController>> open(const std::string& path,
                                                          const PassthruOptions& options = {});
  ~PassthruController() override;

  const std::string& name() const override { return name_; }
  uint32_t nsid() const override { return nsid_; }
  unsigned queue_count() const override;

  void submit(unsigned queue, const SubmissionEntry& command, std::span<std::byte> data,
              CompletionCallback done) override;
  Result<Completion> admin(const SubmissionEntry& command, std::span<std::byte> data) override;

  // "io_uring" or "ioctl": the path I/O commands take.
  const char* transport() const;

  class Impl;  // the transport; defined in the .cc

 private:
  PassthruController(std::string name, int fd, uint32_t nsid, std::unique_ptr<Impl> impl);

  const std::string name_;
  const int fd_;
  const uint32_t nsid_;
  std::unique_ptr<Impl> impl_;
};

}  // namespace f2sc::nvme
