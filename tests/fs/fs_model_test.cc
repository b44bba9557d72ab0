// Model-based test of FileSystem: fixed-seed random operation sequences (create, write at
// random offsets with holes, overwrite, truncate, unlink, mkdir, rmdir, rename with its
// flags, link, symlink, setattr, xattrs, sync, remount, crash after sync) run against the
// library and against an in-memory model of the tree. After every step the touched objects
// are compared, every N steps and after each remount the whole tree; at the end
// fsck.f2fs --dry-run must find the image clean. A churn variant overwrites and deletes
// until far more than the image size has been written, so space is reused over many
// checkpoints.
//
// Longer runs: F2SC_FS_MODEL_STEPS=N (random test, default 2000 steps per seed) and
// F2SC_FS_CHURN_STEPS=N (churn tests, default 1200); Debug and sanitizer builds a quarter.
#include <sys/stat.h>

#include <algorithm>
#include <cstdlib>
#include <deque>
#include <map>
#include <memory>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "fs_test_util.h"

namespace f2sc::fs {
namespace {

using testing::err_of;
using testing::TempDir;

constexpr uint64_t kMiB = 1 << 20;

// One object of the model. Directories hold children by name; files hold their bytes.
struct MObj {
  uint32_t ino = 0;
  uint16_t mode = 0;
  uint32_t uid = 0, gid = 0;
  uint32_t links = 0;
  std::string data;                          // regular files; symlink target
  std::map<std::string, uint32_t> children;  // directories: name -> ino
  uint32_t parent = 0;                       // directories
  std::map<std::string, std::string> xattrs;
  uint64_t born = 0;  // creation order
  bool is_dir() const { return S_ISDIR(mode); }
  bool is_reg() const { return S_ISREG(mode); }
  bool is_lnk() const { return S_ISLNK(mode); }
};

uint8_t ftype(uint16_t mode) {
  if (S_ISREG(mode)) return 1;
  if (S_ISDIR(mode)) return 2;
  if (S_ISLNK(mode)) return 7;
  return 0;
}

struct ModelOptions {
  uint64_t seed = 1;
  int steps = 1500;
  int full_every = 100;
  int remount_every = 400;
  uint64_t image_bytes = 256 * kMiB;
  uint64_t max_write = 96 * 1024;
  uint64_t max_offset = 3 * kMiB;    // writes and truncates stay below (holes up to here)
  bool churn = false;                // whole-file rewrites and deletes, big files
  bool churn_overwrites = true;      // churn also overwrites parts of files in place
  bool churn_fifo = false;           // churn writes new files and deletes the oldest
  uint64_t live_budget = 64 * kMiB;  // the model deletes when more than this is live
};

class ModelRun {
 public:
  explicit ModelRun(const ModelOptions& o) : o_(o), rng_(o.seed) {
    img_ = (dir_.path() / "img").string();
    testing::mkfs_image(img_, o.image_bytes);
    m_ = testing::mount_image(img_);
    root_ = m_->root_ino();
    auto ra = m_->getattr(root_);
    REQUIRE(ra);
    MObj& r = objs_[root_];
    r.ino = root_;
    r.mode = ra->mode;
    r.uid = ra->uid;
    r.gid = ra->gid;
    r.links = 2;
    r.parent = root_;
  }

  void run() {
    for (step_ = 0; step_ < o_.steps; ++step_) {
      one_step();
      if (failed_) return;
      if ((step_ + 1) % o_.full_every == 0) full_compare("every " + std::to_string(o_.full_every));
      if ((step_ + 1) % o_.remount_every == 0) {
        if (step_ / o_.remount_every % 3 == 2) {
          // A crash right after sync loses nothing.
          REQUIRE(m_->sync());
          note("sync + crash + mount");
          testing::crash(m_);
        } else {
          note("unmount + mount");
          testing::unmount(m_);
        }
        m_ = testing::mount_image(img_);
        full_compare("after remount");
      }
      if (failed_) return;
    }
    full_compare("end");
    testing::unmount(m_);
    std::string out;
    const bool clean = testing::fsck_clean(img_, &out);
    INFO(context() << "\nfsck.f2fs --dry-run:\n" << out);
    CHECK(clean);
    m_ = testing::mount_image(img_);
    full_compare("after the last mount");
    testing::unmount(m_);
  }

