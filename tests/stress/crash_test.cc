// f2sc-stress --crash: power cuts while GC runs. The tool as users run it (a bounded run
// passes and its JSON has the keys; --crash-at replays one cut exactly; bad usage is
// refused), and the post-crash checker on hand-made models: it must catch a lost fsync, data
// never written, a name never created.
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <string>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "blockdev/uri.h"
#include "fs/file_system.h"
#include "segment/mkfs.h"
#include "tests/support/process.h"
#include "tools/f2sc-stress/crash_workload.h"
#include "tools/f2sc-stress/shadow.h"

#ifndef F2SC_CRASH_TEST_CUTS
#define F2SC_CRASH_TEST_CUTS 20
#endif
// Workload operations per cut (sanitizer builds do fewer: TSan runs a cut 30x slower).
#ifndef F2SC_CRASH_TEST_OPS
#define F2SC_CRASH_TEST_OPS 300
#endif
// Time bound of each part of the CI's 100 cuts (sanitizer builds stop early, still clean).
#ifndef F2SC_CRASH_TEST_SECONDS
#define F2SC_CRASH_TEST_SECONDS 60
#endif

namespace {

using nlohmann::json;
using namespace f2sc;
using namespace f2sc::stress;

struct Out {
  int status;
  std::string output;
  json j;
};

std::string temp_path(const std::string& what) {
  const char* t = std::getenv("TMPDIR");
  return std::string(t && *t ? t : "/tmp") + "/f2sc-crash-test-" + std::to_string(getpid()) + "-" +
         what;
}

Out crash(const std::string& args) {
  const std::string path = temp_path("out.json");
  std::remove(path.c_str());
  auto r = f2sc::testing::run(std::string(F2SC_STRESS_BIN) + " " + args + " --json " + path);
  Out out{r.status, r.output, nullptr};
  std::ifstream in(path);
  if (in) out.j = json::parse(in, nullptr, false);
  std::remove(path.c_str());
  return out;
}

}  // namespace

TEST_CASE("f2sc-stress --crash: power cuts while GC runs lose nothing fsync'd", "[crash]") {
  const int cuts = F2SC_CRASH_TEST_CUTS;
  const int ops = F2SC_CRASH_TEST_OPS;
  Out o = crash("--crash " + std::to_string(cuts) + " --seed 1 --ops " + std::to_string(ops));
  INFO(o.output);
  CHECK(o.status == 0);
  REQUIRE(o.j.is_object());
  const json& c = o.j["crash"];
  CHECK(c["cuts"] == cuts);
  CHECK(c["failures"] == 0);
  CHECK(c["list"].is_array());
  CHECK(c["list"].empty());
  CHECK(c["seconds"].get<double>() > 0);
  CHECK(c["calibration_ops"].get<uint64_t>() > 0);
  // Most cuts land inside the workload (not at its end), GC really moved blocks, and both
  // torn and clean cuts happened.
  CHECK(c["cuts_before_end"].get<uint64_t>() * 2 >= static_cast<uint64_t>(cuts));
  CHECK(c["gc_blocks_moved"].get<uint64_t>() > 0);
  if (cuts >= 10) {  // 4 coin flips may all agree
    CHECK(c["torn_cuts"].get<uint64_t>() > 0);
    CHECK(c["torn_cuts"].get<uint64_t>() < static_cast<uint64_t>(cuts));
  }
  for (const char* k :
       {"cuts_per_second", "cuts_in_gc", "time_limited", "peak_fill_mean", "enospc"})
    CHECK(c.contains(k));
  // The workload keeps the image between 70% and 85% full (the mean of each cut's peak is
  // lower: early cuts stop during the fill).
  if (ops >= 300) CHECK(c["peak_fill_mean"].get<double>() > 0.5);
  CHECK(c["peak_fill_mean"].get<double>() < 0.9);
  const json& cfg = o.j["config"];
  CHECK(cfg["mode"] == "crash");
  CHECK(cfg["size_bytes"] == 64ull << 20);
  CHECK(cfg["util"] == 0.85);
  CHECK(cfg["crash_at"].is_null());
  CHECK(cfg["fsck_f2fs"] == true);  // installed by tools/deps.sh
  CHECK(o.output.find("crash: " + std::to_string(cuts) + " cuts, 0 failures") != std::string::npos);
}

