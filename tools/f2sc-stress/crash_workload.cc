#include "tools/f2sc-stress/crash_workload.h"

#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <random>

#include "tools/f2sc-stress/shadow.h"

namespace f2sc::stress {

namespace {

constexpr uint64_t kBlock = kBlockBytes;

constexpr uint64_t kCrashBlockTag = 0x6873617263637332ull;  // "2sccrash"

std::string hex(uint64_t v) {
  char buf[24];
  std::snprintf(buf, sizeof buf, "%016" PRIx64, v);
  return buf;
}

uint64_t blocks_of(uint64_t bytes) {
  return (bytes + kBlock - 1) / kBlock;
}

// Reads `ino` (size bytes) block by block; a partial last block is padded with zeros.
// Returns the hashes, or the read error.
Result<std::vector<uint64_t>> read_hashes(fs::FileSystem& fs, uint32_t ino, uint64_t size) {
  std::vector<uint64_t> out;
  const uint64_t n = blocks_of(size);
  out.reserve(n);
  constexpr uint64_t kChunk = 64;
  std::vector<std::byte> buf(kChunk * kBlock);
  for (uint64_t b = 0; b < n; b += kChunk) {
    const uint64_t cnt = std::min(kChunk, n - b);
    const uint64_t want = std::min(cnt * kBlock, size - b * kBlock);
    std::fill(buf.begin(), buf.end(), std::byte{0});
    auto r = fs.read(ino, b * kBlock, std::span(buf.data(), want));
    if (!r) return tl::unexpected(r.error());
    for (uint64_t i = 0; i < cnt; ++i)
      out.push_back(hash_block(std::span(buf.data() + i * kBlock, kBlock)));
  }
  return out;
}

class Workload {
 public:
  Workload(fs::FileSystem& fs, const blockdev::FaultDevice& dev, const CrashWorkloadOptions& o,
           CrashModel* m)
      : fs_(fs), dev_(dev), o_(o), m_(*m), rng_(o.seed * 0x9e3779b97f4a7c15ull + 7) {}

  CrashWorkloadResult run() {
    if (m_.files.empty()) {
      for (uint32_t i = 0; i < o_.files; ++i) {
        CrashFile f;
        f.id = i + 1;
        char name[16];
        std::snprintf(name, sizeof name, "f%02u", i);
        f.name = name;
        m_.files.push_back(std::move(f));
      }
    }
    root_ = fs_.root_ino();
    auto st = fs_.statfs();
    if (!st) {
      failed("statfs", st.error());
      return r_;
    }
    r_.capacity_blocks = st->bavail;
    for (; r_.ops_done < o_.ops; ++r_.ops_done) {
      if (!step()) break;
      if (!dev_.powered()) {
        // The cut came after the operation's last device access and it still reported
        // success (nothing it did was flushed unless it said so).
        r_.power_cut = true;
        r_.cut_during = last_op_ + " (it returned success)";
        ++r_.ops_done;
        break;
      }
      if (auto s = fs_.statfs(); s && r_.capacity_blocks > s->bavail)
        r_.peak_used_blocks = std::max(r_.peak_used_blocks, r_.capacity_blocks - s->bavail);
    }
    return r_;
  }

 private:
  uint64_t rand(uint64_t lo, uint64_t hi) {  // inclusive
    return std::uniform_int_distribution<uint64_t>(lo, hi)(rng_);
  }

  uint64_t used_blocks() const {
    uint64_t n = 0;
    for (const auto& f : m_.files)
      if (f.now.exists) n += blocks_of(f.now.size);
    return n;
  }

  CrashFile* pick(bool exists) {
    std::vector<CrashFile*> c;
    for (auto& f : m_.files)
      if (f.now.exists == exists) c.push_back(&f);
    if (c.empty()) return nullptr;
    return c[rand(0, c.size() - 1)];
  }

