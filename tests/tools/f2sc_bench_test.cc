// f2sc-bench gc as a user runs it, on a small image: it must finish, read back every sampled
// block as last written (its exit status says so), and report figures that hang together.
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <string>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "tests/support/process.h"

namespace {

f2sc::testing::RunResult run(const std::string& args) {
  return f2sc::testing::run(std::string(F2SC_BENCH_BIN) + " " + args);
}

TEST_CASE("f2sc-bench gc collects on nvme-emu and a file, offloaded and emulated") {
  const std::string json_path = "/tmp/f2sc-bench-test-" + std::to_string(getpid()) + ".json";
  auto r = run("gc --size 64M --sections 4 --fill 80 --no-xfs --dir /tmp --json " + json_path);
  INFO(r.output);
  REQUIRE(r.status == 0);
  std::ifstream in(json_path);
  REQUIRE(in);
  const auto doc = nlohmann::json::parse(in);
  std::remove(json_path.c_str());
  REQUIRE(doc["results"].size() == 4);  // {nvme-emu, file} x {offload, emulate}
  for (const auto& row : doc["results"]) {
    INFO(row.dump());
    CHECK(row["victims"].get<uint64_t>() >= 1);
    CHECK(row["victims_freed"] == row["victims"]);
    CHECK(row["free_sections_after"].get<uint32_t>() > row["free_sections_before"].get<uint32_t>());
    CHECK(row["blocks_moved"].get<uint64_t>() > 0);
    CHECK(row["raw_limit_mib_per_s"].get<double>() > 0);
    const double speed = row["mib_per_s"].get<double>();
    const double durable = row["mib_per_s_with_checkpoints"].get<double>();
    CHECK(durable > 0);
    CHECK(durable <= speed);
    // Offload moves no block data through the host; emulation reads and writes each block.
    CHECK(row["data_bytes_per_byte"].get<double>() == (row["offload"] == true ? 0.0 : 2.0));
  }
}

TEST_CASE("f2sc-bench gc refuses a bad option with exit 2") {
  auto r = run("gc --sections nope");
  CHECK(r.status == 2);
  CHECK(r.output.find("--sections") != std::string::npos);
}

}  // namespace
