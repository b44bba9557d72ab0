#include "tools/f2sc-stress/workload.h"

#include <algorithm>
#include <cmath>
#include <numeric>

namespace f2sc::stress {

namespace {

constexpr uint64_t kSeqRunBlocks = 16;  // 64 KiB

double helper1(double x) {  // log1p(x) / x
  return std::fabs(x) > 1e-8 ? std::log1p(x) / x : 1 - x * (0.5 - x * (1.0 / 3 - 0.25 * x));
}
double helper2(double x) {  // expm1(x) / x
  return std::fabs(x) > 1e-8 ? std::expm1(x) / x
                             : 1 + x * 0.5 * (1 + x * (1.0 / 3) * (1 + 0.25 * x));
}

double uniform01(std::mt19937_64& rng) {
  return static_cast<double>(rng() >> 11) * 0x1.0p-53;
}

uint64_t below(std::mt19937_64& rng, uint64_t n) {
  return std::uniform_int_distribution<uint64_t>(0, n - 1)(rng);
}

}  // namespace

ZipfSampler::ZipfSampler(uint64_t n, double exponent)
    : n_(std::max<uint64_t>(n, 1)), exponent_(exponent) {
  h_integral_x1_ = h_integral(1.5) - 1;
  h_integral_n_ = h_integral(static_cast<double>(n_) + 0.5);
  s_ = 2 - h_integral_inverse(h_integral(2.5) - h(2));
}

double ZipfSampler::h(double x) const {
  return std::exp(-exponent_ * std::log(x));
}

double ZipfSampler::h_integral(double x) const {
  const double log_x = std::log(x);
  return helper2((1 - exponent_) * log_x) * log_x;
}

double ZipfSampler::h_integral_inverse(double x) const {
  double t = x * (1 - exponent_);
  if (t < -1) t = -1;
  return std::exp(helper1(t) * x);
}

uint64_t ZipfSampler::operator()(std::mt19937_64& rng) const {
  for (;;) {
    const double u = h_integral_n_ + uniform01(rng) * (h_integral_x1_ - h_integral_n_);
    const double x = h_integral_inverse(u);
    double kd = std::floor(x + 0.5);
    kd = std::clamp(kd, 1.0, static_cast<double>(n_));
    const auto k = static_cast<uint64_t>(kd);
    if (kd - x <= s_ || u >= h_integral(kd + 0.5) - h(kd)) return k;
  }
}

Generator::Generator(const WorkloadSpec& spec, std::vector<uint64_t> file_blocks, uint64_t seed)
    : spec_(spec),
      blocks_(std::move(file_blocks)),
      rng_(seed),
      zipf_(std::max<uint64_t>(1, std::accumulate(blocks_.begin(), blocks_.end(), uint64_t{0})),
            spec.theta) {
  starts_.reserve(blocks_.size());
  for (uint64_t b : blocks_) {
    starts_.push_back(total_);
    total_ += b;
  }
  // An odd multiplier coprime with total_: rank -> (rank * m) mod total_ is a bijection that
  // spreads hot ranks over all files.
  multiplier_ = 2654435761ull % std::max<uint64_t>(total_, 1);
  while (total_ > 1 && std::gcd(multiplier_, total_) != 1) ++multiplier_;
  if (multiplier_ == 0) multiplier_ = 1;
  hot_ = std::clamp<uint64_t>(static_cast<uint64_t>(spec.hot * static_cast<double>(total_)), 1,
                              std::max<uint64_t>(total_ - 1, 1));
  if (total_ > 0) cursor_ = below(rng_, total_);
}

std::pair<uint32_t, uint64_t> Generator::locate(uint64_t index) const {
  auto it = std::upper_bound(starts_.begin(), starts_.end(), index);
  const auto file = static_cast<uint32_t>(it - starts_.begin() - 1);
  return {file, index - starts_[file]};
}

uint64_t Generator::scatter(uint64_t rank) const {
  return static_cast<uint64_t>(static_cast<unsigned __int128>(rank) * multiplier_ % total_);
}

Op Generator::single(uint64_t index) const {
  auto [file, block] = locate(index);
  return Op{Op::kWrite, file, block, 1};
}

Op Generator::seq_run() {
  auto [file, block] = locate(cursor_);
  const uint64_t n = std::min(kSeqRunBlocks, blocks_[file] - block);
  cursor_ = (cursor_ + n) % total_;
  return Op{Op::kWrite, file, block, n};
}

Op Generator::next() {
  switch (spec_.kind) {
    case WorkloadKind::kUniform:
      return single(below(rng_, total_));
    case WorkloadKind::kZipf:
      return single(scatter(zipf_(rng_) - 1));
    case WorkloadKind::kHotCold: {
      const bool hot = uniform01(rng_) < spec_.access || hot_ >= total_;
      const uint64_t rank = hot ? below(rng_, hot_) : hot_ + below(rng_, total_ - hot_);
      return single(scatter(rank));
    }
    case WorkloadKind::kSeq:
      return seq_run();
    case WorkloadKind::kMixed: {
      const double r = uniform01(rng_);
      if (r < 0.60) return single(below(rng_, total_));
      if (r < 0.80) return seq_run();
      const auto file = static_cast<uint32_t>(below(rng_, blocks_.size()));
      const uint64_t cut = r < 0.95 ? below(rng_, blocks_[file]) : 0;
      return Op{Op::kTruncateRewrite, file, cut, blocks_[file] - cut};
    }
  }
  return single(0);
}

std::pair<uint32_t, uint64_t> Generator::random_block() {
  return locate(below(rng_, total_));
}

}  // namespace f2sc::stress
