// Attributes, extended attributes and statfs.
#include <sys/statvfs.h>

#include <cerrno>
#include <ctime>
#include <span>
#include <string>

#include "tools/f2sc-fuse/context.h"

namespace f2sc::fuse {

namespace {

fs::Timespec from_timespec(const timespec& t) {
  return fs::Timespec{static_cast<int64_t>(t.tv_sec), static_cast<uint32_t>(t.tv_nsec)};
}

fs::Timespec now() {
  timespec t{};
  clock_gettime(CLOCK_REALTIME, &t);
  return from_timespec(t);
}

// -o xattr=off: ENOSYS, which the kernel remembers per mount for each xattr call (it then
// answers EOPNOTSUPP itself and stops asking, before every write too).
void no_xattrs(fuse_req_t req) {
  fuse_reply_err(req, ENOSYS);
}

}  // namespace

void op_getattr(fuse_req_t req, fuse_ino_t ino, fuse_file_info*) {
  Context& c = ctx_of(req);
  auto a = c.fs.getattr(c.to_fs(ino));
  if (!a) return reply_error(req, a.error(), "getattr");
  struct stat st = to_stat(*a);
  fuse_reply_attr(req, &st, c.settings.attr_timeout);
}

void op_setattr(fuse_req_t req, fuse_ino_t ino, struct stat* attr, int to_set, fuse_file_info*) {
  Context& c = ctx_of(req);
  fs::SetAttr ch;
  if (to_set & FUSE_SET_ATTR_MODE) ch.mode = static_cast<uint16_t>(attr->st_mode & 07777);
  if (to_set & FUSE_SET_ATTR_UID) ch.uid = attr->st_uid;
  if (to_set & FUSE_SET_ATTR_GID) ch.gid = attr->st_gid;
  if (to_set & FUSE_SET_ATTR_SIZE) {
    if (attr->st_size < 0) {
      fuse_reply_err(req, EINVAL);
      return;
    }
    ch.size = static_cast<uint64_t>(attr->st_size);
  }
  if (to_set & FUSE_SET_ATTR_ATIME_NOW)
    ch.atime = now();
  else if (to_set & FUSE_SET_ATTR_ATIME)
    ch.atime = from_timespec(attr->st_atim);
  if (to_set & FUSE_SET_ATTR_MTIME_NOW)
    ch.mtime = now();
  else if (to_set & FUSE_SET_ATTR_MTIME)
    ch.mtime = from_timespec(attr->st_mtim);
  // FUSE_SET_ATTR_CTIME alone (the kernel's write-back of ctime): the library sets ctime on
  // every change, so an empty change set is the way to touch it.
  auto a = c.fs.setattr(c.to_fs(ino), ch);
  if (!a) return reply_error(req, a.error(), "setattr");
  struct stat st = to_stat(*a);
  fuse_reply_attr(req, &st, c.settings.attr_timeout);
}

void op_statfs(fuse_req_t req, fuse_ino_t) {
  Context& c = ctx_of(req);
  auto s = c.fs.statfs();
  if (!s) return reply_error(req, s.error(), "statfs");
  struct statvfs v {};
  v.f_bsize = s->block_size;
  v.f_frsize = s->block_size;
  v.f_blocks = s->blocks;
  v.f_bfree = s->bfree;
  v.f_bavail = s->bavail;
  v.f_files = s->files;
  v.f_ffree = s->ffree;
  v.f_favail = s->ffree;
  v.f_namemax = s->namemax;
  fuse_reply_statfs(req, &v);
}

void op_setxattr(fuse_req_t req, fuse_ino_t ino, const char* name, const char* value, size_t size,
                 int flags) {
  Context& c = ctx_of(req);
  if (!c.settings.xattrs) return no_xattrs(req);
  auto s = c.fs.setxattr(c.to_fs(ino), name,
                         std::span(reinterpret_cast<const uint8_t*>(value), size), flags);
  if (!s) return reply_error(req, s.error(), "setxattr");
  fuse_reply_err(req, 0);
}

void op_getxattr(fuse_req_t req, fuse_ino_t ino, const char* name, size_t size) {
  Context& c = ctx_of(req);
  if (!c.settings.xattrs) return no_xattrs(req);
  auto v = c.fs.getxattr(c.to_fs(ino), name);
  if (!v) return reply_error(req, v.error(), "getxattr");
  if (size == 0) {
    fuse_reply_xattr(req, v->size());
  } else if (size < v->size()) {
    fuse_reply_err(req, ERANGE);
  } else {
    fuse_reply_buf(req, reinterpret_cast<const char*>(v->data()), v->size());
  }
}

void op_listxattr(fuse_req_t req, fuse_ino_t ino, size_t size) {
  Context& c = ctx_of(req);
  if (!c.settings.xattrs) return no_xattrs(req);
  auto names = c.fs.listxattr(c.to_fs(ino));
  if (!names) return reply_error(req, names.error(), "listxattr");
  std::string list;
  for (const auto& n : *names) {
    list += n;
    list += '\0';
  }
  if (size == 0) {
    fuse_reply_xattr(req, list.size());
  } else if (size < list.size()) {
    fuse_reply_err(req, ERANGE);
  } else {
    fuse_reply_buf(req, list.data(), list.size());
  }
}

void op_removexattr(fuse_req_t req, fuse_ino_t ino, const char* name) {
  Context& c = ctx_of(req);
  if (!c.settings.xattrs) return no_xattrs(req);
  auto s = c.fs.removexattr(c.to_fs(ino), name);
  if (!s) return reply_error(req, s.error(), "removexattr");
  fuse_reply_err(req, 0);
}

}  // namespace f2sc::fuse
