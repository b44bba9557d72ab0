// Is there something on a device that mkfs would destroy? libblkid's answer, as mkfs.f2fs
// asks it: a filesystem of any type, a RAID or LVM member, or a partition table.
//
// Thread safety: a pure function of the device's contents.
#pragma once

#include <optional>
#include <string>

#include "base/error.h"

namespace f2sc::mkfs {

// What `path` (an image file or a block device) holds, as libblkid names it: "a filesystem
// (ext4)", "a partition table (dos)", ...; nullopt when it finds nothing. An error when the path
// cannot be probed (it cannot be opened, or the probe fails to read it).
Result<std::optional<std::string>> existing_signature(const std::string& path);

// The image file or block device that `device_uri` names (a plain path, file:PATH or
// nvme-emu:PATH, options dropped), or nullopt for devices with no such path (mem:, nvme:).
std::optional<std::string> probe_path(const std::string& device_uri);

}  // namespace f2sc::mkfs
