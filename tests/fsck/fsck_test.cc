// fsck.f2sc against images made by mkfs.f2fs + sload.f2fs and by our mkfs: clean images check
// clean (and fsck.f2fs agrees); each damage the injector makes is found by fsck.f2sc -n and
// by fsck.f2fs, repaired by fsck.f2sc -y, and afterwards both checkers are clean and every
// intact file reads back byte for byte.
#include <filesystem>
#include <fstream>
#include <random>
#include <string>

#include <catch2/catch.hpp>

#include "blockdev/uri.h"
#include "fs/reader.h"
#include "tests/fs/image_util.h"
#include "tests/fsck/injector.h"

namespace f2sc::fsck::testing {
namespace {

namespace stdfs = std::filesystem;
using fs::testing::make_image;
using fs::testing::run;
using fs::testing::RunResult;
using fs::testing::TempDir;

const std::string kFsck = FSCK_F2SC_PATH;
const std::string kMkfs = MKFS_F2SC_PATH;

void write_random(const stdfs::path& p, std::mt19937& g, size_t n) {
  std::string d(n, '\0');
  for (char& c : d) c = static_cast<char>(g());
  std::ofstream(p, std::ios::binary) << d;
}

// /a, /d1/b, /d1/d2/big, /e/f0..f299 (a directory of several dentry blocks), /e/victim,
// /link.
void make_tree(const stdfs::path& root) {
  std::mt19937 g(8);
  stdfs::create_directories(root / "d1" / "d2");
  stdfs::create_directories(root / "e");
  write_random(root / "a", g, 100000);
  write_random(root / "d1" / "b", g, 3);
  write_random(root / "d1" / "d2" / "big", g, 3'000'000);
  for (int i = 0; i < 300; ++i) write_random(root / "e" / ("f" + std::to_string(i)), g, i * 37);
  write_random(root / "e" / "victim", g, 9000);
  stdfs::create_symlink("a", root / "link");
}

struct Fixture {
  TempDir dir;
  stdfs::path src = dir.path() / "src";
  std::string base = (dir.path() / "base.img").string();
  Fixture() {
    make_tree(src);
    make_image(src, base, 128ull << 20);
  }
};
Fixture& fixture() {
  static Fixture f;
  return f;
}

RunResult fsck(const std::string& args) {
  return run(kFsck + " " + args);
}
RunResult theirs(const std::string& img) {
  return run("fsck.f2fs --dry-run " + img);
}
bool theirs_found_something(const RunResult& r) {
  return r.status != 0 || r.output.find("[Fail]") != std::string::npos ||
         r.output.find("[FIX]") != std::string::npos ||
         r.output.find("ASSERT") != std::string::npos;
}
bool theirs_clean(const RunResult& r) {
  return r.status == 0 && r.output.find("[Fail]") == std::string::npos &&
         r.output.find("ASSERT") == std::string::npos &&
         r.output.find("[FIX]") == std::string::npos;
}

// Every regular file of `src` not in `skip` reads back identically from `img`.
void check_files(const stdfs::path& src, const std::string& img,
                 const std::vector<std::string>& skip) {
  auto dev = blockdev::open_device("file:" + img);
  REQUIRE(dev);
  auto reader = fs::FileSystemReader::open(**dev);
  REQUIRE(reader);
  for (const auto& ent : stdfs::recursive_directory_iterator(src)) {
    if (!ent.is_regular_file() || ent.is_symlink()) continue;
    const std::string rel = "/" + stdfs::relative(ent.path(), src).string();
    if (std::find(skip.begin(), skip.end(), rel) != skip.end()) continue;
    INFO(rel);
    auto ino = (*reader)->resolve(rel);
    REQUIRE(ino);
    std::ifstream in(ent.path(), std::ios::binary);
    std::string want((std::istreambuf_iterator<char>(in)), {});
    std::string got(want.size() + 1, '\0');
    auto n = (*reader)->read(*ino, 0, {reinterpret_cast<std::byte*>(got.data()), got.size()});
    REQUIRE(n);
    got.resize(*n);
    REQUIRE(got == want);
  }
}

TEST_CASE("fsck.f2sc: clean images check clean, as fsck.f2fs says") {
  Fixture& f = fixture();
  RunResult ours = fsck("-n " + f.base);
  INFO(ours.output);
  CHECK(ours.status == 0);
  CHECK(theirs_clean(theirs(f.base)));
  RunResult json = fsck("-n --json " + f.base);
  CHECK(json.output.find("\"clean\":true") != std::string::npos);

  TempDir d;
  for (const char* opts : {"", "-s 2"}) {
    const std::string img = (d.path() / "ours.img").string();
    std::filesystem::remove(img);
    std::ofstream(img).close();
    std::filesystem::resize_file(img, 96ull << 20);
    REQUIRE(run(kMkfs + " -q -f " + opts + " " + img).status == 0);
    RunResult r = fsck("-n " + img);
    INFO(opts << r.output);
    CHECK(r.status == 0);
    CHECK(theirs_clean(theirs(img)));
  }
}

TEST_CASE("fsck.f2sc: usage and operational errors") {
  CHECK(fsck("").status == 16);
  CHECK(fsck("-n -y x").status == 16);
  CHECK(fsck("--no-such-flag x").status == 16);
  RunResult missing = fsck("-n /nonexistent/f2sc.img");
  CHECK(missing.status == 8);
  CHECK(missing.output.find("/nonexistent/f2sc.img") != std::string::npos);
  TempDir d;
  const std::string zeros = (d.path() / "zeros.img").string();
  std::ofstream(zeros).close();
  std::filesystem::resize_file(zeros, 64ull << 20);
  CHECK(fsck("-n " + zeros).status == 8);
}

TEST_CASE("fsck.f2sc: finds, and repairs, each injected damage") {
  Fixture& f = fixture();
  TempDir d;
  const std::string img = (d.path() / "img").string();
  for (const DamageSpec& spec : all_damages()) {
    DYNAMIC_SECTION(spec.name) {
      std::filesystem::copy_file(f.base, img, std::filesystem::copy_options::overwrite_existing);
      auto what = inject(img, spec.damage);
      INFO(spec.name);
      INFO((what ? std::string() : what.error().message));
      REQUIRE(what);
      INFO(*what);
      RunResult found = fsck("-n " + img);
      INFO(found.output);
      CHECK(found.status == 4);
      CHECK(found.output.find(spec.finding) != std::string::npos);
      RunResult t = theirs(img);
      INFO("fsck.f2fs: " << t.output);
      CHECK(theirs_found_something(t));
      RunResult fixed = fsck("-y " + img);
      INFO(fixed.output);
      CHECK(fixed.status == 1);
      RunResult after = theirs(img);
      INFO("fsck.f2fs after repair: " << after.output);
      CHECK(theirs_clean(after));
      RunResult again = fsck("-n " + img);
      INFO(again.output);
      CHECK(again.status == 0);
      check_files(f.src, img, spec.may_lose);
    }
  }
}

}  // namespace
}  // namespace f2sc::fsck::testing

