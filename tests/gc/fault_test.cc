// The GC under device faults: copy commands that fail for each cause the NVMe spec gives
// (finished by emulation, counted, bounded), and victim blocks that cannot be read (left
// with their owner, reported, their section never picked again). Nothing is ever lost.
#include <catch2/catch.hpp>

#include "blockdev/fault_device.h"
#include "blockdev/nvme_device.h"
#include "blockdev/uri.h"
#include "gc/gc_controller.h"
#include "gc_fixture.h"
#include "nvme/emulated_controller.h"

namespace f2sc::gc {
namespace {

using namespace testing;

// The section greedy GC will pick next.
uint32_t next_greedy_victim(SegmentManager& sm) {
  const VictimContext ctx{sm.layout().segs_per_sec * segment::kBlocksPerSeg, sm.now()};
  auto candidates = sm.victim_candidates();
  auto ranked = GreedyPolicy().rank(candidates, ctx, 1);
  REQUIRE(!ranked.empty());
  return ranked.front();
}

TEST_CASE("Copy command faults of every cause are finished by emulation and counted") {
  struct Cause {
    const char* name;
    Errc code;
    uint32_t ranges_done;
  };
  for (Cause c :
       {Cause{"size limit", Errc::kInvalidArgument, 0},
        Cause{"LBA out of range", Errc::kOutOfRange, 0}, Cause{"media error", Errc::kIoError, 0},
        Cause{"partial completion", Errc::kIoError, 2}}) {
    DYNAMIC_SECTION(c.name) {
      auto mem = memory_device();
      blockdev::FaultDevice dev(*mem);
      auto sm = format_and_load(dev);
      FakeOwners owners(*sm, dev);
      populate(owners, 4000, 500, 4500, 21);
      REQUIRE(dev.set_copy_limits({32, 8, 32}));
      blockdev::FaultRule rule;
      rule.ops = blockdev::kFaultCopy;
      rule.skip = 1;
      rule.count = 2;  // under the Migrator's limit of 3: offload goes on afterwards
      rule.error = make_error(c.code, std::string("injected: ") + c.name);
      rule.copy_ranges_done = c.ranges_done;
      dev.add_rule(rule);
      GcController gc(*sm, dev, owners);
      auto r = gc.collect(3, GreedyPolicy());
      INFO((r ? std::string() : r.error().message));
      REQUIRE(r);
      CHECK(dev.faults_injected() == 2);
      const GcStatsSnapshot st = gc.stats();
      CHECK(r->copy_faults == 0);  // every request completed: emulation finished them
      CHECK(st.copy_command_faults == 2);
      CHECK(st.faults_limits == (c.code == Errc::kInvalidArgument ? 2u : 0u));
      CHECK(st.faults_out_of_range == (c.code == Errc::kOutOfRange ? 2u : 0u));
      CHECK(st.faults_media == (c.code == Errc::kIoError ? 2u : 0u));
      CHECK(st.faults_partial == (c.ranges_done > 0 ? 2u : 0u));
      CHECK(st.offload_suspensions == 0);
      CHECK(st.blocks_emulated > 0);
      CHECK(st.blocks_offloaded > st.blocks_emulated);
      CHECK(st.blocks_offloaded + st.blocks_emulated == st.blocks_moved());
      CHECK(r->freed == 3);
      require_clean(owners, *sm, 4500);
    }
  }
}

TEST_CASE("A device whose copies keep failing costs a bounded number of commands per collection") {
  auto mem = memory_device();
  blockdev::FaultDevice dev(*mem);
  auto sm = format_and_load(dev);
  FakeOwners owners(*sm, dev);
  populate(owners, 4000, 500, 4500, 22);
  REQUIRE(dev.set_copy_limits({16, 4, 16}));
  blockdev::FaultRule rule;
  rule.ops = blockdev::kFaultCopy;
  rule.error = make_error(Errc::kInvalidArgument, "injected: Command Size Limit Exceeded");
  dev.add_rule(rule);
  GcOptions o;
  o.migrator.max_in_flight = 4;
  o.migrator.offload_fault_limit = 3;
  GcController gc(*sm, dev, owners, o);
  for (int round = 1; round <= 2; ++round) {
    auto r = gc.collect(2, GreedyPolicy());
    INFO((r ? std::string() : r.error().message));
    REQUIRE(r);
    CHECK(r->freed == 2);
    const GcStatsSnapshot st = gc.stats();
    // At most the limit plus the requests already in flight when it was reached.
    CHECK(st.copy_command_faults >= 3u * round);
    CHECK(st.copy_command_faults <= (3u + 4u) * round);
    CHECK(st.offload_suspensions == static_cast<uint64_t>(round));
    CHECK(st.blocks_offloaded == 0);
    CHECK(st.blocks_emulated == st.blocks_moved());
    // Each suspended collection issued far fewer commands than it had requests.
    CHECK(st.copy_requests > st.copy_command_faults);
  }
  require_clean(owners, *sm, 4500);
}

TEST_CASE("Real NVMe statuses: a partial Copy with DW0 is finished by emulation") {
  auto opened = blockdev::open_device("nvme-emu:mem:128M?mssrl=64&mcl=256&msrc=15");
  REQUIRE(opened);
  auto& dev = dynamic_cast<blockdev::NvmeDevice&>(**opened);
  auto& ctrl = dynamic_cast<nvme::EmulatedController&>(dev.controller());
  auto sm = format_and_load(dev);
  FakeOwners owners(*sm, dev);
  populate(owners, 4000, 500, 4500, 23);
  // The first Copy with more than 2 ranges copies two, then fails: Command Size Limit
  // Exceeded (SCT 1, SC 0x83), DW0 = 2.
  ctrl.inject_copy_fault(2, nvme::Status::error(nvme::StatusCodeType::kCommandSpecific,
                                                nvme::kScCommandSizeLimitExceeded));
  GcController gc(*sm, dev, owners);
  auto r = gc.collect(3, GreedyPolicy());
  INFO((r ? std::string() : r.error().message));
  REQUIRE(r);
  const GcStatsSnapshot st = gc.stats();
  CHECK(st.copy_command_faults == 1);
  CHECK(st.faults_limits == 1);
  CHECK(st.faults_partial == 1);
  CHECK(st.blocks_emulated > 0);
  CHECK(st.blocks_offloaded + st.blocks_emulated == st.blocks_moved());
  require_clean(owners, *sm, 4500);
}

TEST_CASE("An unreadable victim block stays with its owner and its section is left alone") {
  for (bool offload : {true, false}) {
    DYNAMIC_SECTION("offload " << offload) {
      auto mem = memory_device();
      blockdev::FaultDevice dev(*mem);
      auto sm = format_and_load(dev);
      FakeOwners owners(*sm, dev);
      populate(owners, 4000, 500, 4500, 24);
      if (!offload) REQUIRE(dev.set_copy_offload(false));
      const uint32_t victim = next_greedy_victim(*sm);
      const auto& L = sm->layout();
      uint32_t bad_key = 0, bad_addr = 0;
      for (auto [key, addr] : owners.addresses()) {
        if (L.secno_of_seg(L.segno_of(addr)) == victim) {
          bad_key = key;
          bad_addr = addr;
          break;
        }
      }
      REQUIRE(bad_addr != 0);
      // A media error on that one block, for reads and for copies that touch it, forever.
      blockdev::FaultRule rule;
      rule.ops = blockdev::kFaultRead | blockdev::kFaultCopy;
      rule.first_lba = rule.last_lba = bad_addr;
      rule.error = make_error(Errc::kIoError, "injected: Unrecovered Read Error");
      dev.add_rule(rule);

      GcController gc(*sm, dev, owners);
      auto r = gc.collect(1, GreedyPolicy());
      INFO((r ? std::string() : r.error().message));
      REQUIRE(r);
      CHECK(r->victims == 1);
      CHECK(r->freed == 0);
      CHECK(sm->section_valid_blocks(victim) == 1);  // only the bad block is left
      GcStatsSnapshot st = gc.stats();
      CHECK(st.copy_faults == 1);
      CHECK(st.unreadable_blocks == 1);
      CHECK(st.bad_sections == 1);
      CHECK(st.blocks_retried > 0);
      auto bad = gc.bad_blocks();
      REQUIRE(bad.size() == 1);
      CHECK(bad[0].addr == bad_addr);
      CHECK(bad[0].kind == kind_of(bad_key));
      // Summary is packed: compare copies (Catch binds references to its operands).
      const uint32_t nid = bad[0].owner.nid, want_nid = summary_of(bad_key).nid;
      const uint16_t ofs = bad[0].owner.ofs_in_node, want_ofs = summary_of(bad_key).ofs_in_node;
      CHECK(nid == want_nid);
      CHECK(ofs == want_ofs);
      CHECK(bad[0].error.find("Unrecovered Read Error") != std::string::npos);
      CHECK(owners.addresses().at(bad_key) == bad_addr);

      // The next collections pass the section over (greedy would pick it first: one block)
      // and clean others; the bad block is not read again.
      auto again = gc.collect(2, GreedyPolicy());
      REQUIRE(again);
      CHECK(again->victims == 2);
      CHECK(again->freed == 2);
      st = gc.stats();
      CHECK(st.unreadable_blocks == 1);
      CHECK(sm->section_valid_blocks(victim) == 1);
      dev.clear_rules();
      require_clean(owners, *sm, 4500);
    }
  }
}

TEST_CASE("A failed GC checkpoint is an error of collect(), counted and kept") {
  auto mem = memory_device();
  blockdev::FaultDevice dev(*mem);
  auto sm = format_and_load(dev);
  FakeOwners owners(*sm, dev);
  populate(owners, 4000, 500, 4500, 25);
  GcController gc(*sm, dev, owners);
  // Everything outside the main area (checkpoint packs, SIT, NAT, SSA) fails to write.
  blockdev::FaultRule rule;
  rule.ops = blockdev::kFaultWrite;
  rule.last_lba = sm->layout().main_addr - 1;
  dev.add_rule(rule);
  auto r = gc.collect(1, GreedyPolicy());
  REQUIRE_FALSE(r);
  CHECK(gc.stats().collect_errors == 1);
  CHECK(gc.last_error().find("GC checkpoint") != std::string::npos);
  dev.clear_rules();
  // The moves themselves were committed in memory; a later checkpoint records them.
  REQUIRE(owners.checkpoint());
  require_clean(owners, *sm, 4500);
}

}  // namespace
}  // namespace f2sc::gc
