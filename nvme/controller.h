// Controller: one NVMe controller and the namespace f2sc uses on it, as seen by the host.
//
// I/O commands are submitted asynchronously on one of queue_count() I/O queue pairs with
// their data buffer; the callback receives the completion (status and DW0) or, if the
// command never reached the controller (e.g. the passthrough ioctl failed), an Error.
// Admin commands (Identify) are synchronous. The data buffer's direction follows the opcode:
// the controller reads it for Write, Copy (Source Range entries) and Dataset Management, and
// fills it for Read and Identify.
//
// Implementations: EmulatedController (in-process, emulated_controller.h) and
// PassthruController (Linux /dev/ngXnY, passthru_controller.h).
//
// Thread safety: submit() may be called from any number of threads at once, including
// from a completion callback; it never blocks on the device (commands beyond a queue's depth
// wait in a host-side backlog). The caller must keep `data` valid until the callback ran,
// and must wait for every callback before destroying the controller.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>

#include "base/error.h"
#include "nvme/spec.h"

namespace f2sc::nvme {

// The completion the host sees: status and command specific Dword 0.
struct Completion {
  Status status;
  uint32_t dw0 = 0;
};

using CompletionCallback = std::function<void(Result<Completion>)>;

class Controller {
 public:
  virtual ~Controller() = default;
  Controller() = default;
  Controller(const Controller&) = delete;
  Controller& operator=(const Controller&) = delete;

  // "nvme-emu:/path/img", "nvme:/dev/ng0n1": for messages.
  virtual const std::string& name() const = 0;
  // The namespace this controller object serves (its commands carry this NSID).
  virtual uint32_t nsid() const = 0;
  virtual unsigned queue_count() const = 0;

  // Submits an I/O command on queue `queue` (taken modulo queue_count()).
  virtual void submit(unsigned queue, const SubmissionEntry& command, std::span<std::byte> data,
                      CompletionCallback done) = 0;

  // Executes an admin command synchronously.
  virtual Result<Completion> admin(const SubmissionEntry& command, std::span<std::byte> data) = 0;

  // Synchronous I/O: submit() and wait.
  Result<Completion> execute(unsigned queue, const SubmissionEntry& command,
                             std::span<std::byte> data);

  // Simulated device time so far (ns) when the controller has a timing model, else nullopt.
  virtual std::optional<uint64_t> simulated_ns() const { return std::nullopt; }

  // Identify through admin(); a non-success status becomes an Error naming it.
  Result<IdentifyController> identify_controller();
  Result<IdentifyNamespace> identify_namespace();
};

}  // namespace f2sc::nvme