  uint64_t bytes_written() const { return written_; }
  uint64_t enospc() const { return enospc_; }
  uint64_t checkpoints() const { return checkpoints_; }

 private:
  // --- bookkeeping

  std::string context() const {
    std::ostringstream s;
    s << "seed " << o_.seed << " step " << step_ << "; last operations:";
    for (const auto& h : history_) s << "\n  " << h;
    return s.str();
  }
  void note(const std::string& what) {
    history_.push_back("#" + std::to_string(step_) + " " + what);
    if (history_.size() > 25) history_.pop_front();
  }
  // A failed call: record the mismatch and stop the run.
  void mismatch(const std::string& what) {
    INFO(context());
    FAIL_CHECK(what);
    failed_ = true;
  }
  template <class R>
  bool expect_ok(const R& r, const std::string& what) {
    if (r) return true;
    mismatch(what + " failed: " + r.error().message + " (errno " +
             std::to_string(r.error().sys_errno) + ")");
    return false;
  }
  template <class R>
  void expect_err(const R& r, int err, const std::string& what) {
    if (!r)
      if (r.error().sys_errno == err) return;
    mismatch(what + ": expected errno " + std::to_string(err) + ", got " +
             (r ? std::string("success") : std::to_string(r.error().sys_errno)));
  }

  uint64_t live_bytes() const {
    uint64_t n = 0;
    for (const auto& [ino, o] : objs_) n += o.data.size();
    return n;
  }

  uint64_t below(uint64_t n) { return n ? rng_() % n : 0; }
  bool chance(int percent) { return static_cast<int>(below(100)) < percent; }

  std::vector<uint32_t> all_of(bool (MObj::*pred)() const) {
    std::vector<uint32_t> v;
    for (const auto& [ino, o] : objs_)
      if ((o.*pred)()) v.push_back(ino);
    return v;
  }
  uint32_t random_dir() {
    auto d = all_of(&MObj::is_dir);
    return d[below(d.size())];
  }
  std::optional<uint32_t> random_file() {
    auto f = all_of(&MObj::is_reg);
    if (f.empty()) return std::nullopt;
    return f[below(f.size())];
  }
  // A (dir, name) with an entry, not the root.
  std::optional<std::pair<uint32_t, std::string>> random_entry() {
    std::vector<std::pair<uint32_t, std::string>> all;
    for (const auto& [ino, o] : objs_)
      for (const auto& [name, child] : o.children) all.emplace_back(ino, name);
    if (all.empty()) return std::nullopt;
    return all[below(all.size())];
  }
  std::string new_name(uint32_t dir) {
    const auto& ch = objs_[dir].children;
    // Sometimes an existing name (to exercise EEXIST and replacement).
    if (!ch.empty() && chance(10)) {
      auto it = ch.begin();
      std::advance(it, below(ch.size()));
      return it->first;
    }
    std::string n = "n" + std::to_string(next_name_++);
    const size_t len = chance(10) ? 200 + below(56) : below(20);
    while (n.size() < len) n += static_cast<char>('a' + below(26));
    return n;
  }
  bool in_subtree(uint32_t dir, uint32_t top) const {  // dir == top or under it
    for (uint32_t cur = dir;; cur = objs_.at(cur).parent) {
      if (cur == top) return true;
      if (cur == root_) return false;
    }
  }
  void drop_link(uint32_t ino) {
    MObj& o = objs_[ino];
    if (o.is_dir()) {
      objs_.erase(ino);
      return;
    }
    if (--o.links == 0) objs_.erase(ino);
  }

  // --- comparing

