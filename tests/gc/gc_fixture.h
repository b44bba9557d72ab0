// Test fixture for the garbage collector: a mkfs'd device, a SegmentManager on it, and
// FakeOwners, a BlockOwners over a map (the shadow model of which block every owner points
// at and which content generation it must read back).
#pragma once

#include <algorithm>
#include <cstring>
#include <map>
#include <memory>
#include <mutex>
#include <random>
#include <set>
#include <shared_mutex>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "blockdev/block_device.h"
#include "blockdev/memory_device.h"
#include "gc/block_owners.h"
#include "segment/image.h"
#include "segment/mkfs.h"
#include "segment/segment_manager.h"

namespace f2sc::gc::testing {

using segment::Log;
using segment::SegmentManager;
using segment::Summary;

// A data key is (dnode nid, slot); a node key is (nid). Keys below kNodeKeys are data.
inline constexpr uint32_t kNodeKeyBase = 1u << 24;

inline BlockKind kind_of(uint32_t key) {
  return key >= kNodeKeyBase ? BlockKind::kNode : BlockKind::kData;
}
inline Summary summary_of(uint32_t key) {
  if (kind_of(key) == BlockKind::kNode) return Summary{key, 0, 0};
  return Summary{100 + key / 1000, 0, static_cast<uint16_t>(key % 1000)};
}
inline uint32_t key_of(const Summary& s, BlockKind kind) {
  const uint32_t nid = s.nid;
  if (kind == BlockKind::kNode) return nid;
  return (nid - 100) * 1000 + s.ofs_in_node;
}

// The log populate() writes `key` in.
inline Log log_of(uint32_t key) {
  return kind_of(key) == BlockKind::kNode ? Log::kWarmNode : Log::kWarmData;
}

// The content of `key` at generation `gen`: every 8 bytes differ.
inline std::vector<std::byte> content(uint32_t key, uint64_t gen) {
  std::vector<std::byte> b(4096);
  uint64_t x = (uint64_t{key} << 32) ^ (gen * 0x9E3779B97F4A7C15ull) ^ 0x5bd1e995;
  for (size_t i = 0; i < b.size(); i += 8) {
    x += 0x9E3779B97F4A7C15ull;
    uint64_t z = x;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    z ^= z >> 31;
    std::memcpy(&b[i], &z, 8);
  }
  return b;
}

class FakeOwners final : public BlockOwners {
 public:
  FakeOwners(SegmentManager& sm, blockdev::BlockDevice& dev) : sm_(sm), dev_(dev) {}

  Result<bool> is_live(uint32_t addr, const Summary& sum, BlockKind kind) override {
    std::lock_guard lock(mu_);
    ++is_live_calls_;
    const uint32_t key = key_of(sum, kind);
    auto it = owners_.find(key);
    return it != owners_.end() && it->second.addr == addr && !deferred_.count(key);
  }
  Result<bool> repoint(uint32_t old_addr, uint32_t new_addr, const Summary& sum,
                       BlockKind kind) override {
    std::lock_guard lock(mu_);
    auto it = owners_.find(key_of(sum, kind));
    if (it == owners_.end() || it->second.addr != old_addr) return false;
    it->second.addr = new_addr;
    return true;
  }
  Status run_commit(const std::function<Status()>& commit) override {
    if (before_commit) before_commit();
    std::shared_lock lock(cp_mu_);
    return commit();
  }
  Status checkpoint() override {
    std::unique_lock lock(cp_mu_);
    std::set<uint32_t> deferred;
    {
      std::lock_guard g(mu_);
      deferred.swap(deferred_);
    }
    for (uint32_t key : deferred) {
      auto addr = sm_.allocate(log_of(key), summary_of(key), segment::Claim::kGc);
      if (!addr) return fail(addr.error());
      if (auto s = place(key, *addr); !s) return s;
    }
    return sm_.checkpoint();
  }

  // Leaves `key`'s block to the next checkpoint, as the filesystem leaves a dirty node:
  // is_live() says no until checkpoint() writes it elsewhere and invalidates this one.
  void defer(uint32_t key) {
    std::lock_guard lock(mu_);
    deferred_.insert(key);
  }

  // Called at the start of every run_commit(), before the checkpoint exclusion (a test hook;
  // set it before the GC runs).
  std::function<void()> before_commit;

  // A user write: a new block in `log` with the next generation of `key`, then the swap
  // under the owner lock and the invalidation of the address found there.
  Status write(uint32_t key, Log log) {
    uint64_t gen;
    {
      std::lock_guard lock(mu_);
      gen = ++next_gen_;
    }
    auto addr = sm_.allocate(log, summary_of(key));
    if (!addr) return fail(addr.error());
    if (auto s = dev_.write(*addr, content(key, gen)); !s) return s;
    std::shared_lock cp(cp_mu_);
    return swap_in(key, *addr, gen);
  }

  // A truncate or unlink: the owner goes away and its block is invalidated. False if the
  // key had no block.
  Result<bool> remove(uint32_t key) {
    std::shared_lock cp(cp_mu_);
    uint32_t old = 0;
    {
      std::lock_guard lock(mu_);
      auto it = owners_.find(key);
      if (it == owners_.end()) return false;
      old = it->second.addr;
      owners_.erase(it);
    }
    if (auto s = sm_.invalidate(old); !s) return fail(s.error());
    return true;
  }

