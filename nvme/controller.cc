#include "nvme/controller.h"

#include <condition_variable>
#include <cstring>
#include <mutex>
#include <optional>

namespace f2sc::nvme {

Result<Completion> Controller::execute(unsigned queue, const SubmissionEntry& command,
                                       std::span<std::byte> data) {
  std::mutex mu;
  std::condition_variable cv;
  std::optional<Result<Completion>> out;
  submit(queue, command, data, [&](Result<Completion> r) {
    std::lock_guard lock(mu);
    out.emplace(std::move(r));
    cv.notify_one();
  });
  std::unique_lock lock(mu);
  cv.wait(lock, [&] { return out.has_value(); });
  return std::move(*out);
}

namespace {

template <class T>
Result<T> identify(Controller& c, uint8_t cns, uint32_t nsid, const char* what) {
  SubmissionEntry e;
  e.opcode = static_cast<uint8_t>(AdminOpcode::kIdentify);
  e.nsid = nsid;
  e.cdw10 = cns;
  T out;
  std::memset(&out, 0, sizeof out);
  auto r = c.admin(e, std::as_writable_bytes(std::span(&out, 1)));
  if (!r) return tl::unexpected(with_context(r.error(), std::string(what) + " of " + c.name()));
  if (!r->status.ok()) {
    return fail(Errc::kIoError,
                std::string(what) + " of " + c.name() + " failed: " + describe(r->status));
  }
  return out;
}

}  // namespace

Result<IdentifyController> Controller::identify_controller() {
  return identify<IdentifyController>(*this, kCnsController, 0, "Identify Controller");
}

Result<IdentifyNamespace> Controller::identify_namespace() {
  return identify<IdentifyNamespace>(*this, kCnsNamespace, nsid(), "Identify Namespace");
}

}  // namespace f2sc::nvme