  void compare_attr(uint32_t ino) {
    const MObj& o = objs_.at(ino);
    auto a = m_->getattr(ino);
    if (!expect_ok(a, "getattr " + std::to_string(ino))) return;
    const uint32_t want_links =
        o.is_dir() ? 2 + static_cast<uint32_t>(std::count_if(
                             o.children.begin(), o.children.end(),
                             [&](const auto& c) { return objs_.at(c.second).is_dir(); }))
                   : o.links;
    std::ostringstream d;
    if (a->mode != o.mode) d << " mode " << a->mode << " want " << o.mode;
    if (a->uid != o.uid || a->gid != o.gid) d << " owner " << a->uid << ":" << a->gid;
    if (a->links != want_links) d << " links " << a->links << " want " << want_links;
    if (!o.is_dir() && a->size != o.data.size())
      d << " size " << a->size << " want " << o.data.size();
    if (o.is_reg() && a->blocks > 1 + (a->size + 4095) / 4096 + 16 + a->size / 4096 / 1018 * 2)
      d << " blocks " << a->blocks << " for size " << a->size;
    if (!d.str().empty()) mismatch("inode " + std::to_string(ino) + ":" + d.str());
  }

  void compare_data(uint32_t ino) {
    const MObj& o = objs_.at(ino);
    if (o.is_lnk()) {
      auto t = m_->readlink(ino);
      if (!expect_ok(t, "readlink " + std::to_string(ino))) return;
      if (*t != o.data) mismatch("symlink " + std::to_string(ino) + " target differs");
      return;
    }
    if (!o.is_reg()) return;
    std::string got(o.data.size() + 100, '\x55');
    auto n = m_->read(ino, 0, std::as_writable_bytes(std::span(got.data(), got.size())));
    if (!expect_ok(n, "read " + std::to_string(ino))) return;
    got.resize(*n);
    if (got != o.data) {
      size_t i = 0;
      while (i < got.size() && i < o.data.size() && got[i] == o.data[i]) ++i;
      mismatch("file " + std::to_string(ino) + " content: " + std::to_string(got.size()) +
               " bytes read, " + std::to_string(o.data.size()) + " expected, first difference at " +
               std::to_string(i));
    }
  }

  void compare_dir(uint32_t ino) {
    const MObj& o = objs_.at(ino);
    auto l = m_->readdir(ino);
    if (!expect_ok(l, "readdir " + std::to_string(ino))) return;
    std::map<std::string, std::pair<uint32_t, uint8_t>> got;
    for (const auto& e : *l) got[e.name] = {e.ino, e.file_type};
    std::map<std::string, std::pair<uint32_t, uint8_t>> want;
    want["."] = {ino, 2};
    want[".."] = {o.parent, 2};
    for (const auto& [name, child] : o.children) want[name] = {child, ftype(objs_.at(child).mode)};
    if (got != want || l->size() != want.size()) {
      std::ostringstream d;
      for (const auto& [n, v] : want)
        if (!got.count(n) || got[n] != v) d << " missing/wrong '" << n.substr(0, 40) << "'";
      for (const auto& [n, v] : got)
        if (!want.count(n)) d << " extra '" << n.substr(0, 40) << "'";
      mismatch("directory " + std::to_string(ino) + " entries differ:" + d.str());
    }
  }

  void compare_xattrs(uint32_t ino) {
    const MObj& o = objs_.at(ino);
    auto l = m_->listxattr(ino);
    if (!expect_ok(l, "listxattr")) return;
    std::set<std::string> names(l->begin(), l->end());
    std::set<std::string> want;
    for (const auto& [k, v] : o.xattrs) {
      want.insert(k);
      auto g = m_->getxattr(ino, k);
      if (!expect_ok(g, "getxattr " + k)) return;
      if (std::string(g->begin(), g->end()) != v) mismatch("xattr " + k + " value differs");
    }
    if (names != want) mismatch("xattr names of " + std::to_string(ino) + " differ");
  }

  void compare_one(uint32_t ino) {
    if (!objs_.count(ino)) {
      // Gone from the model: gone from the filesystem.
      auto a = m_->getattr(ino);
      if (a) mismatch("inode " + std::to_string(ino) + " should be free");
      return;
    }
    compare_attr(ino);
    if (objs_.at(ino).is_dir())
      compare_dir(ino);
    else
      compare_data(ino);
  }

