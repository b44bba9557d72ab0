#include "fs/inode.h"

#include <sys/sysmacros.h>

#include <string>

namespace f2sc::fs {

namespace {

Error bad(uint32_t ino, const std::string& what) {
  return make_error(Errc::kCorrupt, "inode " + std::to_string(ino) + ": " + what);
}

bool valid_type(uint16_t mode) {
  switch (mode & S_IFMT) {
    case S_IFREG:
    case S_IFDIR:
    case S_IFLNK:
    case S_IFCHR:
    case S_IFBLK:
    case S_IFIFO:
    case S_IFSOCK:
      return true;
    default:
      return false;
  }
}

}  // namespace

uint8_t file_type_of_mode(uint16_t mode) {
  switch (mode & S_IFMT) {
    case S_IFREG:
      return 1;
    case S_IFDIR:
      return 2;
    case S_IFCHR:
      return 3;
    case S_IFBLK:
      return 4;
    case S_IFIFO:
      return 5;
    case S_IFSOCK:
      return 6;
    case S_IFLNK:
      return 7;
    default:
      return 0;
  }
}

Result<InodeView> parse_inode(const segment::NodeBlock& node, uint32_t ino, uint32_t features) {
  InodeView v;
  v.node = node;
  const segment::Inode& i = node.i;
  InodeAttr& a = v.attr;
  a.ino = ino;
  a.mode = i.i_mode;
  a.uid = i.i_uid;
  a.gid = i.i_gid;
  a.links = i.i_links;
  a.size = i.i_size;
  a.blocks = i.i_blocks;
  a.atime = {static_cast<int64_t>(i.i_atime), i.i_atime_nsec};
  a.ctime = {static_cast<int64_t>(i.i_ctime), i.i_ctime_nsec};
  a.mtime = {static_cast<int64_t>(i.i_mtime), i.i_mtime_nsec};
  a.generation = i.i_generation;
  a.flags = i.i_flags;
  a.inline_flags = i.i_inline;
  a.current_depth = i.i_current_depth;
  a.dir_level = i.i_dir_level;
  a.xattr_nid = i.i_xattr_nid;
  a.pino = i.i_pino;

  if (!valid_type(a.mode))
    return fail(bad(ino, "i_mode = " + std::to_string(a.mode) + " is not a file type"));
  for (auto [name, ns] : {std::pair{"i_atime_nsec", a.atime.nsec},
                          {"i_ctime_nsec", a.ctime.nsec},
                          {"i_mtime_nsec", a.mtime.nsec}})
    if (ns >= 1000000000u)
      return fail(bad(ino, std::string(name) + " = " + std::to_string(ns) + " not below 1e9"));
  if (a.size > (uint64_t{1} << 62))
    return fail(bad(ino, "i_size = " + std::to_string(a.size) + " is absurd"));

  // Extra attributes: i_addr[0] begins with i_extra_isize (u16), i_inline_xattr_size (u16).
  uint16_t extra_isize = 0, inline_xattr_size = 0;
  if (a.inline_flags & kExtraAttr) {
    if (!(features & kFeatureExtraAttr))
      return fail(bad(ino, "F2FS_EXTRA_ATTR set but the superblock lacks extra_attr"));
    extra_isize = static_cast<uint16_t>(i.i_addr[0] & 0xffff);
    inline_xattr_size = static_cast<uint16_t>(i.i_addr[0] >> 16);
    if (extra_isize % 4 != 0 || extra_isize < 4 || extra_isize > 4 * 64)
      return fail(bad(ino, "i_extra_isize = " + std::to_string(extra_isize) +
                               " not a multiple of 4 in 4..256"));
    v.extra_slots = extra_isize / 4;
  }
  // As Linux reads it: with flexible_inline_xattr every inode carries its own size (the
  // feature requires extra attributes); otherwise inline xattrs or an inline dentry reserve
  // the default 50 slots.
  if (features & kFeatureFlexibleInlineXattr) {
    if (!(a.inline_flags & kExtraAttr))
      return fail(bad(ino, "flexible_inline_xattr feature but F2FS_EXTRA_ATTR is clear"));
    if ((a.inline_flags & kInlineXattr) && inline_xattr_size == 0)
      return fail(bad(ino, "F2FS_INLINE_XATTR set but i_inline_xattr_size = 0"));
    v.inline_xattr_slots = inline_xattr_size;
  } else if (a.inline_flags & (kInlineXattr | kInlineDentry)) {
    v.inline_xattr_slots = kDefaultInlineXattrAddrs;
  }
  if (v.extra_slots + v.inline_xattr_slots + kInlineReservedSlots >= segment::kAddrsPerInode)
    return fail(bad(ino, "i_extra_isize = " + std::to_string(extra_isize) +
                             " and inline xattr slots = " + std::to_string(v.inline_xattr_slots) +
                             " leave no data addresses"));
  v.addrs_per_inode = segment::kAddrsPerInode - v.extra_slots - v.inline_xattr_slots;
  if (S_ISCHR(a.mode) || S_ISBLK(a.mode)) {
    // As Linux stores it in the first data addresses: the old 8:8 encoding when it is not
    // zero, else the new one (major 12 bits, minor 20 bits split around it).
    const uint32_t old_dev = i.i_addr[v.extra_slots], new_dev = i.i_addr[v.extra_slots + 1];
    if (old_dev)
      a.rdev = makedev((old_dev >> 8) & 0xff, old_dev & 0xff);
    else
      a.rdev = makedev((new_dev & 0xfff00) >> 8, (new_dev & 0xff) | ((new_dev >> 12) & 0xfff00));
  }

  if ((a.inline_flags & kInlineData) && !S_ISREG(a.mode) && !S_ISLNK(a.mode))
    return fail(bad(ino, "F2FS_INLINE_DATA on a file of mode " + std::to_string(a.mode)));
  if ((a.inline_flags & kInlineDentry) && !S_ISDIR(a.mode))
    return fail(
        bad(ino, "F2FS_INLINE_DENTRY on a non-directory of mode " + std::to_string(a.mode)));
  if ((a.inline_flags & kInlineData) && (a.inline_flags & kInlineDentry))
    return fail(bad(ino, "both F2FS_INLINE_DATA and F2FS_INLINE_DENTRY are set"));
  if ((a.inline_flags & kInlineData) && a.size > v.max_inline())
    return fail(bad(ino, "inline data but i_size = " + std::to_string(a.size) + " exceeds " +
                             std::to_string(v.max_inline()) + " inline bytes"));
  return v;
}

}  // namespace f2sc::fs
