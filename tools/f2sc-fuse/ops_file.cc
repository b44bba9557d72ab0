// File data: open/create/release, read and write, fsync, fallocate, copy_file_range, lseek
// (SEEK_DATA/SEEK_HOLE). ioctls are in ops_ioctl.cc.
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <memory>
#include <span>
#include <vector>

#include "tools/f2sc-fuse/context.h"

namespace f2sc::fuse {

namespace {

// copy_file_range moves at most this much per request (the FUSE reply carries a 32-bit
// count; callers such as cp loop on short counts).
constexpr uint64_t kMaxCopyPerRequest = 1ull << 30;

std::unique_ptr<std::byte[]> uninitialized(size_t n) {
  return std::unique_ptr<std::byte[]>(new std::byte[n]);
}

}  // namespace

void op_open(fuse_req_t req, fuse_ino_t ino, fuse_file_info* fi) {
  Context& c = ctx_of(req);
  // As Linux's may_open: an immutable file cannot be opened for writing. The kernel cannot
  // check it (FUSE has no inode flags); with the write-back cache a write() would
  // otherwise succeed and only its later write-back fail.
  if ((fi->flags & O_ACCMODE) != O_RDONLY) {
    auto a = c.fs.getattr(c.to_fs(ino));
    if (!a) return reply_error(req, a.error(), "open");
    if (a->flags & fs::kFlagImmutable) return (void)fuse_reply_err(req, EPERM);
  }
  auto s = c.fs.open(c.to_fs(ino));
  if (!s) return reply_error(req, s.error(), "open");
  // Only this process changes the image, so cached pages stay valid across opens.
  fi->keep_cache = 1;
  if (fuse_reply_open(req, fi) != 0) (void)c.fs.release(c.to_fs(ino));  // no release will come
}

void op_create(fuse_req_t req, fuse_ino_t parent, const char* name, mode_t mode,
               fuse_file_info* fi) {
  Context& c = ctx_of(req);
  const uint32_t dir = c.to_fs(parent);
  auto o = new_owner(req, dir, false);
  if (!o) return reply_error(req, o.error(), "create");
  auto a = c.fs.create(dir, name, static_cast<uint16_t>(mode & 07777), o->uid, o->gid);
  if (!a) return reply_error(req, a.error(), "create");
  if (auto s = c.fs.open(a->ino); !s) return reply_error(req, s.error(), "create");
  fi->keep_cache = 1;
  fuse_entry_param e = to_entry(c, *a);
  c.lookups.add(a->ino);
  if (fuse_reply_create(req, &e, fi) != 0) {
    c.lookups.forget(a->ino, 1);
    (void)c.fs.release(a->ino);
  }
}

void op_release(fuse_req_t req, fuse_ino_t ino, fuse_file_info*) {
  Context& c = ctx_of(req);
  if (auto s = c.fs.release(c.to_fs(ino)); !s)
    log_line(c.settings, "release: " + s.error().message);
  fuse_reply_err(req, 0);
}

void op_flush(fuse_req_t req, fuse_ino_t, fuse_file_info*) {
  // Nothing is buffered per open file: writes reach the library when they arrive.
  fuse_reply_err(req, 0);
}

void op_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, fuse_file_info*) {
  Context& c = ctx_of(req);
  if (off < 0) {
    fuse_reply_err(req, EINVAL);
    return;
  }
  auto buf = uninitialized(size);
  auto n = c.fs.read(c.to_fs(ino), static_cast<uint64_t>(off), std::span(buf.get(), size));
  if (!n) return reply_error(req, n.error(), "read");
  fuse_reply_buf(req, reinterpret_cast<const char*>(buf.get()), *n);
}

void op_write_buf(fuse_req_t req, fuse_ino_t ino, fuse_bufvec* in, off_t off, fuse_file_info*) {
  Context& c = ctx_of(req);
  if (off < 0) {
    fuse_reply_err(req, EINVAL);
    return;
  }
  const size_t size = fuse_buf_size(in);
  std::span<const std::byte> data;
  std::unique_ptr<std::byte[]> copy;
  const fuse_buf& first = in->buf[in->idx];
  if (in->count - in->idx == 1 && !(first.flags & FUSE_BUF_IS_FD)) {
    data = std::span(static_cast<const std::byte*>(first.mem) + in->off, size);
  } else {  // spliced or scattered: gather into one buffer
    copy = uninitialized(size);
    fuse_bufvec dst = FUSE_BUFVEC_INIT(size);
    dst.buf[0].mem = copy.get();
    const ssize_t got = fuse_buf_copy(&dst, in, fuse_buf_copy_flags{});
    if (got < 0) {
      fuse_reply_err(req, static_cast<int>(-got));
      return;
    }
    data = std::span<const std::byte>(copy.get(), static_cast<size_t>(got));
  }
  auto n = c.fs.write(c.to_fs(ino), static_cast<uint64_t>(off), data);
  if (!n) return reply_error(req, n.error(), "write");
  fuse_reply_write(req, *n);
}

void op_fsync(fuse_req_t req, fuse_ino_t ino, int datasync, fuse_file_info*) {
  Context& c = ctx_of(req);
  auto s = c.fs.fsync(c.to_fs(ino), datasync != 0);
  if (!s) return reply_error(req, s.error(), "fsync");
  fuse_reply_err(req, 0);
}

void op_fallocate(fuse_req_t req, fuse_ino_t ino, int mode, off_t off, off_t len, fuse_file_info*) {
  Context& c = ctx_of(req);
  if (off < 0 || len <= 0) {
    fuse_reply_err(req, EINVAL);
    return;
  }
  auto s =
      c.fs.fallocate(c.to_fs(ino), mode, static_cast<uint64_t>(off), static_cast<uint64_t>(len));
  if (!s) return reply_error(req, s.error(), "fallocate");
  fuse_reply_err(req, 0);
}

// A device copy in the library (FileSystem::copy_file_range: whole blocks by one copy
// request per destination run, offloaded when the device's copy_offload is on; holes stay
// holes). At most kMaxCopyPerRequest per request; a short count after an error that
// followed progress.
void op_copy_file_range(fuse_req_t req, fuse_ino_t ino_in, off_t off_in, fuse_file_info*,
                        fuse_ino_t ino_out, off_t off_out, fuse_file_info*, size_t len, int flags) {
  Context& c = ctx_of(req);
  if (flags != 0 || off_in < 0 || off_out < 0) {
    fuse_reply_err(req, EINVAL);
    return;
  }
  const uint64_t total = std::min<uint64_t>(len, kMaxCopyPerRequest);
  auto n = c.fs.copy_file_range(c.to_fs(ino_in), static_cast<uint64_t>(off_in), c.to_fs(ino_out),
                                static_cast<uint64_t>(off_out), total);
  if (!n) return reply_error(req, n.error(), "copy_file_range");
  fuse_reply_write(req, static_cast<size_t>(*n));
}

// The kernel asks only for SEEK_DATA and SEEK_HOLE (it handles the others itself).
void op_lseek(fuse_req_t req, fuse_ino_t ino, off_t off, int whence, fuse_file_info*) {
  Context& c = ctx_of(req);
  if (off < 0 || (whence != SEEK_DATA && whence != SEEK_HOLE)) {
    fuse_reply_err(req, EINVAL);
    return;
  }
  auto r = c.fs.seek_data_hole(c.to_fs(ino), static_cast<uint64_t>(off), whence == SEEK_DATA);
  if (!r) return reply_error(req, r.error(), "lseek");
  fuse_reply_lseek(req, static_cast<off_t>(*r));
}

}  // namespace f2sc::fuse
