// The state every FUSE request handler shares, and the helpers they all use: inode number
// mapping, lookup counts, attribute conversion and error replies.
//
// Inode numbers: FUSE's root is node id 1 (FUSE_ROOT_ID); F2FS's root is inode 3. Node ids
// map 1 <-> root_ino and are the F2FS inode number otherwise (F2FS never uses 1 or 2 for a
// file: they are the node and meta inodes). st_ino and d_ino always report the F2FS number,
// so `ls -i` and `stat` agree with the kernel's f2fs.
//
// Thread safety: Context is shared by every request thread; FileSystem is thread safe, the
// lookup table has its own lock, the rest is immutable after construction.
#pragma once

#define FUSE_USE_VERSION 314
#include <fuse_lowlevel.h>
#include <sys/stat.h>

#include <cstdint>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "blockdev/block_device.h"
#include "fs/file_system.h"
#include "tools/f2sc-fuse/rate_limit.h"

namespace f2sc::fuse {

struct Settings {
  double attr_timeout = 1.0;
  double entry_timeout = 1.0;
  bool writeback_cache = true;
  bool log_to_stderr = true;   // foreground; a daemon logs to syslog
  uint32_t read_ahead_kb = 0;  // the INIT reply's max_readahead (0: the kernel's offer)
  bool xattrs = true;          // false: xattr ops answer ENOSYS (-o xattr=off)
};

// The kernel's references to inodes: every entry reply (lookup, create, mknod, mkdir,
// symlink, link, readdirplus) adds one, FORGET takes them back. F2FS inode numbers are
// stable on their own (open/release keep unlinked open files as orphans), so the table
// serves accounting and diagnostics (`referenced()`).
class LookupTable {
 public:
  void add(uint32_t ino, uint64_t n = 1);
  void forget(uint32_t ino, uint64_t n);
  uint64_t count(uint32_t ino) const;
  size_t referenced() const;  // inodes the kernel still holds

 private:
  mutable std::mutex mu_;
  std::unordered_map<uint32_t, uint64_t> counts_;
};

// An open directory: a snapshot of its entries taken at opendir and again whenever the
// kernel reads from offset 0 (rewinddir). Offsets are DirEntryInfo::pos + 1, stable across
// snapshots, so seekdir/telldir work and entries added later appear after a rewind.
struct DirHandle {
  std::mutex mu;
  bool loaded = false;
  std::vector<fs::DirEntryInfo> entries;
};

struct Context {
  fs::FileSystem& fs;
  Settings settings;
  uint32_t root_ino;
  LookupTable lookups;
  // For the status and settings ioctls (ops_ioctl.cc): the device under the filesystem and
  // the options it was mounted with, set by main before the session starts.
  blockdev::BlockDevice* dev = nullptr;
  fs::MountOptions mount_options;
  // What f2sc-ctl last set (the library has no getters for these); under settings_mu.
  std::mutex settings_mu;
  std::string gc_policy;
  bool gc_urgent = false;
  // ENOSPC is logged (its reason is the daemon's to tell), but not once per write.
  LogRateLimit no_space_log{std::chrono::seconds(10)};

  Context(fs::FileSystem& f, Settings s) : fs(f), settings(s), root_ino(f.root_ino()) {}

