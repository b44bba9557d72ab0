// Opening devices by URI, the way every f2sc tool names its device:
//
//   mem:SIZE[?opts]     a MemoryDevice of SIZE bytes (suffixes K, M, G, T: powers of 1024)
//   file:PATH[?opts]    a FileDevice on an image file or block device
//   nvme-emu:PATH[?opts], nvme-emu:mem:SIZE[?opts], nvme:/dev/ngXnY[?opts]
//                       an NvmeDevice (nvme_uri.h lists their options)
//   PATH                a plain path: a regular file opens as nvme-emu:PATH (the embedded
//                       NVMe controller), a /dev/ngXnY char device as nvme:PATH, anything
//                       else (a block device, a missing file) as file:PATH
//
// Options (query string, '&'-separated): bs=BYTES (block size, default 4096), copy=0 (a
// device without copy offload), offload=0 (supported but switched off), direct=1 (file:
// O_DIRECT), ro=1 (file: read-only), workers=N, max_copy_sectors=N, max_copy_nr_ranges=N,
// max_copy_range_sectors=N (hardware copy limits, in blocks). Unknown options are errors.
//
// Thread safety: pure functions.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <string_view>

#include "base/error.h"
#include "blockdev/block_device.h"

namespace f2sc::blockdev {

struct DeviceUri {
  std::string scheme;  // "mem", "file", "nvme-emu", "nvme"
  std::string target;  // size for mem:, path for the others
  std::map<std::string, std::string> options;
  bool plain_path = false;  // given without a scheme; open_device() picks one by file type
};

Result<DeviceUri> parse_device_uri(std::string_view uri);

// parse_device_uri(), then the plain-path rule: the scheme open_device() will really use.
Result<DeviceUri> resolve_device_uri(std::string_view uri);

// Parses "4096", "64K", "16M", "1G", "2T" (optionally with "iB" or "B"), in bytes.
Result<uint64_t> parse_size(std::string_view text);

Result<std::unique_ptr<BlockDevice>> open_device(std::string_view uri);

}  // namespace f2sc::blockdev
