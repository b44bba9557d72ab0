// The kernel's read-ahead for an f2sc-fuse mount.
//
// FUSE asks the daemon for at most the mount's read-ahead window per READ: 128 KiB by
// default, although f2sc-fuse accepts 1 MiB requests. The window is the mount's backing
// device info (/sys/class/bdi/MAJ:MIN/read_ahead_kb), which only root can change. When the
// INIT reply arrives the kernel lowers it to the reply's max_readahead, so the daemon sets
// it after mounting but before serving INIT, and replies with the same value.
//
// Thread safety: plain functions; call them before the request loop starts.
#pragma once

#include <cstdint>
#include <string>

#include "base/error.h"

namespace f2sc::fuse {

// The device number ("MAJ:MIN") of the newest mount at `mountpoint` (an absolute path as
// the kernel shows it), read from `mountinfo` (a /proc/PID/mountinfo text). Nothing
// reaches the mount itself, whose daemon may not serve requests yet.
Result<std::string> mount_device_of(const std::string& mountinfo, const std::string& mountpoint);

// Sets read_ahead_kb of the mount at `mountpoint` (from /proc/self/mountinfo).
Status set_mount_read_ahead(const std::string& mountpoint, uint32_t kb);

}  // namespace f2sc::fuse
