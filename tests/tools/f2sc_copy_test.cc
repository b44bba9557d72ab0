// f2sc-copy as a user runs it: exit status, messages, JSON, and the image afterwards.
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "tests/support/process.h"

namespace {

// f2sc-copy with `args`; status and everything it printed.
f2sc::testing::RunResult run(const std::string& args) {
  return f2sc::testing::run(std::string(F2SC_COPY_BIN) + " " + args);
}

class Image {
 public:
  explicit Image(size_t blocks)
      : path_("/tmp/f2sc-copy-test-" + std::to_string(getpid()) + ".img") {
    std::mt19937_64 rng(blocks);
    data_.resize(blocks * 4096);
    for (auto& c : data_) c = static_cast<char>(rng());
    std::ofstream(path_, std::ios::binary)
        .write(data_.data(), static_cast<std::streamsize>(data_.size()));
  }
  ~Image() { std::remove(path_.c_str()); }
  const std::string& path() const { return path_; }
  std::string contents() const {
    std::ifstream in(path_, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), {});
  }
  // What the image must hold after copying `ranges` (block, count) to `dst`.
  std::string expected(const std::vector<std::pair<size_t, size_t>>& ranges, size_t dst) const {
    std::string out = data_;
    for (auto [src, n] : ranges) {
      std::copy_n(data_.begin() + static_cast<long>(src * 4096), n * 4096,
                  out.begin() + static_cast<long>(dst * 4096));
      dst += n;
    }
    return out;
  }

 private:
  std::string path_;
  std::string data_;
};

TEST_CASE("f2sc-copy copies ranges on every device kind, offloaded or emulated") {
  for (const char* prefix : {"", "file:", "nvme-emu:"}) {
    for (bool emulate : {false, true}) {
      INFO("prefix '" << prefix << "' emulate " << emulate);
      Image img(64);
      auto r = run(std::string(prefix) + img.path() + " --dst 40 --range 3:5 --range 20:7 --json" +
                   (emulate ? " --emulate" : ""));
      REQUIRE(r.status == 0);
      auto j = nlohmann::json::parse(r.output);
      CHECK(j["blocks_copied"] == 12);
      CHECK(j["path"] == (emulate ? "emulation" : "offload"));
      if (emulate) {
        CHECK(j["host_bytes"]["read"] == 12 * 4096);
        CHECK(j["host_bytes"]["written"] == 12 * 4096);
      } else {
        CHECK(j["host_bytes"]["read"] == 0);
        CHECK(j["host_bytes"]["written"] == 0);
        CHECK(j["host_bytes"]["copy_descriptors"] == 64);
      }
      CHECK((img.contents() == img.expected({{3, 5}, {20, 7}}, 40)));
    }
  }
}

TEST_CASE("f2sc-copy reads block numbers as decimal, leading zeros included") {
  Image img(256);
  auto r = run(img.path() + " --dst 0200 --range 010:1 --json");
  REQUIRE(r.status == 0);
  auto j = nlohmann::json::parse(r.output);
  CHECK(j["dst"] == 200);
  CHECK((img.contents() == img.expected({{10, 1}}, 200)));
}

TEST_CASE("f2sc-copy prints a readable summary") {
  Image img(32);
  auto r = run(img.path() + " --dst 10 --range 0:4");
  REQUIRE(r.status == 0);
  CHECK(r.output.find("copied 4 blocks") != std::string::npos);
  CHECK(r.output.find("host bytes    32 (read 0, written 0, copy descriptors 32)") !=
        std::string::npos);
}

TEST_CASE("f2sc-copy refuses bad requests with exit 2 and leaves the image alone") {
  Image img(64);
  const std::string before = img.contents();
  struct Case {
    std::string args, says;
  };
  for (const Case& c : std::vector<Case>{
           {"--dst 10 --range 8:4", "overlaps the destination"},
           {"--dst 62 --range 0:4", "ends past the device"},
           {"--dst 10 --range 0:0", "is empty"},
           {"--dst 10 --range 70:1", "ends past the device"},
           {"--dst 10 --range 1:x", "must be decimal block numbers"},
           {"--dst 10 --range 5", "not of the form SRC:LEN"},
           {"--dst 10 --range -1:2", "must be decimal block numbers"},
           {"--dst 10 --range 0x1:2", "must be decimal block numbers"},
           {"--dst -1 --range 0:2", "is not a decimal block number"},
           {"--dst 0x10 --range 0:2", "is not a decimal block number"},
           {"--dst 10 --range 0:1 --block-size 1000", "512 or 4096"},
           {"--dst 10", "--range is required"},
           {"--dst 10 --range 0:1 --buffer 1X", "--buffer"},
       }) {
    INFO(c.args);
    auto r = run(img.path() + " " + c.args);
    CHECK(r.status == 2);
    CHECK(r.output.find(c.says) != std::string::npos);
    CHECK((img.contents() == before));
  }
  auto missing = run("/nonexistent/image --dst 1 --range 0:1");
  CHECK(missing.status == 2);
  CHECK(missing.output.find("cannot open /nonexistent/image") != std::string::npos);
}

TEST_CASE("f2sc-copy --help describes the device names and exits 0") {
  auto r = run("--help");
  CHECK(r.status == 0);
  CHECK(r.output.find("--range") != std::string::npos);
  CHECK(r.output.find("nvme-emu:PATH") != std::string::npos);
}

}  // namespace