  uint32_t to_fs(fuse_ino_t n) const {
    return n == FUSE_ROOT_ID ? root_ino : static_cast<uint32_t>(n);
  }
  fuse_ino_t to_fuse(uint32_t ino) const { return ino == root_ino ? FUSE_ROOT_ID : ino; }
};

inline Context& ctx_of(fuse_req_t req) {
  return *static_cast<Context*>(fuse_req_userdata(req));
}

// struct stat of an inode (st_ino: the F2FS number; st_blocks in 512-byte units without
// the inode block, as Linux f2fs reports). st_rdev is 0: the library does not report it.
struct stat to_stat(const fs::InodeAttr& a);

// The entry reply for `a` (node id, generation, attributes, timeouts).
fuse_entry_param to_entry(const Context& c, const fs::InodeAttr& a);

// Replies with the errno of `e` (EIO when it has none) and logs errors that are not
// ordinary POSIX outcomes (EIO, EUCLEAN, ...), and ENOSPC at most every 10 seconds.
void reply_error(fuse_req_t req, const Error& e, const char* op);

// Replies with an entry for `a` and counts the kernel's new reference.
void reply_entry(fuse_req_t req, const fs::InodeAttr& a);

// Owner of a new inode in `dir`: the caller's uid and gid, except that a set-group-ID
// directory passes on its group (and, to new directories, the set-group-ID bit), as POSIX
// and Linux do.
struct NewOwner {
  uint32_t uid = 0, gid = 0;
  uint16_t extra_mode = 0;
};
Result<NewOwner> new_owner(fuse_req_t req, uint32_t dir, bool is_dir);

// Logs a line (stderr in the foreground, syslog otherwise).
void log_line(const Settings& s, const std::string& line);

// The ops table given to fuse_session_new.
const fuse_lowlevel_ops& operations();

// Handlers by concern: names (ops_names.cc), attributes and xattrs (ops_attr.cc), file data
// (ops_file.cc), directories (ops_dir.cc).
void op_init(void* userdata, fuse_conn_info* conn);
void op_lookup(fuse_req_t, fuse_ino_t, const char*);
void op_forget(fuse_req_t, fuse_ino_t, uint64_t);
void op_forget_multi(fuse_req_t, size_t, fuse_forget_data*);
void op_readlink(fuse_req_t, fuse_ino_t);
void op_mknod(fuse_req_t, fuse_ino_t, const char*, mode_t, dev_t);
void op_mkdir(fuse_req_t, fuse_ino_t, const char*, mode_t);
void op_unlink(fuse_req_t, fuse_ino_t, const char*);
void op_rmdir(fuse_req_t, fuse_ino_t, const char*);
void op_symlink(fuse_req_t, const char*, fuse_ino_t, const char*);
void op_rename(fuse_req_t, fuse_ino_t, const char*, fuse_ino_t, const char*, unsigned);
void op_link(fuse_req_t, fuse_ino_t, fuse_ino_t, const char*);

void op_getattr(fuse_req_t, fuse_ino_t, fuse_file_info*);
void op_setattr(fuse_req_t, fuse_ino_t, struct stat*, int, fuse_file_info*);
void op_statfs(fuse_req_t, fuse_ino_t);
void op_setxattr(fuse_req_t, fuse_ino_t, const char*, const char*, size_t, int);
void op_getxattr(fuse_req_t, fuse_ino_t, const char*, size_t);
void op_listxattr(fuse_req_t, fuse_ino_t, size_t);
void op_removexattr(fuse_req_t, fuse_ino_t, const char*);

void op_open(fuse_req_t, fuse_ino_t, fuse_file_info*);
void op_create(fuse_req_t, fuse_ino_t, const char*, mode_t, fuse_file_info*);
void op_read(fuse_req_t, fuse_ino_t, size_t, off_t, fuse_file_info*);
void op_write_buf(fuse_req_t, fuse_ino_t, fuse_bufvec*, off_t, fuse_file_info*);
void op_flush(fuse_req_t, fuse_ino_t, fuse_file_info*);
void op_release(fuse_req_t, fuse_ino_t, fuse_file_info*);
void op_fsync(fuse_req_t, fuse_ino_t, int, fuse_file_info*);
void op_fallocate(fuse_req_t, fuse_ino_t, int, off_t, off_t, fuse_file_info*);
void op_copy_file_range(fuse_req_t, fuse_ino_t, off_t, fuse_file_info*, fuse_ino_t, off_t,
                        fuse_file_info*, size_t, int);
void op_lseek(fuse_req_t, fuse_ino_t, off_t, int, fuse_file_info*);
void op_ioctl(fuse_req_t, fuse_ino_t, unsigned int, void*, fuse_file_info*, unsigned, const void*,
              size_t, size_t);

void op_opendir(fuse_req_t, fuse_ino_t, fuse_file_info*);
void op_readdir(fuse_req_t, fuse_ino_t, size_t, off_t, fuse_file_info*);
void op_readdirplus(fuse_req_t, fuse_ino_t, size_t, off_t, fuse_file_info*);
void op_releasedir(fuse_req_t, fuse_ino_t, fuse_file_info*);
void op_fsyncdir(fuse_req_t, fuse_ino_t, int, fuse_file_info*);

}  // namespace f2sc::fuse
