#include "tools/f2sc-fuse/context.h"

#include <syslog.h>

#include <cstdio>

namespace f2sc::fuse {

void LookupTable::add(uint32_t ino, uint64_t n) {
  std::lock_guard lock(mu_);
  counts_[ino] += n;
}

void LookupTable::forget(uint32_t ino, uint64_t n) {
  std::lock_guard lock(mu_);
  auto it = counts_.find(ino);
  if (it == counts_.end()) return;
  if (it->second <= n)
    counts_.erase(it);
  else
    it->second -= n;
}

uint64_t LookupTable::count(uint32_t ino) const {
  std::lock_guard lock(mu_);
  auto it = counts_.find(ino);
  return it == counts_.end() ? 0 : it->second;
}

size_t LookupTable::referenced() const {
  std::lock_guard lock(mu_);
  return counts_.size();
}

struct stat to_stat(const fs::InodeAttr& a) {
  struct stat st {};
  st.st_ino = a.ino;
  st.st_mode = a.mode;
  st.st_nlink = a.links;
  st.st_uid = a.uid;
  st.st_gid = a.gid;
  st.st_size = static_cast<off_t>(a.size);
  st.st_rdev = static_cast<dev_t>(a.rdev);
  st.st_blksize = 4096;
  st.st_blocks = static_cast<blkcnt_t>(a.blocks > 0 ? (a.blocks - 1) * 8 : 0);
  st.st_atim = {static_cast<time_t>(a.atime.sec), static_cast<long>(a.atime.nsec)};
  st.st_mtim = {static_cast<time_t>(a.mtime.sec), static_cast<long>(a.mtime.nsec)};
  st.st_ctim = {static_cast<time_t>(a.ctime.sec), static_cast<long>(a.ctime.nsec)};
  return st;
}

fuse_entry_param to_entry(const Context& c, const fs::InodeAttr& a) {
  fuse_entry_param e{};
  e.ino = c.to_fuse(a.ino);
  e.generation = a.generation;
  e.attr = to_stat(a);
  e.attr_timeout = c.settings.attr_timeout;
  e.entry_timeout = c.settings.entry_timeout;
  return e;
}

void log_line(const Settings& s, const std::string& line) {
  if (s.log_to_stderr)
    std::fprintf(stderr, "f2sc-fuse: %s\n", line.c_str());
  else
    syslog(LOG_ERR, "%s", line.c_str());
}

void reply_error(fuse_req_t req, const Error& e, const char* op) {
  const int err = e.sys_errno > 0 ? e.sys_errno : EIO;
  Context& c = ctx_of(req);
  if (err == EIO || err == EUCLEAN || err == ENOMEM || err == EBADF) {
    log_line(c.settings, std::string(op) + ": " + e.message);
  } else if (err == ENOSPC) {
    if (auto held = c.no_space_log.allow())
      log_line(
          c.settings,
          std::string(op) + ": " + e.message +
              (*held ? " (" + std::to_string(*held) + " more since the last one logged)" : ""));
  }
  fuse_reply_err(req, err);
}

void reply_entry(fuse_req_t req, const fs::InodeAttr& a) {
  Context& c = ctx_of(req);
  fuse_entry_param e = to_entry(c, a);
  c.lookups.add(a.ino);
  if (fuse_reply_entry(req, &e) != 0) c.lookups.forget(a.ino, 1);  // the kernel never got it
}

void op_init(void* userdata, fuse_conn_info* conn) {
  const Context& c = *static_cast<Context*>(userdata);
  // O_TRUNC arrives as a separate setattr(size=0): one code path for truncation.
  conn->want &= ~FUSE_CAP_ATOMIC_O_TRUNC;
  if (c.settings.writeback_cache && (conn->capable & FUSE_CAP_WRITEBACK_CACHE))
    conn->want |= FUSE_CAP_WRITEBACK_CACHE;
  else
    conn->want &= ~FUSE_CAP_WRITEBACK_CACHE;
  if (conn->capable & FUSE_CAP_IOCTL_DIR) conn->want |= FUSE_CAP_IOCTL_DIR;
  if (conn->capable & FUSE_CAP_READDIRPLUS) conn->want |= FUSE_CAP_READDIRPLUS;
  if (conn->capable & FUSE_CAP_READDIRPLUS_AUTO) conn->want |= FUSE_CAP_READDIRPLUS_AUTO;
  conn->time_gran = 1;  // F2FS keeps nanoseconds
  // The kernel takes the smaller of this and the mount's read_ahead_kb (set just before).
  if (c.settings.read_ahead_kb != 0) conn->max_readahead = c.settings.read_ahead_kb * 1024;
}

const fuse_lowlevel_ops& operations() {
  static const fuse_lowlevel_ops ops = [] {
    fuse_lowlevel_ops o{};
    o.init = op_init;
    o.lookup = op_lookup;
    o.forget = op_forget;
    o.forget_multi = op_forget_multi;
    o.getattr = op_getattr;
    o.setattr = op_setattr;
    o.readlink = op_readlink;
    o.mknod = op_mknod;
    o.mkdir = op_mkdir;
    o.unlink = op_unlink;
    o.rmdir = op_rmdir;
    o.symlink = op_symlink;
    o.rename = op_rename;
    o.link = op_link;
    o.open = op_open;
    o.read = op_read;
    o.write_buf = op_write_buf;
    o.flush = op_flush;
    o.release = op_release;
    o.fsync = op_fsync;
    o.opendir = op_opendir;
    o.readdir = op_readdir;
    o.readdirplus = op_readdirplus;
    o.releasedir = op_releasedir;
    o.fsyncdir = op_fsyncdir;
    o.statfs = op_statfs;
    o.setxattr = op_setxattr;
    o.getxattr = op_getxattr;
    o.listxattr = op_listxattr;
    o.removexattr = op_removexattr;
    o.create = op_create;
    o.fallocate = op_fallocate;
    o.copy_file_range = op_copy_file_range;
    o.lseek = op_lseek;
    o.ioctl = op_ioctl;
    return o;
  }();
  return ops;
}

}  // namespace f2sc::fuse
