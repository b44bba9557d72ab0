#include "blockdev/uri.h"

#include <sys/stat.h>

#include <charconv>
#include <optional>

#include "blockdev/file_device.h"
#include "blockdev/memory_device.h"
#include "blockdev/nvme_uri.h"

namespace f2sc::blockdev {

namespace {

Result<uint64_t> parse_uint(std::string_view text, std::string_view what) {
  uint64_t v = 0;
  auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc() || p != text.data() + text.size() || text.empty()) {
    return fail(Errc::kInvalidArgument,
                std::string(what) + ": '" + std::string(text) + "' is not a non-negative integer");
  }
  return v;
}

// Takes option `key` out of `opts` (so that leftovers can be reported as unknown).
Result<std::optional<uint64_t>> take_uint(std::map<std::string, std::string>& opts,
                                          const std::string& key) {
  auto it = opts.find(key);
  if (it == opts.end()) return std::optional<uint64_t>{};
  auto v = parse_uint(it->second, "option " + key);
  opts.erase(it);
  if (!v) return tl::unexpected(v.error());
  return std::optional<uint64_t>{*v};
}

Status reject_unknown(const DeviceUri& uri, const std::map<std::string, std::string>& left) {
  if (left.empty()) return {};
  return fail(Errc::kInvalidArgument,
              "unknown option '" + left.begin()->first + "' for a " + uri.scheme + ": device");
}

struct CommonOptions {
  uint32_t block_size = 4096;
  bool copy_supported = true;
  bool offload_on = true;
  std::optional<uint64_t> workers;
  CopyLimits limits = kDefaultCopyLimits;
};

Result<CommonOptions> take_common(std::map<std::string, std::string>& opts) {
  CommonOptions c;
  auto get = [&](const char* key, auto apply) -> Status {
    auto v = take_uint(opts, key);
    if (!v) return tl::unexpected(v.error());
    if (*v) return apply(**v);
    return {};
  };
  auto within = [](const char* key, uint64_t v, uint64_t lo, uint64_t hi) -> Status {
    if (v < lo || v > hi) {
      return fail(Errc::kInvalidArgument, std::string("option ") + key + "=" + std::to_string(v) +
                                              " must be between " + std::to_string(lo) + " and " +
                                              std::to_string(hi));
    }
    return {};
  };
  Status s = get("bs", [&](uint64_t v) -> Status {
    if (v < 512 || v > 65536 || (v & (v - 1)) != 0) {
      return fail(Errc::kInvalidArgument, "option bs=" + std::to_string(v) +
                                              ": block size must be a power of two in 512..65536");
    }
    c.block_size = static_cast<uint32_t>(v);
    return {};
  });
  if (s)
    s = get("copy", [&](uint64_t v) -> Status {
      c.copy_supported = v != 0;
      return {};
    });
  if (s)
    s = get("offload", [&](uint64_t v) -> Status {
      c.offload_on = v != 0;
      return {};
    });
  if (s)
    s = get("workers", [&](uint64_t v) -> Status {
      c.workers = v;
      return within("workers", v, 0, kMaxDeviceWorkers);
    });
  if (s)
    s = get("max_copy_sectors", [&](uint64_t v) -> Status {
      c.limits.max_copy_sectors = v;
      return within("max_copy_sectors", v, 1, UINT32_MAX);
    });
  if (s)
    s = get("max_copy_nr_ranges", [&](uint64_t v) -> Status {
      c.limits.max_copy_nr_ranges = static_cast<uint32_t>(v);
      return within("max_copy_nr_ranges", v, 1, UINT32_MAX);
    });
  if (s)
    s = get("max_copy_range_sectors", [&](uint64_t v) -> Status {
      c.limits.max_copy_range_sectors = v;
      return within("max_copy_range_sectors", v, 1, UINT32_MAX);
    });
  if (!s) return tl::unexpected(s.error());
  return c;
}

Result<std::unique_ptr<BlockDevice>> finish(std::unique_ptr<BlockDevice> dev,
                                            const CommonOptions& c) {
  if (!c.offload_on) (void)dev->set_copy_offload(false);
  return dev;
}

}  // namespace

Result<uint64_t> parse_size(std::string_view text) {
  std::string_view digits = text;
  uint64_t mult = 1;
  for (std::string_view tail : {"iB", "B"}) {
    if (digits.size() > tail.size() && digits.ends_with(tail) &&
        std::string_view("KMGT").find(digits[digits.size() - tail.size() - 1]) !=
            std::string_view::npos) {
      digits.remove_suffix(tail.size());
      break;
    }
  }
  if (!digits.empty()) {
    switch (digits.back()) {
      case 'k':
      case 'K':
        mult = 1ull << 10;
        break;
      case 'm':
      case 'M':
        mult = 1ull << 20;
        break;
      case 'g':
      case 'G':
        mult = 1ull << 30;
        break;
      case 't':
      case 'T':
        mult = 1ull << 40;
        break;
      default:
        break;
    }
    if (mult != 1) digits.remove_suffix(1);
  }
  auto v = parse_uint(digits, "size '" + std::string(text) + "'");
  if (!v) return v;
  if (*v > UINT64_MAX / mult) {
    return fail(Errc::kInvalidArgument, "size '" + std::string(text) + "' overflows 64 bits");
  }
  return *v * mult;
}