  // An operation failed: a power cut stops the run; ENOSPC is allowed (the file is read
  // back so the model knows what it holds); anything else is a bug and stops the run.
  bool failed(const std::string& what, const Error& e, CrashFile* f = nullptr) {
    if (!dev_.powered()) {
      r_.power_cut = true;
      r_.cut_during = what;
      return false;
    }
    if (e.sys_errno == ENOSPC) {
      ++r_.enospc;
      if (f && f->now.exists && !reload(*f)) return false;
      return true;
    }
    r_.error = what + ": " + e.message;
    return false;
  }

  // Learns what `f` holds from the filesystem (after a failed write).
  bool reload(CrashFile& f) {
    auto a = fs_.getattr(f.ino);
    if (!a) return failed("getattr " + f.name, a.error());
    auto h = read_hashes(fs_, f.ino, a->size);
    if (!h) return failed("read " + f.name, h.error());
    f.now.size = a->size;
    f.now.hashes = std::move(*h);
    f.max_size = std::max(f.max_size, f.now.size);
    return true;
  }

  bool create(CrashFile& f) {
    last_op_ = "create " + f.name;
    f.sealed.reset();
    f.create_attempted = true;
    auto a = fs_.create(root_, f.name, 0644, 0, 0);
    if (!a) return failed(last_op_, a.error());
    f.ino = a->ino;
    f.now = CrashFileState{true, 0, {}};
    return true;
  }

  bool write(CrashFile& f, uint64_t first, uint64_t n) {
    last_op_ = "write " + f.name + " blocks " + std::to_string(first) + "+" + std::to_string(n);
    f.sealed.reset();
    std::vector<std::byte> buf(n * kBlock);
    std::vector<uint64_t> hashes(n);
    if (f.history.size() < first + n) f.history.resize(first + n);
    for (uint64_t i = 0; i < n; ++i) {
      std::byte* b = buf.data() + i * kBlock;
      fill_block(o_.seed, f.id, first + i, ++version_, b, kCrashBlockTag);
      hashes[i] = hash_block(std::span(b, kBlock));
      f.history[first + i].insert(hashes[i]);  // before the write: a cut may land it
    }
    f.max_size = std::max(f.max_size, (first + n) * kBlock);
    auto w = fs_.write(f.ino, first * kBlock, buf);
    if (!w) return failed(last_op_, w.error(), &f);
    if (*w != buf.size()) return reload(f);
    if (f.now.hashes.size() < first + n) {
      // Blocks between the old end and `first` are a hole.
      f.now.hashes.resize(first + n, zero_block_hash());
    }
    std::copy(hashes.begin(), hashes.end(), f.now.hashes.begin() + first);
    f.now.size = std::max(f.now.size, (first + n) * kBlock);
    return true;
  }

  bool truncate(CrashFile& f, uint64_t size) {
    last_op_ = "truncate " + f.name + " to " + std::to_string(size);
    f.sealed.reset();
    f.max_size = std::max(f.max_size, size);
    auto s = fs_.truncate(f.ino, size);
    if (!s) return failed(last_op_, s.error(), &f);
    f.now.hashes.resize(blocks_of(size), zero_block_hash());
    f.now.size = size;
    return true;
  }

  bool unlink(CrashFile& f) {
    last_op_ = "unlink " + f.name;
    f.sealed.reset();
    auto s = fs_.unlink(root_, f.name);
    if (!s) return failed(last_op_, s.error());
    f.now = CrashFileState{};
    f.ino = 0;
    return true;
  }

  bool fsync(CrashFile& f) {
    last_op_ = "fsync " + f.name;
    auto s = fs_.fsync(f.ino);
    if (!s) return failed(last_op_, s.error());
    f.sealed = f.now;
    return true;
  }

  bool sync() {
    last_op_ = "sync";
    auto s = fs_.sync();
    if (!s) return failed(last_op_, s.error());
    for (auto& f : m_.files) f.sealed = f.now;
    return true;
  }

