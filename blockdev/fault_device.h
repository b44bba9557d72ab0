// FaultDevice: a decorator that injects device faults and power cuts, for tests.
//
// Faults: rules match operations by kind and block range; a matching operation fails with
// the rule's error after `skip` matches pass, `count` times. A failing copy command can
// first really copy its first `copy_ranges_done` ranges (a partial completion with DW0).
//
// Power cuts: every write, discard and copy is recorded with the old contents of the blocks
// it changed; flush() makes everything before it durable (forgets the record). power_cut()
// undoes every unflushed change (newest first) and makes every later operation fail with
// kPowerCut until power_on(). cut_power_after(n) cuts at the n-th mutating operation from
// now; with `torn`, that operation lands a seeded prefix of its blocks before the cut.
//
// Thread safety: as BlockDevice. Mutating operations are serialized (the undo record must
// follow the order in which changes land); reads pass through concurrently. The inner
// device must outlive this one, and nothing else may write to it meanwhile.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <vector>

#include "blockdev/block_device.h"

namespace f2sc::blockdev {

enum FaultOp : unsigned {
  kFaultRead = 1,
  kFaultWrite = 2,
  kFaultFlush = 4,
  kFaultDiscard = 8,
  kFaultCopy = 16,
  kFaultAll = 31,
};

struct FaultRule {
  unsigned ops = kFaultAll;  // FaultOp mask
  uint64_t first_lba = 0;    // the operation touches [first_lba, last_lba]
  uint64_t last_lba = UINT64_MAX;
  uint64_t skip = 0;            // matching operations that pass before the first fault
  uint64_t count = UINT64_MAX;  // faults to inject, then the rule is spent
  Error error = make_error(Errc::kIoError, "injected media error");
  uint32_t copy_ranges_done = 0;  // copy: ranges really copied before failing (DW0)
};

struct PowerCutPlan {
  uint64_t after_ops = 0;  // the cut happens at this mutating operation (1 = the next one)
  bool torn = false;       // that operation lands a random prefix of its blocks
  uint64_t seed = 0;
};

class FaultDevice final : public BlockDevice {
 public:
  explicit FaultDevice(BlockDevice& inner);
  ~FaultDevice() override;
  bool offload_enabled() const override;

  void add_rule(const FaultRule& rule);
  void clear_rules();
  uint64_t faults_injected() const { return faults_injected_.load(); }

  void power_cut();
  void power_on();
  void cut_power_after(const PowerCutPlan& plan);
  bool powered() const;
  // Mutating operations seen (writes, discards, copies), for choosing cut points.
  uint64_t mutating_ops() const;
  // Blocks whose change is recorded but not yet flushed.
  uint64_t unflushed_changes() const;

 protected:
  Status do_read(uint64_t lba, std::span<std::byte> buf) override;
  Status do_write(uint64_t lba, std::span<const std::byte> buf) override;
  Status do_flush() override;
  Status do_discard(uint64_t lba, uint64_t blocks) override;
  CopyCommandResult do_copy(const CopyCommand& command) override;

 private:
  struct Undo {
    uint64_t lba;
    std::vector<std::byte> old;
  };
  // Returns the error of the first rule that fires for this operation, if any.
  std::optional<FaultRule> match(unsigned op, uint64_t lba, uint64_t blocks);
  std::optional<FaultRule> match_copy(const CopyCommand& command);
  Status dead() const;
  // Records the old contents of [lba, lba + blocks); mu_ held.
  Status record(uint64_t lba, uint64_t blocks);
  // Counts a mutating operation; returns how many blocks may land (all, or a torn prefix)
  // and whether power is cut after it. mu_ held.
  uint64_t begin_mutation(uint64_t blocks, bool* cut_after);
  void cut_locked();

  BlockDevice& inner_;
  mutable std::mutex mu_;
  std::vector<FaultRule> rules_;
  std::vector<uint64_t> rule_seen_;
  std::vector<Undo> undo_;
  uint64_t undo_blocks_ = 0;
  bool powered_ = true;
  uint64_t mutating_ops_ = 0;
  std::optional<PowerCutPlan> plan_;
  uint64_t plan_base_ = 0;
  std::atomic<uint64_t> faults_injected_{0};
};

}  // namespace f2sc::blockdev
