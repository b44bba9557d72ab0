// ioctls (f2sc_ioctl.h): F2FS's GC, checkpoint and shutdown calls with Linux's numbers,
// FS_IOC_GETFLAGS/SETFLAGS, and f2sc's status, settings and GC calls for f2sc-ctl.
//
// FUSE only passes "restricted" ioctls: the kernel copies _IOC_SIZE(cmd) bytes in for
// _IOW and out for _IOR, nothing else. F2FS_IOC_SHUTDOWN is declared _IOR although it
// reads its level from the caller, so the kernel sends us no argument; the level is read
// from the calling process (process_vm_readv at the ioctl's pointer, which needs the
// daemon to be allowed to read that process's memory: root, or the same user).
//
// As in Linux, GC, checkpoint, shutdown and every setting need root (uid 0 here, for
// CAP_SYS_ADMIN); the status is open to everyone.
#include <linux/fs.h>
#include <sys/uio.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <string>
#include <utility>

#include "tools/f2sc-fuse/context.h"
#include "tools/f2sc-fuse/f2sc_ioctl.h"

namespace f2sc::fuse {

namespace {

namespace io = f2sc::ioctl;

void copy_text(char* dst, size_t n, const std::string& s) {
  const size_t len = std::min(n - 1, s.size());
  std::memcpy(dst, s.data(), len);
  dst[len] = '\0';
}

std::string text_of(const char* src, size_t n) {
  return std::string(src, strnlen(src, n));
}

bool is_root(fuse_req_t req) {
  return fuse_req_ctx(req)->uid == 0;
}

void reply_ok(fuse_req_t req, const void* out = nullptr, size_t size = 0) {
  fuse_reply_ioctl(req, 0, out, size);
}

// The argument struct of a _IOW ioctl, or false (after EINVAL) when the kernel sent less.
template <class T>
bool take_in(fuse_req_t req, const void* in, size_t in_size, T& out) {
  if (!in || in_size < sizeof(T)) {
    fuse_reply_err(req, EINVAL);
    return false;
  }
  std::memcpy(&out, in, sizeof(T));
  return true;
}

// F2FS's answer to a GC ioctl: ENODATA when no section could be picked, EAGAIN for a
// foreground (sync) call that freed none.
int gc_errno(const gc::CollectResult& r, bool sync) {
  if (r.victims == 0) return ENODATA;
  if (sync && r.freed == 0) return EAGAIN;
  return 0;
}

// The policy of a GC ioctl: the mount's foreground policy for a sync call, its background
// policy (cost-benefit unless gc_policy= chose one) otherwise, as F2FS's FG_GC/BG_GC.
std::string gc_policy_for(Context& c, bool sync) {
  if (sync) return {};
  std::lock_guard lock(c.settings_mu);
  return c.gc_policy.empty() ? "cost-benefit" : c.gc_policy;
}

void do_gc(fuse_req_t req, Context& c, const void* in, size_t in_size) {
  uint32_t sync = 0;
  if (!take_in(req, in, in_size, sync)) return;
  if (c.fs.read_only()) return (void)fuse_reply_err(req, EROFS);
  auto r = c.fs.gc_collect(1, gc_policy_for(c, sync != 0));
  if (!r) return reply_error(req, r.error(), "F2FS_IOC_GARBAGE_COLLECT");
  if (int e = gc_errno(*r, sync != 0)) return (void)fuse_reply_err(req, e);
  reply_ok(req);
}

void do_gc_range(fuse_req_t req, Context& c, const void* in, size_t in_size) {
  io::F2fsGcRange range{};
  if (!take_in(req, in, in_size, range)) return;
  if (c.fs.read_only()) return (void)fuse_reply_err(req, EROFS);
  auto r = c.fs.gc_collect_range(range.start, range.len, gc_policy_for(c, range.sync != 0));
  if (!r) return reply_error(req, r.error(), "F2FS_IOC_GARBAGE_COLLECT_RANGE");
  if (int e = gc_errno(*r, range.sync != 0)) return (void)fuse_reply_err(req, e);
  reply_ok(req);
}

void do_shutdown(fuse_req_t req, Context& c, void* arg) {
  uint32_t level = 0;
  const fuse_ctx* who = fuse_req_ctx(req);
  iovec local{&level, sizeof level};
  iovec remote{arg, sizeof level};
  if (who->pid <= 0 || process_vm_readv(who->pid, &local, 1, &remote, 1, 0) != sizeof level) {
    const int e = who->pid <= 0 ? EFAULT : errno;
    log_line(c.settings, std::string("F2FS_IOC_SHUTDOWN: cannot read the level from process ") +
                             std::to_string(who->pid) + ": " + std::strerror(e));
    return (void)fuse_reply_err(req, EFAULT);
  }
  if (level == io::kGoingDownNeedFsck) return (void)fuse_reply_err(req, EOPNOTSUPP);
  if (level > io::kGoingDownMetaFlush) return (void)fuse_reply_err(req, EINVAL);
  auto s = c.fs.shutdown(static_cast<fs::ShutdownMode>(level));
  if (!s) return reply_error(req, s.error(), "F2FS_IOC_SHUTDOWN");
  log_line(c.settings, "shut down (level " + std::to_string(level) +
                           "): the image stays as of its last checkpoint");
  reply_ok(req);
}

// F2FS_GETTABLE_FS_FL without what f2sc never has (encryption, verity, pinned files).
constexpr uint32_t kReportedFlags = fs::kSettableFlags | fs::kFlagInlineData;

void do_getflags(fuse_req_t req, Context& c, fuse_ino_t ino, size_t out_size) {
  if (out_size < sizeof(uint32_t)) return (void)fuse_reply_err(req, EINVAL);
  auto a = c.fs.getattr(c.to_fs(ino));
  if (!a) return reply_error(req, a.error(), "FS_IOC_GETFLAGS");
  uint32_t flags = a->flags & kReportedFlags;
  if (a->inline_flags & (fs::kInlineData | fs::kInlineDentry)) flags |= fs::kFlagInlineData;
  reply_ok(req, &flags, sizeof flags);
}

void do_setflags(fuse_req_t req, Context& c, fuse_ino_t ino, const void* in, size_t in_size) {
  uint32_t flags = 0;
  if (!take_in(req, in, in_size, flags)) return;
  const uint32_t n = c.to_fs(ino);
  auto a = c.fs.getattr(n);
  if (!a) return reply_error(req, a.error(), "FS_IOC_SETFLAGS");
  // The kernel checks these too (vfs_fileattr_set); kept for older kernels.
  const fuse_ctx* who = fuse_req_ctx(req);
  if (who->uid != 0 && who->uid != a->uid) return (void)fuse_reply_err(req, EPERM);
  const uint32_t guarded = fs::kFlagImmutable | fs::kFlagAppend;
  if (who->uid != 0 && ((a->flags ^ flags) & guarded)) return (void)fuse_reply_err(req, EPERM);
  auto r = c.fs.set_flags(n, flags);
  if (!r) return reply_error(req, r.error(), "FS_IOC_SETFLAGS");
  reply_ok(req);
}

// FS_IOC_FSGETXATTR/FSSETXATTR (struct fsxattr): the kernel's fileattr code reads the old
// flags this way before every FS_IOC_SETFLAGS. Only xflags that have an i_flags bit exist.
constexpr std::pair<uint32_t, uint32_t> kXflags[] = {
    {fs::kFlagSync, FS_XFLAG_SYNC},       {fs::kFlagImmutable, FS_XFLAG_IMMUTABLE},
    {fs::kFlagAppend, FS_XFLAG_APPEND},   {fs::kFlagNoDump, FS_XFLAG_NODUMP},
    {fs::kFlagNoAtime, FS_XFLAG_NOATIME}, {fs::kFlagProjInherit, FS_XFLAG_PROJINHERIT}};

void do_fsgetxattr(fuse_req_t req, Context& c, fuse_ino_t ino, size_t out_size) {
  if (out_size < sizeof(fsxattr)) return (void)fuse_reply_err(req, EINVAL);
  auto a = c.fs.getattr(c.to_fs(ino));
  if (!a) return reply_error(req, a.error(), "FS_IOC_FSGETXATTR");
  fsxattr x{};
  for (auto [flag, xflag] : kXflags)
    if (a->flags & flag) x.fsx_xflags |= xflag;
  reply_ok(req, &x, sizeof x);
}

void do_fssetxattr(fuse_req_t req, Context& c, fuse_ino_t ino, const void* in, size_t in_size) {
  fsxattr x{};
  if (!take_in(req, in, in_size, x)) return;
  uint32_t known = 0, flags = 0;
  for (auto [flag, xflag] : kXflags) {
    known |= xflag;
    if (x.fsx_xflags & xflag) flags |= flag;
  }
  if ((x.fsx_xflags & ~known) || x.fsx_extsize || x.fsx_projid || x.fsx_cowextsize)
    return (void)fuse_reply_err(req, EOPNOTSUPP);
  auto a = c.fs.getattr(c.to_fs(ino));
  if (!a) return reply_error(req, a.error(), "FS_IOC_FSSETXATTR");
  uint32_t mapped = 0;
  for (auto [flag, xflag] : kXflags) mapped |= flag;
  const uint32_t all = (a->flags & fs::kSettableFlags & ~mapped) | flags;
  do_setflags(req, c, ino, &all, sizeof all);
}

io::Status make_status(Context& c) {
  io::Status st{};
  st.magic = io::kStatusMagic;
  st.size = sizeof st;
  fs::FileSystem& f = c.fs;
  const blockdev::BlockDevice& d = *c.dev;
  const blockdev::QueueLimits lim = d.limits();
  if (f.read_only()) st.flags |= io::kStatusReadOnly;
  if (f.is_shut_down()) st.flags |= io::kStatusShutDown;
  if (f.background_gc()) st.flags |= io::kStatusBackgroundGc;
  if (lim.copy_offload) st.flags |= io::kStatusCopyOffload;
  if (lim.copy_offload_supported) st.flags |= io::kStatusCopyOffloadSupported;
  if (d.offload_enabled()) st.flags |= io::kStatusOffloadEnabled;
  {
    std::lock_guard lock(c.settings_mu);
    if (c.gc_urgent) st.flags |= io::kStatusGcUrgent;
    copy_text(st.gc_policy, sizeof st.gc_policy, c.gc_policy);
  }
  copy_text(st.device, sizeof st.device, d.name());
  st.block_size = d.block_size();
  st.block_count = d.block_count();
  st.hw_limits = {lim.hw_copy.max_copy_sectors, lim.hw_copy.max_copy_nr_ranges,
                  lim.hw_copy.max_copy_range_sectors};
  st.current_limits = {lim.copy.max_copy_sectors, lim.copy.max_copy_nr_ranges,
                       lim.copy.max_copy_range_sectors};

  const blockdev::DeviceStats ds = d.stats();
  io::DeviceCounters& dc = st.device_stats;
  dc.bytes_read = ds.bytes_read;
  dc.bytes_written = ds.bytes_written;
  dc.copy_descriptor_bytes = ds.copy_descriptor_bytes;
  dc.read_commands = ds.read_commands;
  dc.write_commands = ds.write_commands;
  dc.flush_commands = ds.flush_commands;
  dc.discard_commands = ds.discard_commands;
  dc.copy_commands = ds.copy_commands;
  dc.copy_ranges = ds.copy_ranges;
  dc.blocks_copied_in_device = ds.blocks_copied_in_device;
  dc.failed_commands = ds.failed_commands;

  const gc::GcStatsSnapshot g = f.gc_stats();
  io::GcCounters& gcs = st.gc;
  gcs.collections = g.collections;
  gcs.victims = g.victims;
  gcs.victims_freed = g.victims_freed;
  gcs.blocks_scanned = g.blocks_scanned;
  gcs.blocks_dead = g.blocks_dead;
  gcs.data_blocks_moved = g.data_blocks_moved;
  gcs.node_blocks_moved = g.node_blocks_moved;
  gcs.dropped_copies = g.dropped_copies;
  gcs.copy_requests = g.copy_requests;
  gcs.request_ranges = g.request_ranges;
  gcs.copy_faults = g.copy_faults;
  gcs.owner_errors = g.owner_errors;
  gcs.copy_commands = g.copy_commands;
  gcs.copy_ranges = g.copy_ranges;
  gcs.max_ranges_per_command = g.max_ranges_per_command;
  gcs.max_blocks_per_request = g.max_blocks_per_request;
  gcs.blocks_offloaded = g.blocks_offloaded;
  gcs.blocks_emulated = g.blocks_emulated;
  gcs.copy_host_bytes = g.copy_host_bytes;
  gcs.checkpoints = g.checkpoints;
  gcs.time_ns = g.time_ns;
  gcs.copy_command_faults = g.copy_command_faults;
  gcs.faults_limits = g.faults_limits;
  gcs.faults_out_of_range = g.faults_out_of_range;
  gcs.faults_media = g.faults_media;
  gcs.faults_partial = g.faults_partial;
  gcs.offload_suspensions = g.offload_suspensions;
  gcs.blocks_retried = g.blocks_retried;
  gcs.unreadable_blocks = g.unreadable_blocks;
  gcs.unwritable_blocks = g.unwritable_blocks;
  gcs.bad_sections = g.bad_sections;
  gcs.collect_errors = g.collect_errors;

  const fs::FsStats fst = f.stats();
  st.fs.checkpoints = fst.checkpoints;
  st.fs.data_blocks_written = fst.data_blocks_written;
  st.fs.node_blocks_written = fst.node_blocks_written;
  st.fs.dirty_nodes = fst.dirty_nodes;
  st.fs.gc_node_updates = fst.gc_node_updates;
  st.fs.copy_range_calls = fst.copy_range_calls;
  st.fs.copy_range_bytes = fst.copy_range_bytes;
  st.fs.copy_range_blocks_offloaded = fst.copy_range_blocks_offloaded;
  st.fs.copy_range_blocks_emulated = fst.copy_range_blocks_emulated;
  st.fs.copy_range_requests = fst.copy_range_requests;
  st.fs.copy_range_hole_blocks = fst.copy_range_hole_blocks;
  st.fs.copy_range_rw_bytes = fst.copy_range_rw_bytes;

  const fs::MountOptions& mo = c.mount_options;
  io::GcKnobs& k = st.knobs;
  const gc::GcSleep sl = f.gc_sleep();  // in force: f2sc-ctl may have changed them
  k.min_sleep_ms = sl.min_ms;
  k.max_sleep_ms = sl.max_ms;
  k.no_gc_sleep_ms = sl.no_gc_ms;
  k.urgent_sleep_ms = sl.urgent_ms;
  k.foreground_margin_sections = mo.gc.foreground_margin_sections;
  k.background_sections = mo.gc.background_sections;
  k.checkpoint_after_collect = mo.gc.checkpoint_after_collect;
  k.max_in_flight = mo.gc.migrator.max_in_flight;
  k.offload_fault_limit = mo.gc.migrator.offload_fault_limit;
  k.checkpoint_interval_sec = mo.checkpoint_interval_sec;
  k.dirty_node_limit = mo.dirty_node_limit;

  io::Space& sp = st.space;
  if (auto s = f.statfs(); s) {
    sp.block_size = s->block_size;
    sp.blocks = s->blocks;
    sp.bfree = s->bfree;
    sp.bavail = s->bavail;
    sp.files = s->files;
    sp.ffree = s->ffree;
  }
  const segment::SpaceUsage u = f.space_usage();
  sp.segments = u.segments;
  sp.free_segments = u.free;
  sp.current_segments = u.current;
  sp.prefree_segments = u.prefree;
  sp.data_segments_in_use = u.data_in_use;
  sp.node_segments_in_use = u.node_in_use;
  sp.data_valid_in_use = u.data_valid_in_use;
  sp.node_valid_in_use = u.node_valid_in_use;
  sp.free_sections = u.free_sections;
  sp.reserved_sections = u.reserved_sections;
  return st;
}

void do_set(fuse_req_t req, Context& c, const void* in, size_t in_size) {
  io::Setting set{};
  if (!take_in(req, in, in_size, set)) return;
  if (set.magic != io::kSettingMagic) return (void)fuse_reply_err(req, EINVAL);
  const bool on = set.value != 0;
  Status s;
  switch (static_cast<io::SettingKey>(set.key)) {
    case io::SettingKey::kCopyOffload:
      if (set.value > 1) return (void)fuse_reply_err(req, EINVAL);
      if (on && !c.dev->limits().copy_offload_supported) {
        log_line(c.settings, "copy_offload=on refused: " + c.dev->name() + " cannot offload");
        return (void)fuse_reply_err(req, EOPNOTSUPP);
      }
      s = c.dev->set_copy_offload(on);
      break;
    case io::SettingKey::kBackgroundGc:
      if (set.value > 1) return (void)fuse_reply_err(req, EINVAL);
      s = c.fs.set_background_gc(on);
      break;
    case io::SettingKey::kGcPolicy: {
      const std::string name = text_of(set.text, sizeof set.text);
      s = c.fs.set_gc_policy(name);
      if (s) {
        std::lock_guard lock(c.settings_mu);
        c.gc_policy = name;
      }
      break;
    }
    case io::SettingKey::kGcUrgent:
      if (set.value > 1) return (void)fuse_reply_err(req, EINVAL);
      if (c.fs.read_only()) return (void)fuse_reply_err(req, EROFS);
      c.fs.set_gc_urgent(on);
      {
        std::lock_guard lock(c.settings_mu);
        c.gc_urgent = on;
      }
      break;
    case io::SettingKey::kMaxCopySectors:
    case io::SettingKey::kMaxCopyNrRanges:
    case io::SettingKey::kMaxCopyRangeSectors: {
      blockdev::CopyLimits l = c.dev->limits().copy;
      const auto key = static_cast<io::SettingKey>(set.key);
      if (key == io::SettingKey::kMaxCopySectors) l.max_copy_sectors = set.value;
      if (key == io::SettingKey::kMaxCopyRangeSectors) l.max_copy_range_sectors = set.value;
      if (key == io::SettingKey::kMaxCopyNrRanges) {
        if (set.value > UINT32_MAX) return (void)fuse_reply_err(req, EINVAL);
        l.max_copy_nr_ranges = static_cast<uint32_t>(set.value);
      }
      s = c.dev->set_copy_limits(l);
      break;
    }
    case io::SettingKey::kGcMinSleepMs:
    case io::SettingKey::kGcMaxSleepMs:
    case io::SettingKey::kGcNoGcSleepMs:
    case io::SettingKey::kGcUrgentSleepMs: {
      if (set.value == 0 || set.value > UINT32_MAX) return (void)fuse_reply_err(req, EINVAL);
      if (c.fs.read_only()) return (void)fuse_reply_err(req, EROFS);
      const auto ms = static_cast<uint32_t>(set.value);
      std::lock_guard lock(c.settings_mu);  // one read-modify-write at a time
      gc::GcSleep sl = c.fs.gc_sleep();
      switch (static_cast<io::SettingKey>(set.key)) {
        case io::SettingKey::kGcMinSleepMs:
          sl.min_ms = ms;
          break;
        case io::SettingKey::kGcMaxSleepMs:
          sl.max_ms = ms;
          break;
        case io::SettingKey::kGcNoGcSleepMs:
          sl.no_gc_ms = ms;
          break;
        default:
          sl.urgent_ms = ms;
          break;
      }
      s = c.fs.set_gc_sleep(sl);
      break;
    }
    default:
      return (void)fuse_reply_err(req, EINVAL);
  }
  if (!s) {
    const int e = s.error().sys_errno > 0 ? s.error().sys_errno : EINVAL;
    log_line(c.settings, "setting refused: " + s.error().message);
    return (void)fuse_reply_err(req, e);
  }
  reply_ok(req);
}

void do_f2sc_gc(fuse_req_t req, Context& c, const void* in, size_t in_size) {
  io::GcRequest r{};
  if (!take_in(req, in, in_size, r)) return;
  if (r.magic != io::kGcRequestMagic) return (void)fuse_reply_err(req, EINVAL);
  if (c.fs.read_only()) return (void)fuse_reply_err(req, EROFS);
  const bool sync = r.flags & io::kGcSync;
  std::string policy = text_of(r.policy, sizeof r.policy);
  if (policy.empty()) policy = gc_policy_for(c, sync);
  auto res = c.fs.gc_collect(std::max<uint32_t>(r.sections, 1), policy);
  if (!res) return reply_error(req, res.error(), "f2sc gc");
  r.victims = res->victims;
  r.freed = res->freed;
  r.moved = res->moved;
  r.dropped = res->dropped;
  r.copy_faults = res->copy_faults;
  r.checkpointed = res->checkpointed;
  reply_ok(req, &r, sizeof r);
}

}  // namespace

void op_ioctl(fuse_req_t req, fuse_ino_t ino, unsigned int cmd, void* arg, fuse_file_info*,
              unsigned flags, const void* in, size_t in_size, size_t out_size) {
  Context& c = ctx_of(req);
  if (flags & FUSE_IOCTL_COMPAT) return (void)fuse_reply_err(req, ENOTTY);  // 32-bit callers
  switch (cmd) {
    case FS_IOC_GETFLAGS:
    case FS_IOC32_GETFLAGS:
      return do_getflags(req, c, ino, out_size);
    case FS_IOC_SETFLAGS:
    case FS_IOC32_SETFLAGS:
      return do_setflags(req, c, ino, in, in_size);
    case FS_IOC_FSGETXATTR:
      return do_fsgetxattr(req, c, ino, out_size);
    case FS_IOC_FSSETXATTR:
      return do_fssetxattr(req, c, ino, in, in_size);
    case io::kIocGetStatus: {
      if (out_size < sizeof(io::Status)) return (void)fuse_reply_err(req, EINVAL);
      const io::Status st = make_status(c);
      return reply_ok(req, &st, sizeof st);
    }
    default:
      break;
  }
  const bool admin = cmd == io::kF2fsIocWriteCheckpoint || cmd == io::kF2fsIocGarbageCollect ||
                     cmd == io::kF2fsIocGarbageCollectRange || cmd == io::kF2fsIocShutdown ||
                     cmd == io::kIocSet || cmd == io::kIocGc;
  if (!admin) return (void)fuse_reply_err(req, ENOTTY);
  if (!is_root(req)) return (void)fuse_reply_err(req, EPERM);  // Linux: CAP_SYS_ADMIN
  switch (cmd) {
    case io::kF2fsIocWriteCheckpoint: {
      if (c.fs.read_only()) return (void)fuse_reply_err(req, EROFS);
      auto s = c.fs.sync();
      if (!s) return reply_error(req, s.error(), "F2FS_IOC_WRITE_CHECKPOINT");
      return reply_ok(req);
    }
    case io::kF2fsIocGarbageCollect:
      return do_gc(req, c, in, in_size);
    case io::kF2fsIocGarbageCollectRange:
      return do_gc_range(req, c, in, in_size);
    case io::kF2fsIocShutdown:
      return do_shutdown(req, c, arg);
    case io::kIocSet:
      return do_set(req, c, in, in_size);
    case io::kIocGc:
      return do_f2sc_gc(req, c, in, in_size);
    default:
      return (void)fuse_reply_err(req, ENOTTY);
  }
}

}  // namespace f2sc::fuse