  void full_compare(const std::string& why) {
    if (failed_) return;
    note("full compare (" + why + ")");
    for (const auto& [ino, o] : objs_) {
      compare_one(ino);
      compare_xattrs(ino);
      if (failed_) return;
    }
    // Every path resolves to its inode.
    std::vector<std::pair<std::string, uint32_t>> stack{{"", root_}};
    while (!stack.empty()) {
      auto [path, ino] = stack.back();
      stack.pop_back();
      for (const auto& [name, child] : objs_.at(ino).children) {
        const std::string p = path + "/" + name;
        auto r = m_->resolve(p);
        if (!expect_ok(r, "resolve " + p.substr(0, 80))) return;
        if (*r != child) mismatch("resolve gives another inode");
        if (objs_.at(child).is_dir()) stack.emplace_back(p, child);
      }
    }
  }

  // --- operations

  void op_create(int kind) {
    const uint32_t dir = random_dir();
    const std::string name = new_name(dir);
    const bool exists = objs_[dir].children.count(name) > 0;
    const uint16_t perm = static_cast<uint16_t>(0600 | (below(8) << 3));
    std::string target;
    Result<InodeAttr> r;
    switch (kind) {
      case 0:
        note("create " + std::to_string(dir) + "/" + name.substr(0, 30));
        r = m_->create(dir, name, perm, 0, 0);
        break;
      case 1:
        note("mkdir " + std::to_string(dir) + "/" + name.substr(0, 30));
        r = m_->mkdir(dir, name, perm | 0100, 0, 0);
        break;
      default:
        target = chance(20) ? std::string(3000 + below(1000), 't') : "to/" + new_name(dir);
        note("symlink " + std::to_string(dir) + "/" + name.substr(0, 30) + " -> " +
             std::to_string(target.size()) + " bytes");
        r = m_->symlink(dir, name, target, 0, 0);
    }
    if (exists) {
      expect_err(r, EEXIST, "new name on an existing one");
      return;
    }
    if (!r && r.error().sys_errno == ENOSPC) return on_enospc(r.error().message);
    if (!expect_ok(r, "create")) return;
    const uint32_t ino = r->ino;
    if (objs_.count(ino)) return mismatch("new inode " + std::to_string(ino) + " is in use");
    MObj& o = objs_[ino];
    o.ino = ino;
    o.born = ++births_;
    o.mode = static_cast<uint16_t>(kind == 0   ? (S_IFREG | perm)
                                   : kind == 1 ? (S_IFDIR | perm | 0100)
                                               : (S_IFLNK | 0777));
    o.links = kind == 1 ? 2 : 1;
    o.parent = dir;
    if (kind == 2) o.data = target;
    objs_[dir].children[name] = ino;
    if (kind == 2 && r->mode != o.mode) o.mode = r->mode;  // symlink permission bits as made
    compare_one(ino);
    compare_attr(dir);
  }

  void op_write() {
    auto f = random_file();
    if (!f) return op_create(0);
    MObj& o = objs_[*f];
    uint64_t off;
    switch (below(4)) {
      case 0:
        off = o.data.size();  // append
        break;
      case 1:
        off = below(o.data.size() + 1);  // overwrite
        break;
      case 2:
        off = below(o_.max_offset);  // anywhere, holes
        break;
      default:
        off = below(o.data.size() + 1) / 4096 * 4096;  // block aligned
    }
    if (off > o_.max_offset) off = o_.max_offset;
    uint64_t len = chance(30) ? 1 + below(4096) : 1 + below(o_.max_write);
    if (chance(20)) len = (len + 4095) / 4096 * 4096;
    const std::string data = testing::random_string(rng_, len);
    note("write " + std::to_string(*f) + " @" + std::to_string(off) + " +" + std::to_string(len));
    auto n = m_->write(*f, off, testing::bytes_of(data));
    if (!n && n.error().sys_errno == ENOSPC) return on_enospc(n.error().message);
    if (!expect_ok(n, "write")) return;
    if (*n != len) return mismatch("short write " + std::to_string(*n));
    if (o.data.size() < off + len) o.data.resize(off + len, '\0');
    o.data.replace(off, len, data);
    written_ += len;
    compare_one(*f);
  }

