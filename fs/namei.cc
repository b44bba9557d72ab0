// Names: directory stores over the node cache, lookup, create/mknod/mkdir/symlink, link,
// unlink/rmdir, rename (plain, NOREPLACE, EXCHANGE) and path resolution.
#include <sys/stat.h>

#include <cstring>
#include <functional>

#include "fs/fs_impl.h"

namespace f2sc::fs {

using segment::kBlockSize;
using segment::kNullAddr;

namespace {

std::string ino_str(uint32_t ino) {
  return "inode " + std::to_string(ino);
}

Status check_name(std::string_view name) {
  if (name.empty()) return fail(Errc::kNotFound, ENOENT, "empty name");
  if (name.size() > kMaxNameLen)
    return fail(Errc::kInvalidArgument, ENAMETOOLONG,
                "name of " + std::to_string(name.size()) + " bytes (at most 255)");
  if (name.find('/') != std::string_view::npos || name.find('\0') != std::string_view::npos)
    return fail(Errc::kInvalidArgument, EINVAL, "name with '/' or NUL");
  return {};
}

bool is_dots(std::string_view name) {
  return name == "." || name == "..";
}

}  // namespace

// --- the directory store

namespace {

// Copies `v.node` into the cached inode and re-derives the view from it.
Status sync_view(FileSystem::Impl& fs, uint32_t ino, InodeView& v) {
  auto n = fs.nodes_->get(ino, ino, 0);
  if (!n) return fail(n.error());
  **n = v.node;
  fs.nodes_->mark_dirty(ino);
  return {};
}

Status reload_view(FileSystem::Impl& fs, uint32_t ino, InodeView& v) {
  auto nv = fs.view(ino);
  if (!nv) return fail(nv.error());
  v = std::move(*nv);
  return {};
}

}  // namespace

Result<std::optional<Block>> InodeDirStore::read_block(uint64_t index) {
  auto a = fs_.map_block(ino_, index);
  if (!a) return fail(a.error());
  if (*a == kNullAddr) return std::optional<Block>{};
  Block b;
  if (auto s = fs_.dev_.read(*a, std::as_writable_bytes(std::span(b))); !s)
    return fail(with_context(s.error(), "reading directory " + ino_str(ino_)));
  return std::optional<Block>(b);
}

Status InodeDirStore::write_block(uint64_t index, const Block& data) {
  if (auto s = sync_view(fs_, ino_, view_); !s) return s;
  if (auto s =
          fs_.write_blocks(ino_, index, std::as_bytes(std::span(data)), segment::Log::kHotData);
      !s)
    return s;
  return reload_view(fs_, ino_, view_);
}

Status InodeDirStore::punch_block(uint64_t index) {
  if (auto s = sync_view(fs_, ino_, view_); !s) return s;
  if (auto s = fs_.punch_blocks(ino_, index, index + 1); !s) return s;
  return reload_view(fs_, ino_, view_);
}

Status InodeDirStore::commit() {
  return sync_view(fs_, ino_, view_);
}

namespace {

// Runs `fn` on directory `dir` and stores the edited inode afterwards (also on failure: the
// writer leaves the table consistent at every step).
template <class Fn>
auto with_dir(FileSystem::Impl& fs, uint32_t dir, Fn fn)
    -> decltype(fn(std::declval<DirStore&>())) {
  auto v = fs.view(dir);
  if (!v) return fail(v.error());
  if (!v->is_dir())
    return fail(Errc::kInvalidArgument, ENOTDIR, ino_str(dir) + " is not a directory");
  InodeDirStore store(fs, dir, std::move(*v));
  auto r = fn(store);
  if (auto s = store.commit(); !s) return fail(s.error());
  return r;
}

Status touch(FileSystem::Impl& fs, uint32_t ino, bool mtime, int link_delta = 0) {
  auto n = fs.inode_node(ino);
  if (!n) return fail(n.error());
  segment::Inode& i = (*n)->i;
  const Timespec t = fs.now();
  i.i_ctime = static_cast<uint64_t>(t.sec);
  i.i_ctime_nsec = t.nsec;
  if (mtime) i.i_mtime = i.i_ctime, i.i_mtime_nsec = t.nsec;
  i.i_links = static_cast<uint32_t>(static_cast<int64_t>(i.i_links) + link_delta);
  fs.nodes_->mark_dirty(ino);
  return {};
}

}  // namespace

Result<std::optional<DirEntryInfo>> FileSystem::Impl::find_locked(uint32_t dir,
                                                                  std::string_view name) {
  if (name.size() > kMaxNameLen)
    return fail(Errc::kInvalidArgument, ENAMETOOLONG,
                "name of " + std::to_string(name.size()) + " bytes (at most 255)");
  auto v = view(dir);
  if (!v) return fail(v.error());
  if (!v->is_dir())
    return fail(Errc::kInvalidArgument, ENOTDIR, ino_str(dir) + " is not a directory");
  if (name.empty()) return std::optional<DirEntryInfo>{};
  InodeDirStore store(*this, dir, std::move(*v));
  return dir_find(store, name);
}

Result<std::vector<DirEntryInfo>> FileSystem::Impl::readdir_locked(uint32_t dir) {
  auto v = view(dir);
  if (!v) return fail(v.error());
  if (!v->is_dir())
    return fail(Errc::kInvalidArgument, ENOTDIR, ino_str(dir) + " is not a directory");
  InodeDirStore store(*this, dir, std::move(*v));
  return dir_list(store);
}

Result<InodeAttr> FileSystem::Impl::make_node(uint32_t dir, std::string_view name, uint16_t mode,
                                              dev_t rdev, uint32_t uid, uint32_t gid,
                                              std::string_view symlink_target) {
  if (auto s = check_name(name); !s) return fail(s.error());
  if (is_dots(name)) return fail(Errc::kExists, EEXIST, "'" + std::string(name) + "' exists");
  auto parent = view(dir);
  if (!parent) return fail(parent.error());
  if (!parent->is_dir())
    return fail(Errc::kInvalidArgument, ENOTDIR, ino_str(dir) + " is not a directory");
  if (parent->attr.links == 0)
    return fail(Errc::kNotFound, ENOENT, "directory " + ino_str(dir) + " was removed");
  auto found = find_locked(dir, name);
  if (!found) return fail(found.error());
  if (*found)
    return fail(Errc::kExists, EEXIST,
                "'" + std::string(name) + "' exists in directory " + std::to_string(dir));
  if (auto s = reserve_locked(4); !s) return fail(s.error());
  auto ino = new_inode(mode, uid, gid, dir, name, rdev);
  if (!ino) return fail(ino.error());
  auto undo = [&](Error e) -> Result<InodeAttr> {
    if (auto n = inode_node(*ino); n) (*n)->i.i_links = 0;
    (void)free_inode(*ino);
    return fail(std::move(e));
  };
  if (S_ISDIR(mode)) {
    auto s = with_dir(*this, *ino, [&](DirStore& st) { return init_dir(st, *ino, dir); });
    if (!s) return undo(s.error());
  } else if (S_ISLNK(mode)) {
    auto w = write_locked(*ino, 0, std::as_bytes(std::span(symlink_target)));
    if (!w) return undo(w.error());
  }
  auto added = with_dir(
      *this, dir, [&](DirStore& st) { return dir_add(st, name, *ino, file_type_of_mode(mode)); });
  if (!added) return undo(added.error());
  if (auto s = touch(*this, dir, true, S_ISDIR(mode) ? 1 : 0); !s) return fail(s.error());
  return getattr_locked(*ino);
}

Result<InodeAttr> FileSystem::Impl::link_locked(uint32_t ino, uint32_t dir, std::string_view name) {
  if (auto s = check_name(name); !s) return fail(s.error());
  auto v = view(ino);
  if (!v) return fail(v.error());
  if (v->is_dir())
    return fail(Errc::kInvalidArgument, EPERM, "link: " + ino_str(ino) + " is a directory");
  if (v->attr.links == 0)
    return fail(Errc::kNotFound, ENOENT, "link: " + ino_str(ino) + " was removed");
  if (v->attr.links >= 0xffff) return fail(Errc::kInvalidArgument, EMLINK, "link: too many links");
  if (is_dots(name)) return fail(Errc::kExists, EEXIST, "'" + std::string(name) + "' exists");
  auto found = find_locked(dir, name);
  if (!found) return fail(found.error());
  if (*found) return fail(Errc::kExists, EEXIST, "'" + std::string(name) + "' exists");
  auto added = with_dir(*this, dir, [&](DirStore& st) {
    return dir_add(st, name, ino, file_type_of_mode(v->attr.mode));
  });
  if (!added) return fail(added.error());
  if (auto s = touch(*this, ino, false, 1); !s) return fail(s.error());
  if (auto s = touch(*this, dir, true); !s) return fail(s.error());
  return getattr_locked(ino);
}

Status FileSystem::Impl::unlink_locked(uint32_t dir, std::string_view name, bool want_dir) {
  if (auto s = check_name(name); !s) return s;
  if (name == ".") return fail(Errc::kInvalidArgument, EINVAL, "cannot remove '.'");
  if (name == "..") return fail(Errc::kInvalidArgument, ENOTEMPTY, "cannot remove '..'");
  auto found = find_locked(dir, name);
  if (!found) return fail(found.error());
  if (!*found)
    return fail(Errc::kNotFound, ENOENT,
                "no '" + std::string(name) + "' in directory " + std::to_string(dir));
  const uint32_t ino = (*found)->ino;
  auto v = view(ino);
  if (!v) return fail(v.error());
  if (want_dir && !v->is_dir())
    return fail(Errc::kInvalidArgument, ENOTDIR, "'" + std::string(name) + "' is not a directory");
  if (!want_dir && v->is_dir())
    return fail(Errc::kInvalidArgument, EISDIR, "'" + std::string(name) + "' is a directory");
  if (v->is_dir()) {
    auto empty = with_dir(*this, ino, [&](DirStore& st) { return dir_is_empty(st); });
    if (!empty) return fail(empty.error());
    if (!*empty)
      return fail(Errc::kInvalidArgument, ENOTEMPTY,
                  "directory '" + std::string(name) + "' is not empty");
  }
  auto removed = with_dir(*this, dir, [&](DirStore& st) { return dir_remove(st, name); });
  if (!removed) return fail(removed.error());
  if (auto s = touch(*this, dir, true, v->is_dir() ? -1 : 0); !s) return s;
  return drop_link(ino);
}

Status FileSystem::Impl::rename_locked(uint32_t odir, std::string_view oname, uint32_t ndir,
                                       std::string_view nname, unsigned flags) {
  if (flags & ~(kRenameNoReplace | kRenameExchange) ||
      (flags & kRenameNoReplace && flags & kRenameExchange))
    return fail(Errc::kInvalidArgument, EINVAL, "rename: bad flags");
  if (auto s = check_name(oname); !s) return s;
  if (auto s = check_name(nname); !s) return s;
  if (is_dots(oname) || is_dots(nname))
    return fail(Errc::kInvalidArgument, EINVAL, "rename: '.' and '..' cannot be renamed");
  auto src = find_locked(odir, oname);
  if (!src) return fail(src.error());
  if (!*src) return fail(Errc::kNotFound, ENOENT, "rename: no '" + std::string(oname) + "'");
  auto dst = find_locked(ndir, nname);
  if (!dst) return fail(dst.error());
  if ((flags & kRenameExchange) && !*dst)
    return fail(Errc::kNotFound, ENOENT, "rename: no '" + std::string(nname) + "' to exchange");
  if ((flags & kRenameNoReplace) && *dst)
    return fail(Errc::kExists, EEXIST, "rename: '" + std::string(nname) + "' exists");
  const DirEntryInfo s = **src;
  if (*dst && (*dst)->ino == s.ino) return {};  // two names of one file: nothing to do
  const bool s_dir = s.file_type == segment::kFtDir;
  const bool d_dir = *dst && (*dst)->file_type == segment::kFtDir;
  // A directory must not move under itself.
  auto under = [&](uint32_t moving, uint32_t target_dir) -> Result<bool> {
    uint32_t cur = target_dir;
    for (int steps = 0; steps < 65536; ++steps) {
      if (cur == moving) return true;
      if (cur == layout_.root_ino) return false;
      auto up = find_locked(cur, "..");
      if (!up) return fail(up.error());
      if (!*up || (*up)->ino == cur) return false;
      cur = (*up)->ino;
    }
    return fail(Errc::kCorrupt, "rename: '..' chain of " + ino_str(target_dir) + " loops");
  };
  if (s_dir && odir != ndir) {
    auto u = under(s.ino, ndir);
    if (!u) return fail(u.error());
    if (*u)
      return fail(Errc::kInvalidArgument, EINVAL, "rename: a directory cannot move into itself");
  }
  if ((flags & kRenameExchange) && d_dir && odir != ndir) {
    auto u = under((*dst)->ino, odir);
    if (!u) return fail(u.error());
    if (*u)
      return fail(Errc::kInvalidArgument, EINVAL, "rename: a directory cannot move into itself");
  }
  auto set_parent = [&](uint32_t ino, uint32_t parent, std::string_view name) -> Status {
    auto n = inode_node(ino);
    if (!n) return fail(n.error());
    (*n)->i.i_pino = parent;
    (*n)->i.i_namelen = static_cast<uint32_t>(name.size());
    std::memset((*n)->i.i_name, 0, sizeof((*n)->i.i_name));
    std::memcpy((*n)->i.i_name, name.data(), name.size());
    nodes_->mark_dirty(ino);
    if (auto st = touch(*this, ino, false); !st) return st;
    return {};
  };
  auto set_dotdot = [&](uint32_t ino, uint32_t parent) -> Status {
    return with_dir(*this, ino,
                    [&](DirStore& st) { return dir_set(st, "..", parent, segment::kFtDir); });
  };
  if (flags & kRenameExchange) {
    const DirEntryInfo d = **dst;
    if (auto st = with_dir(*this, odir,
                           [&](DirStore& x) { return dir_set(x, oname, d.ino, d.file_type); });
        !st)
      return st;
    if (auto st = with_dir(*this, ndir,
                           [&](DirStore& x) { return dir_set(x, nname, s.ino, s.file_type); });
        !st)
      return st;
    if (odir != ndir) {
      if (s_dir)
        if (auto st = set_dotdot(s.ino, ndir); !st) return st;
      if (d_dir)
        if (auto st = set_dotdot(d.ino, odir); !st) return st;
    }
    const int delta = (s_dir ? 1 : 0) - (d_dir ? 1 : 0);
    if (auto st = touch(*this, odir, true, odir != ndir ? -delta : 0); !st) return st;
    if (odir != ndir)
      if (auto st = touch(*this, ndir, true, delta); !st) return st;
    if (auto st = set_parent(s.ino, ndir, nname); !st) return st;
    return set_parent(d.ino, odir, oname);
  }
  if (*dst) {
    const DirEntryInfo d = **dst;
    if (s_dir && !d_dir)
      return fail(Errc::kInvalidArgument, ENOTDIR,
                  "rename: '" + std::string(nname) + "' is not a directory");
    if (!s_dir && d_dir)
      return fail(Errc::kInvalidArgument, EISDIR,
                  "rename: '" + std::string(nname) + "' is a directory");
    if (d_dir) {
      auto empty = with_dir(*this, d.ino, [&](DirStore& st) { return dir_is_empty(st); });
      if (!empty) return fail(empty.error());
      if (!*empty)
        return fail(Errc::kInvalidArgument, ENOTEMPTY,
                    "rename: directory '" + std::string(nname) + "' is not empty");
    }
    if (auto st = with_dir(*this, ndir,
                           [&](DirStore& x) { return dir_set(x, nname, s.ino, s.file_type); });
        !st)
      return st;
    if (d_dir)
      if (auto st = touch(*this, ndir, false, -1); !st) return st;
    if (auto st = drop_link(d.ino); !st) return st;
  } else {
    if (auto st = reserve_locked(2); !st) return st;
    if (auto st = with_dir(*this, ndir,
                           [&](DirStore& x) { return dir_add(x, nname, s.ino, s.file_type); });
        !st)
      return st;
  }
  auto removed = with_dir(*this, odir, [&](DirStore& x) { return dir_remove(x, oname); });
  if (!removed) return fail(removed.error());
  if (s_dir && odir != ndir) {
    if (auto st = set_dotdot(s.ino, ndir); !st) return st;
    if (auto st = touch(*this, odir, true, -1); !st) return st;
    if (auto st = touch(*this, ndir, true, 1); !st) return st;
  } else {
    if (auto st = touch(*this, odir, true); !st) return st;
    if (odir != ndir)
      if (auto st = touch(*this, ndir, true); !st) return st;
  }
  return set_parent(s.ino, ndir, nname);
}

Result<uint32_t> FileSystem::Impl::resolve_locked(std::string_view path) {
  uint32_t cur = layout_.root_ino;
  size_t i = 0;
  while (i < path.size()) {
    size_t j = path.find('/', i);
    if (j == std::string_view::npos) j = path.size();
    std::string_view part = path.substr(i, j - i);
    i = j + 1;
    if (part.empty()) continue;
    auto e = find_locked(cur, part);
    if (!e) return fail(e.error());
    if (!*e)
      return fail(Errc::kNotFound, ENOENT,
                  "no '" + std::string(part) + "' in " + std::string(path));
    cur = (*e)->ino;
  }
  return cur;
}

}  // namespace f2sc::fs