// Issue 10's 100 cuts per CI run, across GC configurations: offload with the workload's GC
// rounds, emulation with cost-benefit victims, and the urgent background GC thread racing
// the workload. Each part is bounded by --seconds.
TEST_CASE("f2sc-stress --crash: 100 cuts across GC configurations", "[crash][ci]") {
  struct Part {
    const char* args;
    int cuts;
  };
  for (const Part& p : {Part{"--copy-offload on --seed 100", 40},
                        Part{"--copy-offload off --gc-policy cost-benefit --seed 200", 30},
                        Part{"--crash-gc background --seed 300", 30}}) {
    Out o = crash("--crash " + std::to_string(p.cuts) + " --seconds " +
                  std::to_string(F2SC_CRASH_TEST_SECONDS) + " --ops " +
                  std::to_string(F2SC_CRASH_TEST_OPS) + " " + p.args);
    INFO(p.args << "\n" << o.output);
    CHECK(o.status == 0);
    REQUIRE(o.j.is_object());
    const json& c = o.j["crash"];
    CHECK(c["failures"] == 0);
    CHECK(c["cuts"].get<int>() >= 1);
    if (c["time_limited"] == false) CHECK(c["cuts"] == p.cuts);
  }
}

TEST_CASE("f2sc-stress --crash-at replays one cut exactly", "[crash]") {
  const std::string args = "--crash 1 --seed 7 --crash-at 300 --torn on --copy-offload off";
  Out a = crash(args);
  Out b = crash(args);
  INFO(a.output << b.output);
  CHECK(a.status == 0);
  CHECK(b.status == 0);
  REQUIRE(a.j.is_object());
  REQUIRE(b.j.is_object());
  CHECK(a.j["crash"]["cuts"] == 1);
  CHECK(a.j["config"]["crash_at"] == 300);
  CHECK(a.j["crash"]["calibration_ops"] == 0);
  CHECK(a.j["crash"]["torn_cuts"] == 1);
  CHECK(a.j["crash"]["cuts_before_end"] == 1);
  // The same seed and cut point give the same run, to the block GC moved.
  CHECK(a.j["crash"]["gc_blocks_moved"] == b.j["crash"]["gc_blocks_moved"]);
  CHECK(a.j["crash"]["cuts_in_gc"] == b.j["crash"]["cuts_in_gc"]);
}

TEST_CASE("f2sc-stress --crash refuses bad usage", "[crash]") {
  for (const char* args : {"--crash 2 --crash-at 5", "--crash-at 5", "--crash 1 --torn maybe",
                           "--torn on", "--crash 1 --crash-gc sometimes", "--crash 1 --threads 2",
                           "--crash 1 mem:64M", "--crash 1 --csv /tmp/x.csv",
                           "--crash 1 --crash-keep /nonexistent/dir", "--crash-keep /tmp"}) {
    INFO(args);
    auto r = f2sc::testing::run(std::string(F2SC_STRESS_BIN) + " " + args);
    INFO(r.output);
    CHECK(r.status == 2);
  }
}

// ---- The checker on hand-made models, against a real filesystem in memory. ----

namespace {

std::vector<std::byte> block_of(char c) {
  return std::vector<std::byte>(kBlockBytes, std::byte(c));
}

struct MemFs {
  std::unique_ptr<blockdev::BlockDevice> dev;
  std::unique_ptr<fs::FileSystem> fs;
  MemFs() {
    auto d = blockdev::open_device("mem:64M");
    REQUIRE(d);
    dev = std::move(*d);
    REQUIRE(segment::format(*dev, {}));
    auto f = fs::FileSystem::mount(*dev);
    REQUIRE(f);
    fs = std::move(*f);
  }
  // Creates /name holding blocks of `fill` characters; returns its model as written.
  CrashFile make(const std::string& name, const std::string& fill) {
    auto a = fs->create(fs->root_ino(), name, 0644, 0, 0);
    REQUIRE(a);
    CrashFile f;
    f.name = name;
    f.ino = a->ino;
    f.create_attempted = true;
    f.now.exists = true;
    for (size_t b = 0; b < fill.size(); ++b) {
      auto data = block_of(fill[b]);
      REQUIRE(fs->write(a->ino, b * kBlockBytes, data));
      f.now.hashes.push_back(hash_block(data));
      f.history.push_back({hash_block(data)});
    }
    f.now.size = fill.size() * kBlockBytes;
    f.max_size = f.now.size;
    f.sealed = f.now;
    return f;
  }
};

bool mentions(const std::vector<std::string>& problems, const std::string& what) {
  for (const auto& p : problems)
    if (p.find(what) != std::string::npos) return true;
  return false;
}

}  // namespace

TEST_CASE("crash checker: a model that matches passes", "[crash]") {
  MemFs m;
  CrashModel model;
  model.files.push_back(m.make("a", "xyz"));
  model.files.push_back(m.make("b", "q"));
  model.files[1].sealed.reset();
  CHECK(check_after_crash(*m.fs, model).empty());
}