  bool gc() {
    last_op_ = "gc_collect";
    auto c = fs_.gc_collect(1);
    if (!c) return failed(last_op_, c.error());
    // gc_collect checkpoints so its victims become free: a commit point like sync().
    if (c->checkpointed) {
      ++r_.gc_checkpoints;
      for (auto& f : m_.files) f.sealed = f.now;
    }
    return true;
  }

  bool grow() {
    CrashFile* f = nullptr;
    if (rand(0, 3) == 0 || !(f = pick(true))) {
      if (CrashFile* g = pick(false)) {
        if (!create(*g)) return false;
        if (g->now.exists) f = g;  // not after ENOSPC
      }
    }
    if (!f) f = pick(true);
    if (!f) return true;
    const double room =
        static_cast<double>(r_.capacity_blocks) * o_.fill_high - static_cast<double>(used_blocks());
    const uint64_t n = std::min<uint64_t>(rand(8, 192), room > 1 ? static_cast<uint64_t>(room) : 1);
    return write(*f, blocks_of(f->now.size), n);
  }

  bool step() {
    const double used = static_cast<double>(used_blocks());
    const double cap = static_cast<double>(r_.capacity_blocks);
    if (used < cap * o_.fill_low && rand(0, 9) < 8) return grow();
    const uint64_t r = rand(0, 99);
    if (r < 35) {  // overwrite inside a file
      CrashFile* f = pick(true);
      if (!f || f->now.size == 0) return grow();
      const uint64_t nb = blocks_of(f->now.size);
      const uint64_t first = rand(0, nb - 1);
      return write(*f, first, std::min<uint64_t>(rand(1, 48), nb - first));
    }
    if (r < 45) return used < cap * o_.fill_high ? grow() : truncate_some();
    if (r < 53) return truncate_some();
    if (r < 57) {
      CrashFile* f = pick(true);
      return f ? unlink(*f) : true;
    }
    if (r < 60) {
      CrashFile* f = pick(false);
      return f ? create(*f) : true;
    }
    if (r < 74) {
      CrashFile* f = pick(true);
      return f ? fsync(*f) : true;
    }
    if (r < 78) return sync();
    if (r < 94) return o_.explicit_gc ? gc() : true;
    // Extend with a hole (sometimes past the end, then data written further on).
    CrashFile* f = pick(true);
    if (!f) return true;
    if (used < cap * o_.fill_high && rand(0, 1))
      return write(*f, blocks_of(f->now.size) + rand(1, 8), rand(1, 4));
    return truncate(*f, f->now.size + rand(1, 16) * kBlock);
  }

  bool truncate_some() {
    CrashFile* f = pick(true);
    if (!f) return true;
    const uint64_t nb = blocks_of(f->now.size);
    const uint64_t keep = nb == 0 ? 0 : (rand(0, 3) == 0 ? 0 : rand(0, nb - 1));
    return truncate(*f, keep * kBlock);
  }

