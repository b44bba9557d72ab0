// Opening NVMe devices by URI (called by open_device(), uri.h):
//
//   nvme-emu:PATH[?opts]      an EmulatedController over the image file PATH (the embedded
//                             default for a plain path to a regular file)
//   nvme-emu:mem:SIZE[?opts]  the same over memory
//   nvme:/dev/ngXnY[?opts]    a PassthruController on a Linux NVMe generic char device
//
// nvme-emu options: lba=512|4096, mssrl=N, mcl=N, msrc=N (0's based), copy=0 (no Copy
// command), offload=0 (supported but switched off), ro=1 (a write-protected namespace on a
// file opened read-only), mdts=N, queues=N, depth=N, workers=N
// (threads per queue), inline=0 (always hand commands to the queue threads; by default a
// command to an idle queue runs on the caller's thread), drain=0 (an image file's large
// writes do not start the host's write-back; see BackingStore::open_file),
// link=pcie3x4|pcie4x4|tcp1g|tcp25g (turns the timing model on),
// copy_mibps=N (device copy bandwidth), latency_us=N, delay=0 (simulate time without
// sleeping). nvme: options: offload=0, queues=N, depth=N, ioctl=1 (skip io_uring).
// Unknown options are errors.
//
// Thread safety: pure functions.
#pragma once

#include <memory>

#include "base/error.h"
#include "blockdev/block_device.h"
#include "blockdev/uri.h"
#include "nvme/emulated_controller.h"

namespace f2sc::blockdev {

// The EmulatedController options a nvme-emu: URI names.
Result<nvme::EmulatedControllerOptions> emulated_controller_options(const DeviceUri& uri);

Result<std::unique_ptr<BlockDevice>> open_nvme_uri(const DeviceUri& uri);

}  // namespace f2sc::blockdev
