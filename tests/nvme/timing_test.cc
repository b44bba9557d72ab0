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

TEST_CASE("timing: link directions and the media are serial resources, latency overlaps") {
  TimingModel m(simple());  // link 1 B/ns each way, copy 2 B/ns (media 4 B/ns), latency 100
  // Writes: link to the device, then the media.
  CHECK(m.schedule(0, 1000, 1000, 0) == 1000 + 250 + 100);
  CHECK(m.schedule(0, 1000, 1000, 0) == 2000 + 250 + 100);  // waited for the link
  // A read is ready at 0: the media is free until 1000, then the other link direction.
  CHECK(m.schedule(0, 0, 1000, 1000) == 250 + 1000 + 100);
  // A copy of 4000 bytes: 64 descriptor bytes after the writes on the link, then 8000 media
  // bytes (read and write) once the media is free after the second write (2250).
  CHECK(m.schedule(0, 64, 8000, 0) == 2250 + 2000 + 100);
  // A second copy queues behind the first on the media.
  CHECK(m.schedule(0, 64, 8000, 0) == 4250 + 2000 + 100);
  CHECK(m.simulated_ns() == 6350);
  // A command that arrives late starts at its arrival.
  CHECK(m.schedule(10'000, 0, 500, 500) == 10'000 + 125 + 500 + 100);
  CHECK(m.simulated_ns() == 10'725);
  m.observe_completion(10'725);
  CHECK(m.host_now() == 10'725);
  m.reset();
  CHECK(m.simulated_ns() == 0);
  CHECK(m.host_now() == 0);
  CHECK(m.schedule(0, 10, 0, 0) == 110);
}

TEST_CASE("timing: a calendar fills gaps and merges touching intervals") {
  Calendar c;
  CHECK(c.book(100, 50) == 150);  // [100, 150)
  CHECK(c.book(0, 100) == 100);   // [0, 100) fits before it
  CHECK(c.book(0, 10) == 160);    // nothing free before 150
  CHECK(c.book(400, 10) == 410);
  CHECK(c.book(150, 300) == 710);  // [160, 400) is too short: after 410
  CHECK(c.book(0, 0) == 0);
}

TEST_CASE("timing: a 1 Gb/s link makes read+write emulation slow and offload fast") {
  // 2 MiB moved as 16 ranges: emulation reads and writes it over the link (full duplex, so
  // reads and writes overlap), offload sends 16 descriptors and copies inside the device.
  auto tcp = *link_preset("tcp1g");
  tcp.delay_completions = false;
  const uint64_t bytes = 2 << 20;
  TimingModel emu(tcp), off(tcp);
  uint64_t emu_end = 0;
  std::vector<uint64_t> reads;  // the engine reads ahead, then writes each chunk out
  for (int i = 0; i < 16; ++i) reads.push_back(emu.schedule(0, 0, bytes / 16, bytes / 16));
  for (uint64_t r : reads) emu_end = std::max(emu_end, emu.schedule(r, bytes / 16, bytes / 16, 0));
  uint64_t off_end = off.schedule(0, 16 * 32, 2 * bytes, 0);
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
  // Write 16 KiB: 4 ms on the link, 4096 ns on the media (4 B/ns).
  REQUIRE(testing::write(*c, 0, std::vector<std::byte>(4 * 4096), 4096).status.ok());
  // Read 8 KiB: 2048 ns on the media, 2 ms on the link.
  auto back = testing::read(*c, 0, 2, 4096);
  // Copy 16 KiB: 32 descriptor bytes on the link (7812.5 ns), 32 KiB through the media.
  REQUIRE(testing::copy(*c, {{0, 4}}, 10).status.ok());
  auto elapsed = std::chrono::steady_clock::now() - start;
  const uint64_t expect = (4'000'000 + 4096 + 100) + (2048 + 2'000'000 + 100) + (7813 + 8192 + 100);
  CHECK(c->stats().simulated_ns == expect);
  CHECK(c->simulated_ns() == expect);
  CHECK(elapsed >= std::chrono::nanoseconds(6'000'000));
  c->reset_stats();
  CHECK(c->stats().simulated_ns == 0);
}

}  // namespace
}  // namespace f2sc::nvme
