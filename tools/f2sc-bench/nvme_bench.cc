// f2sc-bench nvme: a GC-like copy workload (runs of 1..64 live blocks with gaps, gathered to
// one destination, fixed seed) through NvmeDevice on the embedded NVMe controller, with Copy
// offload and with read+write emulation. Reports host-interface bytes per copied byte (as
// counted by the controller: data and descriptors that crossed its link), NVMe commands/s
// and MiB/s; then, with the timing model on (no real delays), the simulated time of the same
// copies over a PCIe Gen4 x4 link and over NVMe/TCP at 1 Gb/s.
#include <fcntl.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <fstream>
#include <random>

#include <nlohmann/json.hpp>

#include "bench_registry.h"
#include "bench_util.h"
#include "blockdev/nvme_device.h"
#include "blockdev/uri.h"
#include "nvme/emulated_controller.h"

namespace f2sc::bench {
namespace {

using blockdev::CopyRequest;
using blockdev::NvmeDevice;

constexpr uint32_t kBs = 4096;

struct Case {
  std::string name;  // "<link>/<path>"
  std::unique_ptr<NvmeDevice> dev;
};

nvme::EmulatedController& emulated(NvmeDevice& d) {
  return static_cast<nvme::EmulatedController&>(d.controller());
}

void register_case(Case& c, const CopyWorkload& w) {
  const uint64_t copied = w.copied_blocks * kBs;
  benchmark::RegisterBenchmark(
      c.name.c_str(),
      [&c, &w, copied](benchmark::State& state) {
        double host = 0, commands = 0, sim_ns = 0;
        for (auto _ : state) {
          emulated(*c.dev).reset_stats();
          auto r = c.dev->copy(w.request);
          if (!r) {
            state.SkipWithError(r.error().message.c_str());
            return;
          }
          nvme::ControllerStats s = emulated(*c.dev).stats();
          host += static_cast<double>(s.bytes_to_device + s.bytes_to_host);
          commands += static_cast<double>(s.reads + s.writes + s.copies);
          sim_ns += static_cast<double>(s.simulated_ns);
        }
        const double iters = static_cast<double>(state.iterations());
        state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * copied));
        state.counters["host_bytes_per_byte"] = host / (iters * static_cast<double>(copied));
        state.counters["commands_per_s"] =
            benchmark::Counter(commands, benchmark::Counter::kIsRate);
        state.counters["commands_per_copy"] = commands / iters;
        state.counters["sim_mib_per_s"] =
            sim_ns > 0 ? iters * static_cast<double>(copied) / 1048576.0 / (sim_ns / 1e9) : 0;
      })
      ->UseRealTime()
      ->Unit(benchmark::kMillisecond)
      ->MinTime(0.3);
}