TEST_CASE("crash checker: fsync'd content that differs is reported", "[crash]") {
  MemFs m;
  CrashModel model;
  model.files.push_back(m.make("a", "xyz"));
  // The model says block 1 was fsync'd with 'Y', and 'Y' was once written there, but the
  // file holds 'y' (also once written): a lost fsync, not foreign data.
  CrashFile& f = model.files[0];
  const uint64_t y = hash_block(block_of('Y'));
  f.sealed->hashes[1] = y;
  f.history[1].insert(y);
  auto p = check_after_crash(*m.fs, model);
  INFO(p.size());
  CHECK(mentions(p, "/a: fsync'd content lost in 1 blocks, first block 1"));
  CHECK_FALSE(mentions(p, "never written"));
}

TEST_CASE("crash checker: a lost fsync'd size, a missing file, a resurrected file", "[crash]") {
  MemFs m;
  CrashModel model;
  model.files.push_back(m.make("a", "xy"));
  model.files.push_back(m.make("gone", "g"));
  model.files[0].sealed->size = 3 * kBlockBytes;
  model.files[0].sealed->hashes.push_back(zero_block_hash());
  model.files[0].max_size = 3 * kBlockBytes;
  REQUIRE(m.fs->unlink(m.fs->root_ino(), "gone"));
  CrashFile missing;
  missing.name = "c";
  missing.create_attempted = true;
  missing.sealed = CrashFileState{true, kBlockBytes, {hash_block(block_of('c'))}};
  model.files.push_back(missing);
  // "gone" was unlinked and synced in the model but the filesystem still has "b".
  CrashFile absent = m.make("b", "b");
  absent.sealed = CrashFileState{};
  model.files.push_back(absent);
  auto p = check_after_crash(*m.fs, model);
  CHECK(mentions(p, "/a was fsync'd with 12288 bytes"));
  CHECK(mentions(p, "/c was fsync'd (4096 bytes) and not changed since, but is missing"));
  CHECK(mentions(p, "/b was unlinked before a sync"));
  CHECK(mentions(p, "/gone was fsync'd"));  // the model still says it exists
}

TEST_CASE("crash checker: data never written and names never created are reported", "[crash]") {
  MemFs m;
  CrashModel model;
  model.files.push_back(m.make("a", "xyz"));
  // Block 2 of /a holds 'z', but the model only ever wrote 'Q' there.
  model.files[0].history[2] = {hash_block(block_of('Q'))};
  model.files[0].sealed.reset();
  // A file the workload never created.
  REQUIRE(m.fs->create(m.fs->root_ino(), "stranger", 0644, 0, 0));
  // A file that grew past anything written to it.
  CrashFile big = m.make("big", "bb");
  big.max_size = kBlockBytes;
  big.sealed.reset();
  model.files.push_back(big);
  auto p = check_after_crash(*m.fs, model);
  CHECK(mentions(p, "/a holds data never written to it in 1 blocks, first block 2"));
  CHECK(mentions(p, "/stranger exists but was never created"));
  CHECK(mentions(p, "/big has 8192 bytes, more than it ever had (4096)"));
}

TEST_CASE("crash checker: zeros are allowed where nothing was written", "[crash]") {
  MemFs m;
  CrashModel model;
  model.files.push_back(m.make("a", "x"));
  CrashFile& f = model.files[0];
  REQUIRE(m.fs->truncate(f.ino, 3 * kBlockBytes));
  f.max_size = 3 * kBlockBytes;
  f.sealed.reset();
  CHECK(check_after_crash(*m.fs, model).empty());
}

TEST_CASE("fsck.f2fs is judged strictly", "[crash]") {
  const std::string prog = fsck_f2fs_path();
  REQUIRE_FALSE(prog.empty());
  const std::string img = temp_path("fsck.img");
  std::ofstream(img).close();
  REQUIRE(::truncate(img.c_str(), 64 << 20) == 0);
  {
    auto d = blockdev::open_device("file:" + img);
    REQUIRE(d);
    REQUIRE(segment::format(**d, {}));
  }
  std::string text;
  auto clean = fsck_f2fs_clean(prog, img, &text);
  INFO(text);
  REQUIRE(clean);
  CHECK(*clean);
  // A zeroed checkpoint area is not clean.
  {
    std::fstream f(img, std::ios::in | std::ios::out | std::ios::binary);
    std::vector<char> zeros(2 << 20, 0);
    f.seekp(2 << 20);
    f.write(zeros.data(), static_cast<std::streamsize>(zeros.size()));
  }
  auto broken = fsck_f2fs_clean(prog, img, &text);
  INFO(text);
  if (broken) CHECK_FALSE(*broken);
  std::remove(img.c_str());
}