  void op_truncate() {
    auto f = random_file();
    if (!f) return;
    MObj& o = objs_[*f];
    uint64_t size = chance(50) ? below(o.data.size() + 1) : below(o_.max_offset);
    if (chance(20)) size = size / 4096 * 4096;
    note("truncate " + std::to_string(*f) + " to " + std::to_string(size));
    Status s;
    if (chance(50)) {
      s = m_->truncate(*f, size);
    } else {
      SetAttr sa;
      sa.size = size;
      auto r = m_->setattr(*f, sa);
      if (!r) s = tl::unexpected(r.error());
    }
    if (!s && s.error().sys_errno == ENOSPC) return on_enospc(s.error().message);
    if (!expect_ok(s, "truncate")) return;
    o.data.resize(size, '\0');
    compare_one(*f);
  }

  void op_unlink() {
    auto e = random_entry();
    if (!e) return;
    auto [dir, name] = *e;
    const uint32_t ino = objs_[dir].children[name];
    const bool is_dir = objs_[ino].is_dir();
    const bool use_rmdir = is_dir ? !chance(10) : chance(10);
    note((use_rmdir ? "rmdir " : "unlink ") + std::to_string(dir) + "/" + name.substr(0, 30));
    Status s = use_rmdir ? m_->rmdir(dir, name) : m_->unlink(dir, name);
    if (is_dir != use_rmdir) return expect_err(s, is_dir ? EISDIR : ENOTDIR, "wrong kind");
    if (is_dir && !objs_[ino].children.empty()) return expect_err(s, ENOTEMPTY, "rmdir");
    if (!expect_ok(s, "remove")) return;
    objs_[dir].children.erase(name);
    drop_link(ino);
    compare_one(ino);
    compare_attr(dir);
  }

  void op_link() {
    auto f = random_file();
    if (!f) return;
    const uint32_t dir = random_dir();
    const std::string name = new_name(dir);
    note("link " + std::to_string(*f) + " as " + std::to_string(dir) + "/" + name.substr(0, 30));
    auto r = m_->link(*f, dir, name);
    if (objs_[dir].children.count(name)) return expect_err(r, EEXIST, "link over a name");
    if (!r && r.error().sys_errno == ENOSPC) return on_enospc(r.error().message);
    if (!expect_ok(r, "link")) return;
    objs_[dir].children[name] = *f;
    ++objs_[*f].links;
    compare_one(*f);
  }

  void op_rename() {
    auto e = random_entry();
    if (!e) return;
    auto [odir, oname] = *e;
    const uint32_t ndir = random_dir();
    const std::string nname = new_name(ndir);
    const unsigned flags = chance(70) ? 0 : chance(50) ? kRenameNoReplace : kRenameExchange;
    note("rename " + std::to_string(odir) + "/" + oname.substr(0, 30) + " -> " +
         std::to_string(ndir) + "/" + nname.substr(0, 30) + " flags " + std::to_string(flags));
    const uint32_t src = objs_[odir].children[oname];
    auto dit = objs_[ndir].children.find(nname);
    const std::optional<uint32_t> dst =
        dit == objs_[ndir].children.end() ? std::nullopt : std::optional(dit->second);
    Status s = m_->rename(odir, oname, ndir, nname, flags);
    // The expected outcome, in the order Linux checks.
    const bool src_dir = objs_[src].is_dir();
    const bool dst_dir = dst && objs_[*dst].is_dir();
    if ((flags & kRenameExchange) && !dst) return expect_err(s, ENOENT, "exchange with nothing");
    if ((flags & kRenameNoReplace) && dst) return expect_err(s, EEXIST, "noreplace");
    if (dst && *dst == src) {  // the same inode: nothing happens
      if (!expect_ok(s, "rename onto itself")) return;
      return;
    }
    if (src_dir && in_subtree(ndir, src)) return expect_err(s, EINVAL, "into its own subtree");
    if ((flags & kRenameExchange) && dst_dir && in_subtree(odir, *dst))
      return expect_err(s, EINVAL, "exchange into its own subtree");
    if (!(flags & kRenameExchange) && dst) {
      if (src_dir && !dst_dir) return expect_err(s, ENOTDIR, "dir over a file");
      if (!src_dir && dst_dir) return expect_err(s, EISDIR, "file over a dir");
      if (dst_dir && !objs_[*dst].children.empty())
        return expect_err(s, ENOTEMPTY, "over a non-empty dir");
    }
    if (!s && s.error().sys_errno == ENOSPC) return on_enospc(s.error().message);
    if (!expect_ok(s, "rename")) return;
    if (flags & kRenameExchange) {
      objs_[odir].children[oname] = *dst;
      objs_[ndir].children[nname] = src;
      if (src_dir) objs_[src].parent = ndir;
      if (dst_dir) objs_[*dst].parent = odir;
      compare_one(*dst);
    } else {
      if (dst) drop_link(*dst);
      objs_[odir].children.erase(oname);
      objs_[ndir].children[nname] = src;
      if (src_dir) objs_[src].parent = ndir;
      if (dst) compare_one(*dst);
    }
    compare_one(src);
    compare_one(odir);
    compare_one(ndir);
  }