  fs::FileSystem& fs_;
  const blockdev::FaultDevice& dev_;
  const CrashWorkloadOptions& o_;
  CrashModel& m_;
  std::mt19937_64 rng_;
  uint32_t root_ = 0;
  uint64_t version_ = 0;
  std::string last_op_;
  CrashWorkloadResult r_;
};

}  // namespace

CrashFile* CrashModel::find(std::string_view name) {
  for (auto& f : files)
    if (f.name == name) return &f;
  return nullptr;
}

const CrashFile* CrashModel::find(std::string_view name) const {
  for (const auto& f : files)
    if (f.name == name) return &f;
  return nullptr;
}

uint64_t zero_block_hash() {
  static const uint64_t h = [] {
    std::vector<std::byte> z(kBlock);
    return hash_block(z);
  }();
  return h;
}

CrashWorkloadResult run_crash_workload(fs::FileSystem& fs, const blockdev::FaultDevice& dev,
                                       const CrashWorkloadOptions& opts, CrashModel* model) {
  return Workload(fs, dev, opts, model).run();
}

std::vector<std::string> check_after_crash(fs::FileSystem& fs, const CrashModel& model,
                                           size_t max_problems) {
  std::vector<std::string> out;
  size_t more = 0;
  auto add = [&](const std::string& s) {
    if (out.size() < max_problems) {
      out.push_back(s);
    } else {
      ++more;
    }
  };
  auto entries = fs.readdir(fs.root_ino());
  if (!entries) return {"readdir /: " + entries.error().message};
  std::map<std::string, uint32_t> present;
  for (const auto& e : *entries) {
    if (e.name == "." || e.name == "..") continue;
    present[e.name] = e.ino;
    const CrashFile* f = model.find(e.name);
    if (!f || !f->create_attempted) add("/" + e.name + " exists but was never created");
  }
  for (const CrashFile& f : model.files) {
    auto it = present.find(f.name);
    const bool here = it != present.end();
    const CrashFileState* sealed = f.sealed ? &*f.sealed : nullptr;
    if (sealed && sealed->exists && !here)
      add("/" + f.name + " was fsync'd (" + std::to_string(sealed->size) +
          " bytes) and not changed since, but is missing");
    if (sealed && !sealed->exists && here)
      add("/" + f.name + " was unlinked before a sync and not created since, but exists");
    if (!here) continue;
    auto a = fs.getattr(it->second);
    if (!a) {
      add("/" + f.name + ": getattr: " + a.error().message);
      continue;
    }
    if (a->size > f.max_size)
      add("/" + f.name + " has " + std::to_string(a->size) + " bytes, more than it ever had (" +
          std::to_string(f.max_size) + ")");
    if (sealed && sealed->exists && a->size != sealed->size)
      add("/" + f.name + " was fsync'd with " + std::to_string(sealed->size) +
          " bytes and not changed since, but has " + std::to_string(a->size));
    auto h = read_hashes(fs, it->second, std::min(a->size, f.max_size));
    if (!h) {
      add("/" + f.name + ": read: " + h.error().message);
      continue;
    }
    uint64_t sealed_bad = 0, foreign = 0, first_sealed = 0, first_foreign = 0;
    uint64_t exp_sealed = 0, got_sealed = 0, got_foreign = 0;
    for (uint64_t b = 0; b < h->size(); ++b) {
      const uint64_t got = (*h)[b];
      if (sealed && sealed->exists && b < sealed->hashes.size() && sealed->hashes[b] != got) {
        if (sealed_bad++ == 0) {
          first_sealed = b;
          exp_sealed = sealed->hashes[b];
          got_sealed = got;
        }
      }
      const bool known =
          got == zero_block_hash() || (b < f.history.size() && f.history[b].count(got));
      if (!known && foreign++ == 0) {
        first_foreign = b;
        got_foreign = got;
      }
    }
    if (sealed_bad)
      add("/" + f.name + ": fsync'd content lost in " + std::to_string(sealed_bad) +
          " blocks, first block " + std::to_string(first_sealed) + " (expected xxh3 " +
          hex(exp_sealed) + ", found " + hex(got_sealed) + ")");
    if (foreign)
      add("/" + f.name + " holds data never written to it in " + std::to_string(foreign) +
          " blocks, first block " + std::to_string(first_foreign) + " (xxh3 " + hex(got_foreign) +
          ")");
  }
  if (more) out.push_back("... and " + std::to_string(more) + " more problems");
  return out;
}

std::vector<std::string> exercise_after_crash(fs::FileSystem& fs) {
  std::vector<std::string> out;
  auto c = fs.gc_collect(2);
  if (!c && c.error().sys_errno != ENOSPC) out.push_back("gc_collect: " + c.error().message);
  const std::string name = "after-crash";
  auto a = fs.create(fs.root_ino(), name, 0644, 0, 0);
  if (!a) {
    if (a.error().sys_errno != ENOSPC) out.push_back("create /" + name + ": " + a.error().message);
    return out;
  }
  constexpr uint64_t kBlocks = 32;
  std::vector<std::byte> buf(kBlocks * kBlock);
  std::vector<uint64_t> want(kBlocks);
  for (uint64_t b = 0; b < kBlocks; ++b) {
    fill_block(0xafc0ffee, 0xffff, b, 1, buf.data() + b * kBlock, kCrashBlockTag);
    want[b] = hash_block(std::span(buf.data() + b * kBlock, kBlock));
  }
  auto w = fs.write(a->ino, 0, buf);
  if (!w && w.error().sys_errno != ENOSPC)
    out.push_back("write /" + name + ": " + w.error().message);
  if (w && *w == buf.size()) {
    if (auto s = fs.fsync(a->ino); !s) out.push_back("fsync /" + name + ": " + s.error().message);
    auto got = read_hashes(fs, a->ino, buf.size());
    if (!got) {
      out.push_back("read /" + name + ": " + got.error().message);
    } else if (*got != want) {
      out.push_back("/" + name + " does not read back what was just written");
    }
  }
  if (auto s = fs.unlink(fs.root_ino(), name); !s)
    out.push_back("unlink /" + name + ": " + s.error().message);
  if (auto s = fs.sync(); !s) out.push_back("sync: " + s.error().message);
  return out;
}

std::string fsck_f2fs_path() {
  std::string path = std::getenv("PATH") ? std::getenv("PATH") : "";
  path += ":/usr/sbin:/sbin";
  size_t pos = 0;
  while (pos <= path.size()) {
    size_t end = path.find(':', pos);
    if (end == std::string::npos) end = path.size();
    std::string dir = path.substr(pos, end - pos);
    pos = end + 1;
    if (dir.empty()) continue;
    std::string p = dir + "/fsck.f2fs";
    if (::access(p.c_str(), X_OK) == 0) return p;
  }
  return {};
}

Result<bool> fsck_f2fs_clean(const std::string& program, const std::string& image,
                             std::string* output, bool crashed) {
  auto quote = [](const std::string& s) {
    std::string q = "'";
    for (char c : s) q += c == '\'' ? std::string("'\\''") : std::string(1, c);
    return q + "'";
  };
  const std::string cmd = quote(program) + " --dry-run " + quote(image) + " 2>&1";
  FILE* p = ::popen(cmd.c_str(), "r");
  if (!p) return fail(sys_error(errno, "running " + program));
  output->clear();
  std::array<char, 4096> buf;
  size_t n;
  while ((n = std::fread(buf.data(), 1, buf.size(), p)) > 0) output->append(buf.data(), n);
  const int st = ::pclose(p);
  if (st == -1) return fail(sys_error(errno, "waiting for " + program));
  if (!WIFEXITED(st) || WEXITSTATUS(st) == 127)
    return fail(Errc::kIoError, program + " did not run: " + *output);
  if (WEXITSTATUS(st) != 0) return false;
  std::string text;
  size_t pos = 0;
  bool ok_line = false;
  while (pos < output->size()) {
    size_t end = output->find('\n', pos);
    if (end == std::string::npos) end = output->size();
    const std::string line = output->substr(pos, end - pos);
    pos = end + 1;
    if (line == "[FSCK] fixing SIT types") continue;
    if (crashed && (line.rfind("\tInvalid CP CRC offset: ", 0) == 0 ||
                    line.rfind("\tInvalid CP CRC: offset:", 0) == 0))
      continue;
    if (line.rfind("[FSCK] other corrupted bugs", 0) == 0) {
      if (line.find("[Ok..]") == std::string::npos) return false;
      ok_line = true;
      continue;
    }
    text += line + "\n";
  }
  for (const char* bad : {"[Fail]", "[FIX]", "Error", "error", "Wrong", "Invalid", "invalid",
                          "corrupt", "Corrupt", "mismatch", "fix", "Fix"}) {
    if (text.find(bad) != std::string::npos) return false;
  }
  return ok_line;
}

}  // namespace f2sc::stress