  // Every owner's block reads back its latest generation; returns the mismatches.
  std::vector<std::string> verify() {
    std::map<uint32_t, Owner> snap;
    {
      std::lock_guard lock(mu_);
      snap = owners_;
    }
    std::vector<std::string> bad;
    std::vector<std::byte> buf(4096);
    for (auto& [key, o] : snap) {
      if (!sm_.is_valid(o.addr))
        bad.push_back("key " + std::to_string(key) + " at invalid block " + std::to_string(o.addr));
      if (!dev_.read(o.addr, buf) || buf != content(key, o.gen))
        bad.push_back("key " + std::to_string(key) + " reads wrong at " + std::to_string(o.addr));
    }
    return bad;
  }

  std::map<uint32_t, uint32_t> addresses() {
    std::lock_guard lock(mu_);
    std::map<uint32_t, uint32_t> out;
    for (auto& [k, o] : owners_) out[k] = o.addr;
    return out;
  }
  size_t size() {
    std::lock_guard lock(mu_);
    return owners_.size();
  }
  uint64_t is_live_calls() {
    std::lock_guard lock(mu_);
    return is_live_calls_;
  }

 private:
  // Points `key` at `addr`, which holds generation `gen`, and invalidates its old block.
  // The caller keeps checkpoints out.
  Status swap_in(uint32_t key, uint32_t addr, uint64_t gen) {
    uint32_t old = 0;
    {
      std::lock_guard lock(mu_);
      Owner& o = owners_[key];
      old = o.addr;
      o.addr = addr;
      o.gen = gen;
    }
    if (old != 0) return sm_.invalidate(old);
    return {};
  }
  // A deferred key's latest content rewritten at `addr` (by the checkpoint).
  Status place(uint32_t key, uint32_t addr) {
    uint64_t gen;
    {
      std::lock_guard lock(mu_);
      gen = owners_.at(key).gen;
    }
    if (auto s = dev_.write(addr, content(key, gen)); !s) return s;
    return swap_in(key, addr, gen);
  }

  struct Owner {
    uint32_t addr = 0;
    uint64_t gen = 0;
  };
  SegmentManager& sm_;
  blockdev::BlockDevice& dev_;
  std::shared_mutex cp_mu_;  // checkpoint exclusion (the filesystem's op lock)
  std::mutex mu_;            // guards everything below
  std::map<uint32_t, Owner> owners_;
  std::set<uint32_t> deferred_;  // defer()
  uint64_t next_gen_ = 0;
  uint64_t is_live_calls_ = 0;
};

// Formats `dev` and loads a SegmentManager on it.
inline std::unique_ptr<SegmentManager> format_and_load(blockdev::BlockDevice& dev,
                                                       uint32_t segs_per_sec = 1) {
  segment::MkfsOptions o;
  o.reproducible = true;
  o.segs_per_sec = segs_per_sec;
  auto plan = segment::format(dev, o);
  INFO((plan ? std::string() : plan.error().message));
  REQUIRE(plan);
  auto img = segment::open_image(dev);
  REQUIRE(img);
  auto sm = SegmentManager::load(dev, std::move(*img));
  REQUIRE(sm);
  return std::move(*sm);
}

inline std::unique_ptr<blockdev::MemoryDevice> memory_device(uint64_t blocks = 32768,
                                                             bool offload = true) {
  auto dev = blockdev::MemoryDevice::create(
      {.block_size = 4096, .block_count = blocks, .copy_offload_supported = offload});
  REQUIRE(dev);
  return std::move(*dev);
}

// Writes `data_keys` data blocks and `node_keys` node blocks, then `overwrites` seeded random
// overwrites of them: partly valid segments for the GC.
inline void populate(FakeOwners& owners, uint32_t data_keys, uint32_t node_keys,
                     uint32_t overwrites, uint64_t seed) {
  std::vector<uint32_t> keys;
  for (uint32_t k = 0; k < data_keys; ++k) keys.push_back(k);
  for (uint32_t k = 0; k < node_keys; ++k) keys.push_back(kNodeKeyBase + k);
  for (uint32_t k : keys) REQUIRE(owners.write(k, log_of(k)));
  std::mt19937_64 rng(seed);
  for (uint32_t i = 0; i < overwrites; ++i) {
    uint32_t k = keys[rng() % keys.size()];
    REQUIRE(owners.write(k, log_of(k)));
  }
}

// Every owner of `keys` reads back its latest content, and every valid block in the SIT
// belongs to exactly one owner (no leaked copies), plus the root directory's inode and
// dentry block mkfs wrote.
inline void require_clean(FakeOwners& owners, SegmentManager& sm, size_t keys) {
  auto bad = owners.verify();
  for (size_t i = 0; i < std::min<size_t>(bad.size(), 5); ++i) UNSCOPED_INFO(bad[i]);
  REQUIRE(bad.empty());
  CHECK(owners.size() == keys);
  CHECK(sm.valid_blocks() == keys + 2);
}

// Valid blocks per main segment.
inline std::vector<uint32_t> sit_counts(const SegmentManager& sm) {
  std::vector<uint32_t> v;
  for (uint32_t s = 0; s < sm.layout().main_segments; ++s) v.push_back(sm.segment(s).valid);
  return v;
}

}  // namespace f2sc::gc::testing
