// Name operations: lookup and forget, creating and removing names, rename, readlink.
#include <cerrno>

#include "tools/f2sc-fuse/context.h"

namespace f2sc::fuse {

Result<NewOwner> new_owner(fuse_req_t req, uint32_t dir, bool is_dir) {
  const fuse_ctx* fc = fuse_req_ctx(req);
  NewOwner o{fc->uid, fc->gid, 0};
  auto parent = ctx_of(req).fs.getattr(dir);
  if (!parent) return tl::unexpected(parent.error());
  if (parent->mode & S_ISGID) {
    o.gid = parent->gid;
    if (is_dir) o.extra_mode = S_ISGID;
  }
  return o;
}

void op_lookup(fuse_req_t req, fuse_ino_t parent, const char* name) {
  Context& c = ctx_of(req);
  auto a = c.fs.lookup(c.to_fs(parent), name);
  if (!a) {
    if (a.error().sys_errno == ENOENT) {  // a negative entry the kernel may cache
      fuse_entry_param e{};
      e.entry_timeout = c.settings.entry_timeout;
      fuse_reply_entry(req, &e);
      return;
    }
    return reply_error(req, a.error(), "lookup");
  }
  reply_entry(req, *a);
}

void op_forget(fuse_req_t req, fuse_ino_t ino, uint64_t nlookup) {
  Context& c = ctx_of(req);
  c.lookups.forget(c.to_fs(ino), nlookup);
  fuse_reply_none(req);
}

void op_forget_multi(fuse_req_t req, size_t count, fuse_forget_data* forgets) {
  Context& c = ctx_of(req);
  for (size_t i = 0; i < count; ++i) c.lookups.forget(c.to_fs(forgets[i].ino), forgets[i].nlookup);
  fuse_reply_none(req);
}

void op_readlink(fuse_req_t req, fuse_ino_t ino) {
  Context& c = ctx_of(req);
  auto t = c.fs.readlink(c.to_fs(ino));
  if (!t) return reply_error(req, t.error(), "readlink");
  fuse_reply_readlink(req, t->c_str());
}

void op_mknod(fuse_req_t req, fuse_ino_t parent, const char* name, mode_t mode, dev_t rdev) {
  Context& c = ctx_of(req);
  const uint32_t dir = c.to_fs(parent);
  auto o = new_owner(req, dir, false);
  if (!o) return reply_error(req, o.error(), "mknod");
  auto a = S_ISREG(mode) ? c.fs.create(dir, name, mode & 07777, o->uid, o->gid)
                         : c.fs.mknod(dir, name, static_cast<uint16_t>(mode), rdev, o->uid, o->gid);
  if (!a) return reply_error(req, a.error(), "mknod");
  reply_entry(req, *a);
}

void op_mkdir(fuse_req_t req, fuse_ino_t parent, const char* name, mode_t mode) {
  Context& c = ctx_of(req);
  const uint32_t dir = c.to_fs(parent);
  auto o = new_owner(req, dir, true);
  if (!o) return reply_error(req, o.error(), "mkdir");
  auto a =
      c.fs.mkdir(dir, name, static_cast<uint16_t>((mode & 07777) | o->extra_mode), o->uid, o->gid);
  if (!a) return reply_error(req, a.error(), "mkdir");
  reply_entry(req, *a);
}

void op_symlink(fuse_req_t req, const char* target, fuse_ino_t parent, const char* name) {
  Context& c = ctx_of(req);
  const uint32_t dir = c.to_fs(parent);
  auto o = new_owner(req, dir, false);
  if (!o) return reply_error(req, o.error(), "symlink");
  auto a = c.fs.symlink(dir, name, target, o->uid, o->gid);
  if (!a) return reply_error(req, a.error(), "symlink");
  reply_entry(req, *a);
}

void op_link(fuse_req_t req, fuse_ino_t ino, fuse_ino_t newparent, const char* newname) {
  Context& c = ctx_of(req);
  auto a = c.fs.link(c.to_fs(ino), c.to_fs(newparent), newname);
  if (!a) return reply_error(req, a.error(), "link");
  reply_entry(req, *a);
}

void op_unlink(fuse_req_t req, fuse_ino_t parent, const char* name) {
  Context& c = ctx_of(req);
  auto s = c.fs.unlink(c.to_fs(parent), name);
  if (!s) return reply_error(req, s.error(), "unlink");
  fuse_reply_err(req, 0);
}

void op_rmdir(fuse_req_t req, fuse_ino_t parent, const char* name) {
  Context& c = ctx_of(req);
  auto s = c.fs.rmdir(c.to_fs(parent), name);
  if (!s) return reply_error(req, s.error(), "rmdir");
  fuse_reply_err(req, 0);
}

void op_rename(fuse_req_t req, fuse_ino_t parent, const char* name, fuse_ino_t newparent,
               const char* newname, unsigned flags) {
  Context& c = ctx_of(req);
  if (flags & ~(fs::kRenameNoReplace | fs::kRenameExchange)) {  // RENAME_WHITEOUT
    fuse_reply_err(req, EINVAL);
    return;
  }
  auto s = c.fs.rename(c.to_fs(parent), name, c.to_fs(newparent), newname, flags);
  if (!s) return reply_error(req, s.error(), "rename");
  fuse_reply_err(req, 0);
}

}  // namespace f2sc::fuse
