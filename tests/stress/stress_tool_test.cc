// f2sc-stress as users run it: every workload in both copy modes verifies and its
// accounting adds up; a corrupted block is caught with its file and offset; bad usage is
// refused; reports are written.
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <string>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "tests/support/process.h"

namespace {

using nlohmann::json;

struct Out {
  int status;
  std::string output;
  json j;
};

std::string temp_path(const std::string& what) {
  const char* t = std::getenv("TMPDIR");
  return std::string(t && *t ? t : "/tmp") + "/f2sc-stress-test-" + std::to_string(getpid()) + "-" +
         what;
}

// f2sc-stress with `args` and --json to a temporary file; the JSON is parsed when written.
Out stress(const std::string& args) {
  const std::string path = temp_path("out.json");
  std::remove(path.c_str());
  auto r = f2sc::testing::run(std::string(F2SC_STRESS_BIN) + " " + args + " --json " + path);
  Out out{r.status, r.output, nullptr};
  std::ifstream in(path);
  if (in) out.j = json::parse(in, nullptr, false);
  std::remove(path.c_str());
  return out;
}

uint64_t u(const json& v) {
  return v.get<uint64_t>();
}

// What every finished run must satisfy, whatever the workload and mode.
void check_accounting(const json& m, uint64_t ops, bool offload) {
  INFO("mode " << m["mode"]);
  CHECK(m["completed"] == true);
  CHECK(m["stopped_early"].is_null());
  CHECK(m["offload_active"] == offload);
  CHECK(u(m["ops"]) == ops);
  // Verification: every file, every byte, no error.
  CHECK(u(m["verify"]["errors"]) == 0);
  CHECK(m["verify"]["mismatches"].empty());
  CHECK(u(m["verify"]["files"]) == u(m["files"]));
  CHECK(u(m["verify"]["bytes"]) == u(m["live_bytes"]));
  CHECK(u(m["verify"]["reads_during_run"]) * 4096 == u(m["user_bytes_read"]));
  // ... and again on a fresh mount after the unmount: it reached the device.
  const json& again = m["verify"]["after_remount"];
  REQUIRE(again.is_object());
  CHECK(u(again["errors"]) == 0);
  CHECK(u(again["files"]) == u(m["files"]));
  CHECK(u(again["bytes"]) == u(m["live_bytes"]));
  // User bytes against device bytes.
  const uint64_t user = u(m["user_bytes_written"]);
  const uint64_t dev = u(m["device_bytes_written"]);
  const json& host = m["host_bytes"];
  const json& dc = m["device_counters"];
  CHECK(user >= ops * 4096);
  CHECK(dev == u(host["write"]) + u(dc["blocks_copied_in_device"]) * 4096);
  CHECK(dev >= user);
  CHECK(m["waf"].get<double>() == Approx(static_cast<double>(dev) / static_cast<double>(user)));
  CHECK(u(host["total"]) == u(host["read"]) + u(host["write"]) + u(host["copy_descriptors"]));
  CHECK(u(host["copy_descriptors"]) == 32 * u(dc["copy_ranges"]));
  CHECK(u(host["read"]) >= u(m["user_bytes_read"]));
  // The filesystem wrote every user block, and the device saw at least data plus nodes.
  const uint64_t data = u(m["fs"]["data_blocks_written"]);
  CHECK(data * 4096 >= user);
  CHECK(dev >= (data + u(m["fs"]["node_blocks_written"])) * 4096);
  CHECK(u(m["latency_us"]["count"]) >= ops);
  CHECK(m["latency_us"]["p50"].get<double>() <= m["latency_us"]["p99"].get<double>());
  CHECK(m["latency_us"]["p99"].get<double>() <= m["latency_us"]["p999"].get<double>());
  REQUIRE_FALSE(m["series"].empty());
  CHECK(u(m["series"].back()["user_bytes"]) == user);
  CHECK(m["waf_greedy_model"].get<double>() >= 1.0);
  // GC: every moved block was either offloaded or emulated, and the mode decides which.
  const json& gc = m["gc"];
  if (gc["available"] == true) {
    CHECK(u(gc["offloaded_blocks"]) + u(gc["emulated_blocks"]) == u(gc["blocks_moved"]));
    if (offload) {
      CHECK(u(gc["emulated_blocks"]) == 0);
    } else {
      CHECK(u(gc["offloaded_blocks"]) == 0);
      CHECK(u(dc["copy_commands"]) == 0);
    }
  } else {
    // Not available yet: reported as null, never made up.
    for (const char* k : {"victims", "blocks_moved", "copy_commands", "ranges_per_command_mean",
                          "offloaded_blocks", "emulated_blocks", "seconds", "mib_per_s"})
      CHECK(gc[k].is_null());
    CHECK(data * 4096 == user);  // nothing but user data was written as data
    CHECK(u(dc["copy_commands"]) == 0);
  }
}

struct Case {
  const char* workload;
  uint64_t ops;
  const char* extra;
};

TEST_CASE("every workload verifies in both copy modes and its accounting adds up") {
  const Case cases[] = {{"uniform", 1500, ""},       {"zipf:0.99", 1500, ""},
                        {"hotcold:20/80", 1500, ""}, {"seq", 600, ""},
                        {"mixed", 150, ""},          {"uniform", 1500, "--threads 2"}};
  for (const Case& c : cases) {
    const std::string args = std::string("--workload ") + c.workload +
                             " --copy-offload both --size 128M --util 0.5 --file-size 16K:512K "
                             "--ops " +
                             std::to_string(c.ops) + " --seed 11 -q " + c.extra;
    INFO(args);
    Out out = stress(args);
    INFO(out.output);
    REQUIRE(out.status == 0);
    REQUIRE(out.j.is_object());
    CHECK(out.j["config"]["workload"] == c.workload);
    CHECK(out.j["config"]["copy_offload"] == "both");
    check_accounting(out.j["offload"], c.ops, true);
    check_accounting(out.j["emulation"], c.ops, false);
    // The same seeded workload: the same files and, on one thread, the same user writes.
    CHECK(out.j["offload"]["files"] == out.j["emulation"]["files"]);
    CHECK(out.j["offload"]["live_bytes"] == out.j["emulation"]["live_bytes"]);
    if (std::string(c.extra).empty())
      CHECK(out.j["offload"]["user_bytes_written"] == out.j["emulation"]["user_bytes_written"]);
    CHECK(out.j["ratios"]["waf"].is_number());
  }
}

TEST_CASE("single-block workloads write exactly one block per operation") {
  Out out = stress("--workload uniform --size 128M --util 0.4 --ops 1000 --copy-offload off -q");
  INFO(out.output);
  REQUIRE(out.status == 0);
  CHECK(u(out.j["user_bytes_written"]) == 1000 * 4096);
  CHECK(out.j["mode"] == "emulation");
  CHECK(out.j["util"].get<double>() == Approx(0.4).margin(0.01));
  CHECK(out.j["live_fraction"].get<double>() < out.j["util"].get<double>());
}

TEST_CASE("a byte flipped on read is caught with its file and offset and the exit is 1") {
  Out out = stress("--size 128M --util 0.4 --ops 800 --inject-bitflip 7");
  INFO(out.output);
  CHECK(out.status == 1);
  CHECK(out.output.find("verification failed: stress-") != std::string::npos);
  CHECK(out.output.find("offset ") != std::string::npos);
  CHECK(out.output.find("DATA MISMATCH") != std::string::npos);
  REQUIRE(out.j.is_object());
  CHECK(u(out.j["verify"]["errors"]) >= 1);
  REQUIRE_FALSE(out.j["verify"]["mismatches"].empty());
  const json& m = out.j["verify"]["mismatches"][0];
  CHECK(m["file"].get<std::string>().rfind("stress-", 0) == 0);
  CHECK(u(m["offset"]) % 4096 == 0);
  CHECK(m["expected"] != m["found"]);
  CHECK(m["what"] == "content");
  CHECK(out.j["completed"] == false);  // the run stopped at the mismatch
}

TEST_CASE("bad usage exits 2 with a clear message and --help tells every flag") {
  const std::pair<const char*, const char*> bad[] = {
      {"--workload random", "unknown workload"},
      {"--workload zipf:abc", "THETA"},
      {"--workload hotcold:20", "HOT/ACCESS"},
      {"--file-size 4M:64K", "MIN is larger than MAX"},
      {"--util 1.5", "--util"},
      {"--ops 10 --seconds 5", "exclude each other"},
      {"--copy-offload maybe", "on, off, both"},
      {"--gc-policy fifo", "--gc-policy"},
      {"--threads 0", "--threads"},
      {"--size 128M --util 0.95 --file-size 4K:8K", "use --util"},
      {"--no-such-flag", "no-such-flag"},
      {"--mount /nonexistent/dir", "--mount"},
      {"--json /nonexistent/dir/x.json", "cannot write"},
  };
  for (auto [args, msg] : bad) {
    INFO(args);
    auto r = f2sc::testing::run(std::string(F2SC_STRESS_BIN) + " " + args);
    INFO(r.output);
    CHECK(r.status == 2);
    CHECK(r.output.find(msg) != std::string::npos);
  }
  auto help = f2sc::testing::run(std::string(F2SC_STRESS_BIN) + " --help");
  CHECK(help.status == 0);
  for (const char* flag : {"--mkfs", "--size", "--util", "--workload", "--file-size", "--ops",
                           "--seconds", "--threads", "--copy-offload", "--gc-policy", "--seed",
                           "--mount", "--json", "--csv", "--plot", "Exit status"})
    CHECK(help.output.find(flag) != std::string::npos);
}

TEST_CASE("CSV time series and the gnuplot plot are written") {
  const std::string csv = temp_path("series.csv");
  const std::string png = temp_path("plot.png");
  const bool gnuplot = f2sc::testing::run("command -v gnuplot").status == 0;
  Out out = stress("--size 128M --util 0.4 --ops 500 --copy-offload both -q --csv " + csv +
                   " --plot " + png);
  INFO(out.output);
  if (!gnuplot) {
    CHECK(out.status == 2);
    CHECK(out.output.find("gnuplot-nox") != std::string::npos);
    return;
  }
  REQUIRE(out.status == 0);
  std::ifstream in(csv);
  std::string header, row;
  std::getline(in, header);
  CHECK(header == "mode,t_s,ops,user_bytes,device_bytes,waf,free_bytes,gc_blocks_moved");
  int offload_rows = 0, emulation_rows = 0;
  while (std::getline(in, row)) {
    offload_rows += row.rfind("offload,", 0) == 0;
    emulation_rows += row.rfind("emulation,", 0) == 0;
  }
  CHECK(offload_rows >= 2);
  CHECK(emulation_rows >= 2);
  std::ifstream img(png, std::ios::binary);
  char magic[8] = {};
  img.read(magic, 8);
  CHECK(std::string(magic + 1, 3) == "PNG");
  const std::string base = png.substr(0, png.size() - 4);
  for (const std::string& p : {csv, png, base + ".gp", base + ".dat"})
    CHECK(std::remove(p.c_str()) == 0);
}

// The greedy model describes data cleaning in a population of full segments of live
// fraction u. The device WAF also counts node and checkpoint writes, and the main area also
// holds the free sections GC keeps in reserve, so the comparison uses the data figures:
// (user + GC data moved) / user over the second half, against the model at the measured
// live fraction of the data segments in use. --util 0.85 of a 512 MiB image puts that u
// near 0.8.
TEST_CASE("greedy policy under uniform overwrite at u = 0.8 is within 15% of the model") {
  Out out = stress(
      "--workload uniform --gc-policy greedy --size 512M --util 0.85 "
      "--file-size 1M:4M --overwrite 1.5 -q");
  INFO(out.output);
  REQUIRE(out.j.is_object());
  REQUIRE(out.j["gc"]["available"] == true);
  REQUIRE(out.status == 0);
  CHECK(out.j["gc"]["victims"].get<uint64_t>() > 0);
  // A healthy device: no copy faults, nothing unreadable, no failed collection.
  CHECK(out.j["gc"]["faults"]["copy_commands_failed"] == 0);
  CHECK(out.j["gc"]["faults"]["unreadable_blocks"] == 0);
  CHECK(out.j["gc"]["faults"]["collect_errors"] == 0);
  REQUIRE(out.j["data_u_second_half"].is_number());
  const double u = out.j["data_u_second_half"].get<double>();
  CHECK(u == Approx(0.8).margin(0.03));
  REQUIRE(out.j["data_waf_second_half"].is_number());
  const double waf = out.j["data_waf_second_half"].get<double>();
  const double model = out.j["data_waf_greedy_model"].get<double>();
  CHECK(waf == Approx(model).epsilon(0.15));
  // The whole-device WAF is at least the data WAF (nodes and checkpoints come on top).
  CHECK(out.j["waf_second_half"].get<double>() >= waf);
}

}  // namespace

