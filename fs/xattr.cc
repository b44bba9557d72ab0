// Extended attributes in F2FS format (fs/xattr.h). Follows Linux fs/f2fs/xattr.c and
// xattr.h (struct f2fs_xattr_header / f2fs_xattr_entry, __f2fs_setxattr, f2fs_getxattr,
// f2fs_listxattr) and the VFS name rules of fs/xattr.c (xattr_resolve_name, setxattr).
#include "fs/xattr.h"

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace f2sc::fs {

namespace {

constexpr uint32_t kEntryHeader = 4;     // index u8, name length u8, value size le16
constexpr uint32_t kTerminator = 4;      // a zero u32 ends the list
constexpr uint32_t kMaxXattrName = 255;  // XATTR_NAME_MAX, F2FS_NAME_LEN
constexpr uint32_t kMaxValue = 0xFFFF;   // e_value_size is 16 bits (VFS: 65536 at most)

struct Prefix {
  uint8_t index;
  std::string_view text;
  bool exact;  // a whole name (the POSIX ACL handlers), not a prefix
};

// F2FS_XATTR_INDEX_*: 1 user, 2 posix acl access, 3 posix acl default, 4 trusted,
// 6 security. 5 (lustre), 7 (system.advise, kept in i_advise), 9 (encryption) and 11 (verity)
// have no name we accept; such entries are kept but neither listed nor reachable by name.
constexpr Prefix kPrefixes[] = {
    {1, "user.", false},
    {2, "system.posix_acl_access", true},
    {3, "system.posix_acl_default", true},
    {4, "trusted.", false},
    {6, "security.", false},
};

uint32_t align4(uint32_t n) {
  return (n + 3) & ~3u;
}

uint32_t entry_size(size_t name_len, size_t value_len) {
  return align4(kEntryHeader + static_cast<uint32_t>(name_len) + static_cast<uint32_t>(value_len));
}

uint32_t load_le32(const uint8_t* p) {
  return uint32_t{p[0]} | uint32_t{p[1]} << 8 | uint32_t{p[2]} << 16 | uint32_t{p[3]} << 24;
}
void store_le32(uint8_t* p, uint32_t v) {
  for (int i = 0; i < 4; ++i) p[i] = static_cast<uint8_t>(v >> (8 * i));
}

std::vector<Xattr>::iterator find(std::vector<Xattr>& xs, uint8_t index, const std::string& name) {
  return std::find_if(xs.begin(), xs.end(),
                      [&](const Xattr& x) { return x.index == index && x.name == name; });
}

}  // namespace

Result<std::pair<uint8_t, std::string>> split_xattr_name(std::string_view full) {
  // setxattr(2) copies at most XATTR_NAME_MAX bytes: an empty or longer name is ERANGE.
  if (full.empty() || full.size() > kMaxXattrName)
    return fail(Errc::kInvalidArgument, ERANGE,
                "xattr name of " + std::to_string(full.size()) + " bytes (1..255)");
  for (const Prefix& p : kPrefixes) {
    if (p.exact) {
      if (full == p.text) return std::pair<uint8_t, std::string>{p.index, std::string()};
      continue;
    }
    if (full.substr(0, p.text.size()) != p.text) continue;
    if (full.size() == p.text.size())  // xattr_resolve_name: a bare prefix is EINVAL
      return fail(Errc::kInvalidArgument, EINVAL,
                  "xattr name '" + std::string(full) + "' is only a prefix");
    return std::pair<uint8_t, std::string>{p.index, std::string(full.substr(p.text.size()))};
  }
  return fail(Errc::kNotSupported, EOPNOTSUPP,
              "xattr name '" + std::string(full) + "' has no supported prefix");
}

std::string full_xattr_name(const Xattr& x) {
  for (const Prefix& p : kPrefixes)
    if (p.index == x.index) return std::string(p.text) + (p.exact ? std::string() : x.name);
  return {};
}

Result<std::vector<Xattr>> parse_xattrs(std::span<const uint8_t> region) {
  std::vector<Xattr> out;
  if (std::all_of(region.begin(), region.end(), [](uint8_t b) { return b == 0; })) return out;
  if (region.size() < kXattrHeaderSize)
    return fail(Errc::kCorrupt, EUCLEAN,
                "xattr region of " + std::to_string(region.size()) + " bytes has no header");
  const uint32_t magic = load_le32(region.data());
  if (magic != kXattrMagic)
    return fail(Errc::kCorrupt, EUCLEAN,
                "xattr header magic " + std::to_string(magic) + " is not 0xF2F52011");
  size_t off = kXattrHeaderSize;
  // A zero u32 ends the list; Linux may also fill the region to its last byte (its space check
  // does not count the terminator), so the end of the region ends it too.
  while (off + kTerminator <= region.size()) {
    const uint8_t* e = region.data() + off;
    if (load_le32(e) == 0) break;
    const uint8_t index = e[0], name_len = e[1];
    const uint16_t value_size = static_cast<uint16_t>(e[2] | e[3] << 8);
    const uint32_t size = entry_size(name_len, value_size);
    if (off + size > region.size())
      return fail(Errc::kCorrupt, EUCLEAN,
                  "xattr entry at byte " + std::to_string(off) + " (name " +
                      std::to_string(name_len) + " bytes, value " + std::to_string(value_size) +
                      " bytes) runs past the " + std::to_string(region.size()) + "-byte region");
    Xattr x;
    x.index = index;
    x.name.assign(reinterpret_cast<const char*>(e + kEntryHeader), name_len);
    x.value.assign(e + kEntryHeader + name_len, e + kEntryHeader + name_len + value_size);
    out.push_back(std::move(x));
    off += size;
  }
  return out;
}

Result<std::vector<uint8_t>> encode_xattrs(const std::vector<Xattr>& xattrs, uint32_t region_size) {
  uint64_t need = kXattrHeaderSize + kTerminator;
  for (const Xattr& x : xattrs) {
    if (x.name.size() > kMaxXattrName || x.value.size() > kMaxValue)
      return fail(Errc::kInvalidArgument, ERANGE,
                  "xattr '" + full_xattr_name(x) + "' does not fit an entry");
    need += entry_size(x.name.size(), x.value.size());
  }
  // Linux fails a set that does not fit with E2BIG (__f2fs_setxattr); ENOSPC there only means
  // no free nid for the xattr node. We keep the terminator inside the region: Linux's
  // last-entry check (EFSCORRUPTED) trips on a list that runs to the region's end.
  if (need > region_size)
    return fail(Errc::kNoSpace, E2BIG,
                "xattrs need " + std::to_string(need) + " bytes, the region holds " +
                    std::to_string(region_size));
  std::vector<uint8_t> out(region_size, 0);
  store_le32(out.data(), kXattrMagic);
  store_le32(out.data() + 4, 1);  // h_refcount
  size_t off = kXattrHeaderSize;
  for (const Xattr& x : xattrs) {
    uint8_t* e = out.data() + off;
    e[0] = x.index;
    e[1] = static_cast<uint8_t>(x.name.size());
    e[2] = static_cast<uint8_t>(x.value.size() & 0xff);
    e[3] = static_cast<uint8_t>(x.value.size() >> 8);
    std::memcpy(e + kEntryHeader, x.name.data(), x.name.size());
    if (!x.value.empty())
      std::memcpy(e + kEntryHeader + x.name.size(), x.value.data(), x.value.size());
    off += entry_size(x.name.size(), x.value.size());
  }
  return out;
}

Status set_xattr(std::vector<Xattr>& xattrs, std::string_view full_name,
                 std::span<const uint8_t> value, int flags) {
  if (flags & ~(kXattrCreate | kXattrReplace))
    return fail(Errc::kInvalidArgument, EINVAL, "setxattr flags " + std::to_string(flags));
  auto n = split_xattr_name(full_name);
  if (!n) return fail(n.error());
  if (value.size() > kMaxValue)
    return fail(Errc::kInvalidArgument, E2BIG,
                "xattr value of " + std::to_string(value.size()) + " bytes");
  auto it = find(xattrs, n->first, n->second);
  if (it != xattrs.end()) {
    if (flags & kXattrCreate)
      return fail(Errc::kExists, EEXIST, "xattr '" + std::string(full_name) + "' exists");
    if (it->value.size() == value.size() &&
        std::equal(value.begin(), value.end(), it->value.begin()))
      return {};       // the same value: nothing changes (f2fs_xattr_value_same)
    xattrs.erase(it);  // Linux moves the later entries down and appends the new one
  } else if (flags & kXattrReplace) {
    return fail(Errc::kNotFound, ENODATA, "no xattr '" + std::string(full_name) + "'");
  }
  xattrs.push_back(Xattr{n->first, n->second, std::vector<uint8_t>(value.begin(), value.end())});
  return {};
}

Status remove_xattr(std::vector<Xattr>& xattrs, std::string_view full_name) {
  auto n = split_xattr_name(full_name);
  if (!n) return fail(n.error());
  auto it = find(xattrs, n->first, n->second);
  if (it == xattrs.end())
    return fail(Errc::kNotFound, ENODATA, "no xattr '" + std::string(full_name) + "'");
  xattrs.erase(it);
  return {};
}

Result<std::vector<uint8_t>> get_xattr(const std::vector<Xattr>& xattrs,
                                       std::string_view full_name) {
  auto n = split_xattr_name(full_name);
  if (!n) return fail(n.error());
  for (const Xattr& x : xattrs)
    if (x.index == n->first && x.name == n->second) return x.value;
  return fail(Errc::kNotFound, ENODATA, "no xattr '" + std::string(full_name) + "'");
}

std::vector<std::string> list_xattrs(const std::vector<Xattr>& xattrs) {
  std::vector<std::string> out;
  for (const Xattr& x : xattrs) {
    std::string f = full_xattr_name(x);
    if (!f.empty()) out.push_back(std::move(f));  // f2fs_listxattr skips unknown indexes
  }
  return out;
}

}  // namespace f2sc::fs