  void op_setattr() {
    std::vector<uint32_t> all;
    for (const auto& [ino, o] : objs_)
      if (!o.is_lnk()) all.push_back(ino);
    const uint32_t ino = all[below(all.size())];
    MObj& o = objs_[ino];
    SetAttr sa;
    if (chance(50)) sa.mode = static_cast<uint16_t>(below(01000) | (o.is_dir() ? 0700 : 0));
    if (chance(50)) sa.uid = static_cast<uint32_t>(below(70000));
    if (chance(50)) sa.gid = static_cast<uint32_t>(below(70000));
    if (chance(30))
      sa.mtime = Timespec{static_cast<int64_t>(below(2000000000)),
                          static_cast<uint32_t>(below(1000000000))};
    note("setattr " + std::to_string(ino));
    auto r = m_->setattr(ino, sa);
    if (!expect_ok(r, "setattr")) return;
    if (sa.mode) o.mode = static_cast<uint16_t>((o.mode & S_IFMT) | *sa.mode);
    if (sa.uid) o.uid = *sa.uid;
    if (sa.gid) o.gid = *sa.gid;
    if (sa.mtime && (r->mtime.sec != sa.mtime->sec || r->mtime.nsec != sa.mtime->nsec))
      mismatch("mtime not as set");
    compare_one(ino);
  }

  void op_xattr() {
    std::vector<uint32_t> all;
    for (const auto& [ino, o] : objs_) all.push_back(ino);
    const uint32_t ino = all[below(all.size())];
    MObj& o = objs_[ino];
    const std::string name = "user.m" + std::to_string(below(6));
    if (chance(30)) {
      note("removexattr " + std::to_string(ino) + " " + name);
      Status s = m_->removexattr(ino, name);
      if (!o.xattrs.count(name)) return expect_err(s, ENODATA, "remove a missing xattr");
      if (!expect_ok(s, "removexattr")) return;
      o.xattrs.erase(name);
    } else {
      const std::string v = testing::random_string(rng_, below(200));
      note("setxattr " + std::to_string(ino) + " " + name + " " + std::to_string(v.size()));
      Status s = m_->setxattr(ino, name, testing::u8_of(v), 0);
      if (!s && s.error().sys_errno == ENOSPC) return on_enospc(s.error().message);
      if (!expect_ok(s, "setxattr")) return;
      o.xattrs[name] = v;
    }
    compare_xattrs(ino);
  }

  // ENOSPC is right only when the image is really full: most of it holds live data.
  void on_enospc(const std::string& message) {
    ++enospc_;
    note("ENOSPC: " + message);
    const uint64_t live = live_bytes();
    if (live < o_.image_bytes / 4) {
      auto st = m_->statfs();
      const std::string sf = st ? "statfs blocks " + std::to_string(st->blocks) + " bfree " +
                                      std::to_string(st->bfree) + " bavail " +
                                      std::to_string(st->bavail)
                                : "statfs failed";
      mismatch("ENOSPC with only " + std::to_string(live) + " live bytes on a " +
               std::to_string(o_.image_bytes) + "-byte image (" + sf + "): " + message);
    }
  }