namespace {

TEST_CASE("the workload runs through POSIX calls with --mount and leaves the directory empty") {
  const std::string dir = temp_path("mnt");
  REQUIRE(f2sc::testing::run("mkdir -p " + dir).status == 0);
  // Not a FUSE mount: refused unless --size bounds what is written there.
  auto refused = f2sc::testing::run(std::string(F2SC_STRESS_BIN) + " --mount " + dir);
  CHECK(refused.status == 2);
  CHECK(refused.output.find("not a FUSE mount") != std::string::npos);
  Out out = stress("--mount " + dir + " --size 64M --util 0.5 --file-size 16K:1M --ops 400 " +
                   "--workload mixed -q");
  INFO(out.output);
  CHECK(out.status == 0);
  REQUIRE(out.j.is_object());
  CHECK(out.j["mode"] == "mount");
  CHECK(u(out.j["verify"]["errors"]) == 0);
  CHECK(u(out.j["verify"]["files"]) == u(out.j["files"]));
  CHECK(u(out.j["verify"]["bytes"]) == u(out.j["live_bytes"]));
  CHECK(u(out.j["live_bytes"]) <= 32u << 20);
  // Nothing there to measure: null, not zero.
  CHECK(out.j["device_bytes_written"].is_null());
  CHECK(out.j["waf"].is_null());
  CHECK(out.j["host_bytes"]["write"].is_null());
  CHECK(out.j["offload_active"].is_null());
  CHECK(out.j["verify"]["after_remount"].is_null());
  CHECK(f2sc::testing::run("rmdir " + dir).status == 0);  // empty: the files were removed
}

}  // namespace

