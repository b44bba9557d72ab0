#include "blockdev/nvme_device.h"

#include <algorithm>
#include <cstring>
#include <mutex>

namespace f2sc::blockdev {

using nvme::Completion;
using nvme::IoOpcode;
using nvme::SubmissionEntry;

std::vector<NvmeCopyCommand> split_nvme_copy(const CopyCommand& command, const CopyLimits& limits) {
  const uint64_t max_range =
      std::clamp<uint64_t>(limits.max_copy_range_sectors, 1, nvme::kMaxBlocksPerRange);
  const uint64_t max_ranges =
      std::clamp<uint64_t>(limits.max_copy_nr_ranges, 1, nvme::kMaxCopyRanges);
  const uint64_t max_total = std::max<uint64_t>(limits.max_copy_sectors, 1);
  std::vector<NvmeCopyCommand> out;
  uint64_t dst = command.dst;
  uint64_t total = 0;
  for (size_t i = 0; i < command.sources.size(); ++i) {
    uint64_t lba = command.sources[i].lba;
    uint64_t left = command.sources[i].blocks;
    while (left > 0) {
      if (out.empty() || out.back().pieces.size() == max_ranges || total == max_total) {
        out.push_back(NvmeCopyCommand{dst, {}});
        total = 0;
      }
      const uint64_t n = std::min({left, max_range, max_total - total});
      out.back().pieces.push_back({lba, static_cast<uint32_t>(n), static_cast<uint32_t>(i)});
      total += n;
      dst += n;
      lba += n;
      left -= n;
    }
  }
  return out;
}

namespace {

// Collects the completions of the commands one request became; reports the first error.
struct Gather {
  explicit Gather(size_t n, IoCallback cb) : pending(n), done(std::move(cb)) {}
  void complete(Status s) {
    {
      std::lock_guard lock(mu);
      if (!s && status) status = std::move(s);
      if (--pending > 0) return;
    }
    done(std::move(status));
  }
  std::mutex mu;
  size_t pending;
  Status status;
  IoCallback done;
};

}  // namespace

struct NvmeDevice::CopyJob {
  std::vector<NvmeCopyCommand> commands;
  size_t next = 0;
  uint32_t sources = 0;
  std::vector<std::byte> descriptors;  // the Copy in flight's Source Range entries
  CopyCommandCallback done;
};

Result<std::unique_ptr<NvmeDevice>> NvmeDevice::open(std::unique_ptr<nvme::Controller> controller,
                                                     std::string name) {
  if (name.empty()) name = controller->name();
  auto ctrl = controller->identify_controller();
  if (!ctrl) return tl::unexpected(ctrl.error());
  auto ns = controller->identify_namespace();
  if (!ns) return tl::unexpected(ns.error());
  const uint32_t bs = nvme::block_size_of(*ns);
  if (bs < 512 || bs > 65536) {
    return fail(Errc::kNotSupported,
                name + ": unsupported LBA format (block size " + std::to_string(bs) + ")");
  }
  if (ns->nsze == 0) return fail(Errc::kInvalidArgument, name + ": the namespace is empty");
  const bool write_protected = (ns->nsattr & 1) != 0;
  const bool copy_supported = !write_protected && (ctrl->oncs & nvme::kOncsCopy) != 0 &&
                              (ctrl->ocfs & nvme::kOcfsFormat0) != 0 && ns->mssrl != 0 &&
                              ns->mcl != 0;
  CopyLimits limits{1, 1, 1};  // unused without offload
  if (copy_supported) {
    limits.max_copy_sectors = ns->mcl;
    limits.max_copy_nr_ranges = uint32_t{ns->msrc} + 1;
    limits.max_copy_range_sectors = ns->mssrl;
  }
  return std::unique_ptr<NvmeDevice>(
      new NvmeDevice(std::move(name), std::move(controller), *ctrl, *ns, copy_supported, limits));
}

NvmeDevice::NvmeDevice(std::string name, std::unique_ptr<nvme::Controller> controller,
                       const nvme::IdentifyController& ctrl, const nvme::IdentifyNamespace& ns,
                       bool copy_supported, CopyLimits limits)
    : BlockDevice(std::move(name), nvme::block_size_of(ns), ns.nsze, copy_supported, limits),
      controller_(std::move(controller)),
      id_ctrl_(ctrl),
      id_ns_(ns),
      max_transfer_blocks_(static_cast<uint32_t>(std::min<uint64_t>(
          nvme::kMaxBlocksPerIo,
          ctrl.mdts == 0
              ? nvme::kMaxBlocksPerIo
              : std::max<uint64_t>(1, (uint64_t{4096} << std::min<uint8_t>(ctrl.mdts, 20)) /
                                          nvme::block_size_of(ns))))) {}

NvmeDevice::~NvmeDevice() {
  stop_workers();  // no copy job may call into the controller once it goes
  controller_.reset();
}

Error NvmeDevice::command_error(const char* what, uint64_t lba, const Result<Completion>& r) const {
  const std::string where =
      std::string("NVMe ") + what + " at block " + std::to_string(lba) + " on " + name();
  if (!r) return with_context(r.error(), where);
  const nvme::Status& s = r->status;
  Errc code = Errc::kIoError;
  if (s.sct == 0 && s.sc == nvme::kScLbaOutOfRange) code = Errc::kOutOfRange;
  if (s.sct == 0 && (s.sc == nvme::kScInvalidField || s.sc == nvme::kScInvalidOpcode)) {
    code = Errc::kInvalidArgument;
  }
  if (s.sct == 1 && s.sc == nvme::kScCommandSizeLimitExceeded) code = Errc::kInvalidArgument;
  if (s.sct == 0 && s.sc == nvme::kScNamespaceWriteProtected) code = Errc::kReadOnly;
  return make_error(code, where + ": " + nvme::describe(s) + ", DW0 " + std::to_string(r->dw0));
}

void NvmeDevice::transfer(IoOpcode op, uint64_t lba, std::span<std::byte> buf, IoCallback done) {
  const uint32_t bs = block_size();
  const uint64_t blocks = buf.size() / bs;
  const size_t pieces = (blocks + max_transfer_blocks_ - 1) / max_transfer_blocks_;
  auto gather = std::make_shared<Gather>(pieces, std::move(done));
  const char* what = op == IoOpcode::kRead ? "Read" : "Write";
  for (uint64_t at = 0; at < blocks; at += max_transfer_blocks_) {
    const uint32_t n = static_cast<uint32_t>(std::min<uint64_t>(max_transfer_blocks_, blocks - at));
    SubmissionEntry e = nvme::make_rw(op, controller_->nsid(), lba + at, n);
    controller_->submit(next_queue(), e, buf.subspan(at * bs, uint64_t{n} * bs),
                        [this, gather, what, at = lba + at](Result<Completion> r) {
                          if (r && r->status.ok()) return gather->complete({});
                          gather->complete(tl::unexpected(command_error(what, at, r)));
                        });
  }
}

void NvmeDevice::do_read_async(uint64_t lba, std::span<std::byte> buf, IoCallback done) {
  transfer(IoOpcode::kRead, lba, buf, std::move(done));
}

void NvmeDevice::do_write_async(uint64_t lba, std::span<const std::byte> buf, IoCallback done) {
  // The controller only reads a Write's buffer.
  std::span<std::byte> data(const_cast<std::byte*>(buf.data()), buf.size());
  transfer(IoOpcode::kWrite, lba, data, std::move(done));
}

void NvmeDevice::do_flush_async(IoCallback done) {
  SubmissionEntry e;
  e.opcode = static_cast<uint8_t>(IoOpcode::kFlush);
  e.nsid = controller_->nsid();
  controller_->submit(next_queue(), e, {}, [this, done = std::move(done)](Result<Completion> r) {
    if (r && r->status.ok()) return done({});
    done(tl::unexpected(command_error("Flush", 0, r)));
  });
}

void NvmeDevice::do_discard_async(uint64_t lba, uint64_t blocks, IoCallback done) {
  // Dataset Management: up to 256 ranges of up to 2^32-1 blocks per command.
  constexpr uint64_t kMaxRange = 0xffffffffu;
  std::vector<std::shared_ptr<std::vector<nvme::DsmRange>>> commands;
  for (uint64_t at = 0; at < blocks;) {
    if (commands.empty() || commands.back()->size() == 256) {
      commands.push_back(std::make_shared<std::vector<nvme::DsmRange>>());
    }
    const uint64_t n = std::min(kMaxRange, blocks - at);
    commands.back()->push_back({0, static_cast<uint32_t>(n), lba + at});
    at += n;
  }
  auto gather = std::make_shared<Gather>(commands.size(), std::move(done));
  for (auto& ranges : commands) {
    SubmissionEntry e;
    e.opcode = static_cast<uint8_t>(IoOpcode::kDatasetManagement);
    e.nsid = controller_->nsid();
    e.cdw10 = static_cast<uint32_t>(ranges->size() - 1);
    e.cdw11 = nvme::kDsmDeallocate;
    auto bytes = std::as_writable_bytes(std::span(*ranges));
    const uint64_t first = ranges->front().slba;
    controller_->submit(
        next_queue(), e, bytes, [this, gather, ranges, first](Result<Completion> r) {
          if (r && r->status.ok()) return gather->complete({});
          gather->complete(tl::unexpected(command_error("Dataset Management", first, r)));
        });
  }
}

void NvmeDevice::do_copy_async(const CopyCommand& command, CopyCommandCallback done) {
  auto job = std::make_shared<CopyJob>();
  job->commands = split_nvme_copy(command, limits().hw_copy);
  job->sources = static_cast<uint32_t>(command.sources.size());
  job->done = std::move(done);
  submit_copy(std::move(job));
}

// Sends the job's next Copy; the commands run one after another so that a failure's DW0
// maps to one well-defined range of the caller's command.
void NvmeDevice::submit_copy(std::shared_ptr<CopyJob> job) {
  const NvmeCopyCommand& cmd = job->commands[job->next];
  boost::container::small_vector<nvme::CopySource, 16> sources;
  for (const auto& piece : cmd.pieces) {
    sources.push_back({piece.lba, static_cast<uint32_t>(piece.blocks)});
  }
  job->descriptors = nvme::encode_source_ranges({sources.data(), sources.size()}, 0);
  nvme::CopyFields f;
  f.sdlba = cmd.sdlba;
  f.nr = static_cast<uint8_t>(cmd.pieces.size() - 1);
  f.desfmt = 0;
  SubmissionEntry e;
  f.encode(e);
  e.nsid = controller_->nsid();
  controller_->submit(next_queue(), e, job->descriptors, [this, job](Result<Completion> r) {
    const NvmeCopyCommand& c = job->commands[job->next];
    if (r && r->status.ok()) {
      if (++job->next == job->commands.size()) return job->done({{}, job->sources});
      return submit_copy(job);
    }
    // DW0 = the first entry not copied; anything else (or a transport error) means we know
    // nothing about this command, so the caller redoes it from its first entry.
    const size_t failed = r && r->dw0 < c.pieces.size() ? r->dw0 : 0;
    job->done({tl::unexpected(command_error("Copy", c.sdlba, r)), c.pieces[failed].source_index});
  });
}

}  // namespace f2sc::blockdev
