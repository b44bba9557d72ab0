#include "gc/victim_policy.h"

#include <algorithm>
#include <climits>
#include <utility>

namespace f2sc::gc {
namespace {

using segment::SectionUsage;

// The n entries with the lowest key, ties by section number, as section numbers.
template <class Key>
std::vector<uint32_t> lowest(std::span<const SectionUsage> candidates, size_t n, Key key) {
  std::vector<std::pair<uint64_t, uint32_t>> scored;
  scored.reserve(candidates.size());
  for (const SectionUsage& c : candidates) scored.emplace_back(key(c), c.secno);
  n = std::min(n, scored.size());
  std::partial_sort(scored.begin(), scored.begin() + static_cast<ptrdiff_t>(n), scored.end());
  std::vector<uint32_t> out;
  out.reserve(n);
  for (size_t i = 0; i < n; ++i) out.push_back(scored[i].second);
  return out;
}

std::pair<uint64_t, uint64_t> mtime_bounds(std::span<const SectionUsage> candidates) {
  uint64_t lo = UINT64_MAX, hi = 0;
  for (const SectionUsage& c : candidates) {
    lo = std::min(lo, c.mtime);
    hi = std::max(hi, c.mtime);
  }
  return {lo, hi};
}

}  // namespace

std::vector<uint32_t> GreedyPolicy::rank(std::span<const SectionUsage> candidates,
                                         const VictimContext&, size_t n) const {
  return lowest(candidates, n, [](const SectionUsage& c) { return uint64_t{c.valid}; });
}

uint64_t CostBenefitPolicy::cost(uint32_t valid, uint32_t blocks_per_section, uint64_t mtime,
                                 uint64_t min_mtime, uint64_t max_mtime) {
  const uint64_t u = blocks_per_section ? uint64_t{valid} * 100 / blocks_per_section : 100;
  // Age 100 for the oldest mtime, 0 for the newest (F2FS get_cb_cost).
  uint64_t age = 0;
  if (max_mtime > min_mtime) age = 100 - 100 * (mtime - min_mtime) / (max_mtime - min_mtime);
  return UINT_MAX - (100 * (100 - std::min<uint64_t>(u, 100)) * age / (100 + u));
}

std::vector<uint32_t> CostBenefitPolicy::rank(std::span<const SectionUsage> candidates,
                                              const VictimContext& ctx, size_t n) const {
  const auto bounds = mtime_bounds(candidates);  // plain names: lambdas below capture them
  const uint64_t lo = bounds.first, hi = bounds.second;
  return lowest(candidates, n, [&](const SectionUsage& c) {
    return cost(c.valid, ctx.blocks_per_section, c.mtime, lo, hi);
  });
}

std::vector<uint32_t> AgeThresholdPolicy::rank(std::span<const SectionUsage> candidates,
                                               const VictimContext& ctx, size_t n) const {
  std::vector<SectionUsage> old;
  for (const SectionUsage& c : candidates)
    if (ctx.now >= c.mtime && ctx.now - c.mtime >= options_.min_age_seconds) old.push_back(c);
  const auto bounds = mtime_bounds(old);  // plain names: lambdas below capture them
  const uint64_t lo = bounds.first, hi = bounds.second;
  const uint32_t w = std::min<uint32_t>(options_.age_weight, 100);
  std::vector<uint32_t> out = lowest(old, n, [&](const SectionUsage& c) {
    const uint64_t u =
        ctx.blocks_per_section ? uint64_t{c.valid} * 100 / ctx.blocks_per_section : 100;
    // Youth 0 for the oldest section, 100 for the newest one old enough.
    const uint64_t youth = hi > lo ? 100 * (c.mtime - lo) / (hi - lo) : 0;
    return u * (100 - w) + youth * w;
  });
  if (out.size() < n) {
    std::vector<SectionUsage> rest;
    for (const SectionUsage& c : candidates)
      if (std::find(out.begin(), out.end(), c.secno) == out.end()) rest.push_back(c);
    for (uint32_t s : CostBenefitPolicy().rank(rest, ctx, n - out.size())) out.push_back(s);
  }
  return out;
}

std::unique_ptr<VictimPolicy> make_policy(std::string_view name) {
  if (name == "greedy") return std::make_unique<GreedyPolicy>();
  if (name == "cost-benefit" || name == "cb") return std::make_unique<CostBenefitPolicy>();
  if (name == "age-threshold" || name == "atgc") return std::make_unique<AgeThresholdPolicy>();
  return nullptr;
}

}  // namespace f2sc::gc
