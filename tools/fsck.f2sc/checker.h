// fsck.f2sc checker: one walk over an F2FS image's metadata (superblocks, checkpoint, SIT,
// NAT, SSA) and its node tree from the root, comparing what is reachable against what the
// metadata claims. The walk never writes; it records findings and the facts repair needs.
//
// Memory: a bitmap of main-area blocks, the NAT (9 bytes per nid), the SIT, and the SSA
// blocks of segments that hold reachable blocks, i.e. proportional to the metadata.
//
// Thread safety: a Checker belongs to one thread.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "base/error.h"
#include "blockdev/block_device.h"
#include "segment/checkpoint.h"
#include "segment/format.h"
#include "segment/superblock.h"

namespace f2sc::fsck {

// What repair does for a finding.
enum class Fix {
  kNone,        // reported only
  kSit,         // rewrite the SIT from the reachable bitmap
  kCheckpoint,  // rewrite checkpoint counts
  kNatFree,     // free a NAT entry with no owner
  kNatAddress,  // point a NAT entry at the block the SSA names
  kLinks,       // set i_links
  kIBlocks,     // set i_blocks
  kIExt,        // zero i_ext
  kDentry,      // remove a dangling dentry
  kDentryHash,  // rewrite a dentry hash code
  kFooter,      // rewrite a node footer
  kSuperblock,  // rewrite the bad superblock copy from the good one
  kSsa,         // rewrite an SSA entry to name its owner
};

struct Finding {
  std::string structure;  // "SIT", "NAT", "inode", "dentry", "checkpoint", "SSA", ...
  std::string object;     // "inode 5 (/a/b)", "segment 12", "block 4660", ...
  std::string expected;
  std::string found;
  Fix fix = Fix::kNone;
  bool warning = false;  // does not make the image inconsistent
  // Repair payload.
  uint32_t ino = 0, nid = 0, block = 0, value = 0;
  uint32_t slot = 0, slots = 0;  // dentry slot range
  segment::Summary summary{};    // kSsa: the entry the owner implies
  bool inline_dentry = false;
};

// Everything the walk learned.
struct CheckResult {
  segment::SuperBlockInfo super;
  segment::Checkpoint cp;
  std::vector<segment::SitEntry> sit;                 // as of the checkpoint, journal applied
  std::vector<segment::NatEntry> nat;                 // as of the checkpoint, journal applied
  std::vector<uint8_t> reachable;                     // one bit per main block (MSB-first per byte)
  std::vector<bool> nid_used;                         // nids the tree reaches
  std::unordered_map<uint32_t, uint32_t> inode_addr;  // ino -> node block (reachable inodes)
  uint64_t valid_blocks = 0;  // reachable data and node blocks + NEW_ADDR reservations
  uint32_t valid_nodes = 0, valid_inodes = 0, free_segments = 0;
  std::vector<Finding> findings;
  bool fatal = false;  // superblock or checkpoint unreadable: nothing else was checked

  size_t errors() const;
};

struct CheckOptions {
  bool progress = false;  // progress lines on stderr
};

// Operational errors (the device fails) are the Error; findings go into the result.
Result<CheckResult> check_image(blockdev::BlockDevice& dev, const CheckOptions& opts = {});

// Segment of `addr` and main-area block index helpers.
inline bool test_reachable(const CheckResult& r, uint32_t main_index) {
  return segment::test_bit_msb(r.reachable.data(), main_index);
}

}  // namespace f2sc::fsck
