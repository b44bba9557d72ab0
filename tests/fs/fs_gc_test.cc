// Garbage collection inside a mounted FileSystem, end to end: the GC's owners are the real
// inodes and direct nodes, its commits race with the filesystem's own writers, and the
// images it leaves are judged by fsck.f2fs --dry-run and read back after a remount.
#include <atomic>
#include <map>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "tests/fs/fs_test_util.h"

namespace f2sc::fs {
namespace {

constexpr uint64_t kMiB = 1 << 20;
constexpr size_t kBlock = 4096;

using Model = std::map<uint32_t, std::string>;  // ino -> content

void check_model(FileSystem& f, const Model& m) {
  for (const auto& [ino, want] : m) {
    const std::string got = testing::read_file(f, ino);
    INFO("inode " << ino);
    REQUIRE(got.size() == want.size());
    REQUIRE(got == want);
  }
}

// Files of 256 KiB..1 MiB filling about `fill` of the image, then 4 KiB random overwrites
// that leave every segment partly invalid.
Model fragment(FileSystem& f, uint64_t image_bytes, double fill, uint64_t seed) {
  std::mt19937_64 rng(seed);
  Model m;
  uint64_t total = 0;
  for (int i = 0; total < image_bytes * fill; ++i) {
    auto c = f.create(f.root_ino(), "f" + std::to_string(i), 0644, 0, 0);
    REQUIRE(c);
    const std::string data = testing::random_string(rng, (64 + rng() % 193) * kBlock);
    testing::write_all(f, c->ino, 0, data);
    m[c->ino] = data;
    total += data.size();
  }
  std::vector<uint32_t> inos;
  for (const auto& [ino, _] : m) inos.push_back(ino);
  for (int i = 0; i < 4000; ++i) {
    const uint32_t ino = inos[rng() % inos.size()];
    std::string& content = m[ino];
    const uint64_t off = (rng() % (content.size() / kBlock)) * kBlock;
    const std::string blk = testing::random_string(rng, kBlock);
    testing::write_all(f, ino, off, blk);
    content.replace(off, kBlock, blk);
  }
  REQUIRE(f.sync());
  return m;
}

TEST_CASE("GC in a mounted filesystem: files read back and fsck.f2fs is clean, both copy modes") {
  const bool offload = GENERATE(true, false);
  INFO("copy offload " << offload);
  testing::TempDir dir;
  const std::string img = (dir.path() / "img").string();
  const uint64_t bytes = 128 * kMiB;
  testing::mkfs_image(img, bytes);
  MountOptions o;
  o.copy_offload = offload;
  o.checkpoint_interval_sec = 0;
  testing::Mounted d = testing::mount_uri("nvme-emu:" + img, o);
  const Model m = fragment(*d.fs, bytes, 0.35, 7);
  const StatFs before = *d.fs->statfs();
  d.fs->reset_gc_stats();  // foreground GC may have run during the overwrites
  const uint64_t node_updates_before = d.fs->stats().gc_node_updates;

  auto r = d.fs->gc_collect(8, "greedy");
  if (!r) FAIL("gc_collect: " << r.error().message);
  CHECK(r->victims > 0);
  CHECK(r->moved > 0);
  CHECK(r->checkpointed);
  const gc::GcStatsSnapshot s = d.fs->gc_stats();
  CHECK(s.blocks_moved() == r->moved);
  CHECK(s.data_blocks_moved > 0);
  if (offload) {
    CHECK(s.blocks_offloaded == s.blocks_moved());
    CHECK(s.blocks_emulated == 0);
    CHECK(s.copy_commands > 0);
  } else {
    CHECK(s.blocks_emulated == s.blocks_moved());
    CHECK(s.blocks_offloaded == 0);
    CHECK(s.copy_commands == 0);
  }
  // The data blocks it moved made their direct nodes dirty: counted, not free.
  CHECK(d.fs->stats().gc_node_updates - node_updates_before == s.data_blocks_moved);
  // Cleaning frees space users can have (the victims were partly invalid).
  const StatFs after = *d.fs->statfs();
  CHECK(after.bfree >= before.bfree);
  check_model(*d.fs, m);
  testing::unmount(d);
  std::string out;
  const bool clean = testing::fsck_clean(img, &out);
  INFO("fsck.f2fs --dry-run:\n" << out);
  CHECK(clean);
  d = testing::mount_uri("nvme-emu:" + img, o);
  check_model(*d.fs, m);
  testing::unmount(d);
}

TEST_CASE("GC policies and switches through the FileSystem API") {
  testing::TempDir dir;
  const std::string img = (dir.path() / "img").string();
  testing::mkfs_image(img, 64 * kMiB);
  testing::Mounted d = testing::mount_uri("file:" + img, {});
  CHECK(d.fs->set_gc_policy("cost-benefit"));
  CHECK(d.fs->set_gc_policy("age-threshold"));
  CHECK(d.fs->set_gc_policy("greedy"));
  auto bad = d.fs->set_gc_policy("fifo");
  REQUIRE_FALSE(bad);
  CHECK(bad.error().sys_errno == EINVAL);
  CHECK(testing::err_of(d.fs->gc_collect(1, "nonsense")) == EINVAL);
  CHECK_FALSE(d.fs->background_gc());
  REQUIRE(d.fs->set_background_gc(true));
  CHECK(d.fs->background_gc());
  REQUIRE(d.fs->set_background_gc(false));
  CHECK_FALSE(d.fs->background_gc());
  // Nothing to clean on an empty image: no victim, no error.
  auto r = d.fs->gc_collect(4);
  REQUIRE(r);
  CHECK(r->victims == 0);
  testing::unmount(d);

  MountOptions ro;
  ro.read_only = true;
  d = testing::mount_uri("file:" + img, ro);
  CHECK(testing::err_of(d.fs->gc_collect(1)) == EROFS);
  CHECK(d.fs->gc_stats().victims == 0);
  testing::unmount(d);
}

// Writers that overwrite, truncate, unlink and recreate their own files in several threads
// while a background GC thread (urgent: no idle wait) and an explicit collector clean the
// same sections. Nothing may be lost, corrupted or resurrected.
TEST_CASE("writers, truncates and unlinks race with background and explicit GC") {
  testing::TempDir dir;
  const std::string img = (dir.path() / "img").string();
  const uint64_t bytes = 128 * kMiB;
  testing::mkfs_image(img, bytes);
  MountOptions o;
  o.checkpoint_interval_sec = 1;
  o.background_gc = true;
  o.gc.sleep = {5, 20, 20, 5};  // min, max, no-GC, urgent (ms)
  testing::Mounted d = testing::mount_uri("nvme-emu:" + img, o);
  FileSystem& f = *d.fs;
  f.set_gc_urgent(true);

  constexpr int kThreads = 3;
  constexpr int kFilesPerThread = 6;
  std::vector<std::map<std::string, std::string>> models(kThreads);  // name -> content
  std::vector<std::string> errors(kThreads);
  std::atomic<bool> stop{false};
  std::atomic<uint64_t> collected{0};
  std::string collector_error;

  std::thread collector([&] {
    while (!stop) {
      auto r = f.gc_collect(2, "cost-benefit");
      if (!r) {
        collector_error = r.error().message;
        return;
      }
      collected += r->victims;
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
  });
  std::vector<std::thread> writers;
  for (int t = 0; t < kThreads; ++t) {
    writers.emplace_back([&, t] {
      std::mt19937_64 rng(100 + t);
      auto& model = models[t];
      auto fail = [&](const std::string& what, const Error& e) {
        errors[t] = what + ": " + e.message;
      };
      auto ino_of = [&](const std::string& name) -> uint32_t {
        auto a = f.lookup(f.root_ino(), name);
        return a ? a->ino : 0;
      };
      for (int op = 0; op < 1500 && errors[t].empty(); ++op) {
        const std::string name =
            "t" + std::to_string(t) + "_" + std::to_string(rng() % kFilesPerThread);
        const int kind = static_cast<int>(rng() % 10);
        auto it = model.find(name);
        if (it == model.end()) {
          auto c = f.create(f.root_ino(), name, 0644, 0, 0);
          if (!c) return fail("create " + name, c.error());
          std::string data = testing::random_string(rng, (16 + rng() % 240) * kBlock);
          auto n = f.write(c->ino, 0, testing::bytes_of(data));
          if (!n || *n != data.size()) return fail("write " + name, n ? Error{} : n.error());
          model[name] = std::move(data);
          continue;
        }
        const uint32_t ino = ino_of(name);
        if (!ino) return fail("lookup " + name, Error{});
        std::string& content = it->second;
        if (kind < 6 && !content.empty()) {  // overwrite a few blocks
          const uint64_t blocks = content.size() / kBlock;
          const uint64_t first = rng() % blocks;
          const uint64_t n_blocks = std::min<uint64_t>(1 + rng() % 8, blocks - first);
          const std::string data = testing::random_string(rng, n_blocks * kBlock);
          auto n = f.write(ino, first * kBlock, testing::bytes_of(data));
          if (!n || *n != data.size()) return fail("overwrite " + name, n ? Error{} : n.error());
          content.replace(first * kBlock, data.size(), data);
        } else if (kind < 8) {  // truncate to a block boundary
          const uint64_t size = (rng() % (content.size() / kBlock + 1)) * kBlock;
          if (auto s = f.truncate(ino, size); !s) return fail("truncate " + name, s.error());
          content.resize(size);
        } else {  // unlink
          if (auto s = f.unlink(f.root_ino(), name); !s) return fail("unlink " + name, s.error());
          model.erase(it);
        }
      }
    });
  }
  for (auto& w : writers) w.join();
  stop = true;
  collector.join();
  for (int t = 0; t < kThreads; ++t) {
    INFO("writer " << t);
    CHECK(errors[t].empty());
    if (!errors[t].empty()) WARN(errors[t]);
  }
  INFO("collector: " << collector_error);
  CHECK(collector_error.empty());
  const gc::GcStatsSnapshot s = f.gc_stats();
  INFO("victims " << s.victims << " moved " << s.blocks_moved() << " dropped " << s.dropped_copies);
  CHECK(s.victims > 0);
  CHECK(s.blocks_moved() > 0);

  auto verify = [&](FileSystem& g) {
    auto list = g.readdir(g.root_ino());
    REQUIRE(list);
    size_t files = 0;
    for (const auto& e : *list)
      if (e.name.rfind('t', 0) == 0) ++files;
    size_t want = 0;
    for (const auto& m : models) want += m.size();
    CHECK(files == want);  // nothing resurrected, nothing lost
    for (const auto& m : models)
      for (const auto& [name, content] : m) {
        INFO(name);
        auto a = g.lookup(g.root_ino(), name);
        REQUIRE(a);
        REQUIRE(testing::read_file(g, a->ino) == content);
      }
  };
  verify(f);
  testing::unmount(d);
  std::string out;
  const bool clean = testing::fsck_clean(img, &out);
  INFO("fsck.f2fs --dry-run:\n" << out);
  CHECK(clean);
  MountOptions plain;
  d = testing::mount_uri("file:" + img, plain);
  verify(*d.fs);
  testing::unmount(d);
}

}  // namespace
}  // namespace f2sc::fs
