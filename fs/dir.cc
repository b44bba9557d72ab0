#include "fs/dir.h"

#include <cstring>

#include "fs/data.h"
#include "fs/dentry_hash.h"

namespace f2sc::fs {

using segment::DirEntry;
using segment::kBlockSize;
using segment::kDentrySlots;
using segment::kNullAddr;
using segment::kSlotLen;

namespace {

constexpr uint32_t kHalfDepth = kMaxDirHashDepth / 2;  // 31: where the table stops doubling
constexpr uint32_t kMaxFileType = 7;

uint32_t slots_for(uint32_t name_len) {
  return (name_len + kSlotLen - 1) / kSlotLen;
}

std::string dir_str(const InodeView& dir) {
  return "directory inode " + std::to_string(dir.attr.ino);
}

Status check_dir(const InodeView& dir) {
  if (!dir.is_dir())
    return fail(Errc::kInvalidArgument, ENOTDIR,
                "inode " + std::to_string(dir.attr.ino) + " is not a directory");
  if (!dir.has_inline_dentry() && dir.attr.current_depth > kMaxDirHashDepth)
    return fail(Errc::kCorrupt, dir_str(dir) + ": i_current_depth = " +
                                    std::to_string(dir.attr.current_depth) + " above 63");
  return {};
}

}  // namespace

uint64_t dir_buckets(uint32_t level, uint32_t dir_level) {
  if (level + dir_level < kHalfDepth) return uint64_t{1} << (level + dir_level);
  return uint64_t{1} << (kHalfDepth - 1);
}

uint32_t bucket_blocks(uint32_t level) {
  return level < kHalfDepth ? 2 : 4;
}

uint64_t dir_block_index(uint32_t level, uint32_t dir_level, uint64_t bucket) {
  uint64_t idx = 0;
  for (uint32_t l = 0; l < level; ++l) idx += dir_buckets(l, dir_level) * bucket_blocks(l);
  return idx + bucket * bucket_blocks(level);
}

DentryTable dentry_table_of_block(const uint8_t* block) {
  const auto* b = reinterpret_cast<const segment::DentryBlock*>(block);
  return {b->bitmap, b->dentry, &b->filename[0][0], kDentrySlots};
}

InlineDentryGeometry inline_dentry_geometry(uint32_t max_inline) {
  const uint32_t per_slot = sizeof(DirEntry) + kSlotLen;  // 19 bytes and one bitmap bit
  const uint32_t slots = max_inline * 8 / (per_slot * 8 + 1);
  const uint32_t bitmap = (slots + 7) / 8;
  return {slots, bitmap, max_inline - (per_slot * slots + bitmap)};
}

DentryTable dentry_table_of_inline(const InodeView& dir) {
  const uint8_t* area = dir.inline_area().data();
  const InlineDentryGeometry g = inline_dentry_geometry(dir.max_inline());
  const uint8_t* dentries = area + g.bitmap_bytes + g.reserved_bytes;
  return {area, reinterpret_cast<const DirEntry*>(dentries),
          dentries + size_t{g.slots} * sizeof(DirEntry), g.slots};
}

Status for_each_dentry(const DentryTable& t, const std::string& where,
                       const std::function<bool(uint32_t, const DirEntry&, std::string_view)>& fn) {
  uint32_t slot = 0;
  while (slot < t.slots) {
    if (!(t.bitmap[slot / 8] & (1u << (slot % 8)))) {  // dentry bitmaps are LSB-first
      ++slot;
      continue;
    }
    DirEntry de;
    std::memcpy(&de, &t.dentry[slot], sizeof(de));
    if (de.name_len == 0) {  // Linux skips such a slot (and asks for fsck)
      ++slot;
      continue;
    }
    const std::string at = where + " slot " + std::to_string(slot);
    if (de.name_len > kMaxNameLen)
      return fail(Errc::kCorrupt,
                  at + ": name_len = " + std::to_string(de.name_len) + " above 255");
    const uint32_t n = slots_for(de.name_len);
    if (slot + n > t.slots)
      return fail(Errc::kCorrupt, at + ": name_len = " + std::to_string(de.name_len) +
                                      " runs past the " + std::to_string(t.slots) + " slots");
    if (de.file_type > kMaxFileType)
      return fail(Errc::kCorrupt,
                  at + ": file_type = " + std::to_string(de.file_type) + " unknown");
    std::string_view name(reinterpret_cast<const char*>(t.names + size_t{slot} * kSlotLen),
                          de.name_len);
    if (!fn(slot, de, name)) return {};
    slot += n;
  }
  return {};
}

namespace {

// Searches one table for `name` with hash `hash`.
Result<std::optional<DirEntryInfo>> find_in_table(const DentryTable& t, const std::string& where,
                                                  std::string_view name, uint32_t hash,
                                                  uint64_t pos_base) {
  std::optional<DirEntryInfo> found;
  auto s = for_each_dentry(t, where, [&](uint32_t slot, const DirEntry& de, std::string_view n) {
    if (de.hash_code != hash || n != name) return true;
    found = DirEntryInfo{std::string(n), de.ino, de.file_type, pos_base + slot};
    return false;
  });
  if (!s) return fail(s.error());
  return found;
}

Status collect(const DentryTable& t, const std::string& where, uint64_t pos_base,
               std::vector<DirEntryInfo>& out) {
  return for_each_dentry(t, where, [&](uint32_t slot, const DirEntry& de, std::string_view n) {
    out.push_back(DirEntryInfo{std::string(n), de.ino, de.file_type, pos_base + slot});
    return true;
  });
}

}  // namespace

Result<std::optional<DirEntryInfo>> find_entry(const NodeManager& nm, const InodeView& dir,
                                               std::string_view name) {
  if (auto s = check_dir(dir); !s) return fail(s.error());
  if (name.empty() || name.size() > kMaxNameLen) return std::optional<DirEntryInfo>{};
  const uint32_t hash = dentry_hash(name);
  if (dir.has_inline_dentry())
    return find_in_table(dentry_table_of_inline(dir), dir_str(dir) + " inline dentry", name, hash,
                         0);
  BlockMapper mapper(nm, dir);
  std::vector<uint8_t> blk(kBlockSize);
  for (uint32_t level = 0; level < dir.attr.current_depth; ++level) {
    const uint64_t bucket = hash % dir_buckets(level, dir.attr.dir_level);
    const uint64_t first = dir_block_index(level, dir.attr.dir_level, bucket);
    for (uint64_t b = first; b < first + bucket_blocks(level); ++b) {
      auto addr = mapper.map(b);
      if (!addr) return fail(addr.error());
      if (*addr == kNullAddr) continue;
      if (auto s = nm.device().read(*addr, {reinterpret_cast<std::byte*>(blk.data()), kBlockSize});
          !s)
        return fail(with_context(s.error(), dir_str(dir) + " block " + std::to_string(b)));
      auto r =
          find_in_table(dentry_table_of_block(blk.data()),
                        dir_str(dir) + " block " + std::to_string(b), name, hash, b * kDentrySlots);
      if (!r || *r) return r;
    }
  }
  return std::optional<DirEntryInfo>{};
}

Result<std::vector<DirEntryInfo>> list_entries(const NodeManager& nm, const InodeView& dir) {
  if (auto s = check_dir(dir); !s) return fail(s.error());
  std::vector<DirEntryInfo> out;
  if (dir.has_inline_dentry()) {
    if (auto s = collect(dentry_table_of_inline(dir), dir_str(dir) + " inline dentry", 0, out); !s)
      return fail(s.error());
    return out;
  }
  const uint64_t blocks = (dir.attr.size + kBlockSize - 1) / kBlockSize;
  // Like Linux, i_size alone bounds the walk (it is not checked against i_current_depth);
  // BlockMapper lets a damaged, huge i_size skip whole missing nodes at once.
  BlockMapper mapper(nm, dir);
  std::vector<uint8_t> blk(kBlockSize);
  for (uint64_t b = 0, next = 0; b < blocks; b = next) {
    auto addr = mapper.map(b, &next);
    if (!addr) return fail(addr.error());
    if (*addr == kNullAddr) continue;
    if (auto s = nm.device().read(*addr, {reinterpret_cast<std::byte*>(blk.data()), kBlockSize});
        !s)
      return fail(with_context(s.error(), dir_str(dir) + " block " + std::to_string(b)));
    if (auto s = collect(dentry_table_of_block(blk.data()),
                         dir_str(dir) + " block " + std::to_string(b), b * kDentrySlots, out);
        !s)
      return fail(s.error());
  }
  return out;
}

}  // namespace f2sc::fs
