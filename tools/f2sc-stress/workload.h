// Workload generators: which blocks the overwrite phase writes next.
//
// A generator sees one runner thread's files as one array of 4 KiB blocks (file after
// file, sizes fixed after the fill) and draws operations from it with its own seeded
// std::mt19937_64:
//   uniform            one block, uniform over all blocks
//   zipf:THETA         one block, Zipf-distributed rank (rejection-inversion sampling,
//                      any THETA > 0), ranks scattered over the blocks by a fixed bijection
//   hotcold:HOT/ACCESS one block; with probability ACCESS from the hot HOT fraction of the
//                      blocks (scattered likewise), else from the rest
//   seq                64 KiB runs, file after file, wrapping around
//   mixed              60% uniform blocks, 20% seq runs, 15% truncate a file at a random
//                      block and write it back to its size, 5% rewrite a whole file from 0
//
// Thread safety: one generator per thread.
#pragma once

#include <cstdint>
#include <random>
#include <vector>

#include "tools/f2sc-stress/options.h"

namespace f2sc::stress {

struct Op {
  enum Kind { kWrite, kTruncateRewrite } kind = kWrite;
  uint32_t file = 0;    // index into the generator's file list
  uint64_t block = 0;   // first block written (for kTruncateRewrite: the new size, blocks)
  uint64_t blocks = 0;  // blocks written
};

// Rejection-inversion Zipf sampler (Hormann and Derflinger 1996) over ranks 1..n.
class ZipfSampler {
 public:
  ZipfSampler(uint64_t n, double exponent);
  uint64_t operator()(std::mt19937_64& rng) const;

 private:
  double h(double x) const;
  double h_integral(double x) const;
  double h_integral_inverse(double x) const;
  uint64_t n_;
  double exponent_, h_integral_x1_, h_integral_n_, s_;
};

class Generator {
 public:
  // file_blocks: the size of each file in blocks (at least one block each).
  Generator(const WorkloadSpec& spec, std::vector<uint64_t> file_blocks, uint64_t seed);

  Op next();
  // A uniformly random block for a verifying read: (file, block).
  std::pair<uint32_t, uint64_t> random_block();
  uint64_t total_blocks() const { return total_; }

 private:
  std::pair<uint32_t, uint64_t> locate(uint64_t index) const;
  uint64_t scatter(uint64_t rank) const;  // bijection on [0, total)
  Op single(uint64_t index) const;
  Op seq_run();

  WorkloadSpec spec_;
  std::vector<uint64_t> blocks_;
  std::vector<uint64_t> starts_;  // prefix sums
  uint64_t total_ = 0;
  uint64_t multiplier_ = 1;
  uint64_t hot_ = 0;
  uint64_t cursor_ = 0;
  std::mt19937_64 rng_;
  ZipfSampler zipf_;
};

}  // namespace f2sc::stress
