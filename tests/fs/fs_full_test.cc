// A full disk while GC runs: writers in several threads write until ENOSPC with the
// background GC (urgent) and an explicit collector active. F2FS has deadlocked here (its GC
// checkpoint needed free sections); a watchdog turns a hang into a failure. Then nothing
// may be corrupt, checkpoints must still work on the full image, and deleting files must
// make the space usable again.
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
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

// Ends the process if not disarmed in time: a deadlocked thread can be neither joined nor
// failed by Catch.
class Watchdog {
 public:
  Watchdog(std::chrono::seconds limit, std::string what)
      : thread_([this, limit, what = std::move(what)] {
          std::unique_lock lock(mu_);
          if (!cv_.wait_for(lock, limit, [&] { return done_; })) {
            std::fprintf(stderr, "FAILED: %s did not finish in %llds (deadlock?)\n", what.c_str(),
                         static_cast<long long>(limit.count()));
            std::_Exit(3);
          }
        }) {}
  ~Watchdog() {
    {
      std::lock_guard lock(mu_);
      done_ = true;
    }
    cv_.notify_all();
    thread_.join();
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool done_ = false;
  std::thread thread_;
};

using Model = std::map<std::string, std::string>;  // name -> content

void verify(FileSystem& f, const std::vector<Model>& models) {
  for (const Model& m : models)
    for (const auto& [name, content] : m) {
      INFO(name);
      auto a = f.lookup(f.root_ino(), name);
      REQUIRE(a);
      REQUIRE(testing::read_file(f, a->ino) == content);
    }
}

TEST_CASE("Writing until ENOSPC with GC running never deadlocks, and deletes give space back") {
  const bool offload = GENERATE(true, false);
  INFO("copy offload " << offload);
  testing::TempDir dir;
  const std::string img = (dir.path() / "img").string();
  testing::mkfs_image(img, 128 * kMiB);
  MountOptions o;
  o.copy_offload = offload;
  o.checkpoint_interval_sec = 1;
  o.background_gc = true;
  o.gc.sleep = {5, 20, 20, 5};  // min, max, no-GC, urgent (ms)
  testing::Mounted m = testing::mount_uri("nvme-emu:" + img, o);
  FileSystem& f = *m.fs;
  f.set_gc_urgent(true);

  constexpr int kThreads = 3;
  std::vector<Model> models(kThreads);
  std::vector<std::string> errors(kThreads);
  std::vector<int> enospc(kThreads, 0);
  std::atomic<bool> stop{false};
  std::string collector_error;
  {
    Watchdog dog(std::chrono::seconds(300), "writers on a full disk");
    std::thread collector([&] {
      while (!stop) {
        auto r = f.gc_collect(1, "greedy");
        if (!r && r.error().sys_errno != ENOSPC) {
          collector_error = r.error().message;
          return;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(3));
      }
    });
    std::vector<std::thread> writers;
    for (int t = 0; t < kThreads; ++t) {
      writers.emplace_back([&, t] {
        std::mt19937_64 rng(500 + t);
        Model& model = models[t];
        // New files, and overwrites of old ones that keep invalidating blocks for GC,
        // until the filesystem has said ENOSPC a few times.
        for (int i = 0; enospc[t] < 8 && errors[t].empty(); ++i) {
          if (!model.empty() && rng() % 3 == 0) {
            auto it = std::next(model.begin(), static_cast<long>(rng() % model.size()));
            auto a = f.lookup(f.root_ino(), it->first);
            if (!a) return void(errors[t] = "lookup " + it->first + ": " + a.error().message);
            const uint64_t blocks = it->second.size() / kBlock;
            if (blocks == 0) continue;
            const uint64_t first = rng() % blocks;
            const uint64_t n = std::min<uint64_t>(1 + rng() % 4, blocks - first);
            const std::string data = testing::random_string(rng, n * kBlock);
            auto w = f.write(a->ino, first * kBlock, testing::bytes_of(data));
            if (!w && w.error().sys_errno == ENOSPC) {
              ++enospc[t];
              continue;
            }
            if (!w) return void(errors[t] = "overwrite: " + w.error().message);
            // A short write changed only what it reports.
            it->second.replace(first * kBlock, *w, data.substr(0, *w));
            continue;
          }
          const std::string name = "w" + std::to_string(t) + "_" + std::to_string(i);
          auto c = f.create(f.root_ino(), name, 0644, 0, 0);
          if (!c && c.error().sys_errno == ENOSPC) {
            ++enospc[t];
            continue;
          }
          if (!c) return void(errors[t] = "create " + name + ": " + c.error().message);
          model[name] = "";
          const std::string data = testing::random_string(rng, (8 + rng() % 120) * kBlock);
          for (uint64_t off = 0; off < data.size(); off += 16 * kBlock) {
            const std::string piece = data.substr(off, 16 * kBlock);
            auto w = f.write(c->ino, off, testing::bytes_of(piece));
            if (!w && w.error().sys_errno == ENOSPC) {
              ++enospc[t];
              break;
            }
            if (!w) return void(errors[t] = "write " + name + ": " + w.error().message);
            model[name] += piece.substr(0, *w);
            if (*w < piece.size()) break;
          }
        }
      });
    }
    for (auto& w : writers) w.join();
    stop = true;
    collector.join();
  }
  for (int t = 0; t < kThreads; ++t) {
    INFO("writer " << t << ": " << errors[t]);
    CHECK(errors[t].empty());
    CHECK(enospc[t] >= 8);
  }
  INFO("collector: " << collector_error);
  CHECK(collector_error.empty());
  const gc::GcStatsSnapshot gs = f.gc_stats();
  CHECK(gs.victims > 0);
  CHECK(gs.collect_errors == 0);
  INFO("GC last error: " << f.gc_last_error());

  // Full, yet consistent: the content is right and a checkpoint can still be written.
  auto full = f.statfs();
  REQUIRE(full);
  uint64_t stored = 0;
  for (const Model& model : models)
    for (const auto& [name, content] : model) stored += content.size();
  // mkfs.f2fs keeps a large share of a small image for overprovisioning and GC's reserve:
  // on 128 MiB about 40 MiB end up used here.
  INFO("stored " << stored << " bytes; statfs blocks " << full->blocks << " bfree " << full->bfree
                 << " bavail " << full->bavail);
  CHECK(stored > 8 * kMiB);
  CHECK(full->bavail * full->block_size < 2 * kMiB);
  // Overwriting what files already hold needs no new space: F2FS admits it on a full
  // filesystem and cleans what it invalidates; so must we.
  std::mt19937_64 orng(77);
  for (int i = 0; i < 300; ++i) {
    Model& model = models[i % kThreads];
    auto it = std::next(model.begin(), static_cast<long>(orng() % model.size()));
    if (it->second.size() < kBlock) continue;
    auto a = f.lookup(f.root_ino(), it->first);
    REQUIRE(a);
    const uint64_t block = orng() % (it->second.size() / kBlock);
    const std::string data = testing::random_string(orng, kBlock);
    auto w = f.write(a->ino, block * kBlock, testing::bytes_of(data));
    INFO("overwrite " << i << " of " << it->first << ": " << (w ? "" : w.error().message));
    if (!w) {
      const auto u = f.space_usage();
      const auto g = f.gc_stats();
      UNSCOPED_INFO("free " << u.free << " current " << u.current << " prefree " << u.prefree
                            << " data_in_use " << u.data_in_use << " valid " << u.data_valid_in_use
                            << " node_in_use " << u.node_in_use << " gc victims " << g.victims
                            << " freed " << g.victims_freed << " moved " << g.blocks_moved()
                            << " errors " << g.collect_errors << " " << f.gc_last_error());
    }
    REQUIRE(w);
    REQUIRE(*w == kBlock);
    it->second.replace(block * kBlock, kBlock, data);
  }
  verify(f, models);
  REQUIRE(f.sync());
  testing::unmount(m);
  std::string out;
  bool clean = testing::fsck_clean(img, &out);
  INFO("fsck.f2fs --dry-run after the full run:\n" << out);
  REQUIRE(clean);

  // Delete about half the files; the space comes back for a new large file.
  m = testing::mount_uri("nvme-emu:" + img, o);
  FileSystem& g = *m.fs;
  verify(g, models);
  uint64_t deleted = 0;
  for (Model& model : models) {
    int k = 0;
    for (auto it = model.begin(); it != model.end(); ++k) {
      if (k % 2 == 0) {
        deleted += it->second.size();
        REQUIRE(g.unlink(g.root_ino(), it->first));
        it = model.erase(it);
      } else {
        ++it;
      }
    }
  }
  REQUIRE(deleted > stored / 3);
  auto freed = g.statfs();
  REQUIRE(freed);
  // statfs counts free sections only (the freed blocks are scattered in dirty segments
  // until GC compacts them), so it shows part of it at once; writes get all of it through GC.
  CHECK(freed->bavail > 0);
  std::mt19937_64 rng(9);
  auto c = g.create(g.root_ino(), "big", 0644, 0, 0);
  REQUIRE(c);
  std::string big;
  for (;;) {
    const std::string piece = testing::random_string(rng, 64 * kBlock);
    auto w = g.write(c->ino, big.size(), testing::bytes_of(piece));
    if (!w && w.error().sys_errno == ENOSPC) break;
    INFO("writing the new file at " << big.size() << ": " << (w ? "" : w.error().message));
    REQUIRE(w);
    big += piece.substr(0, *w);
    if (*w < piece.size()) break;
  }
  INFO("deleted " << deleted << " bytes, then wrote " << big.size());
  CHECK(big.size() >= deleted * 3 / 4);
  models[0]["big"] = big;
  verify(g, models);
  testing::unmount(m);
  clean = testing::fsck_clean(img, &out);
  INFO("fsck.f2fs --dry-run after deleting and writing again:\n" << out);
  CHECK(clean);
  m = testing::mount_uri("nvme-emu:" + img, o);
  verify(*m.fs, models);
  testing::unmount(m);
}

// Overwrites need no new space, so on a full image they must go on while GC cleans what
// they invalidate. Each one dirties its file's inode; the checkpoint after each collection
// rewrites those elsewhere, so node sections become victims whose remaining blocks are
// dirty inodes again, which only a checkpoint frees. fuse_bench's random write at 80% full
// got ENOSPC here twice over: foreground GC stopped at such a victim (it moved nothing, so
// it seemed to free nothing), and admission let an overwrite into GC's reserve that the
// allocator then refused.
TEST_CASE("Overwrites on a full image never fail for space") {
  const int threads = GENERATE(1, 3);
  INFO(threads << " writer threads");
  testing::TempDir dir;
  const std::string img = (dir.path() / "img").string();
  testing::mkfs_image(img, 128 * kMiB);
  MountOptions o;
  o.checkpoint_interval_sec = 0;  // only GC's and the dirty-node limit's checkpoints
  const uint32_t kMargin = o.gc.foreground_margin_sections;
  testing::Mounted m = testing::mount_uri("nvme-emu:" + img, o);
  FileSystem& f = *m.fs;

  // Fill with files of 8 blocks until ENOSPC: many inodes, each holding its addresses.
  struct File {
    uint32_t ino;
    std::string content;
  };
  std::vector<File> files;
  std::mt19937_64 rng(31);
  for (bool full = false; !full;) {
    auto c = f.create(f.root_ino(), "f" + std::to_string(files.size()), 0644, 0, 0);
    if (!c && c.error().sys_errno == ENOSPC) break;
    REQUIRE(c);
    std::string data = testing::random_string(rng, 8 * kBlock);
    auto w = f.write(c->ino, 0, testing::bytes_of(data));
    if (!w && w.error().sys_errno == ENOSPC) {
      data.clear();
      full = true;
    } else {
      REQUIRE(w);
      data.resize(*w);
      full = *w < data.size();
    }
    files.push_back({c->ino, std::move(data)});
  }
  REQUIRE(files.size() > 500);

  std::vector<std::string> errors(threads);
  {
    Watchdog dog(std::chrono::seconds(300), "overwriters on a full disk");
    std::vector<std::thread> writers;
    for (int t = 0; t < threads; ++t)
      writers.emplace_back([&, t] {
        std::mt19937_64 r(700 + t);
        // Each thread owns the files t, t + threads, ...: no two write the same one.
        for (int i = 0; i < 6000 / threads && errors[t].empty(); ++i) {
          File& file = files[t + threads * (r() % (files.size() / threads))];
          const uint64_t blocks = file.content.size() / kBlock;
          if (blocks == 0) continue;
          const uint64_t block = r() % blocks;
          const std::string data = testing::random_string(r, kBlock);
          auto w = f.write(file.ino, block * kBlock, testing::bytes_of(data));
          if (!w) {
            const auto u = f.space_usage();
            errors[t] = "overwrite " + std::to_string(i) + ": " + w.error().message + " (free " +
                        std::to_string(u.free) + " prefree " + std::to_string(u.prefree) + ")";
            return;
          }
          if (*w != kBlock) return void(errors[t] = "short overwrite");
          // Alone, a writer finds free sections above the reserve plus GC's margin after
          // foreground GC, less at most the one its write opened.
          if (const auto u = f.space_usage();
              threads == 1 && u.free_sections < u.reserved_sections + kMargin)
            return void(errors[t] = "overwrite " + std::to_string(i) + ": " +
                                    std::to_string(u.free_sections) + " free sections, " +
                                    std::to_string(u.reserved_sections) + " reserved");
          file.content.replace(block * kBlock, kBlock, data);
        }
      });
    for (auto& w : writers) w.join();
  }
  for (int t = 0; t < threads; ++t) {
    INFO("writer " << t);
    CHECK(errors[t] == "");
  }
  CHECK(f.gc_stats().victims > 0);
  for (const File& file : files) REQUIRE(testing::read_file(f, file.ino) == file.content);
  testing::unmount(m);
  std::string out;
  const bool clean = testing::fsck_clean(img, &out);
  INFO("fsck.f2fs --dry-run:\n" << out);
  CHECK(clean);
}

}  // namespace
}  // namespace f2sc::fs
