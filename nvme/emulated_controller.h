// EmulatedController: an NVMe controller inside the process, with one namespace (NSID 1)
// backed by an image file (the default) or by memory.
//
// It executes Identify, Read, Write, Flush, Dataset Management (deallocate), Write Zeroes and
// Copy (descriptor formats 0h and 1h) with the checks and status codes of the NVM Command
// Set: Copy returns Command Size Limit Exceeded (SCT 1h, SC 83h) for more than MSRC+1
// ranges, a range above MSSRL blocks or a command above MCL blocks; LBA Out of Range for
// sources or destination past the end; Invalid Field for an unsupported descriptor format;
// Overlapping I/O Range (SCT 1h, SC 87h) when a source overlaps the destination; Invalid
// Command Opcode when Copy is disabled (copy=false clears ONCS bit 8). All of these set DNR
// and write nothing (DW0 = 0). A read-only namespace fails every command that writes with
// Namespace is Write Protected (SCT 0h, SC 20h). A Copy that fails part way (a media error or an
// injected fault) returns DW0 = index of the first range not copied. Copies happen inside the
// device (copy_file_range or memmove); stats() counts the bytes that crossed the host interface.
//
// I/O queue pairs: `queues` submission queues of `queue_depth` entries, each served by
// `workers_per_queue` threads (tbb::concurrent_bounded_queue); commands past the depth wait
// in a host-side backlog and enter the queue as earlier ones complete. With `inline_idle`
// (the default without a timing model) a command submitted to a queue with nothing
// outstanding runs at once on the submitting thread, its completion callback included
// (like a polled completion: no thread handoff for a lone synchronous I/O); callers must
// not hold a lock in submit() that their callback takes.
//
// Where we choose among what the spec allows: the namespace has no protection information,
// so the PI fields of format 0h and 1h entries are ignored and both formats are accepted
// (QEMU 7.2 instead counts a PI-less namespace as 16b Guard and rejects 1h with Invalid
// Format); overlap, which formats 0h/1h leave undefined, is rejected rather than copied.
//
// Thread safety: as Controller. Fault injection and stats may be used concurrently with I/O.
#pragma once

#include <atomic>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "nvme/backing_store.h"
#include "nvme/controller.h"
#include "nvme/timing_model.h"

namespace f2sc::nvme {

struct EmulatedControllerOptions {
  std::string path;  // image file; empty: a memory namespace of memory_bytes
  uint64_t memory_bytes = 0;
  uint32_t lba_size = 4096;  // 512 or 4096
  // Copy limits, named and defaulted as QEMU's nvme-ns properties.
  uint32_t mssrl = 128;    // blocks per source range, 1..65535
  uint32_t mcl = 128;      // blocks per command, >= 1
  uint32_t msrc = 127;     // source ranges per command, 0's based, 0..255
  bool copy = true;        // false: no Copy command (ONCS bit 8 clear)
  bool read_only = false;  // write protected (NSATTR bit 0): writes, DSM and Copy fail
  uint8_t mdts = 7;        // max data transfer 2^mdts * 4 KiB (0 = no limit)
  unsigned queues = 2;
  unsigned queue_depth = 64;
  unsigned workers_per_queue = 1;
  bool inline_idle = true;  // see above; ignored with a timing model
  bool drain = true;        // image file: large writes start the host's write-back (BackingStore)
  std::optional<TimingOptions> timing;  // off by default
  std::string name;                     // for messages; default "nvme-emu:" + path
};

// Host-interface traffic and commands seen by the controller.
struct ControllerStats {
  uint64_t bytes_to_device = 0;  // Write data, Copy and DSM descriptors
  uint64_t bytes_to_host = 0;    // Read data, Identify data
  uint64_t reads = 0, writes = 0, flushes = 0, write_zeroes = 0, dsm = 0, copies = 0, admin = 0;
  uint64_t copy_ranges = 0;  // source ranges of Copy commands that were fetched
  uint64_t bytes_copied_in_device = 0;
  uint64_t errors = 0;           // completions with a non-success status
  uint64_t max_outstanding = 0;  // most commands inside one queue at once
  uint64_t simulated_ns = 0;     // timing model only
};

class EmulatedController final : public Controller {
 public:
  static Result<std::unique_ptr<EmulatedController>> create(
      const EmulatedControllerOptions& options);
  ~EmulatedController() override;

  const std::string& name() const override { return name_; }
  uint32_t nsid() const override { return 1; }
  unsigned queue_count() const override { return static_cast<unsigned>(queues_.size()); }

  void submit(unsigned queue, const SubmissionEntry& command, std::span<std::byte> data,
              CompletionCallback done) override;
  Result<Completion> admin(const SubmissionEntry& command, std::span<std::byte> data) override;

  std::optional<uint64_t> simulated_ns() const override;

  const EmulatedControllerOptions& options() const { return options_; }
  uint64_t block_count() const { return blocks_; }

  // The next Copy with more than `range` ranges copies ranges [0, range), then completes with
  // `status` and DW0 = range (as a device whose copy failed part way). One shot.
  void inject_copy_fault(uint32_t range, Status status);

  ControllerStats stats() const;
  void reset_stats();

 private:
  struct Queue;
  struct Job;

  EmulatedController(const EmulatedControllerOptions& options, std::unique_ptr<BackingStore> store);
  struct Traffic;

  void serve(Queue& queue);
  // Runs one job's command, counts it, frees its queue slot (or passes it on to the
  // backlog) and calls its callback.
  void run_job(Queue& queue, Job& job);
  Completion run_command(const SubmissionEntry& e, std::span<std::byte> data, Traffic& t);
  Completion read(const SubmissionEntry& e, std::span<std::byte> data, Traffic& t);
  Completion write(const SubmissionEntry& e, std::span<const std::byte> data, Traffic& t);
  Completion write_zeroes(const SubmissionEntry& e);
  Completion dataset_management(const SubmissionEntry& e, std::span<const std::byte> data,
                                Traffic& t);
  Completion copy(const SubmissionEntry& e, std::span<const std::byte> data, Traffic& t);
  Completion flush();
  void fill_identify_controller(IdentifyController& id) const;
  void fill_identify_namespace(IdentifyNamespace& id) const;
  // Does [slba, slba + blocks) lie inside the namespace?
  bool in_range(uint64_t slba, uint64_t blocks) const;

  const EmulatedControllerOptions options_;
  const std::string name_;
  const std::unique_ptr<BackingStore> store_;
  const uint64_t blocks_;
  std::unique_ptr<TimingModel> timing_;
  std::vector<std::unique_ptr<Queue>> queues_;

  std::mutex fault_mu_;
  std::optional<std::pair<uint32_t, Status>> copy_fault_;

  struct Counters;
  std::unique_ptr<Counters> counters_;
};

}  // namespace f2sc::nvme