namespace {

TEST_CASE("a second run on the same image replaces the first run's files") {
  const std::string img = temp_path("reuse.img");
  Out first = stress(img + " --mkfs --size 128M --util 0.4 --ops 200 -q");
  INFO(first.output);
  REQUIRE(first.status == 0);
  CHECK(u(first.j["previous_files_removed"]) == 0);
  Out second = stress(img + " --util 0.4 --ops 200 --seed 2 -q");
  INFO(second.output);
  CHECK(second.status == 0);
  CHECK(u(second.j["previous_files_removed"]) == u(first.j["files"]));
  CHECK(u(second.j["verify"]["errors"]) == 0);
  // Without --mkfs an image that does not exist is refused, and so is offload where the
  // device has none.
  std::remove(img.c_str());
  auto missing = f2sc::testing::run(std::string(F2SC_STRESS_BIN) + " " + img + " --ops 10");
  CHECK(missing.status == 2);
  CHECK(missing.output.find("--mkfs") != std::string::npos);
  auto no_copy = f2sc::testing::run(std::string(F2SC_STRESS_BIN) + " 'mem:128M?copy=0' --ops 10");
  CHECK(no_copy.status == 2);
  CHECK(no_copy.output.find("--copy-offload off") != std::string::npos);
}

}  // namespace

