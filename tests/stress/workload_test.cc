// Workload generators and option parsing: seeded, in bounds, and shaped as documented.
#include <map>
#include <numeric>

#include <catch2/catch.hpp>

#include "tools/f2sc-stress/options.h"
#include "tools/f2sc-stress/workload.h"

namespace f2sc::stress {
namespace {

const std::vector<uint64_t> kFiles = {100, 1, 37, 250, 612};  // blocks

WorkloadSpec spec(const char* text) {
  auto w = parse_workload(text);
  REQUIRE(w);
  return *w;
}

TEST_CASE("every workload stays inside the files and is reproducible from its seed") {
  for (const char* w : {"uniform", "zipf:0.99", "zipf:1.2", "hotcold:20/80", "seq", "mixed"}) {
    INFO(w);
    Generator a(spec(w), kFiles, 42), b(spec(w), kFiles, 42), c(spec(w), kFiles, 43);
    bool differs = false;
    for (int i = 0; i < 5000; ++i) {
      const Op x = a.next(), y = b.next(), z = c.next();
      REQUIRE(x.file < kFiles.size());
      REQUIRE(x.blocks >= 1);
      if (x.kind == Op::kWrite) {
        REQUIRE(x.block + x.blocks <= kFiles[x.file]);
      } else {
        // Truncate to x.block, then write back up to the file's size.
        REQUIRE(x.block + x.blocks == kFiles[x.file]);
      }
      REQUIRE((x.kind == y.kind && x.file == y.file && x.block == y.block && x.blocks == y.blocks));
      differs = differs || x.file != z.file || x.block != z.block;
    }
    CHECK(differs);
  }
}

std::map<std::pair<uint32_t, uint64_t>, uint64_t> histogram(const char* w, int n) {
  Generator g(spec(w), kFiles, 7);
  std::map<std::pair<uint32_t, uint64_t>, uint64_t> h;
  for (int i = 0; i < n; ++i) {
    const Op op = g.next();
    ++h[{op.file, op.block}];
  }
  return h;
}

// Share of the writes that went to the most-written `fraction` of all blocks.
double top_share(const std::map<std::pair<uint32_t, uint64_t>, uint64_t>& h, double fraction,
                 int n) {
  std::vector<uint64_t> counts;
  for (auto& [k, c] : h) counts.push_back(c);
  std::sort(counts.rbegin(), counts.rend());
  const uint64_t total = std::accumulate(kFiles.begin(), kFiles.end(), uint64_t{0});
  const auto top = static_cast<size_t>(fraction * static_cast<double>(total));
  uint64_t sum = 0;
  for (size_t i = 0; i < top && i < counts.size(); ++i) sum += counts[i];
  return static_cast<double>(sum) / n;
}

TEST_CASE("uniform spreads while zipf and hotcold skew as asked") {
  constexpr int n = 200000;
  CHECK(top_share(histogram("uniform", n), 0.2, n) < 0.25);
  CHECK(top_share(histogram("zipf:0.99", n), 0.2, n) > 0.7);
  const double hc = top_share(histogram("hotcold:20/80", n), 0.2, n);
  CHECK(hc > 0.78);
  CHECK(hc < 0.82);
  const double hc2 = top_share(histogram("hotcold:10/95", n), 0.1, n);
  CHECK(hc2 > 0.93);
}

TEST_CASE("seq writes 64 KiB runs file after file") {
  Generator g(spec("seq"), kFiles, 1);
  Op prev = g.next();
  for (int i = 0; i < 100; ++i) {
    const Op op = g.next();
    CHECK(op.blocks <= 16);
    if (prev.block + prev.blocks < kFiles[prev.file]) {
      CHECK(op.file == prev.file);
      CHECK(op.block == prev.block + prev.blocks);
    } else {
      CHECK(op.block == 0);
      CHECK(op.file == (prev.file + 1) % kFiles.size());
    }
    prev = op;
  }
}

TEST_CASE("workload and file-size options parse and bad ones say why") {
  CHECK(spec("zipf:0.8").theta == 0.8);
  CHECK(spec("zipf").theta == 0.99);
  CHECK(spec("hotcold:0.1/0.9").hot == Approx(0.1));
  CHECK(spec("hotcold:10/90").access == Approx(0.9));
  CHECK(spec("hotcold:10/90").text == "hotcold:10/90");
  for (const char* bad : {"", "random", "zipf:x", "zipf:-1", "hotcold:20", "hotcold:0/80",
                          "hotcold:20/100", "uniform:3", "seq:1"}) {
    INFO(bad);
    auto w = parse_workload(bad);
    REQUIRE_FALSE(w);
    CHECK(w.error().message.find("--workload") != std::string::npos);
  }
  auto fs = parse_file_size("5K:1M");
  REQUIRE(fs);
  CHECK(fs->first == 8192);
  CHECK(fs->second == 1 << 20);
  CHECK_FALSE(parse_file_size("4M:64K"));
  CHECK_FALSE(parse_file_size("64K"));
  CHECK_FALSE(parse_file_size("0:1M"));
  Options o;
  CHECK(validate(o));
  o.ops = 10;
  o.seconds = 1;
  CHECK_FALSE(validate(o));
  o.seconds = 0;
  o.gc_policy = "fifo";
  CHECK_FALSE(validate(o));
}

}  // namespace
}  // namespace f2sc::stress
