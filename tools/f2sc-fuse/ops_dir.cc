// Directories: opendir/readdir(plus)/releasedir and fsyncdir.
#include <cerrno>
#include <memory>
#include <new>
#include <vector>

#include "tools/f2sc-fuse/context.h"

namespace f2sc::fuse {

namespace {

mode_t type_of(uint8_t file_type) {
  switch (file_type) {
    case 1:
      return S_IFREG;
    case 2:
      return S_IFDIR;
    case 3:
      return S_IFCHR;
    case 4:
      return S_IFBLK;
    case 5:
      return S_IFIFO;
    case 6:
      return S_IFSOCK;
    case 7:
      return S_IFLNK;
    default:
      return 0;
  }
}

bool is_dots(const std::string& name) {
  return name == "." || name == "..";
}

DirHandle* handle_of(fuse_file_info* fi) {
  return reinterpret_cast<DirHandle*>(fi->fh);
}

// Fills `buf` with entries from offset `off`; returns the bytes used, or an error. Runs
// under the handle's lock; the caller replies after unlocking, since a reply lets the
// kernel release the directory (and releasedir delete the handle) at once.
Result<size_t> fill_entries(fuse_req_t req, fuse_ino_t ino, std::vector<char>& buf, off_t off,
                            DirHandle& h, bool plus) {
  Context& c = ctx_of(req);
  std::lock_guard lock(h.mu);
  if (off == 0 || !h.loaded) {  // opendir or rewinddir: a fresh snapshot
    auto list = c.fs.readdir(c.to_fs(ino));
    if (!list) return tl::unexpected(list.error());
    h.entries = std::move(*list);
    h.loaded = true;
  }
  const size_t size = buf.size();
  size_t used = 0;
  for (const auto& e : h.entries) {
    if (off > 0 && e.pos < static_cast<uint64_t>(off)) continue;
    const off_t next = static_cast<off_t>(e.pos + 1);
    size_t n = 0;
    if (!plus) {
      struct stat st {};
      st.st_ino = e.ino;
      st.st_mode = type_of(e.file_type);
      n = fuse_add_direntry(req, buf.data() + used, size - used, e.name.c_str(), &st, next);
      if (n > size - used) break;
    } else {
      fuse_entry_param ent{};
      const bool dots = is_dots(e.name);
      if (dots) {  // no entry for the kernel to cache (node id 0), no lookup count
        ent.attr.st_ino = e.ino;
        ent.attr.st_mode = type_of(e.file_type);
      } else {
        auto a = c.fs.getattr(e.ino);
        if (!a) continue;  // removed since the snapshot
        ent = to_entry(c, *a);
      }
      n = fuse_add_direntry_plus(req, buf.data() + used, size - used, e.name.c_str(), &ent, next);
      if (n > size - used) break;
      if (!dots) c.lookups.add(e.ino);
    }
    used += n;
  }
  return used;
}

void do_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, fuse_file_info* fi,
                bool plus) {
  std::vector<char> buf(size);
  auto used = fill_entries(req, ino, buf, off, *handle_of(fi), plus);
  if (!used) return reply_error(req, used.error(), plus ? "readdirplus" : "readdir");
  fuse_reply_buf(req, buf.data(), *used);
}

}  // namespace

void op_opendir(fuse_req_t req, fuse_ino_t, fuse_file_info* fi) {
  auto* h = new (std::nothrow) DirHandle;
  if (!h) {
    fuse_reply_err(req, ENOMEM);
    return;
  }
  fi->fh = reinterpret_cast<uint64_t>(h);
  if (fuse_reply_open(req, fi) != 0) delete h;
}

void op_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, fuse_file_info* fi) {
  do_readdir(req, ino, size, off, fi, false);
}

void op_readdirplus(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, fuse_file_info* fi) {
  do_readdir(req, ino, size, off, fi, true);
}

void op_releasedir(fuse_req_t req, fuse_ino_t, fuse_file_info* fi) {
  delete handle_of(fi);
  fuse_reply_err(req, 0);
}

void op_fsyncdir(fuse_req_t req, fuse_ino_t ino, int datasync, fuse_file_info*) {
  Context& c = ctx_of(req);
  auto s = c.fs.fsync(c.to_fs(ino), datasync != 0);
  if (!s) return reply_error(req, s.error(), "fsyncdir");
  fuse_reply_err(req, 0);
}

}  // namespace f2sc::fuse
