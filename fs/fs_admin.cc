// Administration of a mounted filesystem, the calls behind F2FS's ioctls: shutdown, inode
// flags (and the checks that enforce immutable and append-only), and GC of a block range.
//
// Lock order as everywhere (fs_impl.h): the GC is entered without mu_; shutdown() takes
// mu_ for its checkpoint and stops the GC and the timer after releasing it.
#include <algorithm>
#include <cerrno>
#include <cstring>
#include <memory>
#include <vector>

#include "fs/fs_impl.h"
#include "gc/victim_policy.h"

namespace f2sc::fs {

namespace {

Error unmounted() {
  return make_error(Errc::kInvalidArgument, EIO, "the filesystem is unmounted");
}

Error not_permitted(uint32_t ino, uint32_t flags, const char* op) {
  return make_error(Errc::kInvalidArgument, EPERM,
                    std::string(op) + ": inode " + std::to_string(ino) + " is " +
                        ((flags & kFlagImmutable) ? "immutable" : "append-only"));
}

// Bits FS_IOC_GETFLAGS may report on F2FS (F2FS_GETTABLE_FS_FL): a caller may hand any of
// them back to FS_IOC_SETFLAGS.
constexpr uint32_t kGettableFlags = kSettableFlags | kFlagCompr | kFlagNoComp | kFlagIndex |
                                    kFlagInlineData | kFlagCasefold | 0x00000800 /*encrypt*/ |
                                    0x00800000 /*nocow*/ | 0x00100000 /*verity*/;

// Ranks only the candidates in sections [lo, hi] with another policy.
class RangePolicy final : public gc::VictimPolicy {
 public:
  RangePolicy(std::shared_ptr<const gc::VictimPolicy> base, uint32_t lo, uint32_t hi)
      : base_(std::move(base)), lo_(lo), hi_(hi) {}
  std::string_view name() const override { return base_->name(); }
  std::vector<uint32_t> rank(std::span<const segment::SectionUsage> candidates,
                             const gc::VictimContext& ctx, size_t n) const override {
    std::vector<segment::SectionUsage> in;
    for (const auto& c : candidates)
      if (c.secno >= lo_ && c.secno <= hi_) in.push_back(c);
    return base_->rank(in, ctx, n);
  }