Result<DeviceUri> parse_device_uri(std::string_view uri) {
  DeviceUri out;
  if (uri.empty()) return fail(Errc::kInvalidArgument, "empty device name");
  std::string_view rest = uri;
  const size_t colon = uri.find(':');
  const bool has_scheme =
      colon != std::string_view::npos && uri.substr(0, colon).find('/') == std::string_view::npos;
  if (has_scheme) {
    out.scheme = std::string(uri.substr(0, colon));
    rest = uri.substr(colon + 1);
  } else {
    out.scheme = "file";  // a plain path; open_device() decides by the file type
    out.plain_path = true;
  }
  if (out.scheme != "mem" && out.scheme != "file" && out.scheme != "nvme-emu" &&
      out.scheme != "nvme") {
    return fail(Errc::kInvalidArgument, "unknown device scheme '" + out.scheme + ":' in '" +
                                            std::string(uri) +
                                            "' (known: mem:, file:, nvme-emu:, nvme:)");
  }
  // Only URIs with a scheme carry options: a plain path may contain '?'.
  const size_t q = has_scheme ? rest.find('?') : std::string_view::npos;
  out.target = std::string(rest.substr(0, q));
  if (out.target.empty()) {
    return fail(Errc::kInvalidArgument, "device '" + std::string(uri) + "' names no " +
                                            (out.scheme == "mem" ? "size" : "path"));
  }
  if (q != std::string_view::npos) {
    std::string_view query = rest.substr(q + 1);
    while (!query.empty()) {
      size_t amp = query.find('&');
      std::string_view kv = query.substr(0, amp);
      size_t eq = kv.find('=');
      if (eq == std::string_view::npos || eq == 0) {
        return fail(Errc::kInvalidArgument,
                    "device option '" + std::string(kv) + "' is not of the form key=value");
      }
      out.options[std::string(kv.substr(0, eq))] = std::string(kv.substr(eq + 1));
      query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
    }
  }
  return out;
}

Result<DeviceUri> resolve_device_uri(std::string_view text) {
  auto uri = parse_device_uri(text);
  if (!uri || !uri->plain_path) return uri;
  // A regular file is an image for the embedded NVMe controller; a Linux NVMe generic
  // char device (/dev/ngXnY) is driven through passthrough; the rest stays a file device.
  struct stat st;
  if (stat(uri->target.c_str(), &st) == 0) {
    const std::string base = uri->target.substr(uri->target.rfind('/') + 1);
    if (S_ISREG(st.st_mode)) uri->scheme = "nvme-emu";
    if (S_ISCHR(st.st_mode) && base.starts_with("ng")) uri->scheme = "nvme";
  }
  return uri;
}

Result<std::unique_ptr<BlockDevice>> open_device(std::string_view text) {
  auto uri = resolve_device_uri(text);
  if (!uri) return tl::unexpected(uri.error());
  if (uri->scheme == "nvme-emu" || uri->scheme == "nvme") return open_nvme_uri(*uri);
  auto opts = uri->options;
  auto common = take_common(opts);
  if (!common) return tl::unexpected(common.error());

  if (uri->scheme == "mem") {
    auto bytes = parse_size(uri->target);
    if (!bytes) return tl::unexpected(bytes.error());
    if (auto s = reject_unknown(*uri, opts); !s) return tl::unexpected(s.error());
    if (*bytes == 0 || *bytes % common->block_size != 0) {
      return fail(Errc::kInvalidArgument, "mem: size " + std::to_string(*bytes) +
                                              " is not a positive multiple of the block size " +
                                              std::to_string(common->block_size));
    }
    MemoryDeviceOptions mo;
    mo.block_size = common->block_size;
    mo.block_count = *bytes / common->block_size;
    mo.copy_offload_supported = common->copy_supported;
    mo.hw_copy_limits = common->limits;
    if (common->workers) mo.workers = static_cast<unsigned>(*common->workers);
    mo.name = "mem:" + uri->target;
    auto dev = MemoryDevice::create(mo);
    if (!dev) return tl::unexpected(dev.error());
    return finish(std::move(*dev), *common);
  }

  FileDeviceOptions fo;
  fo.block_size = common->block_size;
  fo.copy_offload_supported = common->copy_supported;
  fo.hw_copy_limits = common->limits;
  if (common->workers) fo.workers = static_cast<unsigned>(*common->workers);
  for (auto [key, flag] : {std::pair{"direct", &fo.direct}, std::pair{"ro", &fo.read_only}}) {
    auto v = take_uint(opts, key);
    if (!v) return tl::unexpected(v.error());
    if (*v) *flag = **v != 0;
  }
  if (auto s = reject_unknown(*uri, opts); !s) return tl::unexpected(s.error());
  auto dev = FileDevice::open(uri->target, fo);
  if (!dev) return tl::unexpected(dev.error());
  return finish(std::move(*dev), *common);
}

}  // namespace f2sc::blockdev
