// FileSystem: mount, unmount, inodes, checkpoints, orphans, space, and the public wrappers
// that take the lock (see fs_impl.h for the lock order).
#include "fs/file_system.h"

#include <sys/stat.h>
#include <sys/sysmacros.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <random>

#include "fs/fs_impl.h"
#include "segment/image.h"

namespace f2sc::fs {

using segment::kBlockSize;
using segment::kNewAddr;
using segment::kNullAddr;

namespace {

// Superblock features a read-write mount understands: sb_checksum (the crc is checked on
// read and never rewritten) and lost_found (mkfs made a directory). Anything else changes
// how inodes or data are written.
constexpr uint32_t kRwFeatures = 0x0800 | 0x0200;

Error closed() {
  return make_error(Errc::kInvalidArgument, EIO, "the filesystem is unmounted");
}

}  // namespace

FileSystem::Impl::Impl(blockdev::BlockDevice& dev, MountOptions opts, segment::SuperBlockInfo super)
    : dev_(dev), opts_(opts), super_(std::move(super)), layout_(super_.layout) {}

FileSystem::Impl::~Impl() {
  stop_gc();
  gc_.reset();
  stop_timer();
}

Timespec FileSystem::Impl::now() const {
  auto t = std::chrono::system_clock::now().time_since_epoch();
  auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(t).count();
  return Timespec{ns / 1000000000, static_cast<uint32_t>(ns % 1000000000)};
}

Status FileSystem::Impl::check_writable() const {
  if (!mounted_) return fail(closed());
  if (opts_.read_only) return fail(Errc::kReadOnly, EROFS, "the filesystem is mounted read-only");
  if (shutdown_) return fail(Errc::kInvalidArgument, EIO, "the filesystem was shut down");
  return {};
}

Status FileSystem::Impl::mount_locked(segment::Image image) {
  const segment::Checkpoint cp = image.cp;
  auto sm = segment::SegmentManager::load(dev_, std::move(image));
  if (!sm) return fail(sm.error());
  sm_ = std::move(*sm);
  nodes_ = std::make_unique<NodeStore>(dev_, layout_, *sm_, cp);
  if (auto s = nodes_->load(); !s) return s;
  valid_nodes_ = cp.head().valid_node_count;
  valid_inodes_ = cp.head().valid_inode_count;
  const uint64_t sit_valid = sm_->valid_blocks();
  if (cp.head().valid_block_count < sit_valid)
    return fail(Errc::kCorrupt,
                "checkpoint valid_block_count = " + std::to_string(cp.head().valid_block_count) +
                    " is below the SIT's " + std::to_string(sit_valid));
  reserved_blocks_ = cp.head().valid_block_count - sit_valid;
  mounted_ = true;
  if (!opts_.read_only && !cp.orphans.empty()) {
    // Inodes unlinked while open when the last checkpoint was written: nobody holds them now.
    for (uint32_t ino : cp.orphans) {
      auto s = free_inode(ino);
      if (!s && s.error().code != Errc::kNotFound)  // already gone: nothing to free
        return fail(with_context(s.error(), "mount: deleting orphan inode " + std::to_string(ino)));
    }
    if (auto s = checkpoint_locked(false); !s) return s;
  }
  return {};
}

Result<std::unique_ptr<FileSystem>> FileSystem::mount(blockdev::BlockDevice& dev,
                                                      const MountOptions& options) {
  if (dev.block_size() != kBlockSize)
    return fail(Errc::kInvalidArgument, "device " + dev.name() + " has " +
                                            std::to_string(dev.block_size()) +
                                            "-byte blocks; F2FS needs 4096");
  if (options.copy_offload)
    if (auto s = dev.set_copy_offload(*options.copy_offload); !s)
      return fail(with_context(s.error(), "mount: copy_offload"));
  auto image = segment::open_image(dev);
  if (!image) return fail(with_context(image.error(), "mount " + dev.name()));
  const uint32_t features = image->super.sb.feature;
  constexpr std::pair<uint32_t, const char*> kUnsupported[] = {
      {0x0001, "encrypt"}, {0x1000, "casefold"}, {0x2000, "compression"}};
  for (auto [bit, name] : kUnsupported)
    if (features & bit)
      return fail(Errc::kNotSupported,
                  "mount " + dev.name() + ": superblock feature " + name + " is not supported");
  if (!options.read_only && (features & ~kRwFeatures)) {
    char hex[64];
    std::snprintf(hex, sizeof hex, "0x%x", features & ~kRwFeatures);
    return fail(Errc::kNotSupported, EROFS,
                "mount " + dev.name() + ": superblock features " + hex +
                    " are not supported for writing; mount read-only");
  }
  auto impl = std::make_unique<Impl>(dev, options, image->super);
  {
    std::lock_guard lock(impl->mu_);
    if (auto s = impl->mount_locked(std::move(*image)); !s)
      return fail(with_context(s.error(), "mount " + dev.name()));
  }
  if (!options.read_only) {
    impl->start_gc();
    impl->start_timer();
  }
  return std::unique_ptr<FileSystem>(new FileSystem(std::move(impl)));
}

FileSystem::FileSystem(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
FileSystem::~FileSystem() = default;

void FileSystem::Impl::start_timer() {
  if (opts_.checkpoint_interval_sec == 0) return;
  timer_ = std::thread([this] {
    std::unique_lock lock(mu_);
    while (!timer_stop_) {
      timer_cv_.wait_for(lock, std::chrono::seconds(opts_.checkpoint_interval_sec));
      if (timer_stop_ || !mounted_ || !changed_) continue;
      (void)checkpoint_locked(false);  // a failure stays visible: the next sync reports it
    }
  });
}

void FileSystem::Impl::stop_timer() {
  {
    std::lock_guard lock(mu_);
    timer_stop_ = true;
  }
  timer_cv_.notify_all();
  if (timer_.joinable()) timer_.join();
}

Status FileSystem::unmount() {
  impl_->stop_gc();
  impl_->stop_timer();
  std::lock_guard lock(impl_->mu_);
  if (!impl_->mounted_) return fail(closed());
  Status s;
  // After shutdown() the image stays as of its last checkpoint.
  if (!impl_->opts_.read_only && !impl_->shutdown_) s = impl_->checkpoint_locked(true);
  impl_->mounted_ = false;
  return s;
}

// --- checkpoints and space

void FileSystem::Impl::reader_enter() {
  std::lock_guard lock(readers_mu_);
  ++readers_;
}

void FileSystem::Impl::reader_exit() {
  std::lock_guard lock(readers_mu_);
  if (--readers_ == 0) readers_cv_.notify_all();
}

void FileSystem::Impl::wait_for_readers() {
  std::unique_lock lock(readers_mu_);
  readers_cv_.wait(lock, [this] { return readers_ == 0; });
}

Status FileSystem::Impl::checkpoint_locked(bool umount) {
  if (opts_.read_only) return {};
  if (shutdown_) return fail(Errc::kInvalidArgument, EIO, "the filesystem was shut down");
  const uint64_t ver = sm_->checkpoint_version() + 1;
  if (auto s = nodes_->flush(ver); !s) return s;
  segment::Journal nat_journal;
  std::vector<uint8_t> nat_bitmap;
  if (auto s = nodes_->write_nat(nat_journal, nat_bitmap); !s) return s;
  segment::CheckpointRequest req;
  req.umount = umount;
  req.fill = [&](segment::Checkpoint& next) {
    next.nat_journal() = nat_journal;
    std::memcpy(next.nat_bitmap(layout_.cp_payload), nat_bitmap.data(), nat_bitmap.size());
    auto& h = next.head();
    h.valid_node_count = valid_nodes_;
    h.valid_inode_count = valid_inodes_;
    h.next_free_nid = nodes_->next_free_nid_hint();
    h.valid_block_count += reserved_blocks_;
    next.orphans.assign(orphans_.begin(), orphans_.end());
  };
  wait_for_readers();  // no new ones start: they plan under mu_, which we hold
  if (auto s = sm_->checkpoint(req); !s) return s;
  nodes_->committed();
  changed_ = false;
  ++stats_.checkpoints;
  return {};
}

uint64_t FileSystem::Impl::user_free_blocks(bool count_prefree) const {
  uint64_t free_secs = sm_->free_sections();
  // Prefree segments become free at the next checkpoint, which a write short of room
  // writes first (reserve_locked).
  if (count_prefree) free_secs += sm_->prefree_segments() / layout_.segs_per_sec;
  const uint64_t keep = sm_->reserved_sections() + 1;
  if (free_secs <= keep) return 0;
  return (free_secs - keep) * layout_.segs_per_sec * segment::kBlocksPerSeg;
}

bool FileSystem::Impl::has_room_locked(uint64_t blocks, uint64_t rewrites) const {
  if (rewrites >= blocks)
    return sm_->free_sections() > sm_->section_floor(segment::Claim::kRewrite);
  const uint64_t need = blocks + nodes_->dirty_count() + 64;
  const uint64_t used = sm_->valid_blocks() + reserved_blocks_;
  return user_free_blocks() >= need && used + need - rewrites <= sm_->user_block_count();
}

Status FileSystem::Impl::reserve_locked(uint64_t blocks, uint64_t rewrites) {
  if (releasing_) {
    // A deletion frees more than it writes (a dentry block now, nodes at the checkpoint),
    // so it may use the room left in the current logs and the margin above GC's reserve
    // (Linux never refuses an unlink for space either). The reserve itself stays GC's.
    if (sm_->free_sections() > sm_->section_floor(segment::Claim::kUser) ||
        sm_->log_free_blocks(segment::Log::kHotData) >= blocks)
      return {};
  }
  // Two limits. Free sections: room for the data, the nodes the next checkpoint writes,
  // and a margin for the nodes this request dirties, beyond the sections GC and the
  // checkpoint keep in reserve. Accounting: the checkpoint's valid_block_count (data,
  // nodes, fallocated blocks) must stay within user_block_count, the space left after
  // overprovisioning, or the checkpoint could not be written. Rewrites alone add nothing
  // to the accounting (their nodes exist), and what they invalidate is what GC reclaims:
  // they may use half of GC's reserve (segment::Claim::kRewrite, the floor their
  // allocations get too). Without that, a small image whose garbage sits in the current
  // logs refuses overwrites it could absorb. Foreground GC runs before each of them
  // meanwhile, since free sections are at the reserve.
  auto need = [&] { return blocks + nodes_->dirty_count() + 64; };
  if (has_room_locked(blocks, rewrites)) return {};
  if (sm_->prefree_segments() > 0 || nodes_->dirty_count() > 0)
    if (auto s = checkpoint_locked(false); !s) return s;
  if (has_room_locked(blocks, rewrites)) return {};
  const uint64_t used = std::min(sm_->user_block_count(), sm_->valid_blocks() + reserved_blocks_);
  return fail(Errc::kNoSpace, ENOSPC,
              "no space left: " + std::to_string(user_free_blocks()) + " blocks free for users (" +
                  std::to_string(sm_->user_block_count() - used) + " by accounting), " +
                  std::to_string(need()) + " needed");
}

// --- inodes

Result<segment::NodeBlock*> FileSystem::Impl::inode_node(uint32_t ino) {
  auto e = nodes_->nat(ino);
  if (!e) {
    if (e.error().code == Errc::kOutOfRange)
      return fail(Errc::kNotFound, ENOENT, "no inode " + std::to_string(ino));
    return fail(e.error());
  }
  if (e->block_addr == kNullAddr || e->ino != ino)
    return fail(Errc::kNotFound, ENOENT, "no inode " + std::to_string(ino));
  return nodes_->get(ino, ino, 0);
}

Result<InodeView> FileSystem::Impl::view(uint32_t ino) {
  auto n = inode_node(ino);
  if (!n) return fail(n.error());
  return parse_inode(**n, ino, super_.sb.feature);
}

Result<InodeAttr> FileSystem::Impl::getattr_locked(uint32_t ino) {
  auto v = view(ino);
  if (!v) return fail(v.error());
  return v->attr;
}

Result<uint32_t> FileSystem::Impl::new_inode(uint16_t mode, uint32_t uid, uint32_t gid,
                                             uint32_t parent, std::string_view name, dev_t rdev) {
  auto nid = nodes_->alloc_nid();
  if (!nid) return fail(nid.error());
  auto n = nodes_->create(*nid, *nid, 0, S_ISDIR(mode));
  if (!n) return fail(n.error());
  ++valid_nodes_;
  ++valid_inodes_;
  segment::Inode& i = (*n)->i;
  i.i_mode = mode;
  i.i_uid = uid;
  i.i_gid = gid;
  i.i_links = S_ISDIR(mode) ? 2 : 1;
  i.i_blocks = 1;
  const Timespec t = now();
  i.i_atime = i.i_ctime = i.i_mtime = static_cast<uint64_t>(t.sec);
  i.i_atime_nsec = i.i_ctime_nsec = i.i_mtime_nsec = t.nsec;
  static thread_local std::mt19937 rng{std::random_device{}()};
  i.i_generation = rng();
  i.i_pino = parent;
  i.i_namelen = static_cast<uint32_t>(name.size());
  std::memcpy(i.i_name, name.data(), name.size());
  i.i_dir_level = 0;
  // As Linux with its default mount options: inline xattrs for everyone, inline data for
  // regular files and symlinks, inline dentries for directories.
  i.i_inline = kInlineXattr;
  if ((S_ISREG(mode) || S_ISLNK(mode)) && opts_.inline_data) i.i_inline |= kInlineData;
  if (S_ISDIR(mode) && opts_.inline_dentry) i.i_inline |= kInlineDentry;
  if (S_ISCHR(mode) || S_ISBLK(mode)) {
    // Linux keeps the device number in i_addr[0] (old encoding when it fits, else new).
    const uint32_t ma = major(rdev), mi = minor(rdev);
    if (ma < 256 && mi < 256)
      i.i_addr[0] = (ma << 8) | mi;
    else
      i.i_addr[1] = (mi & 0xff) | (ma << 8) | ((mi & ~0xffu) << 12);
  }
  return *nid;
}

Status FileSystem::Impl::free_inode(uint32_t ino) {
  auto n = inode_node(ino);
  if (!n) return fail(n.error());
  const uint16_t mode = (*n)->i.i_mode;
  if (!S_ISCHR(mode) && !S_ISBLK(mode) && !S_ISFIFO(mode) && !S_ISSOCK(mode)) {
    const bool is_inline = (*n)->i.i_inline & (kInlineData | kInlineDentry);
    if (!is_inline)
      if (auto s = punch_blocks(ino, 0, UINT64_MAX); !s) return s;
  }
  if (auto s = free_xattrs(ino); !s) return s;
  if (auto s = nodes_->remove(ino); !s) return s;
  --valid_nodes_;
  --valid_inodes_;
  orphans_.erase(ino);
  open_count_.erase(ino);
  return {};
}

Status FileSystem::Impl::drop_link(uint32_t ino) {
  auto n = inode_node(ino);
  if (!n) return fail(n.error());
  segment::Inode& i = (*n)->i;
  const bool dir = S_ISDIR(i.i_mode);
  // A directory's last name takes its "." link with it.
  if (dir)
    i.i_links = 0;
  else if (i.i_links > 0)
    --i.i_links;
  const Timespec t = now();
  i.i_ctime = static_cast<uint64_t>(t.sec);
  i.i_ctime_nsec = t.nsec;
  nodes_->mark_dirty(ino);
  if (i.i_links > 0) return {};
  if (open_count_.count(ino)) {
    orphans_.insert(ino);
    return {};
  }
  return free_inode(ino);
}

// --- public wrappers

#define F2SC_LOCKED()                      \
  std::lock_guard lock_guard_(impl_->mu_); \
  if (!impl_->mounted_) return fail(closed());

#define F2SC_WRITE_LOCKED()                \
  impl_->foreground_gc();                  \
  std::lock_guard lock_guard_(impl_->mu_); \
  if (auto s_ = impl_->check_writable(); !s_) return fail(s_.error());

namespace {

// Ends a mutating call: keeps the dirty node count bounded and the clean cache small.
template <class R>
R finish(FileSystem::Impl& fs, R result) {
  fs.mark_changed();
  if (fs.nodes_->dirty_count() > fs.opts_.dirty_node_limit) {
    if (auto s = fs.checkpoint_locked(false); !s && result) return fail(s.error());
  }
  fs.nodes_->trim();
  return result;
}

}  // namespace

uint32_t FileSystem::root_ino() const {
  return impl_->layout_.root_ino;
}
bool FileSystem::read_only() const {
  return impl_->opts_.read_only;
}

Result<InodeAttr> FileSystem::getattr(uint32_t ino) {
  F2SC_LOCKED();
  auto r = impl_->getattr_locked(ino);
  impl_->nodes_->trim();
  return r;
}

Result<InodeAttr> FileSystem::lookup(uint32_t dir, std::string_view name) {
  F2SC_LOCKED();
  auto e = impl_->find_locked(dir, name);
  if (!e) return fail(e.error());
  if (!*e)
    return fail(Errc::kNotFound, ENOENT,
                "no '" + std::string(name) + "' in directory " + std::to_string(dir));
  auto r = impl_->getattr_locked((*e)->ino);
  impl_->nodes_->trim();
  return r;
}

Result<std::vector<DirEntryInfo>> FileSystem::readdir(uint32_t dir) {
  F2SC_LOCKED();
  auto r = impl_->readdir_locked(dir);
  impl_->nodes_->trim();
  return r;
}

Result<uint32_t> FileSystem::bmap(uint32_t ino, uint64_t block) {
  F2SC_LOCKED();
  auto v = impl_->view(ino);
  if (!v) return fail(v.error());
  if (!v->is_reg())
    return fail(Errc::kInvalidArgument, EINVAL,
                "inode " + std::to_string(ino) + " is no regular file: no block map");
  if (v->has_inline_data()) return 0u;
  auto a = impl_->map_block(ino, *v, block);
  impl_->nodes_->trim();
  return a;
}

Result<std::string> FileSystem::readlink(uint32_t ino) {
  F2SC_LOCKED();
  auto v = impl_->view(ino);
  if (!v) return fail(v.error());
  if (!v->is_symlink())
    return fail(Errc::kInvalidArgument, EINVAL, "inode " + std::to_string(ino) + " is no symlink");
  std::string target(v->attr.size, '\0');
  auto n = impl_->read_locked(ino, 0, std::as_writable_bytes(std::span(target)));
  if (!n) return fail(n.error());
  target.resize(*n);
  impl_->nodes_->trim();
  return target;
}

Result<uint32_t> FileSystem::resolve(std::string_view path) {
  F2SC_LOCKED();
  auto r = impl_->resolve_locked(path);
  impl_->nodes_->trim();
  return r;
}

Result<InodeAttr> FileSystem::create(uint32_t dir, std::string_view name, uint16_t mode,
                                     uint32_t uid, uint32_t gid) {
  F2SC_WRITE_LOCKED();
  if (auto s = impl_->check_entry_locked(dir, name, false, "create"); !s) return fail(s.error());
  return finish(*impl_, impl_->make_node(dir, name, S_IFREG | (mode & 07777), 0, uid, gid, {}));
}

Result<InodeAttr> FileSystem::mknod(uint32_t dir, std::string_view name, uint16_t mode, dev_t rdev,
                                    uint32_t uid, uint32_t gid) {
  F2SC_WRITE_LOCKED();
  const uint16_t type = mode & S_IFMT;
  if (type != S_IFREG && type != S_IFCHR && type != S_IFBLK && type != S_IFIFO && type != S_IFSOCK)
    return fail(Errc::kInvalidArgument, EINVAL, "mknod: unsupported file type");
  if (auto s = impl_->check_entry_locked(dir, name, false, "mknod"); !s) return fail(s.error());
  return finish(*impl_, impl_->make_node(dir, name, mode, rdev, uid, gid, {}));
}

Result<InodeAttr> FileSystem::mkdir(uint32_t dir, std::string_view name, uint16_t mode,
                                    uint32_t uid, uint32_t gid) {
  F2SC_WRITE_LOCKED();
  if (auto s = impl_->check_entry_locked(dir, name, false, "mkdir"); !s) return fail(s.error());
  return finish(*impl_, impl_->make_node(dir, name, S_IFDIR | (mode & 07777), 0, uid, gid, {}));
}

Result<InodeAttr> FileSystem::symlink(uint32_t dir, std::string_view name, std::string_view target,
                                      uint32_t uid, uint32_t gid) {
  F2SC_WRITE_LOCKED();
  if (target.empty()) return fail(Errc::kInvalidArgument, ENOENT, "symlink: empty target");
  if (target.size() >= kBlockSize)
    return fail(Errc::kInvalidArgument, ENAMETOOLONG, "symlink: target of 4096 bytes or more");
  if (auto s = impl_->check_entry_locked(dir, name, false, "symlink"); !s) return fail(s.error());
  return finish(*impl_, impl_->make_node(dir, name, S_IFLNK | 0777, 0, uid, gid, target));
}

Result<InodeAttr> FileSystem::link(uint32_t ino, uint32_t new_dir, std::string_view new_name) {
  F2SC_WRITE_LOCKED();
  if (auto s = impl_->check_flags_locked(ino, kFlagImmutable | kFlagAppend, "link"); !s)
    return fail(s.error());
  if (auto s = impl_->check_entry_locked(new_dir, new_name, false, "link"); !s)
    return fail(s.error());
  return finish(*impl_, impl_->link_locked(ino, new_dir, new_name));
}

Status FileSystem::unlink(uint32_t dir, std::string_view name) {
  F2SC_WRITE_LOCKED();
  if (auto s = impl_->check_entry_locked(dir, name, true, "unlink"); !s) return s;
  Impl::Releasing r(*impl_);
  return finish(*impl_, impl_->unlink_locked(dir, name, false));
}

Status FileSystem::rmdir(uint32_t dir, std::string_view name) {
  F2SC_WRITE_LOCKED();
  if (auto s = impl_->check_entry_locked(dir, name, true, "rmdir"); !s) return s;
  Impl::Releasing r(*impl_);
  return finish(*impl_, impl_->unlink_locked(dir, name, true));
}

Status FileSystem::rename(uint32_t old_dir, std::string_view old_name, uint32_t new_dir,
                          std::string_view new_name, unsigned flags) {
  F2SC_WRITE_LOCKED();
  if (auto s = impl_->check_entry_locked(old_dir, old_name, true, "rename"); !s) return s;
  if (auto s = impl_->check_entry_locked(new_dir, new_name, true, "rename"); !s) return s;
  return finish(*impl_, impl_->rename_locked(old_dir, old_name, new_dir, new_name, flags));
}

Result<size_t> FileSystem::read(uint32_t ino, uint64_t offset, std::span<std::byte> buf) {
  Result<ReadPlan> plan;
  {
    F2SC_LOCKED();
    plan = impl_->plan_read(ino, offset, buf);
    impl_->nodes_->trim();
    if (!plan) return fail(plan.error());
    if (plan->inline_done || plan->n == 0) return plan->n;
    impl_->reader_enter();
  }
  auto r = impl_->execute_read(ino, *plan, buf);
  impl_->reader_exit();
  return r;
}

namespace {

// Runs a call that may need space; on ENOSPC lets the GC clean a section and tries again
// (the free sections may have been short while accounting still allows the write).
template <class F>
auto with_gc_retry(FileSystem::Impl& fs, F&& call) {
  auto r = call();
  for (int attempt = 0; attempt < 2 && !r && r.error().sys_errno == ENOSPC && fs.gc_; ++attempt) {
    fs.foreground_gc(true);
    r = call();
  }
  return r;
}

}  // namespace

Result<size_t> FileSystem::write(uint32_t ino, uint64_t offset, std::span<const std::byte> data) {
  return with_gc_retry(*impl_, [&]() -> Result<size_t> {
    F2SC_WRITE_LOCKED();
    if (auto s = impl_->check_write_locked(ino, offset, data); !s) return fail(s.error());
    return finish(*impl_, impl_->write_locked(ino, offset, data));
  });
}

Result<InodeAttr> FileSystem::setattr(uint32_t ino, const SetAttr& c) {
  F2SC_WRITE_LOCKED();
  // As Linux: immutable refuses every change, append-only a new size, mode or owner (its
  // times stay settable: the kernel's write-back cache sets them after appends).
  const uint32_t forbidden = c.size || c.mode || c.uid || c.gid ? kFlagImmutable | kFlagAppend
                             : c.atime || c.mtime               ? kFlagImmutable
                                                                : 0;
  if (auto s = impl_->check_flags_locked(ino, forbidden, "setattr"); !s) return fail(s.error());
  auto n = impl_->inode_node(ino);
  if (!n) return fail(n.error());
  if (c.size) {
    if (S_ISDIR((*n)->i.i_mode))
      return fail(Errc::kInvalidArgument, EISDIR,
                  "truncate: inode " + std::to_string(ino) + " is a directory");
    if (!S_ISREG((*n)->i.i_mode))
      return fail(Errc::kInvalidArgument, EINVAL,
                  "truncate: inode " + std::to_string(ino) + " is not a regular file");
    if (auto s = impl_->truncate_locked(ino, *c.size); !s)
      return finish(*impl_, Result<InodeAttr>(fail(s.error())));
    n = impl_->inode_node(ino);
    if (!n) return fail(n.error());
  }
  segment::Inode& i = (*n)->i;
  if (c.mode) i.i_mode = static_cast<uint16_t>((i.i_mode & S_IFMT) | (*c.mode & 07777));
  if (c.uid) i.i_uid = *c.uid;
  if (c.gid) i.i_gid = *c.gid;
  if (c.atime) i.i_atime = static_cast<uint64_t>(c.atime->sec), i.i_atime_nsec = c.atime->nsec;
  if (c.mtime) i.i_mtime = static_cast<uint64_t>(c.mtime->sec), i.i_mtime_nsec = c.mtime->nsec;
  const Timespec t = impl_->now();
  i.i_ctime = static_cast<uint64_t>(t.sec);
  i.i_ctime_nsec = t.nsec;
  impl_->nodes_->mark_dirty(ino);
  return finish(*impl_, impl_->getattr_locked(ino));
}

Status FileSystem::truncate(uint32_t ino, uint64_t size) {
  SetAttr c;
  c.size = size;
  auto r = setattr(ino, c);
  if (!r) return fail(r.error());
  return {};
}

Status FileSystem::fallocate(uint32_t ino, int mode, uint64_t offset, uint64_t length) {
  return with_gc_retry(*impl_, [&]() -> Status {
    F2SC_WRITE_LOCKED();
    const uint32_t forbidden = kFlagImmutable | (mode & ~kFallocKeepSize ? kFlagAppend : 0);
    if (auto s = impl_->check_flags_locked(ino, forbidden, "fallocate"); !s) return s;
    return finish(*impl_, impl_->fallocate_locked(ino, mode, offset, length));
  });
}

Result<uint64_t> FileSystem::copy_file_range(uint32_t src_ino, uint64_t src_off, uint32_t dst_ino,
                                             uint64_t dst_off, uint64_t len) {
  // Piece by piece, the lock dropped in between (other calls and the GC go on, dirty nodes
  // stay bounded); an error after some progress ends the call with the short count.
  {
    // As Linux, the length is shortened to the source's end once, before anything is
    // copied (a copy that grows its own source does not chase its end).
    F2SC_LOCKED();
    ++impl_->stats_.copy_range_calls;
    const bool overflows = src_off + len < src_off || dst_off + len < dst_off;  // EOVERFLOW
    if (auto a = impl_->getattr_locked(src_ino); a && S_ISREG(a->mode) && !overflows)
      len = src_off >= a->size ? 0 : std::min(len, a->size - src_off);
    // An immutable destination takes nothing, an append-only one only at its end (EPERM).
    if (auto a = impl_->getattr_locked(dst_ino); a && S_ISREG(a->mode)) {
      const uint32_t forbidden = kFlagImmutable | (dst_off < a->size ? kFlagAppend : 0);
      if (auto s = impl_->check_flags_locked(dst_ino, forbidden, "copy_file_range"); !s)
        return fail(s.error());
    }
  }
  uint64_t done = 0;
  do {
    auto r = with_gc_retry(*impl_, [&]() -> Result<uint64_t> {
      F2SC_WRITE_LOCKED();
      return finish(*impl_, impl_->copy_range_locked(src_ino, src_off + done, dst_ino,
                                                     dst_off + done, len - done));
    });
    if (!r) return done > 0 ? Result<uint64_t>(done) : r;
    if (*r == 0) break;
    done += *r;
  } while (done < len);
  return done;
}

Result<uint64_t> FileSystem::seek_data_hole(uint32_t ino, uint64_t offset, bool data) {
  F2SC_LOCKED();
  auto r = impl_->seek_data_hole_locked(ino, offset, data);
  impl_->nodes_->trim();
  return r;
}

Result<std::vector<uint8_t>> FileSystem::getxattr(uint32_t ino, std::string_view name) {
  F2SC_LOCKED();
  auto r = impl_->getxattr_locked(ino, name);
  impl_->nodes_->trim();
  return r;
}

Status FileSystem::setxattr(uint32_t ino, std::string_view name, std::span<const uint8_t> value,
                            int flags) {
  F2SC_WRITE_LOCKED();
  if (auto s = impl_->check_flags_locked(ino, kFlagImmutable | kFlagAppend, "setxattr"); !s)
    return s;
  return finish(*impl_, impl_->setxattr_locked(ino, name, value, flags));
}

Result<std::vector<std::string>> FileSystem::listxattr(uint32_t ino) {
  F2SC_LOCKED();
  auto r = impl_->listxattr_locked(ino);
  impl_->nodes_->trim();
  return r;
}

Status FileSystem::removexattr(uint32_t ino, std::string_view name) {
  F2SC_WRITE_LOCKED();
  if (auto s = impl_->check_flags_locked(ino, kFlagImmutable | kFlagAppend, "removexattr"); !s)
    return s;
  return finish(*impl_, impl_->removexattr_locked(ino, name));
}

Status FileSystem::open(uint32_t ino) {
  F2SC_LOCKED();
  auto n = impl_->inode_node(ino);
  if (!n) return fail(n.error());
  ++impl_->open_count_[ino];
  return {};
}

Status FileSystem::release(uint32_t ino) {
  F2SC_LOCKED();
  auto it = impl_->open_count_.find(ino);
  if (it == impl_->open_count_.end())
    return fail(Errc::kInvalidArgument, EBADF,
                "release: inode " + std::to_string(ino) + " is not open");
  if (--it->second > 0) return {};
  impl_->open_count_.erase(it);
  if (!impl_->orphans_.count(ino) || impl_->opts_.read_only || impl_->shutdown_) return {};
  return finish(*impl_, impl_->free_inode(ino));
}

Status FileSystem::fsync(uint32_t ino, bool /*datasync*/) {
  F2SC_LOCKED();
  if (auto n = impl_->inode_node(ino); !n) return fail(n.error());
  if (impl_->shutdown_) return fail(Errc::kInvalidArgument, EIO, "the filesystem was shut down");
  if (impl_->opts_.read_only || !impl_->changed_) return {};
  // One checkpoint per fsync: everything dirty, this file included, becomes durable.
  return impl_->checkpoint_locked(false);
}

Status FileSystem::sync() {
  F2SC_LOCKED();
  if (impl_->shutdown_) return fail(Errc::kInvalidArgument, EIO, "the filesystem was shut down");
  if (impl_->opts_.read_only || !impl_->changed_) return {};
  return impl_->checkpoint_locked(false);
}

Result<StatFs> FileSystem::statfs() {
  F2SC_LOCKED();
  StatFs s;
  // blocks: the main area; bfree: what no block uses there (overprovisioned space
  // included, as a root reserve is in bfree); bavail: what users may still fill, bounded by
  // the checkpoint's user_block_count and by the free sections beyond GC's reserve.
  Impl& m = *impl_;
  const uint64_t main_blocks = m.super_.layout.main_segments * uint64_t{segment::kBlocksPerSeg};
  const uint64_t used = m.sm_->valid_blocks() + m.reserved_blocks_ + m.nodes_->dirty_count();
  s.blocks = main_blocks;
  s.bfree = used < main_blocks ? main_blocks - used : 0;
  const uint64_t user_blocks = m.sm_->user_block_count();
  const uint64_t by_accounting = used < user_blocks ? user_blocks - used : 0;
  s.bavail = std::min({m.user_free_blocks(true), by_accounting, s.bfree});
  s.files = m.nodes_->max_nid() - m.layout_.root_ino;
  s.ffree = std::min<uint64_t>(m.nodes_->free_nid_count(), s.bavail);
  return s;
}

segment::SpaceUsage FileSystem::space_usage() const {
  return impl_->sm_ ? impl_->sm_->space_usage() : segment::SpaceUsage{};
}

FsStats FileSystem::stats() const {
  std::lock_guard lock(impl_->mu_);
  FsStats s = impl_->stats_;
  s.node_blocks_written = impl_->nodes_ ? impl_->nodes_->nodes_written() : 0;
  s.dirty_nodes = impl_->nodes_ ? impl_->nodes_->dirty_count() : 0;
  return s;
}

}  // namespace f2sc::fs
