// fsck.f2sc: check an F2FS image and repair what it finds.
//
// Exit status (as e2fsck and fsck.f2fs): 0 clean; 1 errors corrected; 4 errors left
// uncorrected; 8 operational error (device missing or failing, no valid superblock or
// checkpoint); 16 usage error.
#include <unistd.h>

#include <cstdio>
#include <iostream>
#include <string>

#include <CLI/CLI.hpp>

#include "blockdev/uri.h"
#include "segment/checkpoint.h"
#include "segment/superblock.h"
#include "tools/fsck.f2sc/checker.h"
#include "tools/fsck.f2sc/repair.h"
#include "tools/fsck.f2sc/report.h"

namespace {

constexpr int kExitClean = 0;
constexpr int kExitCorrected = 1;
constexpr int kExitUncorrected = 4;
constexpr int kExitOperational = 8;
constexpr int kExitUsage = 16;

int die(int code, const std::string& msg) {
  std::cerr << "fsck.f2sc: " << msg << "\n";
  return code;
}

// A plain path opens as a file device (the checker needs nothing else).
std::string device_uri(const std::string& device) {
  auto parsed = f2sc::blockdev::parse_device_uri(device);
  if (parsed && !parsed->plain_path) return device;
  return "file:" + device;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"fsck.f2sc: check and repair an F2FS filesystem"};
  std::string device;
  bool dry_run = false, preen = false, auto_fix = false, yes = false, force = false, json = false,
       quiet = false;
  app.add_option("device", device, "image file, block device, or f2sc device URI")->required();
  app.add_flag("-n,--dry-run", dry_run, "check only; never write (the default without -p/-a/-y)");
  app.add_flag("-p", preen, "fix what is safe without asking (counts and maps)");
  app.add_flag("-a", auto_fix, "same as -p");
  app.add_flag("-y", yes, "fix every finding that has a fix (the rest are reported)");
  app.add_flag("-f,--force", force, "with -p/-a: check even when the image is marked clean");
  app.add_flag("--json", json, "print the report as JSON on stdout");
  app.add_flag("-q,--quiet", quiet, "print only findings");
  app.footer(
      "Exit status (as e2fsck): 0 clean; 1 errors corrected; 4 errors left uncorrected; 8\n"
      "operational error (device missing or failing, no valid superblock or checkpoint); 16\n"
      "usage error.");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int rc = app.exit(e);
    return rc == 0 ? 0 : kExitUsage;
  }
  const bool safe = preen || auto_fix;
  if (dry_run + (safe ? 1 : 0) + yes > 1)
    return die(kExitUsage, "-n, -p/-a and -y exclude each other");
  const bool fix = safe || yes;

  std::string uri = device_uri(device);
  if (!fix && uri.rfind("file:", 0) == 0)
    uri += uri.find('?') == std::string::npos ? "?ro=1" : "&ro=1";  // -n never writes
  auto dev = f2sc::blockdev::open_device(uri);
  if (!dev) return die(kExitOperational, "opening " + device + ": " + dev.error().message);

  // -p/-a without -f trust an image unmounted cleanly with no error marks, as e2fsck -p.
  if (safe && !force) {
    auto super = f2sc::segment::read_superblock(**dev);
    auto cp = super ? f2sc::segment::read_checkpoint(**dev, super->layout)
                    : f2sc::Result<f2sc::segment::Checkpoint>(tl::unexpected(super.error()));
    if (cp) {
      const uint32_t flags = cp->flags();
      if ((flags & f2sc::segment::kCpUmount) &&
          !(flags & (f2sc::segment::kCpError | f2sc::segment::kCpFsck))) {
        if (json)
          std::cout << "{\"device\":\"" << device
                    << "\",\"skipped\":\"marked clean\",\"exit\":0}\n";
        else if (!quiet)
          std::cout << "fsck.f2sc: " << device << ": marked clean; use -f to check anyway\n";
        return kExitClean;
      }
    }
  }

  f2sc::fsck::CheckOptions copts;
  copts.progress = !quiet && !json && isatty(STDERR_FILENO);
  auto result = f2sc::fsck::check_image(**dev, copts);
  if (!result) return die(kExitOperational, "checking " + device + ": " + result.error().message);

  size_t fixed = 0;
  int exit_code = kExitClean;
  if (result->fatal) {
    exit_code = kExitOperational;
  } else if (result->errors() > 0 && fix) {
    f2sc::fsck::RepairOptions ropts;
    ropts.only_safe = safe;
    auto n = f2sc::fsck::repair_image(**dev, *result, ropts);
    if (!n) return die(kExitOperational, "repairing " + device + ": " + n.error().message);
    fixed = *n;
    auto again = f2sc::fsck::check_image(**dev, {});
    if (!again)
      return die(kExitOperational, "re-checking " + device + ": " + again.error().message);
    exit_code = again->errors() == 0 ? kExitCorrected : kExitUncorrected;
    if (!json && !quiet)
      for (const auto& f : again->findings)
        std::cout << "after repair: " << f2sc::fsck::finding_line(f) << "\n";
  } else if (result->errors() > 0) {
    exit_code = kExitUncorrected;
  }

  if (json) {
    std::cout << f2sc::fsck::json_report(device, *result, fixed, exit_code) << "\n";
  } else {
    for (const auto& f : result->findings) std::cout << f2sc::fsck::finding_line(f) << "\n";
    if (!quiet) {
      std::cout << "fsck.f2sc: " << device << ": ";
      if (result->fatal)
        std::cout << "cannot be checked\n";
      else if (result->errors() == 0)
        std::cout << "clean\n";
      else if (exit_code == kExitCorrected)
        std::cout << result->errors() << " errors, " << fixed << " fixes applied; now clean\n";
      else
        std::cout << result->errors() << " errors left" << (fix ? "" : " (run with -y to repair)")
                  << "\n";
    }
  }
  return exit_code;
}
