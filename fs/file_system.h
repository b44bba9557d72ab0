// FileSystem: a mounted F2FS image, read-write, with a POSIX-like API keyed by inode number.
//
// This is the interface the FUSE mount, the stress tester and the tools use. Every call
// returns errno-style errors in Error::sys_errno (ENOENT, EEXIST, ENOTEMPTY, ENOSPC,
// ENAMETOOLONG, EISDIR, ENOTDIR, EXDEV, EROFS, EINVAL, ENODATA, ERANGE, EIO, EUCLEAN for a
// corrupt image) and a message naming the inode and name involved.
//
// Durability: nothing reaches the last checkpoint until sync(), fsync(), unmount(), the
// checkpoint timer or space pressure writes one. After fsync(ino) returns, the file's data
// and metadata survive a crash. A crash at any other moment leaves the image as of the last
// checkpoint, which fsck.f2fs accepts.
//
// Thread safety: every method may be called from any thread at once (see the lock order in
// file_system.cc). unmount() must not race with other calls.
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/error.h"
#include "blockdev/block_device.h"
#include "fs/dir.h"
#include "fs/inode.h"
#include "gc/gc_controller.h"
#include "gc/gc_stats.h"
#include "segment/segment_manager.h"

namespace f2sc::fs {

struct MountOptions {
  bool read_only = false;
  // Passed to the device (BlockDevice::set_copy_offload); unset leaves the device as it is.
  std::optional<bool> copy_offload;
  // Seconds between timer checkpoints when something is dirty (0: no timer).
  uint32_t checkpoint_interval_sec = 30;
  // A checkpoint is written when this many node blocks are dirty.
  uint32_t dirty_node_limit = 4096;
  // Create small files with inline data and new directories with inline dentries, as
  // Linux does by default.
  bool inline_data = true;
  bool inline_dentry = true;
  // Garbage collection. Foreground GC always runs before a change when free sections fall
  // to the reserve plus GcOptions::foreground_margin_sections. The background thread
  // (F2FS's background_gc=on) runs only when asked for.
  bool background_gc = false;
  // Victim policy for foreground and background GC: greedy, cost-benefit or age-threshold.
  // Empty: F2FS's defaults (greedy in the foreground, cost-benefit in the background).
  std::string gc_policy;
  // Sleep times, margins, migrator limits (is_idle and background_policy are set by mount).
  gc::GcOptions gc;
};

// Attribute changes for setattr(); unset fields stay. ctime is set by every change.
struct SetAttr {
  std::optional<uint16_t> mode;  // permission bits only (the type never changes)
  std::optional<uint32_t> uid, gid;
  std::optional<uint64_t> size;  // truncate or extend with a hole
  std::optional<Timespec> atime, mtime;
};

struct StatFs {
  uint64_t block_size = 4096;
  uint64_t blocks = 0;  // main area blocks
  uint64_t bfree = 0;   // free for anyone
  uint64_t bavail = 0;  // free for users (reserve for GC and checkpoints excluded)
  uint64_t files = 0;   // nids
  uint64_t ffree = 0;   // free nids
  uint32_t namemax = 255;
};

// rename() flags, as renameat2(2).
inline constexpr unsigned kRenameNoReplace = 1;
inline constexpr unsigned kRenameExchange = 2;

// fallocate() modes, as fallocate(2).
inline constexpr int kFallocKeepSize = 0x01;
inline constexpr int kFallocPunchHole = 0x02;

// F2FS_IOC_SHUTDOWN levels (F2FS_GOING_DOWN_*), see FileSystem::shutdown().
enum class ShutdownMode : uint32_t { kFullSync = 0, kMetaSync = 1, kNoSync = 2, kMetaFlush = 3 };

// Inode flags (i_flags; F2FS stores the FS_*_FL values of FS_IOC_GETFLAGS unchanged).
inline constexpr uint32_t kFlagCompr = 0x00000004;
inline constexpr uint32_t kFlagSync = 0x00000008;
inline constexpr uint32_t kFlagImmutable = 0x00000010;
inline constexpr uint32_t kFlagAppend = 0x00000020;
inline constexpr uint32_t kFlagNoDump = 0x00000040;
inline constexpr uint32_t kFlagNoAtime = 0x00000080;
inline constexpr uint32_t kFlagNoComp = 0x00000400;
inline constexpr uint32_t kFlagIndex = 0x00001000;
inline constexpr uint32_t kFlagDirSync = 0x00010000;
inline constexpr uint32_t kFlagInlineData = 0x10000000;  // reported, never stored
inline constexpr uint32_t kFlagProjInherit = 0x20000000;
inline constexpr uint32_t kFlagCasefold = 0x40000000;
// What set_flags() stores (F2FS's settable set without compression and casefold, which
// need superblock features f2sc does not support).
inline constexpr uint32_t kSettableFlags = kFlagSync | kFlagImmutable | kFlagAppend | kFlagNoDump |
                                           kFlagNoAtime | kFlagDirSync | kFlagProjInherit;

struct FsStats {
  uint64_t checkpoints = 0;
  uint64_t data_blocks_written = 0;
  uint64_t node_blocks_written = 0;
  uint64_t dirty_nodes = 0;  // now
  // Data blocks GC moved whose node (inode or direct node) had to be rewritten for the new
  // address: the metadata cost of moving a data block, paid at the next checkpoint.
  uint64_t gc_node_updates = 0;
  // copy_file_range: calls, bytes copied, block-aligned data blocks moved by device copy
  // requests (offloaded inside the device, or emulated by the copy engine), the requests,
  // source hole blocks left as holes, and bytes copied by read+write (unaligned edges,
  // inline files).
  uint64_t copy_range_calls = 0;
  uint64_t copy_range_bytes = 0;
  uint64_t copy_range_blocks_offloaded = 0;
  uint64_t copy_range_blocks_emulated = 0;
  uint64_t copy_range_requests = 0;
  uint64_t copy_range_hole_blocks = 0;
  uint64_t copy_range_rw_bytes = 0;
};

class FileSystem {
 public:
  // Mounts the image on `dev` (which must outlive the FileSystem): reads the superblock and
  // the newer checkpoint, loads the SIT, NAT journal and free nids, and deletes the orphan
  // inodes the checkpoint lists. Read-only mounts never write to the device.
  static Result<std::unique_ptr<FileSystem>> mount(blockdev::BlockDevice& dev,
                                                   const MountOptions& options = {});
  // Unmounts without a checkpoint if unmount() was not called (a simulated crash).
  ~FileSystem();
  FileSystem(const FileSystem&) = delete;
  FileSystem& operator=(const FileSystem&) = delete;

