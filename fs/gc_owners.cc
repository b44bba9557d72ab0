// The filesystem's side of garbage collection: FileSystem::Impl as gc::BlockOwners (the
// owner of every block the GC moves), foreground GC before writes, and the GC API.
//
// Owners are reached under Impl::mu_, the lock every writer holds while it swaps an
// address, so a GC repoint and a user overwrite are ordered. run_commit() holds mu_ for the
// whole commit, which also keeps checkpoints out (they run under mu_); repoint() is only
// valid inside it. The GcController itself is never called with mu_ held: foreground GC
// runs at the start of a mutating call, before the call takes mu_.
#include <cerrno>

#include "fs/fs_impl.h"
#include "fs/node_path.h"
#include "gc/victim_policy.h"

namespace f2sc::fs {

using segment::kNullAddr;
using segment::NodeBlock;

namespace {

Error unmounted() {
  return make_error(Errc::kInvalidArgument, EIO, "the filesystem is unmounted");
}

}  // namespace

Result<uint32_t*> FileSystem::Impl::data_owner_slot(const segment::Summary& sum) {
  auto e = nodes_->nat(sum.nid);
  if (!e) {
    if (e.error().code == Errc::kOutOfRange) return nullptr;  // a stale summary
    return fail(e.error());
  }
  if (e->block_addr == kNullAddr || e->version != sum.version) return nullptr;
  auto n = nodes_->get_any(sum.nid);
  if (!n) {
    if (n.error().code == Errc::kNotFound) return nullptr;
    return fail(n.error());
  }
  NodeBlock* node = *n;
  const uint32_t ofs = node->footer.flag >> 3;
  if (node->footer.nid == node->footer.ino && ofs == 0) {
    // An inode: its i_addr slots start after the extra attributes.
    segment::Inode& i = node->i;
    if (i.i_inline & (kInlineData | kInlineDentry)) return nullptr;
    uint32_t extra = 0;
    if (i.i_inline & kExtraAttr) extra = (i.i_addr[0] & 0xffff) / 4;
    if (extra + sum.ofs_in_node >= segment::kAddrsPerInode) return nullptr;
    return &i.i_addr[extra + sum.ofs_in_node];
  }
  if (!is_direct_node_offset(ofs) || sum.ofs_in_node >= segment::kAddrsPerBlock) return nullptr;
  return &node->addr[sum.ofs_in_node];
}

Result<bool> FileSystem::Impl::is_live(uint32_t addr, const segment::Summary& sum,
                                       gc::BlockKind kind) {
  std::lock_guard lock(mu_);
  if (!mounted_) return fail(unmounted());
  if (kind == gc::BlockKind::kNode) {
    auto e = nodes_->nat(sum.nid);
    if (!e) return e.error().code == Errc::kOutOfRange ? Result<bool>(false) : fail(e.error());
    // A dirty node is rewritten by the next checkpoint anyway; its old block dies then.
    return e->block_addr == addr && !nodes_->is_dirty(sum.nid);
  }
  auto slot = data_owner_slot(sum);
  nodes_->trim();
  if (!slot) return fail(slot.error());
  return *slot && **slot == addr;
}

Result<bool> FileSystem::Impl::repoint(uint32_t old_addr, uint32_t new_addr,
                                       const segment::Summary& sum, gc::BlockKind kind) {
  // Inside run_commit(): mu_ is held by this thread.
  if (!mounted_) return fail(unmounted());
  if (kind == gc::BlockKind::kNode) return nodes_->repoint(sum.nid, old_addr, new_addr);
  auto slot = data_owner_slot(sum);
  if (!slot) return fail(slot.error());
  if (!*slot || **slot != old_addr) return false;
  **slot = new_addr;
  nodes_->mark_dirty(sum.nid);  // the node's new content reaches the device at the checkpoint
  ++stats_.gc_node_updates;
  // The inode's cached extent must not name the old address any more.
  auto owner = nodes_->get_any(sum.nid);
  if (!owner) return fail(owner.error());
  const uint32_t ino = (*owner)->footer.ino;
  auto in = inode_node(ino);
  if (!in) return fail(in.error());
  const segment::Extent ext = (*in)->i.i_ext;
  if (ext.len && old_addr >= ext.blk_addr && old_addr - ext.blk_addr < ext.len) {
    (*in)->i.i_ext = segment::Extent{};
    nodes_->mark_dirty(ino);
  }
  changed_ = true;
  return true;
}

Status FileSystem::Impl::run_commit(const std::function<Status()>& commit) {
  std::lock_guard lock(mu_);
  if (!mounted_) return fail(unmounted());
  auto s = commit();
  nodes_->trim();
  return s;
}

Status FileSystem::Impl::checkpoint() {
  std::lock_guard lock(mu_);
  if (!mounted_) return fail(unmounted());
  return checkpoint_locked(false);
}

void FileSystem::Impl::start_gc() {
  if (opts_.read_only) return;
  gc::GcOptions o = opts_.gc;
  o.background_policy = nullptr;
  // Idle: no mutating call in the last second (F2FS looks at its request queues likewise).
  o.is_idle = [this] {
    const auto last = last_write_ns_.load(std::memory_order_relaxed);
    const auto now = std::chrono::steady_clock::now().time_since_epoch().count();
    return now - last > 1'000'000'000;
  };
  gc_ = std::make_unique<gc::GcController>(*sm_, dev_, *this, std::move(o));
  if (!opts_.gc_policy.empty()) (void)set_gc_policy(opts_.gc_policy);
  if (opts_.background_gc) gc_->start_background();
}

void FileSystem::Impl::stop_gc() {
  if (gc_) gc_->stop_background();
}

Status FileSystem::Impl::set_gc_policy(std::string_view name) {
  std::shared_ptr<const gc::VictimPolicy> p = gc::make_policy(name);
  if (!p)
    return fail(
        Errc::kInvalidArgument, EINVAL,
        "GC policy '" + std::string(name) + "': one of greedy, cost-benefit, age-threshold");
  {
    std::lock_guard lock(gc_mu_);
    fg_policy_ = p;
  }
  if (gc_) gc_->set_background_policy(p);
  return {};
}

void FileSystem::Impl::foreground_gc(bool force) {
  last_write_ns_.store(std::chrono::steady_clock::now().time_since_epoch().count(),
                       std::memory_order_relaxed);
  if (!gc_ || (!force && !gc_->needs_foreground())) return;
  // One foreground collector at a time; the others wait for it, which throttles writers
  // the way F2FS's gc_lock does.
  std::lock_guard lock(fg_mu_);
  std::shared_ptr<const gc::VictimPolicy> policy;
  {
    std::lock_guard g(gc_mu_);
    policy = fg_policy_;
  }
  if (!policy) policy = std::make_shared<const gc::GreedyPolicy>();
  // A failed collection ends foreground GC but not the write that asked for it: the write
  // then succeeds in the room left or fails on its own (ENOSPC, EIO from the same device).
  // The controller counts the failure and keeps its message (gc_stats().collect_errors,
  // gc_last_error()); what GC committed before failing stays consistent.
  for (uint32_t round = 0; round < layout_.sections; ++round) {
    if (!(force && round == 0) && !gc_->needs_foreground()) break;
    auto r = gc_->collect(1, *policy);
    if (!r || r->victims == 0 || r->freed == 0) break;
  }
}

// --- public API

Result<gc::CollectResult> FileSystem::gc_collect(uint32_t sections, std::string_view policy) {
  {
    std::lock_guard lock(impl_->mu_);
    if (auto s = impl_->check_writable(); !s) return fail(s.error());
  }
  if (!impl_->gc_) return fail(Errc::kInvalidArgument, EROFS, "no GC on a read-only mount");
  std::shared_ptr<const gc::VictimPolicy> p;
  if (policy.empty()) {
    std::lock_guard g(impl_->gc_mu_);
    p = impl_->fg_policy_;
    if (!p) p = std::make_shared<const gc::GreedyPolicy>();
  } else {
    p = gc::make_policy(policy);
    if (!p)
      return fail(
          Errc::kInvalidArgument, EINVAL,
          "GC policy '" + std::string(policy) + "': one of greedy, cost-benefit, age-threshold");
  }
  return impl_->gc_->collect(sections, *p);
}

gc::GcStatsSnapshot FileSystem::gc_stats() const {
  return impl_->gc_ ? impl_->gc_->stats() : gc::GcStatsSnapshot{};
}

void FileSystem::reset_gc_stats() {
  if (impl_->gc_) impl_->gc_->reset_stats();
}

Status FileSystem::set_gc_policy(std::string_view policy) {
  return impl_->set_gc_policy(policy);
}

Status FileSystem::set_background_gc(bool on) {
  {
    std::lock_guard lock(impl_->mu_);
    if (auto s = impl_->check_writable(); !s) return fail(s.error());
  }
  if (!impl_->gc_) return fail(Errc::kInvalidArgument, EROFS, "no GC on a read-only mount");
  if (on)
    impl_->gc_->start_background();
  else
    impl_->gc_->stop_background();
  return {};
}

bool FileSystem::background_gc() const {
  return impl_->gc_ && impl_->gc_->background_running();
}

std::vector<gc::UnreadableBlock> FileSystem::gc_bad_blocks() const {
  return impl_->gc_ ? impl_->gc_->bad_blocks() : std::vector<gc::UnreadableBlock>{};
}

std::string FileSystem::gc_last_error() const {
  return impl_->gc_ ? impl_->gc_->last_error() : std::string();
}

void FileSystem::set_gc_urgent(bool urgent) {
  if (impl_->gc_) impl_->gc_->set_urgent(urgent);
}

Status FileSystem::set_gc_sleep(const gc::GcSleep& sleep) {
  if (!impl_->gc_) return fail(Errc::kInvalidArgument, EROFS, "no GC on a read-only mount");
  return impl_->gc_->set_sleep(sleep);
}

gc::GcSleep FileSystem::gc_sleep() const {
  return impl_->gc_ ? impl_->gc_->sleep() : impl_->opts_.gc.sleep;
}

}  // namespace f2sc::fs
