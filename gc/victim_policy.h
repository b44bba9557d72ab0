// Victim policies: which sections the garbage collector cleans next.
//
// A policy ranks the candidates SegmentManager::victim_candidates() reports (sections that
// hold no current log, are neither free nor prefree, are not pinned by another GC, and have
// both valid and invalid blocks) and returns up to `n` section numbers, best first.
//
//   GreedyPolicy       fewest valid blocks first (F2FS foreground GC).
//   CostBenefitPolicy  F2FS background GC: u = valid percent, age = 0..100 from the mean
//                      SIT mtime (100 = oldest candidate); lowest
//                      UINT_MAX - 100 * (100 - u) * age / (100 + u) first.
//   AgeThresholdPolicy in the spirit of F2FS ATGC: only sections whose data has not changed
//                      for `min_age_seconds` are worth moving to the cold log; among them
//                      the cost is a weighted mix of utilization and youth
//                      (age_weight percent on youth). When fewer than n are old enough it
//                      fills up with cost-benefit picks.
//
// Thread safety: policies are immutable after construction; rank() may be called from any
// number of threads at once.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string_view>
#include <vector>

#include "segment/segment_manager.h"

namespace f2sc::gc {

struct VictimContext {
  uint32_t blocks_per_section = 0;
  uint64_t now = 0;  // SIT clock, seconds (SegmentManager::now())
};

class VictimPolicy {
 public:
  virtual ~VictimPolicy() = default;
  virtual std::string_view name() const = 0;
  virtual std::vector<uint32_t> rank(std::span<const segment::SectionUsage> candidates,
                                     const VictimContext& ctx, size_t n) const = 0;
};

class GreedyPolicy final : public VictimPolicy {
 public:
  std::string_view name() const override { return "greedy"; }
  std::vector<uint32_t> rank(std::span<const segment::SectionUsage> candidates,
                             const VictimContext& ctx, size_t n) const override;
};

class CostBenefitPolicy final : public VictimPolicy {
 public:
  std::string_view name() const override { return "cost-benefit"; }
  std::vector<uint32_t> rank(std::span<const segment::SectionUsage> candidates,
                             const VictimContext& ctx, size_t n) const override;
  // The F2FS cost of one section (lower is better), exposed for tests.
  static uint64_t cost(uint32_t valid, uint32_t blocks_per_section, uint64_t mtime,
                       uint64_t min_mtime, uint64_t max_mtime);
};

struct AgeThresholdOptions {
  uint64_t min_age_seconds = 7 * 24 * 3600;  // F2FS ATGC age_threshold default
  uint32_t age_weight = 60;                  // percent, as F2FS atgc_age_weight
};

class AgeThresholdPolicy final : public VictimPolicy {
 public:
  explicit AgeThresholdPolicy(AgeThresholdOptions options = {}) : options_(options) {}
  std::string_view name() const override { return "age-threshold"; }
  std::vector<uint32_t> rank(std::span<const segment::SectionUsage> candidates,
                             const VictimContext& ctx, size_t n) const override;

 private:
  AgeThresholdOptions options_;
};

// "greedy", "cost-benefit" (or "cb"), "age-threshold" (or "atgc"); nullptr otherwise.
std::unique_ptr<VictimPolicy> make_policy(std::string_view name);

}  // namespace f2sc::gc