namespace f2sc::fsck::testing {
namespace {

TEST_CASE("fsck.f2sc: -p fixes counts, keeps what only -y may drop, and --json reports") {
  Fixture& f = fixture();
  TempDir d;
  const std::string img = (d.path() / "img").string();
  std::filesystem::copy_file(f.base, img);
  REQUIRE(inject(img, Damage::kLinkCount));
  CHECK(fsck("-p " + img).status == 0);  // marked clean: -p trusts it without -f
  RunResult preen = fsck("-p -f " + img);
  INFO(preen.output);
  CHECK(preen.status == 1);
  CHECK(fsck("-n " + img).status == 0);

  REQUIRE(inject(img, Damage::kDentry));
  RunResult left = fsck("-p -f --json " + img);
  INFO(left.output);
  CHECK(left.status == 4);
  CHECK(left.output.find("\"structure\":\"dentry\"") != std::string::npos);
  CHECK(left.output.find("\"fix\":\"remove dentry\"") != std::string::npos);
  check_files(f.src, img, {"/e/victim"});
  RunResult yes = fsck("-y " + img);
  INFO(yes.output);
  CHECK(yes.status == 1);
  CHECK(fsck("-n " + img).status == 0);
  CHECK(theirs_clean(theirs(img)));
}

}  // namespace
}  // namespace f2sc::fsck::testing
