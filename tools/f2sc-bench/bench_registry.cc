#include "bench_registry.h"

namespace f2sc::bench {

std::vector<BenchCommand>& bench_commands() {
  static std::vector<BenchCommand> commands;
  return commands;
}

}  // namespace f2sc::bench