  // Deletes files until the live data is under the budget (keeps the churn going).
  void make_room() {
    while (live_bytes() > o_.live_budget && !failed_) {
      std::vector<std::pair<uint32_t, std::string>> files;
      uint64_t oldest = UINT64_MAX;
      for (const auto& [ino, o] : objs_)
        for (const auto& [name, child] : o.children) {
          const MObj& c = objs_.at(child);
          if (!c.is_reg() || c.data.empty()) continue;
          if (o_.churn_fifo) {  // only the oldest file
            if (c.born > oldest) continue;
            if (c.born < oldest) files.clear();
            oldest = c.born;
          }
          files.emplace_back(ino, name);
        }
      if (files.empty()) return;
      auto [dir, name] = files[below(files.size())];
      const uint32_t ino = objs_[dir].children[name];
      note("unlink (room) " + std::to_string(dir) + "/" + name.substr(0, 30));
      if (!expect_ok(m_->unlink(dir, name), "unlink")) return;
      objs_[dir].children.erase(name);
      drop_link(ino);
      compare_one(ino);
    }
  }

  // Churn: rewrite a whole file (all its blocks go dead at once) or write a new big one.
  void op_rewrite() {
    auto f = random_file();
    if (!f || chance(30)) return op_create(0);
    MObj& o = objs_[*f];
    const uint64_t len = 4096 * (1 + below(o_.max_write / 4096));
    const std::string data = testing::random_string(rng_, len);
    note("rewrite " + std::to_string(*f) + " with " + std::to_string(len));
    if (!expect_ok(m_->truncate(*f, 0), "truncate")) return;
    o.data.clear();
    auto n = m_->write(*f, 0, testing::bytes_of(data));
    if (!n && n.error().sys_errno == ENOSPC) return on_enospc(n.error().message);
    if (!expect_ok(n, "write")) return;
    o.data = data;
    written_ += len;
    compare_one(*f);
  }

  void fill_file(uint32_t ino) {
    MObj& o = objs_[ino];
    const uint64_t len = 4096 * (1 + below(o_.max_write / 4096));
    const std::string data = testing::random_string(rng_, len);
    note("fill " + std::to_string(ino) + " with " + std::to_string(len));
    auto n = m_->write(ino, 0, testing::bytes_of(data));
    if (!n && n.error().sys_errno == ENOSPC) return on_enospc(n.error().message);
    if (!expect_ok(n, "write")) return;
    if (*n != len) return mismatch("short write");
    o.data = data;
    written_ += len;
    compare_one(ino);
  }

  void one_step() {
    INFO("seed " << o_.seed << " step " << step_);
    if (o_.churn && o_.churn_fifo) {
      make_room();
      const uint64_t r = below(100);
      if (r < 70) {
        op_create(0);
        // The new file gets all its data at once.
        if (!failed_ && !objs_.empty()) {
          uint32_t newest = 0;
          uint64_t born = 0;
          for (const auto& [ino, o] : objs_)
            if (o.is_reg() && o.born > born) born = o.born, newest = ino;
          if (newest && objs_[newest].data.empty()) fill_file(newest);
        }
      } else if (r < 85) {
        op_rename();
      } else if (r < 90) {
        op_create(1);
      } else if (r < 95) {
        op_setattr();
      } else {
        note("sync");
        if (!expect_ok(m_->sync(), "sync")) return;
        ++checkpoints_;
      }
      return;
    }
    if (o_.churn) {
      make_room();
      const uint64_t r = below(100);
      if (r < 45)
        op_rewrite();
      else if (r < 70)
        o_.churn_overwrites ? op_write() : op_rewrite();
      else if (r < 78)
        op_truncate();
      else if (r < 88)
        op_unlink();
      else if (r < 92)
        op_rename();
      else if (r < 95)
        op_create(1);
      else if (r < 98)
        op_link();
      else {
        note("sync");
        if (!expect_ok(m_->sync(), "sync")) return;
        ++checkpoints_;
      }
      return;
    }
    if (live_bytes() > o_.live_budget) make_room();
    const uint64_t r = below(100);
    if (r < 14)
      op_create(0);
    else if (r < 36)
      op_write();
    else if (r < 44)
      op_truncate();
    else if (r < 52)
      op_unlink();
    else if (r < 58)
      op_create(1);
    else if (r < 68)
      op_rename();
    else if (r < 73)
      op_link();
    else if (r < 78)
      op_create(2);
    else if (r < 86)
      op_setattr();
    else if (r < 93)
      op_xattr();
    else if (r < 96) {
      note("fsync");
      auto f = random_file();
      if (f && !expect_ok(m_->fsync(*f), "fsync")) return;
    } else {
      note("sync");
      if (!expect_ok(m_->sync(), "sync")) return;
    }
  }

