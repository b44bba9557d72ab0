// POSIX semantics of every FileSystem operation, error cases included, on fresh mkfs.f2fs
// images in files: names and errno values, link counts, times, sparse files, truncate,
// fallocate, inline data growth, xattrs, orphans (unlinked while open, and after a crash),
// readdir positions, statfs, ENOSPC on a full image and EROFS on a read-only mount. Every
// image a test leaves is judged by fsck.f2fs --dry-run.
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>

#include <algorithm>
#include <cstring>
#include <map>
#include <random>
#include <set>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "fs_test_util.h"

namespace f2sc::fs {
namespace {

using testing::err_of;
using testing::Mounted;
using testing::read_file;
using testing::read_str;
using testing::TempDir;
using testing::u8_of;
using testing::write_all;

constexpr uint64_t kMiB = 1 << 20;

// A fresh image mounted read-write.
struct Fresh {
  explicit Fresh(uint64_t bytes = 128 * kMiB, const MountOptions& o = {}) {
    img = (dir.path() / "img").string();
    testing::mkfs_image(img, bytes);
    m = testing::mount_image(img, o);
    root = m->root_ino();
  }
  FileSystem& fs() { return *m; }
  void remount(const MountOptions& o = {}) {
    testing::unmount(m);
    m = testing::mount_image(img, o);
  }
  void crash_and_remount() {
    testing::crash(m);
    m = testing::mount_image(img);
  }
  // Unmounts and runs fsck.f2fs.
  void unmount_and_fsck() {
    testing::unmount(m);
    std::string out;
    const bool clean = testing::fsck_clean(img, &out);
    INFO("fsck.f2fs --dry-run:\n" << out);
    CHECK(clean);
  }
  TempDir dir;
  std::string img;
  Mounted m;
  uint32_t root = 0;
};

InodeAttr attr_of(FileSystem& f, uint32_t ino) {
  auto a = f.getattr(ino);
  if (!a) FAIL("getattr " << ino << ": " << a.error().message);
  return *a;
}

uint32_t ino_of(FileSystem& f, uint32_t dir, const std::string& name) {
  auto a = f.lookup(dir, name);
  if (!a) FAIL("lookup '" << name << "' in " << dir << ": " << a.error().message);
  return a->ino;
}

std::map<std::string, DirEntryInfo> entries(FileSystem& f, uint32_t dir) {
  auto l = f.readdir(dir);
  if (!l) FAIL("readdir " << dir << ": " << l.error().message);
  std::map<std::string, DirEntryInfo> out;
  for (const auto& e : *l) CHECK(out.emplace(e.name, e).second);
  return out;
}

bool ts_eq(Timespec a, Timespec b) {
  return a.sec == b.sec && a.nsec == b.nsec;
}
bool ts_lt(Timespec a, Timespec b) {
  return a.sec < b.sec || (a.sec == b.sec && a.nsec < b.nsec);
}

TEST_CASE("fs posix: create, lookup, getattr and the name errors") {
  Fresh t;
  FileSystem& f = t.fs();
  auto c = f.create(t.root, "file", 0640, 1000, 100);
  REQUIRE(c);
  CHECK(c->mode == (S_IFREG | 0640));
  CHECK(c->uid == 1000);
  CHECK(c->gid == 100);
  CHECK(c->links == 1);
  CHECK(c->size == 0);
  CHECK(c->ino != t.root);
  auto l = f.lookup(t.root, "file");
  REQUIRE(l);
  CHECK(l->ino == c->ino);
  CHECK(l->mode == c->mode);
  auto r = f.resolve("/file");
  REQUIRE(r);
  CHECK(*r == c->ino);

  // EEXIST for every kind of new name on an existing one.
  CHECK(err_of(f.create(t.root, "file", 0644, 0, 0)) == EEXIST);
  CHECK(err_of(f.mkdir(t.root, "file", 0755, 0, 0)) == EEXIST);
  CHECK(err_of(f.symlink(t.root, "file", "x", 0, 0)) == EEXIST);
  CHECK(err_of(f.mknod(t.root, "file", S_IFIFO | 0644, 0, 0, 0)) == EEXIST);
  CHECK(err_of(f.link(c->ino, t.root, "file")) == EEXIST);
  CHECK(err_of(f.mkdir(t.root, ".", 0755, 0, 0)) == EEXIST);
  CHECK(err_of(f.create(t.root, "..", 0644, 0, 0)) == EEXIST);

  // ENOENT.
  CHECK(err_of(f.lookup(t.root, "nope")) == ENOENT);
  CHECK(err_of(f.unlink(t.root, "nope")) == ENOENT);
  CHECK(err_of(f.rmdir(t.root, "nope")) == ENOENT);
  CHECK(err_of(f.rename(t.root, "nope", t.root, "x")) == ENOENT);
  CHECK(err_of(f.resolve("/nope/file")) == ENOENT);

  // ENAMETOOLONG: 255 bytes is the limit.
  const std::string n255(255, 'n'), n256(256, 'n');
  auto longest = f.create(t.root, n255, 0644, 0, 0);
  REQUIRE(longest);
  CHECK(ino_of(f, t.root, n255) == longest->ino);
  CHECK(err_of(f.create(t.root, n256, 0644, 0, 0)) == ENAMETOOLONG);
  CHECK(err_of(f.mkdir(t.root, n256, 0755, 0, 0)) == ENAMETOOLONG);
  CHECK(err_of(f.symlink(t.root, n256, "x", 0, 0)) == ENAMETOOLONG);
  CHECK(err_of(f.mknod(t.root, n256, S_IFIFO | 0644, 0, 0, 0)) == ENAMETOOLONG);
  CHECK(err_of(f.link(c->ino, t.root, n256)) == ENAMETOOLONG);
  CHECK(err_of(f.lookup(t.root, n256)) == ENAMETOOLONG);
  CHECK(err_of(f.rename(t.root, "file", t.root, n256)) == ENAMETOOLONG);
  CHECK(err_of(f.unlink(t.root, n256)) == ENAMETOOLONG);

  // ENOTDIR: a file used as a directory.
  CHECK(err_of(f.lookup(c->ino, "x")) == ENOTDIR);
  CHECK(err_of(f.create(c->ino, "x", 0644, 0, 0)) == ENOTDIR);
  CHECK(err_of(f.mkdir(c->ino, "x", 0755, 0, 0)) == ENOTDIR);
  CHECK(err_of(f.readdir(c->ino)) == ENOTDIR);
  CHECK(err_of(f.resolve("/file/x")) == ENOTDIR);
  CHECK(err_of(f.rmdir(t.root, "file")) == ENOTDIR);
  CHECK(err_of(f.unlink(c->ino, "x")) == ENOTDIR);

  // EISDIR: a directory used as a file.
  auto d = f.mkdir(t.root, "dir", 0755, 0, 0);
  REQUIRE(d);
  CHECK(err_of(f.unlink(t.root, "dir")) == EISDIR);
  const std::string data = "abc";
  CHECK(err_of(f.write(d->ino, 0, testing::bytes_of(data))) == EISDIR);
  std::string buf(10, '\0');
  CHECK(err_of(f.read(d->ino, 0, std::as_writable_bytes(std::span(buf.data(), buf.size())))) ==
        EISDIR);
  CHECK(err_of(f.truncate(d->ino, 0)) == EISDIR);

  // Others.
  CHECK(err_of(f.readlink(c->ino)) == EINVAL);
  CHECK(err_of(f.link(d->ino, t.root, "dirlink")) == EPERM);  // no hard links to directories
  CHECK(err_of(f.rmdir(d->ino, ".")) == EINVAL);
  CHECK(err_of(f.getattr(0)) != 0);
  CHECK(err_of(f.getattr(999999)) != 0);

  // ENOTEMPTY.
  REQUIRE(f.create(d->ino, "inside", 0644, 0, 0));
  CHECK(err_of(f.rmdir(t.root, "dir")) == ENOTEMPTY);
  REQUIRE(f.unlink(d->ino, "inside"));
  REQUIRE(f.rmdir(t.root, "dir"));
  CHECK(err_of(f.lookup(t.root, "dir")) == ENOENT);
  // A removed directory takes no new entries.
  CHECK(err_of(f.create(d->ino, "late", 0644, 0, 0)) == ENOENT);

  // Nothing failed above left a trace: the root lists exactly what succeeded.
  auto e = entries(f, t.root);
  CHECK(e.size() == 4);
  CHECK(e.count("file"));
  CHECK(e.count(n255));
  t.unmount_and_fsck();
}

TEST_CASE("fs posix: mknod, symlink, readlink and types") {
  Fresh t;
  FileSystem& f = t.fs();
  auto fifo = f.mknod(t.root, "fifo", S_IFIFO | 0600, 0, 1, 2);
  REQUIRE(fifo);
  CHECK(fifo->mode == (S_IFIFO | 0600));
  auto chr = f.mknod(t.root, "chr", S_IFCHR | 0644, makedev(4, 5), 0, 0);
  REQUIRE(chr);
  CHECK(S_ISCHR(chr->mode));
  CHECK(chr->rdev == makedev(4, 5));
  // A number the old 8:8 encoding cannot hold goes in the new one.
  auto blk = f.mknod(t.root, "blk", S_IFBLK | 0600, makedev(259, 70000), 0, 0);
  REQUIRE(blk);
  CHECK(blk->rdev == makedev(259, 70000));
  auto sock = f.mknod(t.root, "sock", S_IFSOCK | 0644, 0, 0, 0);
  REQUIRE(sock);
  const std::string long_target = std::string(4000, 'y') + "/end";
  auto s1 = f.symlink(t.root, "s1", "target/of/link", 7, 8);
  REQUIRE(s1);
  CHECK(S_ISLNK(s1->mode));
  CHECK(s1->size == 14);
  CHECK(s1->uid == 7);
  auto s2 = f.symlink(t.root, "s2", long_target, 0, 0);
  REQUIRE(s2);
  CHECK(*f.readlink(s1->ino) == "target/of/link");
  CHECK(*f.readlink(s2->ino) == long_target);
  // resolve does not follow symlinks.
  CHECK(*f.resolve("s1") == s1->ino);
  auto e = entries(f, t.root);
  CHECK(e["fifo"].file_type == 5);
  CHECK(e["chr"].file_type == 3);
  CHECK(e["sock"].file_type == 6);
  CHECK(e["s1"].file_type == 7);
  CHECK(e["."].file_type == 2);
  t.remount();
  FileSystem& g = t.fs();
  CHECK(*g.readlink(ino_of(g, t.root, "s2")) == long_target);
  CHECK(*g.readlink(ino_of(g, t.root, "s1")) == "target/of/link");
  CHECK(attr_of(g, ino_of(g, t.root, "fifo")).mode == (S_IFIFO | 0600));
  CHECK(attr_of(g, ino_of(g, t.root, "fifo")).gid == 2);
  CHECK(attr_of(g, ino_of(g, t.root, "chr")).rdev == makedev(4, 5));
  CHECK(attr_of(g, ino_of(g, t.root, "blk")).rdev == makedev(259, 70000));
  t.unmount_and_fsck();
}

TEST_CASE("fs posix: link counts of files and directories") {
  Fresh t;
  FileSystem& f = t.fs();
  const uint32_t root_links = attr_of(f, t.root).links;
  CHECK(root_links == 2);
  auto a = f.mkdir(t.root, "a", 0755, 0, 0);
  REQUIRE(a);
  CHECK(a->links == 2);
  CHECK(attr_of(f, t.root).links == 3);
  auto b = f.mkdir(a->ino, "b", 0755, 0, 0);
  REQUIRE(b);
  REQUIRE(f.mkdir(a->ino, "c", 0755, 0, 0));
  CHECK(attr_of(f, a->ino).links == 4);
  REQUIRE(f.create(a->ino, "file", 0644, 0, 0));
  CHECK(attr_of(f, a->ino).links == 4);  // files do not count
  CHECK(entries(f, b->ino)[".."].ino == a->ino);
  // Moving a directory moves one link from the old parent to the new one.
  REQUIRE(f.rename(a->ino, "b", t.root, "b2"));
  CHECK(attr_of(f, a->ino).links == 3);
  CHECK(attr_of(f, t.root).links == 4);
  CHECK(entries(f, b->ino)[".."].ino == t.root);
  CHECK(ino_of(f, b->ino, "..") == t.root);
  REQUIRE(f.rmdir(a->ino, "c"));
  CHECK(attr_of(f, a->ino).links == 2);
  // Hard links.
  auto file = f.lookup(a->ino, "file");
  REQUIRE(file);
  auto l1 = f.link(file->ino, t.root, "l1");
  REQUIRE(l1);
  CHECK(l1->links == 2);
  REQUIRE(f.link(file->ino, b->ino, "l2"));
  CHECK(attr_of(f, file->ino).links == 3);
  write_all(f, file->ino, 0, "shared");
  CHECK(read_file(f, ino_of(f, b->ino, "l2")) == "shared");
  REQUIRE(f.unlink(a->ino, "file"));
  CHECK(attr_of(f, file->ino).links == 2);
  t.remount();
  FileSystem& g = t.fs();
  CHECK(attr_of(g, t.root).links == 4);
  CHECK(attr_of(g, a->ino).links == 2);
  CHECK(attr_of(g, file->ino).links == 2);
  CHECK(read_file(g, ino_of(g, t.root, "l1")) == "shared");
  REQUIRE(g.unlink(t.root, "l1"));
  REQUIRE(g.unlink(b->ino, "l2"));
  CHECK(err_of(g.getattr(file->ino)) == ENOENT);
  t.unmount_and_fsck();
}

TEST_CASE("fs posix: rename, NOREPLACE, EXCHANGE and its errors") {
  Fresh t;
  FileSystem& f = t.fs();
  auto d1 = f.mkdir(t.root, "d1", 0755, 0, 0);
  auto d2 = f.mkdir(t.root, "d2", 0755, 0, 0);
  REQUIRE(d1);
  REQUIRE(d2);
  auto x = f.create(d1->ino, "x", 0644, 0, 0);
  auto y = f.create(d2->ino, "y", 0644, 0, 0);
  REQUIRE(x);
  REQUIRE(y);
  write_all(f, x->ino, 0, "xxxx");
  write_all(f, y->ino, 0, "yy");

  // Plain renames within and across directories.
  REQUIRE(f.rename(d1->ino, "x", d1->ino, "x2"));
  CHECK(err_of(f.lookup(d1->ino, "x")) == ENOENT);
  CHECK(ino_of(f, d1->ino, "x2") == x->ino);
  REQUIRE(f.rename(d1->ino, "x2", d2->ino, "x"));
  CHECK(ino_of(f, d2->ino, "x") == x->ino);
  CHECK(entries(f, d1->ino).size() == 2);

  // NOREPLACE on an existing name: EEXIST and nothing moves.
  CHECK(err_of(f.rename(d2->ino, "x", d2->ino, "y", kRenameNoReplace)) == EEXIST);
  CHECK(ino_of(f, d2->ino, "x") == x->ino);
  CHECK(ino_of(f, d2->ino, "y") == y->ino);
  REQUIRE(f.rename(d2->ino, "x", d1->ino, "x", kRenameNoReplace));
  CHECK(ino_of(f, d1->ino, "x") == x->ino);

  // EXCHANGE swaps two names atomically; both must exist.
  REQUIRE(f.rename(d1->ino, "x", d2->ino, "y", kRenameExchange));
  CHECK(ino_of(f, d1->ino, "x") == y->ino);
  CHECK(ino_of(f, d2->ino, "y") == x->ino);
  CHECK(read_file(f, ino_of(f, d1->ino, "x")) == "yy");
  CHECK(err_of(f.rename(d1->ino, "x", d2->ino, "none", kRenameExchange)) == ENOENT);
  CHECK(err_of(f.rename(d1->ino, "x", d2->ino, "y", kRenameExchange | kRenameNoReplace)) == EINVAL);

  // Exchange a file with a directory in another parent: '..' and link counts follow.
  auto sub = f.mkdir(d2->ino, "sub", 0755, 0, 0);
  REQUIRE(sub);
  CHECK(attr_of(f, d2->ino).links == 3);
  REQUIRE(f.rename(d1->ino, "x", d2->ino, "sub", kRenameExchange));
  CHECK(ino_of(f, d1->ino, "x") == sub->ino);
  CHECK(ino_of(f, d2->ino, "sub") == y->ino);
  CHECK(ino_of(f, sub->ino, "..") == d1->ino);
  CHECK(attr_of(f, d1->ino).links == 3);
  CHECK(attr_of(f, d2->ino).links == 2);

  // Replacing a file drops the old target.
  auto z = f.create(d2->ino, "z", 0644, 0, 0);
  REQUIRE(z);
  REQUIRE(f.rename(d2->ino, "sub", d2->ino, "z"));  // y's name over z
  CHECK(ino_of(f, d2->ino, "z") == y->ino);
  CHECK(err_of(f.getattr(z->ino)) == ENOENT);

  // Type mismatches and non-empty targets.
  auto e1 = f.mkdir(t.root, "e1", 0755, 0, 0);
  auto full = f.mkdir(t.root, "full", 0755, 0, 0);
  REQUIRE(e1);
  REQUIRE(full);
  REQUIRE(f.create(full->ino, "f", 0644, 0, 0));
  CHECK(err_of(f.rename(t.root, "e1", d2->ino, "z")) == ENOTDIR);  // dir over file
  CHECK(err_of(f.rename(d2->ino, "z", t.root, "e1")) == EISDIR);   // file over dir
  CHECK(err_of(f.rename(t.root, "e1", t.root, "full")) == ENOTEMPTY);
  // A directory over an empty directory replaces it.
  auto e2 = f.mkdir(t.root, "e2", 0755, 0, 0);
  REQUIRE(e2);
  const uint32_t root_links = attr_of(f, t.root).links;
  REQUIRE(f.rename(t.root, "e1", t.root, "e2"));
  CHECK(ino_of(f, t.root, "e2") == e1->ino);
  CHECK(err_of(f.getattr(e2->ino)) == ENOENT);
  CHECK(attr_of(f, t.root).links == root_links - 1);

  // A directory cannot move into its own subtree.
  auto deep = f.mkdir(sub->ino, "deep", 0755, 0, 0);
  REQUIRE(deep);
  CHECK(err_of(f.rename(t.root, "d1", deep->ino, "loop")) == EINVAL);
  CHECK(err_of(f.rename(t.root, "d1", sub->ino, "loop")) == EINVAL);
  CHECK(err_of(f.rename(d1->ino, "x", deep->ino, "self")) == EINVAL);
  CHECK(ino_of(f, t.root, "d1") == d1->ino);
  // Two names of one file: rename is a no-op that keeps both.
  REQUIRE(f.link(y->ino, d2->ino, "y2"));
  REQUIRE(f.rename(d2->ino, "z", d2->ino, "y2"));
  CHECK(ino_of(f, d2->ino, "z") == y->ino);
  CHECK(ino_of(f, d2->ino, "y2") == y->ino);
  CHECK(attr_of(f, y->ino).links == 2);
  // '.' and '..' cannot be renamed.
  CHECK(err_of(f.rename(d1->ino, ".", t.root, "dot")) != 0);
  CHECK(err_of(f.rename(d1->ino, "..", t.root, "dot")) != 0);

  t.remount();
  FileSystem& g = t.fs();
  CHECK(ino_of(g, d1->ino, "x") == sub->ino);
  CHECK(ino_of(g, sub->ino, "..") == d1->ino);
  CHECK(read_file(g, ino_of(g, d2->ino, "y")) == "xxxx");
  CHECK(read_file(g, ino_of(g, d2->ino, "z")) == "yy");
  t.unmount_and_fsck();
}

TEST_CASE("fs posix: times change on write and keep nanoseconds") {
  Fresh t;
  FileSystem& f = t.fs();
  auto c = f.create(t.root, "f", 0644, 0, 0);
  REQUIRE(c);
  // Set times with odd nanoseconds; they must come back exactly, also after remount.
  SetAttr sa;
  sa.mtime = Timespec{1000000000, 123456789};
  sa.atime = Timespec{999999999, 987654321};
  auto s = f.setattr(c->ino, sa);
  REQUIRE(s);
  CHECK(ts_eq(s->mtime, *sa.mtime));
  CHECK(ts_eq(s->atime, *sa.atime));
  const Timespec ctime_after_setattr = s->ctime;
  CHECK(ts_lt(*sa.mtime, ctime_after_setattr));  // ctime is now, not the given mtime
  const Timespec root_mtime = attr_of(f, t.root).mtime;
  // A write moves mtime and ctime forward to now.
  write_all(f, c->ino, 0, "hello");
  auto a = attr_of(f, c->ino);
  CHECK(ts_lt(*sa.mtime, a.mtime));
  CHECK(!ts_lt(a.ctime, ctime_after_setattr));
  CHECK(a.size == 5);
  // Truncate too.
  SetAttr back;
  back.mtime = Timespec{5, 6};
  REQUIRE(f.setattr(c->ino, back));
  REQUIRE(f.truncate(c->ino, 2));
  CHECK(ts_lt(Timespec{5, 6}, attr_of(f, c->ino).mtime));
  // Creating a name changes the directory's mtime.
  REQUIRE(f.setattr(t.root, back));
  REQUIRE(f.create(t.root, "g", 0644, 0, 0));
  CHECK(ts_lt(Timespec{5, 6}, attr_of(f, t.root).mtime));
  CHECK(!ts_lt(attr_of(f, t.root).mtime, root_mtime));
  // Mode, owner changes keep the type and bump ctime.
  SetAttr own;
  own.mode = 0600;
  own.uid = 42;
  own.gid = 43;
  auto o = f.setattr(c->ino, own);
  REQUIRE(o);
  CHECK(o->mode == (S_IFREG | 0600));
  CHECK(o->uid == 42);
  CHECK(o->gid == 43);
  SetAttr exact;
  exact.mtime = Timespec{1700000000, 1};
  exact.atime = Timespec{1700000001, 999999999};
  REQUIRE(f.setattr(c->ino, exact));
  t.remount();
  auto r = attr_of(t.fs(), c->ino);
  CHECK(ts_eq(r.mtime, *exact.mtime));
  CHECK(ts_eq(r.atime, *exact.atime));
  CHECK(r.mode == (S_IFREG | 0600));
  CHECK(r.uid == 42);
  CHECK(r.size == 2);
  t.unmount_and_fsck();
}

TEST_CASE("fs posix: sparse files, holes and truncate") {
  Fresh t;
  FileSystem& f = t.fs();
  std::mt19937_64 rng(7);
  auto c = f.create(t.root, "sparse", 0644, 0, 0);
  REQUIRE(c);
  const std::string a = testing::random_string(rng, 5000), b = testing::random_string(rng, 7000);
  const uint64_t far = 20 * kMiB + 123;  // past the direct nodes, into the indirect ones
  write_all(f, c->ino, 100, a);
  write_all(f, c->ino, far, b);
  auto at = attr_of(f, c->ino);
  CHECK(at.size == far + b.size());
  CHECK(at.blocks < 16);  // the holes take no blocks
  std::string want(far + b.size(), '\0');
  want.replace(100, a.size(), a);
  want.replace(far, b.size(), b);
  CHECK(read_file(f, c->ino) == want);
  CHECK(read_str(f, c->ino, 8 * kMiB, 10000) == std::string(10000, '\0'));
  // Reads at and past the end.
  CHECK(read_str(f, c->ino, want.size(), 100).empty());
  CHECK(read_str(f, c->ino, want.size() + 9999, 100).empty());
  CHECK(read_str(f, c->ino, want.size() - 10, 100).size() == 10);

  // Shrink inside a block, then extend: the cut bytes read as zero, not as old data.
  REQUIRE(f.truncate(c->ino, 1000));
  CHECK(attr_of(f, c->ino).size == 1000);
  CHECK(attr_of(f, c->ino).blocks <= at.blocks);
  REQUIRE(f.truncate(c->ino, far + 100));
  std::string w2(far + 100, '\0');
  w2.replace(100, 900, a.substr(0, 900));
  CHECK(read_str(f, c->ino, 0, 8192) == w2.substr(0, 8192));
  CHECK(read_str(f, c->ino, far - 50, 150) == std::string(150, '\0'));
  // Through setattr too.
  write_all(f, c->ino, 0, "0123456789ABCDEF");
  SetAttr sz;
  sz.size = 10;
  auto s = f.setattr(c->ino, sz);
  REQUIRE(s);
  CHECK(s->size == 10);
  sz.size = 5000;
  REQUIRE(f.setattr(c->ino, sz));
  CHECK(read_file(f, c->ino) == "0123456789" + std::string(4990, '\0'));
  // Write past the end of a file leaves a hole between.
  auto d = f.create(t.root, "gap", 0644, 0, 0);
  REQUIRE(d);
  write_all(f, d->ino, 0, "start");
  write_all(f, d->ino, 3 * 4096 + 7, "end");
  CHECK(read_file(f, d->ino) == "start" + std::string(3 * 4096 + 2, '\0') + "end");
  t.remount();
  CHECK(read_file(t.fs(), d->ino) == "start" + std::string(3 * 4096 + 2, '\0') + "end");
  CHECK(attr_of(t.fs(), c->ino).size == 5000);
  t.unmount_and_fsck();
}

TEST_CASE("fs posix: reads fill a dirty buffer: holes, runs and the last partial block") {
  Fresh t;
  FileSystem& f = t.fs();
  std::mt19937_64 rng(11);
  constexpr uint64_t kBs = 4096;
  // Blocks 0-2 data, 3-5 hole, 6 data, 7-9 hole, 10 data up to 100 bytes (EOF inside it).
  auto c = f.create(t.root, "patchy", 0644, 0, 0);
  REQUIRE(c);
  std::string want(10 * kBs + 100, '\0');
  auto put = [&](uint64_t off, size_t len) {
    const std::string d = testing::random_string(rng, len);
    write_all(f, c->ino, off, d);
    want.replace(off, len, d);
  };
  put(0, 3 * kBs);
  put(6 * kBs, kBs);
  put(10 * kBs, 100);
  // A second file whose partial last block is a hole (extended by truncate).
  auto h = f.create(t.root, "tail-hole", 0644, 0, 0);
  REQUIRE(h);
  write_all(f, h->ino, 0, std::string(kBs, 'x'));
  REQUIRE(f.truncate(h->ino, 3 * kBs + 50));
  const std::string want_h = std::string(kBs, 'x') + std::string(2 * kBs + 50, '\0');

  // Every read goes into a buffer full of 0xAA: whatever the file does not cover must stay
  // 0xAA, and holes must read as zeros, not as the buffer's old bytes.
  auto read_dirty = [&](uint32_t ino, uint64_t off, size_t len) {
    std::string buf(len, '\xAA');
    auto n = t.fs().read(ino, off, std::as_writable_bytes(std::span(buf.data(), buf.size())));
    REQUIRE(n);
    CHECK(buf.substr(*n) == std::string(len - *n, '\xAA'));
    buf.resize(*n);
    return buf;
  };
  for (int pass = 0; pass < 2; ++pass) {
    for (uint64_t off : {uint64_t{0}, kBs, 3 * kBs, 6 * kBs, 9 * kBs, 10 * kBs, 5 * kBs + 7})
      for (size_t len :
           {size_t{1}, size_t{kBs}, size_t{3 * kBs}, size_t{5 * kBs + 1}, size_t{16 * kBs}}) {
        INFO("pass " << pass << " offset " << off << " length " << len);
        const size_t n = off < want.size() ? std::min<size_t>(len, want.size() - off) : 0;
        CHECK(read_dirty(c->ino, off, len) == want.substr(off, n));
      }
    CHECK(read_dirty(h->ino, 0, 8 * kBs) == want_h);
    CHECK(read_dirty(h->ino, 3 * kBs, kBs) == want_h.substr(3 * kBs));
    t.remount();  // and again from the device, with no cached nodes
  }
  t.unmount_and_fsck();
}

TEST_CASE("fs posix: fallocate keep-size, extend and punch hole") {
  Fresh t;
  FileSystem& f = t.fs();
  std::mt19937_64 rng(8);
  auto c = f.create(t.root, "fa", 0644, 0, 0);
  REQUIRE(c);
  const std::string data = testing::random_string(rng, 40000);
  write_all(f, c->ino, 0, data);
  const auto before = attr_of(f, c->ino);
  // Keep size: blocks are reserved past the end, the size stays.
  REQUIRE(f.fallocate(c->ino, kFallocKeepSize, 40000, 400000));
  auto k = attr_of(f, c->ino);
  CHECK(k.size == 40000);
  CHECK(k.blocks >= before.blocks + (440000 + 4095) / 4096 - 10);
  CHECK(read_file(f, c->ino) == data);
  // Mode 0 extends the size; the new range reads zeros.
  REQUIRE(f.fallocate(c->ino, 0, 50000, 20000));
  CHECK(attr_of(f, c->ino).size == 70000);
  CHECK(read_file(f, c->ino) == data + std::string(30000, '\0'));
  // Punch a hole across block boundaries: zeros there, size kept, whole blocks freed.
  const uint64_t blocks_before_punch = attr_of(f, c->ino).blocks;
  REQUIRE(f.fallocate(c->ino, kFallocPunchHole | kFallocKeepSize, 1000, 20000));
  std::string want = data + std::string(30000, '\0');
  std::fill(want.begin() + 1000, want.begin() + 21000, '\0');
  CHECK(read_file(f, c->ino) == want);
  CHECK(attr_of(f, c->ino).size == 70000);
  CHECK(attr_of(f, c->ino).blocks <= blocks_before_punch - 4);  // blocks 1..4 fully punched
  // Punch without keep-size is refused, as Linux does; bad modes and lengths too.
  CHECK(err_of(f.fallocate(c->ino, kFallocPunchHole, 0, 4096)) == EOPNOTSUPP);
  CHECK(err_of(f.fallocate(c->ino, 0, 0, 0)) == EINVAL);
  auto dir = f.mkdir(t.root, "d", 0755, 0, 0);
  REQUIRE(dir);
  CHECK(err_of(f.fallocate(dir->ino, 0, 0, 4096)) != 0);
  // Writing into the preallocated range works.
  write_all(f, c->ino, 100000, "tail");
  want.resize(100000, '\0');
  want += "tail";
  CHECK(read_file(f, c->ino) == want);
  // Deleting the file gives back its preallocated blocks too: the image stays mountable.
  REQUIRE(f.unlink(t.root, "fa"));
  // A punched hole persists.
  auto p = f.create(t.root, "punched", 0644, 0, 0);
  REQUIRE(p);
  write_all(f, p->ino, 0, data);
  REQUIRE(f.fallocate(p->ino, kFallocPunchHole | kFallocKeepSize, 5000, 10000));
  std::string pw = data;
  std::fill(pw.begin() + 5000, pw.begin() + 15000, '\0');
  CHECK(read_file(f, p->ino) == pw);
  // Preallocated blocks that were then written persist like any data.
  auto w = f.create(t.root, "written", 0644, 0, 0);
  REQUIRE(w);
  REQUIRE(f.fallocate(w->ino, 0, 0, 20000));
  write_all(f, w->ino, 0, data.substr(0, 20000));
  t.remount();
  CHECK(read_file(t.fs(), p->ino) == pw);
  CHECK(read_file(t.fs(), w->ino) == data.substr(0, 20000));
  t.unmount_and_fsck();
}

// Preallocated blocks nobody wrote (NEW_ADDR) survive an unmount: the image mounts again,
// fsck.f2fs accepts it, sizes and zeros are as before.
TEST_CASE("fs posix: unwritten preallocated blocks survive a remount") {
  const bool keep_size = GENERATE(true, false);
  INFO("keep size " << keep_size);
  Fresh t;
  FileSystem& f = t.fs();
  auto c = f.create(t.root, "fa", 0644, 0, 0);
  REQUIRE(c);
  write_all(f, c->ino, 0, std::string(40000, 'a'));
  REQUIRE(f.fallocate(c->ino, keep_size ? kFallocKeepSize : 0, 40000, 400000));
  const auto before = attr_of(f, c->ino);
  testing::unmount(t.m);
  std::string out;
  const bool clean = testing::fsck_clean(t.img, &out);
  INFO("fsck.f2fs --dry-run:\n" << out);
  CHECK(clean);
  t.m = testing::mount_image(t.img);
  auto after = attr_of(t.fs(), c->ino);
  CHECK(after.size == before.size);
  CHECK(after.blocks == before.blocks);
  CHECK(read_file(t.fs(), c->ino) ==
        std::string(40000, 'a') + std::string(keep_size ? 0 : 400000, '\0'));
  t.unmount_and_fsck();
}

TEST_CASE("fs posix: inline data grows into blocks with its content") {
  Fresh t;
  FileSystem& f = t.fs();
  std::mt19937_64 rng(9);
  auto c = f.create(t.root, "grow", 0644, 0, 0);
  REQUIRE(c);
  const std::string a = testing::random_string(rng, 3000);
  write_all(f, c->ino, 0, a);
  CHECK((attr_of(f, c->ino).inline_flags & kInlineData));
  // Exactly 3488 bytes still fit inline.
  const std::string fill = testing::random_string(rng, 488);
  write_all(f, c->ino, 3000, fill);
  CHECK(attr_of(f, c->ino).size == 3488);
  CHECK((attr_of(f, c->ino).inline_flags & kInlineData));
  // One more byte converts to a data block.
  write_all(f, c->ino, 3488, "!");
  CHECK(!(attr_of(f, c->ino).inline_flags & kInlineData));
  CHECK(read_file(f, c->ino) == a + fill + "!");
  // A small write far away converts too.
  auto d = f.create(t.root, "far", 0644, 0, 0);
  REQUIRE(d);
  write_all(f, d->ino, 0, "head");
  write_all(f, d->ino, 100000, "tail");
  CHECK(read_file(f, d->ino) == "head" + std::string(100000 - 4, '\0') + "tail");
  // Truncate of an inline file, then extend.
  auto e = f.create(t.root, "inl", 0644, 0, 0);
  REQUIRE(e);
  write_all(f, e->ino, 0, std::string(2000, 'q'));
  REQUIRE(f.truncate(e->ino, 100));
  REQUIRE(f.truncate(e->ino, 3000));
  CHECK(read_file(f, e->ino) == std::string(100, 'q') + std::string(2900, '\0'));
  t.remount();
  FileSystem& g = t.fs();
  CHECK(read_file(g, c->ino) == a + fill + "!");
  CHECK(read_file(g, d->ino) == "head" + std::string(100000 - 4, '\0') + "tail");
  CHECK(read_file(g, e->ino) == std::string(100, 'q') + std::string(2900, '\0'));
  t.unmount_and_fsck();
}

TEST_CASE("fs posix: user xattrs with CREATE, REPLACE and ENODATA") {
  Fresh t;
  FileSystem& f = t.fs();
  auto c = f.create(t.root, "x", 0644, 0, 0);
  REQUIRE(c);
  const std::string v1 = "value-one", v2(300, 'v');
  CHECK(err_of(f.getxattr(c->ino, "user.a")) == ENODATA);
  CHECK(err_of(f.removexattr(c->ino, "user.a")) == ENODATA);
  CHECK(err_of(f.setxattr(c->ino, "user.a", u8_of(v1), XATTR_REPLACE)) == ENODATA);
  REQUIRE(f.setxattr(c->ino, "user.a", u8_of(v1), XATTR_CREATE));
  CHECK(err_of(f.setxattr(c->ino, "user.a", u8_of(v2), XATTR_CREATE)) == EEXIST);
  auto g1 = f.getxattr(c->ino, "user.a");
  REQUIRE(g1);
  CHECK(std::string(g1->begin(), g1->end()) == v1);
  REQUIRE(f.setxattr(c->ino, "user.a", u8_of(v2), XATTR_REPLACE));
  auto g2 = f.getxattr(c->ino, "user.a");
  REQUIRE(g2);
  CHECK(std::string(g2->begin(), g2->end()) == v2);
  REQUIRE(f.setxattr(c->ino, "user.empty", {}, 0));
  auto g3 = f.getxattr(c->ino, "user.empty");
  REQUIRE(g3);
  CHECK(g3->empty());
  // Enough to leave the inline area for an xattr node.
  for (int i = 0; i < 20; ++i)
    REQUIRE(f.setxattr(c->ino, "user.k" + std::to_string(i), u8_of(std::string(100, 'a' + i))));
  auto l = f.listxattr(c->ino);
  REQUIRE(l);
  std::set<std::string> names(l->begin(), l->end());
  CHECK(names.size() == 22);
  CHECK(names.count("user.a"));
  CHECK(names.count("user.k19"));
  REQUIRE(f.removexattr(c->ino, "user.k3"));
  CHECK(err_of(f.getxattr(c->ino, "user.k3")) == ENODATA);
  // Directories carry xattrs too.
  REQUIRE(f.setxattr(t.root, "user.dir", u8_of(v1)));
  t.remount();
  FileSystem& g = t.fs();
  auto l2 = g.listxattr(c->ino);
  REQUIRE(l2);
  CHECK(l2->size() == 21);
  auto k19 = g.getxattr(c->ino, "user.k19");
  REQUIRE(k19);
  CHECK(std::string(k19->begin(), k19->end()) == std::string(100, 'a' + 19));
  auto rd = g.getxattr(t.root, "user.dir");
  REQUIRE(rd);
  CHECK(std::string(rd->begin(), rd->end()) == v1);
  CHECK(err_of(g.getxattr(c->ino, "user.k3")) == ENODATA);
  t.unmount_and_fsck();
}

TEST_CASE("fs posix: a file unlinked while open lives until release") {
  Fresh t;
  FileSystem& f = t.fs();
  std::mt19937_64 rng(10);
  REQUIRE(f.sync());
  const auto before = f.statfs();
  REQUIRE(before);
  auto c = f.create(t.root, "open", 0644, 0, 0);
  REQUIRE(c);
  const std::string data = testing::random_string(rng, 2 * kMiB);
  write_all(f, c->ino, 0, data);
  REQUIRE(f.open(c->ino));
  REQUIRE(f.unlink(t.root, "open"));
  CHECK(err_of(f.lookup(t.root, "open")) == ENOENT);
  CHECK(attr_of(f, c->ino).links == 0);
  CHECK(read_file(f, c->ino) == data);
  write_all(f, c->ino, 0, "still writable");
  REQUIRE(f.sync());  // a checkpoint with the orphan in it
  CHECK(read_str(f, c->ino, 0, 14) == "still writable");
  auto during = f.statfs();
  REQUIRE(during);
  CHECK(during->bfree + 500 < before->bfree);  // the 2 MiB are still held
  REQUIRE(f.release(c->ino));
  CHECK(err_of(f.getattr(c->ino)) == ENOENT);
  REQUIRE(f.sync());
  auto after = f.statfs();
  REQUIRE(after);
  CHECK(after->bfree + 4 >= before->bfree);
  CHECK(after->ffree == before->ffree);
  t.unmount_and_fsck();
}

TEST_CASE("fs posix: an orphan left by a crash is removed at the next mount") {
  Fresh t;
  std::mt19937_64 rng(11);
  REQUIRE(t.fs().sync());
  const auto before = t.fs().statfs();
  REQUIRE(before);
  uint32_t ino = 0;
  {
    FileSystem& f = t.fs();
    auto c = f.create(t.root, "orphan", 0644, 0, 0);
    REQUIRE(c);
    ino = c->ino;
    write_all(f, ino, 0, testing::random_string(rng, 3 * kMiB));
    REQUIRE(f.open(ino));
    REQUIRE(f.unlink(t.root, "orphan"));
    REQUIRE(f.sync());
  }
  t.crash_and_remount();  // never released
  FileSystem& g = t.fs();
  CHECK(err_of(g.getattr(ino)) == ENOENT);
  CHECK(err_of(g.lookup(t.root, "orphan")) == ENOENT);
  REQUIRE(g.sync());
  auto after = g.statfs();
  REQUIRE(after);
  INFO("bfree before " << before->bfree << " after " << after->bfree);
  CHECK(after->bfree + 4 >= before->bfree);
  CHECK(after->ffree == before->ffree);
  t.unmount_and_fsck();
}

TEST_CASE("fs posix: readdir positions are stable across changes") {
  Fresh t;
  FileSystem& f = t.fs();
  auto d = f.mkdir(t.root, "d", 0755, 0, 0);
  REQUIRE(d);
  for (int i = 0; i < 400; ++i)
    REQUIRE(f.create(d->ino, "entry_" + std::to_string(i) + std::string(i % 40, 'p'), 0644, 0, 0));
  auto first = f.readdir(d->ino);
  REQUIRE(first);
  REQUIRE(first->size() == 402);
  for (size_t i = 1; i < first->size(); ++i) CHECK((*first)[i - 1].pos < (*first)[i].pos);
  std::map<std::string, uint64_t> pos;
  for (const auto& e : *first) pos[e.name] = e.pos;
  // Remove every third, add new ones: survivors keep their positions.
  for (int i = 0; i < 400; i += 3)
    REQUIRE(f.unlink(d->ino, "entry_" + std::to_string(i) + std::string(i % 40, 'p')));
  for (int i = 0; i < 50; ++i) REQUIRE(f.create(d->ino, "new_" + std::to_string(i), 0644, 0, 0));
  auto second = f.readdir(d->ino);
  REQUIRE(second);
  CHECK(second->size() == 402 - 134 + 50);
  int kept = 0;
  for (const auto& e : *second) {
    auto it = pos.find(e.name);
    if (it == pos.end()) continue;
    INFO(e.name);
    CHECK(it->second == e.pos);
    ++kept;
  }
  CHECK(kept == 402 - 134);
  t.remount();
  auto third = t.fs().readdir(d->ino);
  REQUIRE(third);
  REQUIRE(third->size() == second->size());
  for (size_t i = 0; i < third->size(); ++i) {
    CHECK((*third)[i].name == (*second)[i].name);
    CHECK((*third)[i].pos == (*second)[i].pos);
  }
  t.unmount_and_fsck();
}

TEST_CASE("fs posix: statfs follows writes and deletes") {
  Fresh t;
  FileSystem& f = t.fs();
  std::mt19937_64 rng(12);
  auto s0 = f.statfs();
  REQUIRE(s0);
  CHECK(s0->block_size == 4096);
  CHECK(s0->namemax == 255);
  CHECK(s0->bfree <= s0->blocks);
  CHECK(s0->bavail <= s0->bfree);
  CHECK(s0->ffree <= s0->files);
  CHECK(s0->blocks * 4096 <= 128 * kMiB);
  CHECK(s0->blocks * 4096 > 64 * kMiB);
  auto c = f.create(t.root, "big", 0644, 0, 0);
  REQUIRE(c);
  write_all(f, c->ino, 0, testing::random_string(rng, 8 * kMiB));
  REQUIRE(f.sync());
  auto s1 = f.statfs();
  REQUIRE(s1);
  CHECK(s1->bfree + 2048 <= s0->bfree);
  CHECK(s1->bfree + 2048 + 64 >= s0->bfree);
  CHECK(s1->ffree < s0->ffree);
  REQUIRE(f.unlink(t.root, "big"));
  REQUIRE(f.sync());
  auto s2 = f.statfs();
  REQUIRE(s2);
  CHECK(s2->bfree + 8 >= s0->bfree);
  CHECK(s2->ffree == s0->ffree);
  t.unmount_and_fsck();
}

// Fills the image with 1 MiB writes into 4 MiB files until ENOSPC.
struct Filled {
  std::string chunk;
  std::map<uint32_t, uint64_t> written;  // ino -> bytes that went in
  std::map<uint32_t, std::string> names;
  uint64_t total = 0;
  std::string first_error;
};

Filled fill_up(FileSystem& f, uint32_t dir, uint64_t seed, const std::string& prefix) {
  Filled out;
  std::mt19937_64 rng(seed);
  out.chunk = testing::random_string(rng, 1 * kMiB);
  int enospc = 0;
  for (int i = 0; i < 200 && enospc == 0; ++i) {
    const std::string name = prefix + std::to_string(i);
    auto c = f.create(dir, name, 0644, 0, 0);
    if (!c) {
      out.first_error = c.error().message;
      CHECK(c.error().sys_errno == ENOSPC);
      ++enospc;
      break;
    }
    out.written[c->ino] = 0;
    out.names[c->ino] = name;
    for (int k = 0; k < 4; ++k) {
      auto n = f.write(c->ino, out.written[c->ino], testing::bytes_of(out.chunk));
      if (!n) {
        out.first_error = n.error().message;
        CHECK(n.error().sys_errno == ENOSPC);
        ++enospc;
        break;
      }
      out.written[c->ino] += *n;  // a short write counts what went in
      out.total += *n;
      if (*n < out.chunk.size()) {
        ++enospc;
        break;
      }
    }
  }
  CHECK(enospc == 1);
  return out;
}

void check_filled(FileSystem& f, const Filled& fl) {
  for (const auto& [ino, n] : fl.written) {
    const std::string got = read_file(f, ino);
    REQUIRE(got.size() == n);
    for (uint64_t off = 0; off < n; off += fl.chunk.size())
      REQUIRE(got.compare(off, std::min<uint64_t>(fl.chunk.size(), n - off), fl.chunk, 0,
                          std::min<uint64_t>(fl.chunk.size(), n - off)) == 0);
  }
}

TEST_CASE("fs posix: a full image returns ENOSPC and stays consistent") {
  Fresh t(64 * kMiB);
  FileSystem& f = t.fs();
  auto st0 = f.statfs();
  REQUIRE(st0);
  INFO("statfs of the empty image: blocks " << st0->blocks << " bfree " << st0->bfree << " bavail "
                                            << st0->bavail);
  Filled fl = fill_up(f, t.root, 13, "fill");
  INFO("filled with " << fl.total << " bytes; first error: " << fl.first_error);
  // ENOSPC comes when what statfs promised is used up, not much earlier.
  CHECK(fl.total >= st0->bavail * 4096 * 3 / 4);
  CHECK(fl.total <= st0->bfree * 4096);
  // Still full; reads, lookups and statfs work.
  auto more = f.create(t.root, "more", 0644, 0, 0);
  if (more) CHECK(err_of(f.write(more->ino, 0, testing::bytes_of(fl.chunk))) == ENOSPC);
  auto st = f.statfs();
  REQUIRE(st);
  CHECK(st->bavail < 256);
  check_filled(f, fl);
  t.unmount_and_fsck();
  t.m = testing::mount_image(t.img);
  check_filled(t.fs(), fl);
  t.unmount_and_fsck();
}

// Deleting files on a full image must work (Linux keeps room for it) and give the space back.
TEST_CASE("fs posix: deleting files on a full image makes room again") {
  Fresh t(64 * kMiB);
  FileSystem& f = t.fs();
  auto st0 = f.statfs();
  REQUIRE(st0);
  Filled fl = fill_up(f, t.root, 13, "fill");
  INFO("filled with " << fl.total << " bytes");
  SECTION("in the same mount") {
    for (const auto& [ino, n] : fl.written) {
      auto u = f.unlink(t.root, fl.names[ino]);
      const auto gs = f.gc_stats();
      INFO("gc: collections " << gs.collections << " victims " << gs.victims << " freed "
                              << gs.victims_freed << " moved " << gs.blocks_moved());
      if (!u) FAIL("unlink " << fl.names[ino] << " on the full image: " << u.error().message);
    }
  }
  SECTION("after a remount") {
    t.remount();
    for (const auto& [ino, n] : fl.written) {
      auto u = t.fs().unlink(t.root, fl.names[ino]);
      if (!u) FAIL("unlink " << fl.names[ino] << " on the full image: " << u.error().message);
    }
  }
  FileSystem& g = t.fs();
  REQUIRE(g.sync());
  auto st2 = g.statfs();
  REQUIRE(st2);
  INFO("statfs after deleting every file and sync: bfree " << st2->bfree << " bavail "
                                                           << st2->bavail);
  CHECK(st2->bavail + 512 >= st0->bavail);
  auto again = g.create(t.root, "again", 0644, 0, 0);
  if (!again) FAIL("create after deleting every file: " << again.error().message);
  write_all(g, again->ino, 0, fl.chunk);
  CHECK(read_file(g, again->ino) == fl.chunk);
  t.unmount_and_fsck();
}

TEST_CASE("fs posix: a read-only mount refuses every change with EROFS") {
  Fresh t;
  uint32_t file = 0, dir = 0;
  {
    FileSystem& f = t.fs();
    auto c = f.create(t.root, "file", 0644, 0, 0);
    REQUIRE(c);
    file = c->ino;
    write_all(f, file, 0, "content");
    REQUIRE(f.setxattr(file, "user.x", u8_of("1")));
    auto d = f.mkdir(t.root, "dir", 0755, 0, 0);
    REQUIRE(d);
    dir = d->ino;
  }
  testing::unmount(t.m);
  // Whole-image reads in one call: a character at a time took minutes under TSan.
  auto read_image = [&] {
    std::ifstream in(t.img, std::ios::binary | std::ios::ate);
    std::string bytes(static_cast<size_t>(in.tellg()), '\0');
    in.seekg(0);
    in.read(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    REQUIRE(in);
    return bytes;
  };
  const std::string image_before = read_image();
  MountOptions ro;
  ro.read_only = true;
  t.m = testing::mount_image(t.img, ro);
  FileSystem& f = t.fs();
  CHECK(f.read_only());
  const std::string x = "x";
  CHECK(err_of(f.create(t.root, "n", 0644, 0, 0)) == EROFS);
  CHECK(err_of(f.mknod(t.root, "n", S_IFIFO | 0644, 0, 0, 0)) == EROFS);
  CHECK(err_of(f.mkdir(t.root, "n", 0755, 0, 0)) == EROFS);
  CHECK(err_of(f.symlink(t.root, "n", "t", 0, 0)) == EROFS);
  CHECK(err_of(f.link(file, t.root, "n")) == EROFS);
  CHECK(err_of(f.unlink(t.root, "file")) == EROFS);
  CHECK(err_of(f.rmdir(t.root, "dir")) == EROFS);
  CHECK(err_of(f.rename(t.root, "file", t.root, "n")) == EROFS);
  CHECK(err_of(f.rename(t.root, "file", t.root, "dir", kRenameExchange)) == EROFS);
  CHECK(err_of(f.write(file, 0, testing::bytes_of(x))) == EROFS);
  SetAttr sa;
  sa.mode = 0600;
  CHECK(err_of(f.setattr(file, sa)) == EROFS);
  CHECK(err_of(f.truncate(file, 0)) == EROFS);
  CHECK(err_of(f.fallocate(file, 0, 0, 4096)) == EROFS);
  CHECK(err_of(f.setxattr(file, "user.y", u8_of("2"))) == EROFS);
  CHECK(err_of(f.removexattr(file, "user.x")) == EROFS);
  // Reads work.
  CHECK(read_file(f, file) == "content");
  CHECK(entries(f, t.root).size() == 4);
  CHECK(ino_of(f, t.root, "dir") == dir);
  auto xv = f.getxattr(file, "user.x");
  REQUIRE(xv);
  CHECK(xv->size() == 1);
  REQUIRE(f.statfs());
  (void)f.sync();
  (void)f.fsync(file);
  REQUIRE(f.unmount());
  t.m.fs.reset();
  t.m.dev.reset();
  const std::string image_after = read_image();
  CHECK((image_after == image_before));  // not one byte written
}

TEST_CASE("fs posix: fsync makes a file survive a crash") {
  Fresh t;
  std::mt19937_64 rng(14);
  const std::string data = testing::random_string(rng, 300000);
  uint32_t ino = 0;
  {
    FileSystem& f = t.fs();
    auto d = f.mkdir(t.root, "d", 0755, 0, 0);
    REQUIRE(d);
    auto c = f.create(d->ino, "durable", 0644, 0, 0);
    REQUIRE(c);
    ino = c->ino;
    write_all(f, ino, 0, data);
    REQUIRE(f.fsync(ino));
  }
  t.crash_and_remount();
  FileSystem& g = t.fs();
  auto r = g.resolve("/d/durable");
  REQUIRE(r);
  CHECK(*r == ino);
  CHECK(read_file(g, ino) == data);
  t.unmount_and_fsck();
}

}  // namespace
}  // namespace f2sc::fs
