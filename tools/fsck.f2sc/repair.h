// fsck.f2sc repair: applies the fixes a check found, in place, as fsck.f2fs does: inode
// fields, footers and dentries in their blocks; NAT and SIT in their current copies (their
// journals flushed into the blocks); SSA entries; then the checkpoint rewritten into its own
// pack with the same version and fresh crcs.
//
// Thread safety: one repair per device at a time.
#pragma once

#include "base/error.h"
#include "blockdev/block_device.h"
#include "tools/fsck.f2sc/checker.h"

namespace f2sc::fsck {

struct RepairOptions {
  bool only_safe = false;  // -p: counts and maps only; never drops dentries or NAT entries
};

// Applies the fixable findings of `r` (which must come from check_image on `dev`). Returns
// how many findings it fixed.
Result<size_t> repair_image(blockdev::BlockDevice& dev, CheckResult& r,
                            const RepairOptions& opts = {});

// True when repair_image would act on `f` under `opts`.
bool is_fixable(const Finding& f, const RepairOptions& opts);

}  // namespace f2sc::fsck