  ModelOptions o_;
  std::mt19937_64 rng_;
  TempDir dir_;
  std::string img_;
  testing::Mounted m_;
  uint32_t root_ = 0;
  std::map<uint32_t, MObj> objs_;
  std::deque<std::string> history_;
  int step_ = 0;
  uint64_t next_name_ = 0;
  bool failed_ = false;
  uint64_t written_ = 0, enospc_ = 0, checkpoints_ = 0, births_ = 0;
};

// Debug and sanitizer builds (TSan runs these 30x slower) take fewer steps by default.
#ifdef F2SC_SLOW_BUILD
constexpr int kStepDivisor = 4;
#else
constexpr int kStepDivisor = 1;
#endif

int env_int(const char* name, int fallback) {
  const char* v = std::getenv(name);
  return v && *v ? std::atoi(v) : fallback;
}

TEST_CASE("fs model: random operations match the model, also after remounts") {
  for (uint64_t seed : {1u, 2u}) {
    ModelOptions o;
    o.seed = seed;
    o.steps = env_int("F2SC_FS_MODEL_STEPS", 2000 / kStepDivisor);
    INFO("seed " << seed);
    ModelRun run(o);
    run.run();
  }
}

// Churn: new files written whole and the oldest deleted, so segments die whole and are
// reused after each checkpoint; more than twice the image size goes through it.
TEST_CASE("fs model: heavy churn reuses space over many checkpoints") {
  ModelOptions o;
  o.seed = 77;
  o.churn = true;
  o.churn_fifo = true;
  o.steps = env_int("F2SC_FS_CHURN_STEPS", 1200 / kStepDivisor);
  o.image_bytes = 96 * kMiB;
  o.max_write = 1 * kMiB;
  o.max_offset = 4 * kMiB;
  o.live_budget = 16 * kMiB;
  o.full_every = 150;
  o.remount_every = 300;
  INFO("seed " << o.seed);
  ModelRun run(o);
  run.run();
  INFO("written " << run.bytes_written() << " ENOSPC " << run.enospc());
  CHECK(run.bytes_written() > 2 * o.image_bytes / kStepDivisor);
  CHECK(run.enospc() == 0);
}

// Churn with partial overwrites leaves segments partly valid; without a cleaner the image
// runs out of free sections with most of it dead. Needs the GC inside FileSystem.
TEST_CASE("fs model: churn with partial overwrites never hits ENOSPC at 20% live") {
  ModelOptions o;
  o.seed = 77;
  o.churn = true;
  o.steps = env_int("F2SC_FS_CHURN_STEPS", 1200 / kStepDivisor);
  o.image_bytes = 96 * kMiB;
  o.max_write = 1 * kMiB;
  o.max_offset = 4 * kMiB;
  o.live_budget = 20 * kMiB;
  o.full_every = 150;
  o.remount_every = 300;
  INFO("seed " << o.seed);
  ModelRun run(o);
  run.run();
  INFO("written " << run.bytes_written() << " ENOSPC " << run.enospc());
  CHECK(run.bytes_written() > 2 * o.image_bytes / kStepDivisor);
}

}  // namespace
}  // namespace f2sc::fs
