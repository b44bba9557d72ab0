// f2sc-bench: the project's benchmarks, one subcommand each. Numbers are reported as
// ratios measured in one run (offload vs emulation, ours vs the raw path), since absolute
// times on a shared machine are noise.
#include <algorithm>
#include <cstdio>
#include <cstring>
#include <string>

#include "bench_registry.h"

int main(int argc, char** argv) {
  auto& commands = f2sc::bench::bench_commands();
  std::sort(commands.begin(), commands.end(),
            [](const auto& a, const auto& b) { return a.name < b.name; });
  auto usage = [&](FILE* out) {
    std::fprintf(out, "usage: f2sc-bench COMMAND [options]   (f2sc-bench COMMAND --help)\n\n");
    for (const auto& c : commands)
      std::fprintf(out, "  %-8s %s\n", c.name.c_str(), c.summary.c_str());
  };
  if (argc < 2 || !std::strcmp(argv[1], "--help") || !std::strcmp(argv[1], "-h")) {
    usage(argc < 2 ? stderr : stdout);
    return argc < 2 ? 2 : 0;
  }
  for (const auto& c : commands) {
    if (c.name == argv[1]) {
      std::string name = std::string("f2sc-bench ") + argv[1];
      argv[1] = name.data();
      return c.run(argc - 1, argv + 1);
    }
  }
  std::fprintf(stderr, "f2sc-bench: unknown command '%s'\n\n", argv[1]);
  usage(stderr);
  return 2;
}
