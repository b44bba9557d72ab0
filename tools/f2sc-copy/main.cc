// f2sc-copy: copy source ranges of a device to one destination, with device copy offload
// where the device supports it and read+write emulation otherwise; the user-space
// counterpart of the Linux copy-offload series' copy ioctl.
//
// Exit status: 0 copied; 1 the device failed the copy; 2 bad usage or a bad request (nothing
// is written).
#include <charconv>
#include <cstdio>
#include <iostream>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "blockdev/copy_engine.h"
#include "blockdev/uri.h"

namespace {

using f2sc::blockdev::CopyRange;
using f2sc::blockdev::CopyRequest;

constexpr int kExitFailed = 1;
constexpr int kExitUsage = 2;

// A block number or count: decimal digits only (no sign, no octal or hex surprises).
bool parse_blocks(std::string_view text, uint64_t* out) {
  if (text.empty()) return false;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), *out, 10);
  return ec == std::errc() && end == text.data() + text.size();
}

// "SRC:LEN" in blocks.
bool parse_range(const std::string& text, CopyRange* out, std::string* why) {
  size_t colon = text.find(':');
  if (colon == std::string::npos) {
    *why = "range '" + text + "' is not of the form SRC:LEN";
    return false;
  }
  if (!parse_blocks(std::string_view(text).substr(0, colon), &out->lba) ||
      !parse_blocks(std::string_view(text).substr(colon + 1), &out->blocks)) {
    *why = "range '" + text + "': SRC and LEN must be decimal block numbers";
    return false;
  }
  return true;
}

