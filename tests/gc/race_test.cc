// Writers racing with the garbage collector (and its background thread): no owner ever
// reads back stale data, and no block leaks. Run under TSan in CI.
#include <atomic>
#include <thread>

#include <catch2/catch.hpp>

#include "gc/gc_controller.h"
#include "gc_fixture.h"

namespace f2sc::gc {
namespace {

using namespace testing;

constexpr uint32_t kDataKeys = 2500, kNodeKeys = 500, kKeys = kDataKeys + kNodeKeys;

uint32_t random_key(std::mt19937_64& rng) {
  const uint32_t k = static_cast<uint32_t>(rng() % kKeys);
  return k < kDataKeys ? k : kNodeKeyBase + (k - kDataKeys);
}

// Overwrites random keys until `stop`, in the hot logs (the GC writes the cold ones).
// With `with_removes`, one operation in eight is a truncate/unlink of the key instead
// (a later write re-creates it).
void writer(FakeOwners& owners, uint64_t seed, bool with_removes, std::atomic<bool>& stop,
            std::atomic<uint64_t>& writes, std::atomic<bool>& failed) {
  std::mt19937_64 rng(seed);
  while (!stop) {
    const uint32_t k = random_key(rng);
    if (with_removes && rng() % 8 == 0) {
      if (!owners.remove(k)) {
        failed = true;
        return;
      }
      continue;
    }
    auto s = owners.write(k, kind_of(k) == BlockKind::kNode ? Log::kHotNode : Log::kHotData);
    if (!s) {
      if (s.error().code == Errc::kNoSpace) continue;  // GC will make room
      failed = true;
      return;
    }
    ++writes;
  }
}

void require_clean(FakeOwners& owners, SegmentManager& sm) {
  auto bad = owners.verify();
  for (size_t i = 0; i < std::min<size_t>(bad.size(), 5); ++i) UNSCOPED_INFO(bad[i]);
  REQUIRE(bad.empty());
  // Exactly the live owners' blocks are valid: none leaked, none resurrected.
  CHECK(sm.valid_blocks() == owners.size() + 2);
}

TEST_CASE("Writers, truncates and unlinks racing with GC never lose or resurrect data") {
  for (bool with_removes : {false, true}) {
    DYNAMIC_SECTION("removes " << with_removes) {
      auto dev = memory_device();
      auto sm = format_and_load(*dev);
      FakeOwners owners(*sm, *dev);
      populate(owners, kDataKeys, kNodeKeys, 6000, 31);
      GcOptions o;
      o.migrator.max_in_flight = 4;
      GcController gc(*sm, *dev, owners, o);

      std::atomic<bool> stop{false}, failed{false};
      std::atomic<uint64_t> writes{0};
      std::vector<std::thread> writers;
      struct Join {  // a failed REQUIRE must not leave the writers running
        std::atomic<bool>& stop;
        std::vector<std::thread>& threads;
        ~Join() {
          stop = true;
          for (auto& t : threads)
            if (t.joinable()) t.join();
        }
      } join{stop, writers};
      for (uint64_t t = 0; t < 2; ++t)
        writers.emplace_back(writer, std::ref(owners), 100 + t, with_removes, std::ref(stop),
                             std::ref(writes), std::ref(failed));
      uint64_t moved = 0;
      for (int round = 0; round < 12 && !failed; ++round) {
        auto r = round % 2 ? gc.collect(2, GreedyPolicy()) : gc.collect(2, CostBenefitPolicy());
        INFO((r ? std::string() : r.error().message));
        REQUIRE(r);
        moved += r->moved;
      }
      stop = true;
      for (auto& t : writers) t.join();
      REQUIRE_FALSE(failed);
      CHECK(writes > 0);
      CHECK(moved > 0);
      require_clean(owners, *sm);
      const GcStatsSnapshot st = gc.stats();
      CHECK(st.blocks_moved() == moved);
      // Each copied block was either repointed or dropped, never both or neither.
      CHECK(st.blocks_offloaded == st.blocks_moved() + st.dropped_copies);
      REQUIRE(owners.checkpoint());
      require_clean(owners, *sm);
      if (with_removes) CHECK(owners.size() < kKeys);
    }
  }
}

TEST_CASE("Two collections at once never share a victim") {
  auto dev = memory_device();
  auto sm = format_and_load(*dev);
  FakeOwners owners(*sm, *dev);
  populate(owners, kDataKeys, kNodeKeys, 6000, 37);
  GcController gc(*sm, *dev, owners);
  std::atomic<bool> failed{false};
  std::vector<std::thread> threads;
  for (int t = 0; t < 2; ++t)
    threads.emplace_back([&] {
      for (int i = 0; i < 3; ++i)
        if (!gc.collect(1, GreedyPolicy())) failed = true;
    });
  for (auto& t : threads) t.join();
  REQUIRE_FALSE(failed);
  require_clean(owners, *sm);
  CHECK(gc.stats().victims == gc.stats().victims_freed);
}

TEST_CASE("The background thread collects in urgent mode and stops on request") {
  auto dev = memory_device();
  auto sm = format_and_load(*dev);
  FakeOwners owners(*sm, *dev);
  populate(owners, kDataKeys, kNodeKeys, 6000, 41);
  GcOptions o;
  o.sleep = {5, 20, 50, 1};  // min, max, no-GC, urgent (ms)
  std::atomic<int> idle_calls{0};
  o.is_idle = [&] {
    ++idle_calls;
    return false;  // never idle: only urgent mode collects
  };
  GcController gc(*sm, *dev, owners, o);
  gc.start_background();
  CHECK(gc.background_running());
  std::this_thread::sleep_for(std::chrono::milliseconds(60));
  CHECK(gc.stats().victims == 0);  // busy and not urgent: nothing collected
  CHECK(idle_calls > 0);
  gc.set_urgent(true);
  for (int i = 0; i < 500 && gc.stats().victims < 3; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  gc.stop_background();
  CHECK_FALSE(gc.background_running());
  CHECK(gc.stats().victims >= 3);
  CHECK(gc.stats().checkpoints > 0);
  require_clean(owners, *sm);
}

TEST_CASE("set_sleep changes the background thread's sleeps while it sleeps") {
  auto dev = memory_device();
  auto sm = format_and_load(*dev);
  FakeOwners owners(*sm, *dev);
  populate(owners, kDataKeys, kNodeKeys, 6000, 43);
  GcController gc(*sm, *dev, owners);  // F2FS's defaults: 30 s before the first round
  const GcSleep defaults = gc.sleep();
  CHECK(defaults == GcSleep{30000, 60000, 300000, 500});
  CHECK_FALSE(gc.set_sleep({0, 10, 10, 10}));
  CHECK_FALSE(gc.set_sleep({20, 10, 10, 10}));  // min above max
  CHECK(gc.sleep() == defaults);
  gc.start_background();
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  CHECK(gc.stats().victims == 0);  // still in its first 30 s sleep
  // Short sleeps take effect in the sleep in progress; rounds then follow each other (one
  // wake-up alone would give one round).
  REQUIRE(gc.set_sleep({2, 5, 5, 1}));
  for (int i = 0; i < 500 && gc.stats().victims < 3; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  CHECK(gc.stats().victims >= 3);
  // And long ones stop it again.
  REQUIRE(gc.set_sleep(defaults));
  std::this_thread::sleep_for(std::chrono::milliseconds(300));  // a round in progress ends
  const uint64_t victims = gc.stats().victims;
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  CHECK(gc.stats().victims == victims);
  gc.stop_background();
  require_clean(owners, *sm);
}

}  // namespace
}  // namespace f2sc::gc
