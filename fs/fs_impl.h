// FileSystem::Impl: the state of a mounted filesystem and the internal operations the
// public methods are built from. One concern per file: file_system.cc (mount, checkpoint,
// orphans, space, the public wrappers), file.cc (the block map and file data),
// file_range.cc (copy_file_range by device copy, SEEK_DATA/SEEK_HOLE), namei.cc
// (names: create, link, unlink, rename, directories), fs_xattr.cc (extended attributes),
// gc_owners.cc (the GC's owner interface, foreground GC, the GC API).
//
// Lock order: Impl::mu_ (one mutex for the whole namespace, node cache and NAT) is taken
// first by every public call and held to its end, checkpoints included; then readers_mu_;
// SegmentManager's own mutexes are taken inside both and never the other way round.
// Metadata and data writes are issued under mu_ (one operation at a time mutates the
// tree). File data reads only plan under mu_ and read the device without it: the blocks
// they read cannot be reused before a checkpoint frees their segment, and a checkpoint
// waits (readers_cv_, without needing mu_ from the readers) until no such read is in
// flight. Methods named *_locked expect mu_ held.
//
// GC: fg_mu_ (one foreground collection at a time) and the GcController are entered only
// without mu_ (at the start of a mutating call, or from the GC's own threads); the GC then
// takes mu_ through is_live, run_commit and checkpoint. gc_mu_ guards the policy pointer
// and is a leaf. So: fg_mu_ -> mu_ -> readers_mu_ -> SegmentManager.
//
// Thread safety: see FileSystem.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "base/error.h"
#include "blockdev/block_device.h"
#include "fs/dir_write.h"
#include "fs/file_system.h"
#include "fs/inode.h"
#include "fs/node_store.h"
#include "gc/block_owners.h"
#include "gc/gc_controller.h"
#include "gc/victim_policy.h"
#include "segment/format.h"
#include "segment/segment_manager.h"
#include "segment/superblock.h"

namespace f2sc::fs {

// Where one file block's address lives: a slot in a cached inode or direct node.
struct BlockSlot {
  uint32_t* addr = nullptr;  // nullptr: no node maps this block (a hole)
  uint32_t nid = 0;          // the node holding the slot
  uint16_t ofs_in_node = 0;  // index among the node's data addresses
  uint8_t version = 0;       // the node's NAT version (summary entries carry it)
};

// A read planned under the lock and done without it (see FileSystem::read).
struct ReadPlan {
  uint64_t offset = 0;
  size_t n = 0;              // bytes the read returns
  bool inline_done = false;  // served from the inode: the buffer is filled already
  uint64_t first = 0;        // first file block
  uint64_t blocks = 0;       // file blocks the read covers
  struct Run {
    uint64_t block;  // file block
    uint32_t addr;   // its device address; the run's blocks follow it
    uint32_t len;
  };
  std::vector<Run> runs;  // mapped blocks; the others are holes
};

class FileSystem::Impl : public gc::BlockOwners {
 public:
  Impl(blockdev::BlockDevice& dev, MountOptions opts, segment::SuperBlockInfo super);
  ~Impl();

  Status mount_locked(segment::Image image);
  void start_timer();
  void stop_timer();

  // --- inodes (file_system.cc)
  Result<segment::NodeBlock*> inode_node(uint32_t ino);
  Result<InodeView> view(uint32_t ino);
  InodeAttr attr_of(const InodeView& v) const { return v.attr; }
  Result<InodeAttr> getattr_locked(uint32_t ino);
  // A new inode of `mode` under `parent`; its nid comes from the free list.
  Result<uint32_t> new_inode(uint16_t mode, uint32_t uid, uint32_t gid, uint32_t parent,
                             std::string_view name, dev_t rdev);
  // Frees an inode with no links left and no opener: its data, nodes and nid.
  Status free_inode(uint32_t ino);
  // Drops one link; frees the inode (or makes it an orphan while open) at zero.
  Status drop_link(uint32_t ino);
  Timespec now() const;
  Status check_writable() const;
  // EPERM when the i_flags of `ino` hold any of `forbidden` (kFlagImmutable,
  // kFlagAppend), naming `op` (fs_admin.cc).
  Status check_flags_locked(uint32_t ino, uint32_t forbidden, const char* op);
  // A change to the entry `name` of `dir`: the directory must not be immutable, nor
  // append-only when the entry goes away (`removing`), and an existing target must be
  // neither immutable nor append-only when it is removed or replaced.
  Status check_entry_locked(uint32_t dir, std::string_view name, bool removing, const char* op);
  // A write of `data` at `offset`: EPERM on an immutable file, and on an append-only file
  // when it would change bytes before the end of file.
  Status check_write_locked(uint32_t ino, uint64_t offset, std::span<const std::byte> data);