namespace {

// The keys issue 9 and report.h promise, present (possibly null) in every run object.
void check_keys(const json& run) {
  for (const char* k : {"user_bytes_written", "device_bytes_written", "waf", "waf_second_half",
                        "waf_greedy_model", "files", "live_bytes", "util", "live_fraction", "ops",
                        "seconds", "completed", "stopped_early", "series"})
    CHECK(run.contains(k));
  for (const char* k : {"victims", "blocks_moved", "copy_commands", "ranges_per_command_mean",
                        "offloaded_blocks", "emulated_blocks", "seconds", "mib_per_s"})
    CHECK(run["gc"].contains(k));
  REQUIRE(run["gc"].contains("faults"));  // null without GC statistics
  if (run["gc"]["faults"].is_object())
    for (const char* k : {"copy_commands_failed", "size_limit_or_invalid", "lba_out_of_range",
                          "media", "partial", "offload_suspensions", "requests_failed",
                          "unreadable_blocks", "bad_sections", "collect_errors"})
      CHECK(run["gc"]["faults"].contains(k));
  for (const char* k : {"read", "write", "copy_descriptors"}) CHECK(run["host_bytes"].contains(k));
  for (const char* k : {"p50", "p99", "p999"}) CHECK(run["latency_us"].contains(k));
  for (const char* k : {"files", "bytes", "errors"}) CHECK(run["verify"].contains(k));
}

TEST_CASE("the JSON document has every documented key in single and side-by-side runs") {
  Out one = stress("--size 128M --util 0.4 --ops 100 -q");
  REQUIRE(one.j.is_object());
  CHECK(one.j["tool"] == "f2sc-stress");
  CHECK(one.j["config"].is_object());
  check_keys(one.j);
  Out both = stress("--size 128M --util 0.4 --ops 100 -q --copy-offload both");
  REQUIRE(both.j.is_object());
  CHECK(both.j["config"].is_object());
  check_keys(both.j["offload"]);
  check_keys(both.j["emulation"]);
  CHECK(both.j["ratios"].contains("waf"));
}

}  // namespace