// Adds the block size option of the device's scheme to a device name: bs= for mem: and file:,
// lba= for nvme-emu: (what a plain path to an image opens as). nvme: devices have theirs.
f2sc::Result<std::string> with_block_size(const std::string& device, uint32_t bs) {
  auto uri = f2sc::blockdev::resolve_device_uri(device);
  if (!uri) return tl::unexpected(uri.error());
  if (uri->scheme == "nvme") {
    return f2sc::fail(f2sc::Errc::kInvalidArgument,
                      "--block-size does not apply to nvme: devices (the namespace's LBA "
                      "format decides)");
  }
  const std::string key = uri->scheme == "nvme-emu" ? "lba" : "bs";
  std::string out = uri->plain_path ? uri->scheme + ":" + device : device;
  out += out.find('?') == std::string::npos ? "?" : "&";
  return out + key + "=" + std::to_string(bs);
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{
      "Copy source ranges of a device to one destination, back to back, like NVMe Copy.\n"
      "Offloaded to the device when it supports copy offload (data stays inside the device),\n"
      "emulated with read+write otherwise or with --emulate. Addresses and lengths are in\n"
      "device blocks.",
      "f2sc-copy"};
  app.footer(
      "Exit status: 0 copied; 1 the device failed the copy; 2 bad usage or a bad request\n"
      "(nothing is written).");
  std::string device;
  std::string dst_text;
  std::vector<std::string> range_texts;
  bool emulate = false, json = false;
  uint32_t block_size = 0;
  unsigned queue_depth = 0;
  std::string buffer_text;
  app.add_option("DEVICE", device,
                 "an image path (opens the embedded NVMe controller), nvme-emu:PATH, "
                 "nvme:/dev/ngXnY, file:PATH, or mem:SIZE; options after '?' (README 'Devices')")
      ->required();
  app.add_option("--dst", dst_text, "destination block (decimal)")->required();
  app.add_option("--range", range_texts,
                 "a source range SRC:LEN (decimal blocks); repeat for more, copied in order")
      ->required();
  app.add_flag("--emulate", emulate, "force read+write emulation (as the device option offload=0)");
  app.add_option("--block-size", block_size,
                 "block size in bytes of an image file: 512 or 4096 (default 4096)");
  app.add_option("--queue-depth", queue_depth, "commands in flight (default 8)");
  app.add_option("--buffer", buffer_text,
                 "emulation buffer per chunk in flight, e.g. 1M (default 1M)");
  app.add_flag("--json", json, "print the result as JSON");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : kExitUsage;
  }

  auto error = [&](const std::string& message, int code) {
    if (json) {
      std::cout << nlohmann::json{{"ok", false}, {"error", message}}.dump(2) << "\n";
    } else {
      std::cerr << "f2sc-copy: " << message << "\n";
    }
    return code;
  };

  CopyRequest request;
  if (!parse_blocks(dst_text, &request.dst)) {
    return error("--dst '" + dst_text + "' is not a decimal block number", kExitUsage);
  }
  for (const std::string& t : range_texts) {
    CopyRange r;
    std::string why;
    if (!parse_range(t, &r, &why)) return error(why, kExitUsage);
    request.sources.push_back(r);
  }

  if (block_size) {
    auto named = with_block_size(device, block_size);
    if (!named) return error(named.error().message, kExitUsage);
    device = *named;
  }
  auto dev = f2sc::blockdev::open_device(device);
  if (!dev) {
    // A name we cannot use is a usage error; a device that fails to come up is not.
    const auto code = dev.error().code;
    const bool usage = code == f2sc::Errc::kInvalidArgument || code == f2sc::Errc::kNotFound;
    return error(dev.error().message, usage ? kExitUsage : kExitFailed);
  }
  auto& d = **dev;
  if (emulate) (void)d.set_copy_offload(false);
  if (queue_depth || !buffer_text.empty()) {
    auto opts = d.copy_engine().options();
    if (queue_depth) opts.queue_depth = queue_depth;
    if (!buffer_text.empty()) {
      auto bytes = f2sc::blockdev::parse_size(buffer_text);
      if (!bytes) return error("--buffer: " + bytes.error().message, kExitUsage);
      opts.emulation_buffer_bytes = *bytes;
    }
    if (auto s = d.copy_engine().set_options(opts); !s) return error(s.error().message, kExitUsage);
  }

  // A bad request is refused here, before anything is written.
  if (auto s = f2sc::blockdev::validate_copy(request, d.block_count()); !s) {
    return error("bad request: " + s.error().message, kExitUsage);
  }
  auto before = d.stats();
  auto result = d.copy(request);
  if (result) {
    if (auto s = d.flush(); !s) result = tl::unexpected(s.error());
  }
  if (!result) return error("copy failed: " + result.error().message, kExitFailed);
  auto traffic = d.stats() - before;
  const auto limits = d.limits();
  const uint64_t bs = d.block_size();
  const char* path = result->blocks_emulated == 0    ? "offload"
                     : result->blocks_offloaded == 0 ? "emulation"
                                                     : "offload+emulation";
  if (json) {
    nlohmann::json j = {{"ok", true},
                        {"device", d.name()},
                        {"block_size", bs},
                        {"dst", request.dst},
                        {"blocks_copied", result->blocks_copied},
                        {"path", path},
                        {"blocks_offloaded", result->blocks_offloaded},
                        {"blocks_emulated", result->blocks_emulated},
                        {"copy_commands", result->copy_commands},
                        {"copy_ranges", result->copy_ranges},
                        {"max_ranges_per_command", result->max_ranges_per_command},
                        {"failed_commands", result->failed_commands},
                        {"emulation_reads", result->emulation_reads},
                        {"emulation_writes", result->emulation_writes},
                        {"emulation_reason", result->emulation_reason},
                        {"host_bytes",
                         {{"read", traffic.bytes_read},
                          {"written", traffic.bytes_written},
                          {"copy_descriptors", traffic.copy_descriptor_bytes},
                          {"total", traffic.host_bytes()}}},
                        {"limits",
                         {{"copy_offload", limits.copy_offload},
                          {"copy_offload_supported", limits.copy_offload_supported},
                          {"max_copy_sectors", limits.copy.max_copy_sectors},
                          {"max_copy_nr_ranges", limits.copy.max_copy_nr_ranges},
                          {"max_copy_range_sectors", limits.copy.max_copy_range_sectors}}}};
    std::cout << j.dump(2) << "\n";
    return 0;
  }
  std::printf("copied %llu blocks (%.2f MiB) to block %llu of %s\n",
              static_cast<unsigned long long>(result->blocks_copied),
              static_cast<double>(result->blocks_copied * bs) / (1 << 20),
              static_cast<unsigned long long>(request.dst), d.name().c_str());
  std::printf("  path          %s%s%s\n", path, result->emulation_reason.empty() ? "" : ": ",
              result->emulation_reason.c_str());
  std::printf(
      "  offloaded     %llu blocks in %llu commands (%llu ranges, at most %llu per command)\n",
      static_cast<unsigned long long>(result->blocks_offloaded),
      static_cast<unsigned long long>(result->copy_commands),
      static_cast<unsigned long long>(result->copy_ranges),
      static_cast<unsigned long long>(result->max_ranges_per_command));
  std::printf("  emulated      %llu blocks (%llu reads, %llu writes)\n",
              static_cast<unsigned long long>(result->blocks_emulated),
              static_cast<unsigned long long>(result->emulation_reads),
              static_cast<unsigned long long>(result->emulation_writes));
  std::printf("  host bytes    %llu (read %llu, written %llu, copy descriptors %llu)\n",
              static_cast<unsigned long long>(traffic.host_bytes()),
              static_cast<unsigned long long>(traffic.bytes_read),
              static_cast<unsigned long long>(traffic.bytes_written),
              static_cast<unsigned long long>(traffic.copy_descriptor_bytes));
  return 0;
}
