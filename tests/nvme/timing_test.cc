// TimingModel arithmetic, and the timing model inside an EmulatedController.
#include <catch2/catch.hpp>

#include "nvme/timing_model.h"
#include "nvme_test_util.h"

namespace f2sc::nvme {
namespace {

TimingOptions simple() {
  TimingOptions o;
  o.link_bytes_per_sec = 1e9;  // 1 byte per ns
  o.copy_bytes_per_sec = 2e9;  // 2 bytes per ns
  o.latency_ns = 100;
  o.delay_completions = false;
  return o;
}

TEST_CASE("timing: presets carry the link rates") {
  CHECK(link_preset("pcie3x4")->link_bytes_per_sec == Approx(3.938e9).epsilon(0.001));
  CHECK(link_preset("pcie4x4")->link_bytes_per_sec == Approx(7.877e9).epsilon(0.001));
  CHECK(link_preset("tcp1g")->link_bytes_per_sec == Approx(125e6));
  CHECK(link_preset("tcp25g")->link_bytes_per_sec == Approx(3.125e9));
  auto bad = link_preset("pcie9x16");
  REQUIRE_FALSE(bad);
  CHECK(bad.error().message.find("pcie4x4") != std::string::npos);
}

TEST_CASE("timing: link directions are serial each, latency overlaps, copies use the engine") {
  TimingModel m(simple());
  // Two writes of 1000 bytes at t=0 share the host->device direction.
  CHECK(m.schedule(0, 1000, 0, 0) == 1100);
  CHECK(m.schedule(0, 1000, 0, 0) == 2100);
  // A read goes the other way: it does not wait for the writes.
  CHECK(m.schedule(0, 0, 1000, 0) == 1100);
  // A copy: 64 descriptor bytes on the link after the writes, then 4000 bytes at 2 B/ns.
  CHECK(m.schedule(0, 64, 0, 4000) == 2064 + 2000 + 100);
  // A second copy queues behind the first on the copy engine.
  CHECK(m.schedule(0, 64, 0, 4000) == 4064 + 2000 + 100);
  CHECK(m.simulated_ns() == 6164);
  // A command that arrives late starts at its arrival.
  CHECK(m.schedule(10'000, 0, 500, 0) == 10'600);
  CHECK(m.simulated_ns() == 10'600);
  m.observe_completion(10'600);
  CHECK(m.host_now() == 10'600);
  m.reset();
  CHECK(m.simulated_ns() == 0);
  CHECK(m.host_now() == 0);
}

TEST_CASE("timing: a 1 Gb/s link makes read+write emulation slow and offload fast") {
  // 2 MiB moved as 16 ranges: emulation reads and writes it over the link (full duplex, so
  // reads and writes overlap), offload sends 16 descriptors and copies inside the device.
  auto tcp = *link_preset("tcp1g");
  tcp.delay_completions = false;
  const uint64_t bytes = 2 << 20;
  TimingModel emu(tcp), off(tcp);
  uint64_t emu_end = 0;
  for (int i = 0; i < 16; ++i) {
    uint64_t r = emu.schedule(0, 0, bytes / 16, 0);
    emu_end = std::max(emu_end, emu.schedule(r, bytes / 16, 0, 0));
  }
  uint64_t off_end = off.schedule(0, 16 * 32, 0, bytes);
  double emu_mibps = bytes / 1048576.0 / (emu_end / 1e9);
  double off_mibps = bytes / 1048576.0 / (off_end / 1e9);
  CHECK(emu_mibps < 125);  // bounded by the 119 MiB/s link
  CHECK(emu_mibps > 100);
  CHECK(off_mibps > 2000);  // bounded by the device's copy engine
}

TEST_CASE("timing: the controller reports simulated time and delays completions") {
  EmulatedControllerOptions o;
  o.memory_bytes = 64 * 4096;
  TimingOptions t = simple();
  t.delay_completions = true;
  t.link_bytes_per_sec = 4096.0 * 1000;  // one block per ms
  o.timing = t;
  auto c = testing::memory_controller(o);
  auto start = std::chrono::steady_clock::now();
  // A host waiting for each completion: the three commands run back to back.
  REQUIRE(testing::write(*c, 0, std::vector<std::byte>(4 * 4096), 4096).status.ok());  // 4 ms
  auto back = testing::read(*c, 0, 2, 4096);                                           // 2 ms
  REQUIRE(testing::copy(*c, {{0, 4}}, 10)
              .status.ok());  // 32 B on the link (7812.5 ns), 16 KiB at 2 B/ns
  auto elapsed = std::chrono::steady_clock::now() - start;
  const uint64_t expect = (4'000'000 + 100) + (2'000'000 + 100) + (7813 + 8192 + 100);
  CHECK(c->stats().simulated_ns == expect);
  CHECK(elapsed >= std::chrono::nanoseconds(6'000'000));
  c->reset_stats();
  CHECK(c->stats().simulated_ns == 0);
}

}  // namespace
}  // namespace f2sc::nvme
