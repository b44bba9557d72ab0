// Directory writer (fs/dir_write.h). Follows Linux fs/f2fs/dir.c and inline.c:
// f2fs_add_regular_entry, f2fs_room_for_filename, f2fs_update_dentry, f2fs_add_inline_entry,
// f2fs_move_inline_dirents / f2fs_move_rehashed_dirents, f2fs_do_make_empty_dir,
// f2fs_delete_entry, f2fs_set_link and f2fs_empty_dir.
//
// The writer reads and edits the raw inode (`dir().node.i`) only: the store re-derives the
// view's attributes from it after every block write, so `dir().attr` may lag behind the edits
// made since the last store call.
#include "fs/dir_write.h"

#include <sys/stat.h>

#include <algorithm>
#include <cstring>
#include <set>
#include <string>

#include "fs/dentry_hash.h"

namespace f2sc::fs {

using segment::DirEntry;
using segment::kBlockSize;
using segment::kDentrySlots;
using segment::kFtDir;
using segment::kSlotLen;

namespace {

// A dentry table of a block or of the inline area, writable. Built from the read side's
// DentryTable so both agree on the geometry; the memory behind it is the caller's Block or
// the store's inode, both mutable.
struct MutTable {
  uint8_t* bitmap;
  uint8_t* dentry;  // slots * 11 bytes, unaligned
  uint8_t* names;   // slots * 8 bytes
  uint32_t slots;
  DentryTable view;
};

MutTable mut(const DentryTable& t) {
  return {const_cast<uint8_t*>(t.bitmap),
          reinterpret_cast<uint8_t*>(const_cast<DirEntry*>(t.dentry)),
          const_cast<uint8_t*>(t.names), t.slots, t};
}

MutTable block_table(Block& b) {
  return mut(dentry_table_of_block(b.data()));
}

MutTable inline_table(InodeView& v) {
  return mut(dentry_table_of_inline(v));
}

bool test_bit(const uint8_t* map, uint32_t nr) {
  return map[nr / 8] & (1u << (nr % 8));
}
void set_bit(uint8_t* map, uint32_t nr) {
  map[nr / 8] = static_cast<uint8_t>(map[nr / 8] | (1u << (nr % 8)));
}
void clear_bit(uint8_t* map, uint32_t nr) {
  map[nr / 8] = static_cast<uint8_t>(map[nr / 8] & ~(1u << (nr % 8)));
}

uint32_t slots_for(size_t name_len) {
  return static_cast<uint32_t>((name_len + kSlotLen - 1) / kSlotLen);
}

// First run of `need` clear bits among `max` (Linux f2fs_room_for_filename); `max` if none.
uint32_t room_for_filename(const uint8_t* bitmap, uint32_t need, uint32_t max) {
  uint32_t start = 0;
  while (start < max) {
    while (start < max && test_bit(bitmap, start)) ++start;
    if (start >= max) return max;
    uint32_t end = start;
    while (end < max && !test_bit(bitmap, end)) ++end;
    if (end - start >= need) return start;
    start = end + 1;  // bit `end` is set
  }
  return max;
}

DirEntry read_dentry(const MutTable& t, uint32_t slot) {
  DirEntry de;
  std::memcpy(&de, t.dentry + size_t{slot} * sizeof(DirEntry), sizeof(de));
  return de;
}
void write_dentry(MutTable& t, uint32_t slot, const DirEntry& de) {
  std::memcpy(t.dentry + size_t{slot} * sizeof(DirEntry), &de, sizeof(de));
}

// Writes name -> (ino, type) at `pos` (f2fs_update_dentry): the entry, the name, every bit of
// the run. The entries of the run's other slots are zeroed (Linux zeroes their name_len).
void put_entry(MutTable& t, uint32_t pos, std::string_view name, uint32_t hash, uint32_t ino,
               uint8_t type) {
  const uint32_t n = slots_for(name.size());
  DirEntry de{};
  de.hash_code = hash;
  de.ino = ino;
  de.name_len = static_cast<uint16_t>(name.size());
  de.file_type = type;
  write_dentry(t, pos, de);
  uint8_t* dst = t.names + size_t{pos} * kSlotLen;
  std::memset(dst, 0, size_t{n} * kSlotLen);
  std::memcpy(dst, name.data(), name.size());
  for (uint32_t i = 0; i < n; ++i) {
    set_bit(t.bitmap, pos + i);
    if (i) write_dentry(t, pos + i, DirEntry{});
  }
}

// Clears every bit of the entry at `pos` and zeroes its entries and name slots (Linux only
// clears the bits; zeroing keeps removed names off the disk and changes nothing a reader sees).
void drop_entry(MutTable& t, uint32_t pos, uint32_t name_len) {
  const uint32_t n = slots_for(name_len);
  for (uint32_t i = 0; i < n && pos + i < t.slots; ++i) {
    clear_bit(t.bitmap, pos + i);
    write_dentry(t, pos + i, DirEntry{});
    std::memset(t.names + size_t{pos + i} * kSlotLen, 0, kSlotLen);
  }
}

bool table_empty(const uint8_t* bitmap, uint32_t from, uint32_t max) {
  for (uint32_t s = from; s < max; ++s)
    if (test_bit(bitmap, s)) return false;
  return true;
}

std::string dir_str(DirStore& store) {
  return "directory inode " + std::to_string(store.dir().attr.ino);
}

bool is_inline(DirStore& store) {
  return store.dir().node.i.i_inline & kInlineDentry;
}

Status check_dir(DirStore& store) {
  const segment::Inode& i = store.dir().node.i;
  if (!S_ISDIR(i.i_mode))
    return fail(Errc::kInvalidArgument, ENOTDIR,
                "inode " + std::to_string(store.dir().attr.ino) + " is not a directory");
  if (!(i.i_inline & kInlineDentry) && i.i_current_depth > kMaxDirHashDepth)
    return fail(
        Errc::kCorrupt, EUCLEAN,
        dir_str(store) + ": i_current_depth = " + std::to_string(i.i_current_depth) + " above 63");
  return {};
}

Status check_name(std::string_view name) {
  if (name.size() > kMaxNameLen)
    return fail(Errc::kInvalidArgument, ENAMETOOLONG,
                "name of " + std::to_string(name.size()) + " bytes (at most 255)");
  if (name.empty()) return fail(Errc::kInvalidArgument, EINVAL, "empty name");
  if (name.find('/') != std::string_view::npos || name.find('\0') != std::string_view::npos)
    return fail(Errc::kInvalidArgument, EINVAL, "name with '/' or NUL");
  return {};
}

// Validates a table with the read side's rules (kCorrupt on a bad entry).
Status validate(const MutTable& t, const std::string& where) {
  return for_each_dentry(t.view, where,
                         [](uint32_t, const DirEntry&, std::string_view) { return true; });
}

// Where an entry was found.
struct Found {
  DirEntryInfo info;
  bool in_inline = false;
  uint64_t block = 0;  // block directories
  uint32_t slot = 0;
  Block data{};  // the block's bytes (block directories)
};

Result<std::optional<uint32_t>> find_in(const MutTable& t, const std::string& where,
                                        std::string_view name, uint32_t hash) {
  std::optional<uint32_t> at;
  auto s =
      for_each_dentry(t.view, where, [&](uint32_t slot, const DirEntry& de, std::string_view n) {
        if (de.hash_code != hash || n != name) return true;
        at = slot;
        return false;
      });
  if (!s) return fail(s.error());
  return at;
}

// Blocks of hash levels 0..depth-1 (at least level 0: a block directory always has it).
uint64_t table_blocks(uint32_t depth, uint32_t dir_level) {
  return dir_block_index(std::max<uint32_t>(depth, 1), dir_level, 0);
}

Result<std::optional<Found>> locate(DirStore& store, std::string_view name) {
  if (auto s = check_dir(store); !s) return fail(s.error());
  std::optional<Found> out;
  if (name.empty() || name.size() > kMaxNameLen) return out;
  const uint32_t hash = dentry_hash(name);
  if (is_inline(store)) {
    MutTable t = inline_table(store.dir());
    auto at = find_in(t, dir_str(store) + " inline dentry", name, hash);
    if (!at) return fail(at.error());
    if (*at) {
      const DirEntry de = read_dentry(t, **at);
      out.emplace();
      out->info = {std::string(name), de.ino, de.file_type, **at};
      out->in_inline = true;
      out->slot = **at;
    }
    return out;
  }
  const segment::Inode& i = store.dir().node.i;
  const uint32_t depth = i.i_current_depth, dl = i.i_dir_level;
  for (uint32_t level = 0; level < depth; ++level) {
    const uint64_t first = dir_block_index(level, dl, hash % dir_buckets(level, dl));
    for (uint64_t b = first; b < first + bucket_blocks(level); ++b) {
      auto blk = store.read_block(b);
      if (!blk) return fail(blk.error());
      if (!*blk) continue;
      Block data = **blk;
      MutTable t = block_table(data);
      auto at = find_in(t, dir_str(store) + " block " + std::to_string(b), name, hash);
      if (!at) return fail(at.error());
      if (*at) {
        const DirEntry de = read_dentry(t, **at);
        out.emplace();
        out->info = {std::string(name), de.ino, de.file_type, b * kDentrySlots + **at};
        out->block = b;
        out->slot = **at;
        out->data = data;
        return out;
      }
    }
  }
  return out;
}

// f2fs_add_regular_entry: the first run of free slots in the name's bucket of levels
// 0, 1, ...; a missing block is created empty; a level past i_current_depth deepens the table.
// `written`, when given, collects the blocks written.
Status add_regular(DirStore& store, std::string_view name, uint32_t hash, uint32_t ino,
                   uint8_t type, std::set<uint64_t>* written = nullptr) {
  const uint32_t need = slots_for(name.size());
  const uint32_t dl = store.dir().node.i.i_dir_level;
  uint32_t depth = store.dir().node.i.i_current_depth;
  if (depth > kMaxDirHashDepth)
    return fail(Errc::kCorrupt, EUCLEAN,
                dir_str(store) + ": i_current_depth = " + std::to_string(depth) + " above 63");
  for (uint32_t level = 0;; ++level) {
    if (depth == kMaxDirHashDepth)
      return fail(Errc::kNoSpace, ENOSPC, dir_str(store) + ": all 63 hash levels are in use");
    if (level == depth) ++depth;
    const uint64_t first = dir_block_index(level, dl, hash % dir_buckets(level, dl));
    for (uint64_t b = first; b < first + bucket_blocks(level); ++b) {
      auto blk = store.read_block(b);
      if (!blk) return fail(blk.error());
      Block data{};
      if (*blk) data = **blk;
      MutTable t = block_table(data);
      const std::string where = dir_str(store) + " block " + std::to_string(b);
      if (*blk)
        if (auto s = validate(t, where); !s) return s;
      const uint32_t pos = room_for_filename(t.bitmap, need, t.slots);
      if (pos >= t.slots) continue;
      put_entry(t, pos, name, hash, ino, type);
      if (auto s = store.write_block(b, data); !s) return s;
      if (written) written->insert(b);
      // f2fs_get_new_data_page grows i_size over the block; f2fs_update_parent_metadata
      // stores the depth.
      segment::Inode& i = store.dir().node.i;
      if (i.i_size < (b + 1) * kBlockSize) i.i_size = (b + 1) * kBlockSize;
      if (i.i_current_depth != depth) i.i_current_depth = depth;
      return {};
    }
  }
}

uint8_t* inline_area_mut(InodeView& v) {
  return const_cast<uint8_t*>(v.inline_area().data());
}

// f2fs_move_inline_dirents: the inline table moves to block 0 slot for slot; the inline area
// is zeroed, F2FS_INLINE_DENTRY cleared, i_current_depth 1, i_size at least one block.
Status move_inline_dirents(DirStore& store) {
  InodeView& v = store.dir();
  if (v.node.i.i_addr[v.extra_slots] != 0)
    return fail(Errc::kCorrupt, EUCLEAN,
                dir_str(store) + ": inline directory with i_addr[0] = " +
                    std::to_string(v.node.i.i_addr[v.extra_slots]));
  MutTable src = inline_table(v);
  if (auto s = validate(src, dir_str(store) + " inline dentry"); !s) return s;
  Block data{};
  MutTable dst = block_table(data);
  for (uint32_t s = 0; s < src.slots; ++s)
    if (test_bit(src.bitmap, s)) set_bit(dst.bitmap, s);  // not the bitmap's padding bits
  std::memcpy(dst.dentry, src.dentry, size_t{src.slots} * sizeof(DirEntry));
  std::memcpy(dst.names, src.names, size_t{src.slots} * kSlotLen);

  const segment::NodeBlock saved = v.node;
  std::memset(inline_area_mut(v), 0, v.max_inline());
  segment::Inode& i = v.node.i;
  i.i_inline = static_cast<uint8_t>(i.i_inline & ~kInlineDentry);
  i.i_current_depth = 1;
  if (i.i_size < kBlockSize) i.i_size = kBlockSize;
  if (auto s = store.write_block(0, data); !s) {
    store.dir().node = saved;
    return s;
  }
  return {};
}

// f2fs_move_rehashed_dirents (directories with i_dir_level): the inline area is cleared and
// every entry re-added as in a block directory, keeping its stored hash.
Status move_rehashed_dirents(DirStore& store) {
  InodeView& v = store.dir();
  MutTable src = inline_table(v);
  struct Moved {
    std::string name;
    uint32_t hash, ino;
    uint8_t type;
  };
  std::vector<Moved> moved;
  if (auto s =
          for_each_dentry(src.view, dir_str(store) + " inline dentry",
                          [&](uint32_t, const DirEntry& de, std::string_view n) {
                            moved.push_back({std::string(n), de.hash_code, de.ino, de.file_type});
                            return true;
                          });
      !s)
    return s;
  const segment::NodeBlock saved = v.node;
  std::memset(inline_area_mut(v), 0, v.max_inline());
  v.node.i.i_inline = static_cast<uint8_t>(v.node.i.i_inline & ~kInlineDentry);
  std::set<uint64_t> written;
  for (const Moved& m : moved) {
    if (auto s = add_regular(store, m.name, m.hash, m.ino, m.type, &written); !s) {
      // As Linux: drop the blocks, restore the inline table.
      for (uint64_t b : written) (void)store.punch_block(b);
      store.dir().node = saved;
      store.dir().node.i.i_current_depth = 0;
      return s;
    }
  }
  return {};
}

}  // namespace

Status init_dir(DirStore& store, uint32_t self_ino, uint32_t parent_ino) {
  if (auto s = check_dir(store); !s) return s;
  if (is_inline(store)) {
    InodeView& v = store.dir();
    MutTable t = inline_table(v);
    put_entry(t, 0, ".", 0, self_ino, kFtDir);
    put_entry(t, 1, "..", 0, parent_ino, kFtDir);
    segment::Inode& i = v.node.i;
    if (i.i_size < v.max_inline()) i.i_size = v.max_inline();
    if (i.i_current_depth == 0) i.i_current_depth = 1;  // f2fs_new_inode: every new dir
    return {};
  }
  Block data{};
  MutTable t = block_table(data);
  put_entry(t, 0, ".", 0, self_ino, kFtDir);
  put_entry(t, 1, "..", 0, parent_ino, kFtDir);
  if (auto s = store.write_block(0, data); !s) return s;
  segment::Inode& i = store.dir().node.i;
  if (i.i_size < kBlockSize) i.i_size = kBlockSize;
  i.i_current_depth = 1;
  return {};
}

Result<std::optional<DirEntryInfo>> dir_find(DirStore& store, std::string_view name) {
  auto f = locate(store, name);
  if (!f) return fail(f.error());
  if (!*f) return std::optional<DirEntryInfo>{};
  return std::optional<DirEntryInfo>((*f)->info);
}

Result<std::vector<DirEntryInfo>> dir_list(DirStore& store) {
  if (auto s = check_dir(store); !s) return fail(s.error());
  std::vector<DirEntryInfo> out;
  auto collect = [&](const MutTable& t, const std::string& where, uint64_t base) {
    return for_each_dentry(t.view, where,
                           [&](uint32_t slot, const DirEntry& de, std::string_view n) {
                             out.push_back({std::string(n), de.ino, de.file_type, base + slot});
                             return true;
                           });
  };
  if (is_inline(store)) {
    if (auto s = collect(inline_table(store.dir()), dir_str(store) + " inline dentry", 0); !s)
      return fail(s.error());
    return out;
  }
  // Like Linux readdir, i_size bounds the walk; the table's own size bounds it too (the store
  // cannot skip holes, and no block past the last level belongs to the directory).
  const segment::Inode& i = store.dir().node.i;
  uint64_t blocks = (i.i_size + kBlockSize - 1) / kBlockSize;
  blocks = std::min(blocks, table_blocks(i.i_current_depth, i.i_dir_level));
  for (uint64_t b = 0; b < blocks; ++b) {
    auto blk = store.read_block(b);
    if (!blk) return fail(blk.error());
    if (!*blk) continue;
    Block data = **blk;
    if (auto s = collect(block_table(data), dir_str(store) + " block " + std::to_string(b),
                         b * kDentrySlots);
        !s)
      return fail(s.error());
  }
  return out;
}

Status dir_add(DirStore& store, std::string_view name, uint32_t ino, uint8_t file_type) {
  if (auto s = check_name(name); !s) return s;
  if (auto s = check_dir(store); !s) return s;
  const uint32_t hash = dentry_hash(name);
  if (is_inline(store)) {
    InodeView& v = store.dir();
    MutTable t = inline_table(v);
    if (auto s = validate(t, dir_str(store) + " inline dentry"); !s) return s;
    const uint32_t pos = room_for_filename(t.bitmap, slots_for(name.size()), t.slots);
    if (pos < t.slots) {
      put_entry(t, pos, name, hash, ino, file_type);
      v.node.i.i_current_depth = 0;  // f2fs_update_parent_metadata(dir, inode, 0)
      return {};
    }
    const Status moved =
        v.node.i.i_dir_level ? move_rehashed_dirents(store) : move_inline_dirents(store);
    if (!moved) return moved;
  }
  return add_regular(store, name, hash, ino, file_type);
}

Result<DirEntryInfo> dir_remove(DirStore& store, std::string_view name) {
  if (name.size() > kMaxNameLen)
    return fail(Errc::kInvalidArgument, ENAMETOOLONG,
                "name of " + std::to_string(name.size()) + " bytes (at most 255)");
  auto f = locate(store, name);
  if (!f) return fail(f.error());
  if (!*f)
    return fail(Errc::kNotFound, ENOENT, dir_str(store) + ": no entry '" + std::string(name) + "'");
  Found& at = **f;
  if (at.in_inline) {
    MutTable t = inline_table(store.dir());
    drop_entry(t, at.slot, static_cast<uint32_t>(name.size()));
    return at.info;
  }
  MutTable t = block_table(at.data);
  drop_entry(t, at.slot, static_cast<uint32_t>(name.size()));
  // f2fs_delete_entry punches a block left without entries; i_size stays.
  if (table_empty(t.bitmap, 0, t.slots)) {
    if (auto s = store.punch_block(at.block); !s) return fail(s.error());
  } else if (auto s = store.write_block(at.block, at.data); !s) {
    return fail(s.error());
  }
  return at.info;
}

Status dir_set(DirStore& store, std::string_view name, uint32_t ino, uint8_t file_type) {
  if (name.size() > kMaxNameLen)
    return fail(Errc::kInvalidArgument, ENAMETOOLONG,
                "name of " + std::to_string(name.size()) + " bytes (at most 255)");
  auto f = locate(store, name);
  if (!f) return fail(f.error());
  if (!*f)
    return fail(Errc::kNotFound, ENOENT, dir_str(store) + ": no entry '" + std::string(name) + "'");
  Found& at = **f;
  MutTable t = at.in_inline ? inline_table(store.dir()) : block_table(at.data);
  DirEntry de = read_dentry(t, at.slot);
  de.ino = ino;
  de.file_type = file_type;
  write_dentry(t, at.slot, de);
  if (at.in_inline) return {};
  return store.write_block(at.block, at.data);
}

Result<bool> dir_is_empty(DirStore& store) {
  if (auto s = check_dir(store); !s) return fail(s.error());
  if (is_inline(store)) {
    MutTable t = inline_table(store.dir());
    return table_empty(t.bitmap, 2, t.slots);
  }
  // f2fs_empty_dir: no bit set past "." and ".." in block 0, none in any other block.
  const segment::Inode& i = store.dir().node.i;
  uint64_t blocks = (i.i_size + kBlockSize - 1) / kBlockSize;
  blocks = std::min(blocks, table_blocks(i.i_current_depth, i.i_dir_level));
  for (uint64_t b = 0; b < blocks; ++b) {
    auto blk = store.read_block(b);
    if (!blk) return fail(blk.error());
    if (!*blk) continue;
    Block data = **blk;
    MutTable t = block_table(data);
    if (!table_empty(t.bitmap, b == 0 ? 2 : 0, t.slots)) return false;
  }
  return true;
}

}  // namespace f2sc::fs