int run_nvme_bench(int argc, char** argv) {
  CLI::App app{
      "Copies SIZE in runs of 1..64 blocks through NvmeDevice on the embedded NVMe controller\n"
      "(a memory namespace, or an image file) with Copy offload and with emulation; prints\n"
      "host bytes per copied byte, commands/s, MiB/s, and the simulated MiB/s over pcie4x4\n"
      "and tcp1g links (timing model, no real delays).",
      argv[0]};
  BenchOptions opts;
  opts.size_text = "16M";
  add_common_options(app, opts, "bytes to copy");
  std::string image, limits = "mssrl=128&mcl=128&msrc=127";
  app.add_option("--image", image,
                 "a new image file for the namespace, created and removed by the benchmark; an "
                 "existing file is refused (default: memory)");
  app.add_option("--limits", limits, "nvme-emu copy limits (default QEMU's)")
      ->capture_default_str();
  if (auto code = parse_bench_args(app, opts, argc, argv)) return *code;
  const uint64_t size = opts.size, seed = opts.seed;
  const std::string& json_path = opts.json_path;

  const CopyWorkload w = make_copy_workload(size, kBs, seed);
  const uint64_t copied = w.copied_blocks * kBs;
  const uint64_t dev_bytes = w.device_blocks * kBs;
  std::printf("workload: %.1f MiB in %zu runs of 1..64 blocks (seed %llu), namespace %.1f MiB\n",
              copied / 1048576.0, w.request.sources.size(), static_cast<unsigned long long>(seed),
              dev_bytes / 1048576.0);

  std::string target = "mem:" + std::to_string(dev_bytes);
  if (!image.empty()) {
    // Never touch a file the user already has: create it exclusively.
    int fd = ::open(image.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (fd < 0) {
      std::fprintf(stderr, "--image %s: %s (the benchmark creates and removes its own file)\n",
                   image.c_str(), std::strerror(errno));
      return 2;
    }
    ::close(fd);
    if (truncate(image.c_str(), static_cast<off_t>(dev_bytes)) != 0) {
      std::fprintf(stderr, "cannot size %s: %s\n", image.c_str(), std::strerror(errno));
      unlink(image.c_str());
      return 1;
    }
    target = image;
  }
  std::vector<Case> cases;
  for (const char* link : {"none", "pcie4x4", "tcp1g"}) {
    for (const char* path : {"offload", "emulate"}) {
      std::string uri = "nvme-emu:" + target + "?" + limits;
      if (std::string(link) != "none") uri += std::string("&link=") + link + "&delay=0";
      if (std::string(path) == "emulate") uri += "&offload=0";
      auto d = blockdev::open_device(uri);
      if (!d) {
        std::fprintf(stderr, "%s: %s\n", uri.c_str(), d.error().message.c_str());
        return 1;
      }
      auto* nvme = dynamic_cast<NvmeDevice*>(d->get());
      if (nvme == nullptr) return 1;
      d->release();
      cases.push_back({std::string(link) + "/" + path, std::unique_ptr<NvmeDevice>(nvme)});
    }
  }
  {
    // Seeded data, written once through the first device (they share the image or not: each
    // memory namespace gets its own copy).
    std::vector<std::byte> chunk(1 << 20);
    std::mt19937_64 rng(seed);
    for (uint64_t off = 0; off < dev_bytes; off += chunk.size()) {
      for (auto& b : chunk) b = std::byte(rng());
      size_t n = std::min<uint64_t>(chunk.size(), dev_bytes - off);
      for (Case& c : cases) {
        if (!c.dev->write(off / kBs, std::span(chunk.data(), n))) return 1;
        if (!image.empty()) break;
      }
    }
  }
  for (Case& c : cases) register_case(c, w);

  CollectingReporter reporter;
  run_benchmarks(reporter);

  std::vector<std::vector<std::string>> rows = {{"link", "path", "MiB/s", "host B/B", "commands/s",
                                                 "cmds/copy", "sim MiB/s", "host B/B vs emul"}};
  nlohmann::json json = {
      {"workload", {{"bytes", copied}, {"runs", w.request.sources.size()}, {"seed", seed}}},
      {"limits", limits},
      {"results", nlohmann::json::array()}};
  for (const char* link : {"none", "pcie4x4", "tcp1g"}) {
    const std::string off = std::string(link) + "/offload", emu = std::string(link) + "/emulate";
    const double emu_hb = reporter.get(emu, "host_bytes_per_byte");
    for (const std::string& name : {off, emu}) {
      if (!reporter.has(name)) continue;
      const double hb = reporter.get(name, "host_bytes_per_byte");
      const double sim = reporter.get(name, "sim_mib_per_s");
      rows.push_back({link, name.substr(name.find('/') + 1),
                      fmt(reporter.get(name, "bytes_per_second") / 1048576.0, 0), fmt(hb, 5),
                      fmt(reporter.get(name, "commands_per_s"), 0),
                      fmt(reporter.get(name, "commands_per_copy"), 0), sim > 0 ? fmt(sim, 0) : "-",
                      emu_hb > 0 ? fmt(100 * hb / emu_hb, 3) + "%" : "-"});
      json["results"].push_back({{"link", link},
                                 {"path", name.substr(name.find('/') + 1)},
                                 {"mib_per_s", reporter.get(name, "bytes_per_second") / 1048576.0},
                                 {"host_bytes_per_byte", hb},
                                 {"commands_per_s", reporter.get(name, "commands_per_s")},
                                 {"commands_per_copy", reporter.get(name, "commands_per_copy")},
                                 {"simulated_mib_per_s", sim}});
    }
  }
  std::printf("\n");
  print_table(rows);
  std::printf(
      "\nhost B/B: bytes over the controller's host link per copied byte (offload: Source Range\n"
      "descriptors only; emulation: every byte read and written). sim MiB/s: the timing model's\n"
      "simulated device time for the same commands (PCIe Gen4 x4, NVMe/TCP 1 Gb/s).\n");
  if (!json_path.empty()) std::ofstream(json_path) << json.dump(2) << "\n";
  cases.clear();
  if (!image.empty()) unlink(image.c_str());
  return 0;
}

const BenchRegistration registration({"nvme",
                                      "NVMe Copy offload vs emulation on the embedded controller",
                                      run_nvme_bench});

}  // namespace
}  // namespace f2sc::bench