 private:
  std::shared_ptr<const gc::VictimPolicy> base_;
  uint32_t lo_, hi_;
};

}  // namespace

Status FileSystem::Impl::check_flags_locked(uint32_t ino, uint32_t forbidden, const char* op) {
  if (!forbidden) return {};
  auto n = inode_node(ino);
  if (!n) return fail(n.error());
  const uint32_t hit = (*n)->i.i_flags & forbidden;
  if (hit) return fail(not_permitted(ino, hit, op));
  return {};
}

Status FileSystem::Impl::check_entry_locked(uint32_t dir, std::string_view name, bool removing,
                                            const char* op) {
  auto d = inode_node(dir);
  if (!d) return fail(d.error());
  const uint32_t dflags = (*d)->i.i_flags;
  if (dflags & kFlagImmutable) return fail(not_permitted(dir, kFlagImmutable, op));
  if (!removing) return {};
  auto e = find_locked(dir, name);
  if (!e || !*e) return {};  // the operation itself reports the missing entry
  if (dflags & kFlagAppend) return fail(not_permitted(dir, kFlagAppend, op));
  return check_flags_locked((*e)->ino, kFlagImmutable | kFlagAppend, op);
}

Status FileSystem::Impl::check_write_locked(uint32_t ino, uint64_t offset,
                                            std::span<const std::byte> data) {
  auto n = inode_node(ino);
  if (!n) return fail(n.error());
  const segment::Inode& i = (*n)->i;
  if (i.i_flags & kFlagImmutable) return fail(not_permitted(ino, kFlagImmutable, "write"));
  if (!(i.i_flags & kFlagAppend) || offset >= i.i_size) return {};
  // Append-only: bytes before the end of file may be written again only unchanged (the
  // kernel's write-back cache rewrites the partial last page when it sends an append).
  const uint64_t overlap = std::min<uint64_t>(i.i_size - offset, data.size());
  std::vector<std::byte> old(overlap);
  auto got = read_locked(ino, offset, old);
  if (!got) return fail(got.error());
  if (*got != overlap || std::memcmp(old.data(), data.data(), overlap) != 0)
    return fail(not_permitted(ino, kFlagAppend, "write"));
  return {};
}

Result<InodeAttr> FileSystem::set_flags(uint32_t ino, uint32_t flags) {
  impl_->foreground_gc();
  std::lock_guard lock(impl_->mu_);
  if (auto s = impl_->check_writable(); !s) return fail(s.error());
  const std::string who = "set_flags: inode " + std::to_string(ino);
  if (flags & ~kGettableFlags)
    return fail(Errc::kNotSupported, EOPNOTSUPP, who + ": flags outside F2FS's set");
  if (flags & (kFlagCompr | kFlagNoComp | kFlagCasefold))
    return fail(Errc::kNotSupported, EOPNOTSUPP,
                who + ": compression and casefold need superblock features f2sc lacks");
  auto n = impl_->inode_node(ino);
  if (!n) return fail(n.error());
  segment::Inode& i = (*n)->i;
  const uint32_t want = flags & kSettableFlags;
  // As F2FS (f2fs_mask_flags): directory-only bits on files, and only nodump and noatime
  // on other inodes.
  uint32_t allowed = kSettableFlags;
  if (S_ISREG(i.i_mode)) allowed &= ~(kFlagDirSync | kFlagProjInherit);
  if (!S_ISREG(i.i_mode) && !S_ISDIR(i.i_mode)) allowed = kFlagNoDump | kFlagNoAtime;
  if (want & ~allowed)
    return fail(Errc::kNotSupported, EOPNOTSUPP, who + ": flags not valid for its file type");
  i.i_flags = (i.i_flags & ~kSettableFlags) | want;
  const Timespec t = impl_->now();
  i.i_ctime = static_cast<uint64_t>(t.sec);
  i.i_ctime_nsec = t.nsec;
  impl_->nodes_->mark_dirty(ino);
  impl_->mark_changed();
  auto a = impl_->getattr_locked(ino);
  impl_->nodes_->trim();
  return a;
}

Status FileSystem::shutdown(ShutdownMode mode) {
  {
    std::lock_guard lock(impl_->mu_);
    if (!impl_->mounted_) return fail(unmounted());
    if (impl_->shutdown_) return {};
    const bool sync = mode == ShutdownMode::kFullSync || mode == ShutdownMode::kMetaSync;
    if (sync && !impl_->opts_.read_only && impl_->changed_)
      if (auto s = impl_->checkpoint_locked(false); !s)
        return fail(with_context(s.error(), "shutdown: the checkpoint failed; still mounted"));
    impl_->shutdown_ = true;
  }
  // A GC round in flight may still copy blocks into free space; its checkpoint fails, so
  // the copies never become reachable.
  impl_->stop_gc();
  impl_->stop_timer();
  return {};
}

bool FileSystem::is_shut_down() const {
  std::lock_guard lock(impl_->mu_);
  return impl_->shutdown_;
}

Result<gc::CollectResult> FileSystem::gc_collect_range(uint64_t start, uint64_t blocks,
                                                       std::string_view policy) {
  {
    std::lock_guard lock(impl_->mu_);
    if (auto s = impl_->check_writable(); !s) return fail(s.error());
  }
  if (!impl_->gc_) return fail(Errc::kInvalidArgument, EROFS, "no GC on a read-only mount");
  const segment::Layout& l = impl_->layout_;
  if (blocks == 0 || start < l.main_addr || start >= l.main_end() || blocks > l.main_end() - start)
    return fail(Errc::kInvalidArgument, EINVAL,
                "gc range [" + std::to_string(start) + ", +" + std::to_string(blocks) +
                    ") is empty or leaves the main area [" + std::to_string(l.main_addr) + ", " +
                    std::to_string(l.main_end()) + ")");
  const uint64_t per_sec = uint64_t{l.segs_per_sec} * segment::kBlocksPerSeg;
  const auto lo = static_cast<uint32_t>((start - l.main_addr) / per_sec);
  const auto hi = static_cast<uint32_t>((start + blocks - 1 - l.main_addr) / per_sec);
  std::shared_ptr<const gc::VictimPolicy> base;
  if (policy.empty()) {
    std::lock_guard g(impl_->gc_mu_);
    base = impl_->fg_policy_;
    if (!base) base = std::make_shared<const gc::GreedyPolicy>();
  } else {
    base = gc::make_policy(policy);
    if (!base)
      return fail(
          Errc::kInvalidArgument, EINVAL,
          "GC policy '" + std::string(policy) + "': one of greedy, cost-benefit, age-threshold");
  }
  const RangePolicy in_range(std::move(base), lo, hi);
  return impl_->gc_->collect(hi - lo + 1, in_range);
}

}  // namespace f2sc::fs
