// Extended attributes in F2FS format.
//
// An inode's xattrs live in one logical region: the inline xattr area at the end of the
// inode's i_addr array (inline_xattr_slots * 4 bytes; absent when the inode has none)
// followed by the xattr node's payload (the first 4096 - 24 bytes of the node block named by
// i_xattr_nid; absent when that nid is 0). The region starts with a 24-byte header (magic
// 0xF2F52011, refcount 1, reserved), then entries: name index (u8), name length (u8), value
// size (le16), name, value, padded to 4 bytes; a zero u32 ends the list. Name indexes follow
// Linux (1 user, 2 posix acl access, 3 posix acl default, 4 trusted, 6 security, ...); the
// API takes full names ("user.foo") and maps the prefix.
//
// Errors as Linux f2fs and the VFS: ENODATA (absent name), EEXIST (XATTR_CREATE on a present
// name), ENODATA (XATTR_REPLACE on an absent one), ERANGE (a full name empty or over 255
// bytes), EINVAL (a bare prefix such as "user.", or unknown flags), EOPNOTSUPP (an unknown
// prefix; "system.advise" too), E2BIG (a value over 65535 bytes, and, with Errc::kNoSpace, a
// region too small for the list: Linux's __f2fs_setxattr returns E2BIG there; its ENOSPC
// means no free nid for the xattr node, which is the caller's), EUCLEAN/kCorrupt for a bad
// region.
//
// Linux (xattr.c read_all_xattrs / write_all_xattrs) keeps the region as one buffer of
// inline_xattr_size + VALID_XATTR_BLOCK_SIZE (4096 - sizeof(node_footer)) bytes whatever the
// list's size, so an entry may span the inline and node parts; it drops the xattr node
// (f2fs_truncate_xattr_node) when the list ends within the inline part. POSIX ACLs are stored
// by Linux in its compact f2fs_acl format, not the VFS posix_acl_xattr format: the values of
// "system.posix_acl_*" are stored as given, with no conversion.
//
// Thread safety: value types and pure functions.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/error.h"

namespace f2sc::fs {

inline constexpr uint32_t kXattrMagic = 0xF2F52011;
inline constexpr uint32_t kXattrHeaderSize = 24;
// Bytes of the xattr node block that hold xattrs (the footer takes the rest).
inline constexpr uint32_t kXattrNodePayload = 4096 - 24;

struct Xattr {
  uint8_t index = 0;  // name index (1 = user, ...)
  std::string name;   // without the prefix
  std::vector<uint8_t> value;
};

// Full name ("user.foo") <-> (index, suffix).
Result<std::pair<uint8_t, std::string>> split_xattr_name(std::string_view full);
std::string full_xattr_name(const Xattr& x);

// Parses a region (inline part followed by node part). An all-zero region is empty; the list
// ends at a zero u32 or at the region's end.
Result<std::vector<Xattr>> parse_xattrs(std::span<const uint8_t> region);

// Serializes into `region_size` bytes (header, entries, terminator, zero padding).
// kNoSpace (errno E2BIG) when they do not fit with their terminator.
Result<std::vector<uint8_t>> encode_xattrs(const std::vector<Xattr>& xattrs, uint32_t region_size);

// Flags of set_xattr, as setxattr(2).
inline constexpr int kXattrCreate = 1;
inline constexpr int kXattrReplace = 2;

// Edits a parsed list. set_xattr does not check the size (encode_xattrs does).
Status set_xattr(std::vector<Xattr>& xattrs, std::string_view full_name,
                 std::span<const uint8_t> value, int flags);
Status remove_xattr(std::vector<Xattr>& xattrs, std::string_view full_name);
Result<std::vector<uint8_t>> get_xattr(const std::vector<Xattr>& xattrs,
                                       std::string_view full_name);
// Full names in region order.
std::vector<std::string> list_xattrs(const std::vector<Xattr>& xattrs);

}  // namespace f2sc::fs