  // --- file data (file.cc)
  // The slot of `block`; with `create`, missing nodes on the path are made.
  Result<BlockSlot> block_slot(uint32_t ino, uint64_t block, bool create);
  // The same with the inode's geometry known (only its address layout is used).
  Result<BlockSlot> block_slot(uint32_t ino, const InodeView& geometry, uint64_t block,
                               bool create);
  Result<uint32_t> map_block(uint32_t ino, uint64_t block);
  Result<uint32_t> map_block(uint32_t ino, const InodeView& geometry, uint64_t block);
  Result<ReadPlan> plan_read(uint32_t ino, uint64_t offset, std::span<std::byte> buf);
  // Needs no lock: the planned blocks stay put until the next checkpoint, which waits for
  // readers (reader_enter/reader_exit).
  Result<size_t> execute_read(uint32_t ino, const ReadPlan& plan, std::span<std::byte> buf);
  Result<size_t> read_locked(uint32_t ino, uint64_t offset, std::span<std::byte> buf);
  void reader_enter();
  void reader_exit();
  void wait_for_readers();
  Result<size_t> write_locked(uint32_t ino, uint64_t offset, std::span<const std::byte> data);
  // Writes whole blocks [first, first + n) of `ino` out of place in `log`.
  Status write_blocks(uint32_t ino, uint64_t first, std::span<const std::byte> data,
                      segment::Log log);
  Status truncate_locked(uint32_t ino, uint64_t size);
  // Frees blocks [from, to) (to = UINT64_MAX: to the end of the tree), dropping nodes that
  // map nothing afterwards when `drop_nodes`.
  Status punch_blocks(uint32_t ino, uint64_t from, uint64_t to);
  Status fallocate_locked(uint32_t ino, int mode, uint64_t offset, uint64_t length);
  Status convert_inline(uint32_t ino);
  // Counts a block that left the inode (i_blocks) and whatever the SIT must know.
  Status release_addr(segment::NodeBlock* inode, uint32_t addr);

  // --- file ranges (file_range.cc)
  // One piece of copy_file_range (at most kCopyPieceBytes; the checks see all of `len`).
  static constexpr uint64_t kCopyPieceBytes = 64ull << 20;
  Result<uint64_t> copy_range_locked(uint32_t src, uint64_t src_off, uint32_t dst, uint64_t dst_off,
                                     uint64_t len);
  Result<uint64_t> seek_data_hole_locked(uint32_t ino, uint64_t offset, bool data);

  // --- names (namei.cc)
  Result<std::optional<DirEntryInfo>> find_locked(uint32_t dir, std::string_view name);
  Result<std::vector<DirEntryInfo>> readdir_locked(uint32_t dir);
  Result<InodeAttr> make_node(uint32_t dir, std::string_view name, uint16_t mode, dev_t rdev,
                              uint32_t uid, uint32_t gid, std::string_view symlink_target);
  Result<InodeAttr> link_locked(uint32_t ino, uint32_t dir, std::string_view name);
  Status unlink_locked(uint32_t dir, std::string_view name, bool want_dir);
  Status rename_locked(uint32_t odir, std::string_view oname, uint32_t ndir, std::string_view nname,
                       unsigned flags);
  Result<uint32_t> resolve_locked(std::string_view path);

  // --- xattrs (fs_xattr.cc)
  Result<std::vector<uint8_t>> getxattr_locked(uint32_t ino, std::string_view name);
  Status setxattr_locked(uint32_t ino, std::string_view name, std::span<const uint8_t> value,
                         int flags);
  Result<std::vector<std::string>> listxattr_locked(uint32_t ino);
  Status removexattr_locked(uint32_t ino, std::string_view name);
  Status free_xattrs(uint32_t ino);

