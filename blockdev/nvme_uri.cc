#include "blockdev/nvme_uri.h"

#include <charconv>

#include "blockdev/nvme_device.h"
#include "nvme/passthru_controller.h"

namespace f2sc::blockdev {

namespace {

// Takes option `key` out of `opts` as an integer in [lo, hi].
Result<std::optional<uint64_t>> take(std::map<std::string, std::string>& opts, const char* key,
                                     uint64_t lo, uint64_t hi) {
  auto it = opts.find(key);
  if (it == opts.end()) return std::optional<uint64_t>{};
  const std::string text = it->second;
  opts.erase(it);
  uint64_t v = 0;
  auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc() || p != text.data() + text.size() || text.empty()) {
    return fail(Errc::kInvalidArgument,
                std::string("option ") + key + ": '" + text + "' is not a non-negative integer");
  }
  if (v < lo || v > hi) {
    return fail(Errc::kInvalidArgument, std::string("option ") + key + "=" + text +
                                            " must be between " + std::to_string(lo) + " and " +
                                            std::to_string(hi));
  }
  return std::optional<uint64_t>{v};
}

Status reject_unknown(const DeviceUri& uri, const std::map<std::string, std::string>& left) {
  if (left.empty()) return {};
  return fail(Errc::kInvalidArgument,
              "unknown option '" + left.begin()->first + "' for a " + uri.scheme + ": device");
}

}  // namespace

Result<nvme::EmulatedControllerOptions> emulated_controller_options(const DeviceUri& uri) {
  auto opts = uri.options;
  nvme::EmulatedControllerOptions o;
  if (uri.target.starts_with("mem:")) {
    auto bytes = parse_size(std::string_view(uri.target).substr(4));
    if (!bytes) return tl::unexpected(bytes.error());
    o.memory_bytes = *bytes;
  } else {
    o.path = uri.target;
  }
  o.name = "nvme-emu:" + uri.target;
  std::optional<nvme::TimingOptions> timing;
  struct Knob {
    const char* key;
    uint64_t lo, hi;
    std::function<void(uint64_t)> set;
  };
  const Knob knobs[] = {
      {"lba", 512, 4096, [&](uint64_t v) { o.lba_size = static_cast<uint32_t>(v); }},
      {"mssrl", 1, 65535, [&](uint64_t v) { o.mssrl = static_cast<uint32_t>(v); }},
      {"mcl", 1, UINT32_MAX, [&](uint64_t v) { o.mcl = static_cast<uint32_t>(v); }},
      {"msrc", 0, 255, [&](uint64_t v) { o.msrc = static_cast<uint32_t>(v); }},
      {"copy", 0, 1, [&](uint64_t v) { o.copy = v != 0; }},
      {"ro", 0, 1, [&](uint64_t v) { o.read_only = v != 0; }},
      {"mdts", 0, 16, [&](uint64_t v) { o.mdts = static_cast<uint8_t>(v); }},
      {"queues", 1, 64, [&](uint64_t v) { o.queues = static_cast<unsigned>(v); }},
      {"depth", 1, 65535, [&](uint64_t v) { o.queue_depth = static_cast<unsigned>(v); }},
      {"workers", 1, 64, [&](uint64_t v) { o.workers_per_queue = static_cast<unsigned>(v); }},
      {"inline", 0, 1, [&](uint64_t v) { o.inline_idle = v != 0; }},
      {"drain", 0, 1, [&](uint64_t v) { o.drain = v != 0; }},
  };
  for (const Knob& k : knobs) {
    auto v = take(opts, k.key, k.lo, k.hi);
    if (!v) return tl::unexpected(v.error());
    if (*v) k.set(**v);
  }
  if (auto it = opts.find("link"); it != opts.end()) {
    auto preset = nvme::link_preset(it->second);
    if (!preset) return tl::unexpected(preset.error());
    timing = *preset;
    opts.erase(it);
  }
  const Knob timing_knobs[] = {
      {"copy_mibps", 1, 1u << 30,
       [&](uint64_t v) { timing->copy_bytes_per_sec = static_cast<double>(v) * 1048576.0; }},
      {"latency_us", 0, 10'000'000, [&](uint64_t v) { timing->latency_ns = v * 1000; }},
      {"delay", 0, 1, [&](uint64_t v) { timing->delay_completions = v != 0; }},
  };
  for (const Knob& k : timing_knobs) {
    auto v = take(opts, k.key, k.lo, k.hi);
    if (!v) return tl::unexpected(v.error());
    if (!*v) continue;
    if (!timing) {
      return fail(Errc::kInvalidArgument,
                  std::string("option ") + k.key + " needs link=... (the timing model)");
    }
    k.set(**v);
  }
  o.timing = timing;
  opts.erase("offload");  // handled by open_nvme_uri
  if (auto s = reject_unknown(uri, opts); !s) return tl::unexpected(s.error());
  return o;
}

Result<std::unique_ptr<BlockDevice>> open_nvme_uri(const DeviceUri& uri) {
  auto opts = uri.options;
  auto offload = take(opts, "offload", 0, 1);
  if (!offload) return tl::unexpected(offload.error());
  std::unique_ptr<nvme::Controller> controller;
  if (uri.scheme == "nvme-emu") {
    auto o = emulated_controller_options(uri);
    if (!o) return tl::unexpected(o.error());
    auto c = nvme::EmulatedController::create(*o);
    if (!c) return tl::unexpected(c.error());
    controller = std::move(*c);
  } else if (uri.scheme == "nvme") {
    nvme::PassthruOptions po;
    const struct {
      const char* key;
      uint64_t lo, hi;
      std::function<void(uint64_t)> set;
    } knobs[] = {
        {"queues", 1, 64, [&](uint64_t v) { po.queues = static_cast<unsigned>(v); }},
        {"depth", 1, 4096, [&](uint64_t v) { po.queue_depth = static_cast<unsigned>(v); }},
        {"ioctl", 0, 1, [&](uint64_t v) { po.force_ioctl = v != 0; }},
    };
    for (const auto& k : knobs) {
      auto v = take(opts, k.key, k.lo, k.hi);
      if (!v) return tl::unexpected(v.error());
      if (*v) k.set(**v);
    }
    if (auto s = reject_unknown(uri, opts); !s) return tl::unexpected(s.error());
    auto c = nvme::PassthruController::open(uri.target, po);
    if (!c) return tl::unexpected(c.error());
    controller = std::move(*c);
  } else {
    return fail(Errc::kInvalidArgument, "not an NVMe device URI: " + uri.scheme + ":");
  }
  auto dev = NvmeDevice::open(std::move(controller));
  if (!dev) return tl::unexpected(dev.error());
  if (*offload && **offload == 0) (void)(*dev)->set_copy_offload(false);
  return std::unique_ptr<BlockDevice>(std::move(*dev));
}

}  // namespace f2sc::blockdev