  // Writes an unmount checkpoint and stops the timer; later calls fail with EIO.
  Status unmount();

  uint32_t root_ino() const;
  bool read_only() const;

  Result<InodeAttr> getattr(uint32_t ino);
  Result<InodeAttr> lookup(uint32_t dir, std::string_view name);
  // Every entry, "." and ".." included, ascending DirEntryInfo::pos (stable offsets).
  Result<std::vector<DirEntryInfo>> readdir(uint32_t dir);
  Result<std::string> readlink(uint32_t ino);
  // Root-relative or absolute '/'-separated path; symlinks are not followed.
  Result<uint32_t> resolve(std::string_view path);

  // `mode` carries the permission bits (create/mkdir) or type and bits (mknod).
  Result<InodeAttr> create(uint32_t dir, std::string_view name, uint16_t mode, uint32_t uid,
                           uint32_t gid);
  Result<InodeAttr> mknod(uint32_t dir, std::string_view name, uint16_t mode, dev_t rdev,
                          uint32_t uid, uint32_t gid);
  Result<InodeAttr> mkdir(uint32_t dir, std::string_view name, uint16_t mode, uint32_t uid,
                          uint32_t gid);
  Result<InodeAttr> symlink(uint32_t dir, std::string_view name, std::string_view target,
                            uint32_t uid, uint32_t gid);
  Result<InodeAttr> link(uint32_t ino, uint32_t new_dir, std::string_view new_name);
  Status unlink(uint32_t dir, std::string_view name);
  Status rmdir(uint32_t dir, std::string_view name);
  Status rename(uint32_t old_dir, std::string_view old_name, uint32_t new_dir,
                std::string_view new_name, unsigned flags = 0);

  Result<size_t> read(uint32_t ino, uint64_t offset, std::span<std::byte> buf);
  Result<size_t> write(uint32_t ino, uint64_t offset, std::span<const std::byte> data);
  Result<InodeAttr> setattr(uint32_t ino, const SetAttr& changes);
  Status truncate(uint32_t ino, uint64_t size);
  Status fallocate(uint32_t ino, int mode, uint64_t offset, uint64_t length);
  // copy_file_range(2) between two regular files: up to `len` bytes, stopping at the
  // source's end. Whole blocks are copied on the device (one multi-range copy request per
  // destination run, offloaded when the device's copy_offload is on) into newly allocated
  // destination blocks; source holes stay holes; unaligned edges and inline files go
  // through read+write. Returns the bytes copied (short after a failure that followed some
  // progress). EINVAL for overlapping ranges of one file, EISDIR, EFBIG, EOVERFLOW, EROFS,
  // ENOSPC.
  Result<uint64_t> copy_file_range(uint32_t src_ino, uint64_t src_off, uint32_t dst_ino,
                                   uint64_t dst_off, uint64_t len);
  // lseek(2) SEEK_DATA (`data`) or SEEK_HOLE from `offset` in a regular file; ENXIO at or
  // past the end of file (and for SEEK_DATA when only holes follow). As Linux f2fs,
  // fallocated blocks that were never written are neither data nor a hole.
  Result<uint64_t> seek_data_hole(uint32_t ino, uint64_t offset, bool data);