  // --- checkpoint and space (file_system.cc)
  Status checkpoint_locked(bool umount);
  // Makes sure `blocks` more blocks can be written by a user request (plus the node blocks
  // the next checkpoint needs): checkpoints to free prefree segments, else ENOSPC.
  // `rewrites` of them replace blocks the file already has (net zero for the checkpoint's
  // valid_block_count): a request of rewrites only is admitted on a full filesystem while
  // more than half of GC's reserve is free, as F2FS admits overwrites, and the GC reclaims
  // what they invalidate.
  Status reserve_locked(uint64_t blocks, uint64_t rewrites = 0);
  // The test reserve_locked() applies, without its checkpoint. Never false with some
  // `rewrites` where it is true without them.
  bool has_room_locked(uint64_t blocks, uint64_t rewrites) const;
  // Blocks in free sections beyond GC's reserve (and a spare), with `count_prefree` also
  // those the next checkpoint frees.
  uint64_t user_free_blocks(bool count_prefree = false) const;
  // While alive (mu_ held), reserve_locked() admits the writes of a deletion more freely.
  struct Releasing {
    explicit Releasing(Impl& fs) : fs_(fs) { fs_.releasing_ = true; }
    ~Releasing() { fs_.releasing_ = false; }
    Impl& fs_;
  };
  void mark_changed() { changed_ = true; }

  // --- garbage collection (gc_owners.cc)
  // gc::BlockOwners. is_live, run_commit and checkpoint take mu_; repoint runs inside
  // run_commit (mu_ held).
  Result<bool> is_live(uint32_t addr, const segment::Summary& sum, gc::BlockKind kind) override;
  Result<bool> repoint(uint32_t old_addr, uint32_t new_addr, const segment::Summary& sum,
                       gc::BlockKind kind) override;
  Status run_commit(const std::function<Status()>& commit) override;
  Status checkpoint() override;
  // The address slot a data block's summary names, or nullptr when the owner is gone.
  Result<uint32_t*> data_owner_slot(const segment::Summary& sum);
  void start_gc();
  void stop_gc();
  Status set_gc_policy(std::string_view name);
  // Called without mu_ at the start of every mutating call: collects while free sections
  // are at or under the reserve plus the margin (with `force`, at least one round).
  void foreground_gc(bool force = false);

  blockdev::BlockDevice& dev_;
  const MountOptions opts_;
  const segment::SuperBlockInfo super_;
  const segment::Layout& layout_;
  std::unique_ptr<segment::SegmentManager> sm_;
  std::unique_ptr<NodeStore> nodes_;

  mutable std::mutex mu_;
  bool mounted_ = false;
  bool changed_ = false;
  uint32_t valid_nodes_ = 0;
  uint32_t valid_inodes_ = 0;
  bool releasing_ = false;        // inside unlink or rmdir (see Releasing)
  uint64_t reserved_blocks_ = 0;  // NEW_ADDR blocks (fallocate): counted, not in the SIT
  std::map<uint32_t, uint32_t> open_count_;
  std::set<uint32_t> orphans_;  // unlinked inodes kept while open
  FsStats stats_;

  // Unlocked data readers: a checkpoint frees prefree segments only when none is active.
  std::mutex readers_mu_;
  std::condition_variable readers_cv_;
  int readers_ = 0;

  // GC: created at a read-write mount; destroyed (background thread stopped) before the
  // rest. fg_policy_ (under gc_mu_): the foreground policy (nullptr: greedy, as F2FS).
  std::unique_ptr<gc::GcController> gc_;
  std::mutex gc_mu_;
  std::shared_ptr<const gc::VictimPolicy> fg_policy_;
  std::mutex fg_mu_;  // one foreground collection at a time
  std::atomic<int64_t> last_write_ns_{0};

  // After shutdown() (under mu_): changes and checkpoints fail with EIO (fs_admin.cc).
  bool shutdown_ = false;

  std::thread timer_;
  std::condition_variable timer_cv_;
  bool timer_stop_ = false;
};

// DirStore over the filesystem's node cache and data blocks (namei.cc).
class InodeDirStore : public DirStore {
 public:
  InodeDirStore(FileSystem::Impl& fs, uint32_t ino, InodeView v)
      : fs_(fs), ino_(ino), view_(std::move(v)) {}
  InodeView& dir() override { return view_; }
  Result<std::optional<Block>> read_block(uint64_t index) override;
  Status write_block(uint64_t index, const Block& data) override;
  Status punch_block(uint64_t index) override;
  // Copies the edited inode back into the node cache and marks it dirty.
  Status commit();

 private:
  FileSystem::Impl& fs_;
  uint32_t ino_;
  InodeView view_;
};

}  // namespace f2sc::fs
