// Subcommands of f2sc-bench. Each benchmark file defines one with a static
// BenchRegistration; main() dispatches on argv[1].
//
// Thread safety: registration happens during static initialization only.
#pragma once

#include <string>
#include <vector>

namespace f2sc::bench {

struct BenchCommand {
  std::string name;
  std::string summary;
  // Runs with the arguments after the subcommand name (argv[0] is "f2sc-bench NAME").
  int (*run)(int argc, char** argv);
};

std::vector<BenchCommand>& bench_commands();

struct BenchRegistration {
  explicit BenchRegistration(BenchCommand command) {
    bench_commands().push_back(std::move(command));
  }
};

}  // namespace f2sc::bench