  Result<std::vector<uint8_t>> getxattr(uint32_t ino, std::string_view name);
  Status setxattr(uint32_t ino, std::string_view name, std::span<const uint8_t> value,
                  int flags = 0);
  Result<std::vector<std::string>> listxattr(uint32_t ino);
  Status removexattr(uint32_t ino, std::string_view name);

  // Open-file tracking: an inode unlinked while open stays (as an orphan, listed in each
  // checkpoint) until its last release.
  Status open(uint32_t ino);
  Status release(uint32_t ino);

  Status fsync(uint32_t ino, bool datasync = false);
  Status sync();  // writes a checkpoint if anything changed
  Result<StatFs> statfs();
  FsStats stats() const;
  // Segments by state and their valid blocks (what GC works on; zeros when unmounted).
  segment::SpaceUsage space_usage() const;

  // Garbage collection (read-write mounts; EROFS otherwise). gc_collect cleans up to
  // `sections` sections now on the calling thread with `policy` (empty: the mount's
  // foreground policy) and checkpoints so the victims become free.
  Result<gc::CollectResult> gc_collect(uint32_t sections, std::string_view policy = {});
  gc::GcStatsSnapshot gc_stats() const;  // zeros on a read-only mount
  void reset_gc_stats();
  Status set_gc_policy(std::string_view policy);  // foreground and background
  Status set_background_gc(bool on);
  bool background_gc() const;
  void set_gc_urgent(bool urgent);  // background GC without idle checks, short sleeps
  // The background GC thread's sleeps (gc::GcController::set_sleep); EROFS on a read-only
  // mount, which has no GC: gc_sleep() is then the mount options'.
  Status set_gc_sleep(const gc::GcSleep& sleep);
  gc::GcSleep gc_sleep() const;
  // Victim blocks the GC could not read since mount, with their owners (each stays in
  // place; its section is no longer a victim), and the last error of a collection
  // (foreground and background ones included; empty if none failed).
  std::vector<gc::UnreadableBlock> gc_bad_blocks() const;
  std::string gc_last_error() const;
  // FIBMAP: the device block that holds file block `block` of regular file `ino`, 0 for a
  // hole, a fallocated block never written, or inline data. A hint: GC and writes move it.
  Result<uint32_t> bmap(uint32_t ino, uint64_t block);
  // GC of the sections that hold main-area blocks [start, start + blocks) (F2FS_IOC_GARBAGE_
  // COLLECT_RANGE): only those sections are victims, cleaned as gc_collect() does. EINVAL
  // when the range is empty or leaves the main area.
  Result<gc::CollectResult> gc_collect_range(uint64_t start, uint64_t blocks,
                                             std::string_view policy = {});

  // Inode flags (FS_IOC_SETFLAGS): replaces the kSettableFlags bits of `ino` with those of
  // `flags` and keeps the others. EOPNOTSUPP for bits F2FS does not report or that need a
  // feature (compression, casefold), and for directory-only bits on other files. Once set,
  // immutable refuses every change to the inode and its entries (EPERM), append-only
  // refuses changes to existing bytes, truncation, unlinking and renaming.
  Result<InodeAttr> set_flags(uint32_t ino, uint32_t flags);

  // F2FS_IOC_SHUTDOWN: kFullSync and kMetaSync first write a checkpoint (f2sc keeps no
  // dirty data of its own: what the caller wrote is in it); kNoSync and kMetaFlush write
  // nothing (metadata reaches the device only with a checkpoint). Afterwards every change,
  // fsync and sync fail with EIO, GC and the checkpoint timer stop, reads still work, and
  // unmount() writes no checkpoint: the next mount sees the last checkpoint. A second call
  // does nothing.
  Status shutdown(ShutdownMode mode);
  bool is_shut_down() const;

  class Impl;

 private:
  explicit FileSystem(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace f2sc::fs
