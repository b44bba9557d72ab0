// Corruption injector for fsck tests: damages one chosen field of an F2FS image file, the
// way a bug or a torn write would, leaving every checksum valid (a checkpoint it touches is
// re-sealed) so that only the consistency checks can notice.
#pragma once

#include <string>
#include <vector>

#include "base/error.h"

namespace f2sc::fsck::testing {

enum class Damage {
  kSitCount,         // a SIT entry's valid block count, off by one
  kSitBit,           // a valid block's SIT bit cleared (count kept in step)
  kNatAddress,       // a file's inode NAT entry pointing at another node
  kDentry,           // a dentry naming an unallocated inode
  kDentryHash,       // a dentry hash code that is not its name's
  kLinkCount,        // a file's i_links
  kCheckpointCount,  // valid_node_count in the checkpoint
  kSsaEntry,         // ofs_in_node of a data block's summary
  kIExt,             // an extent that disagrees with the block map
  kNodeFooter,       // an inode block's footer ino
};

struct DamageSpec {
  Damage damage;
  const char* name;
  const char* finding;  // text fsck.f2sc -n must print
  // Paths (in the loaded tree) whose data the damage may lose; every other file must read
  // back intact after repair.
  std::vector<std::string> may_lose;
};

const std::vector<DamageSpec>& all_damages();

// Damages `image` (an image file loaded from a tree holding /a, /d1/b, /d1/d2/big and
// /e/victim). Returns a description of what changed.
Result<std::string> inject(const std::string& image, Damage damage);

}  // namespace f2sc::fsck::testing
