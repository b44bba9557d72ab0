// The crash tester's workload and its model (f2sc-stress --crash).
//
// The workload is a seeded sequence of creates, whole-block writes (appends and
// overwrites), truncates, unlinks, fsyncs, syncs and explicit GC rounds on a few files in
// the root directory, keeping the filesystem 70-85% full so GC moves blocks. It runs on one
// thread, so the same seed issues the same device operations (replays are exact).
//
// The model keeps, per file name:
//   - sealed: the state after the last successful fsync() of the file, sync(), or
//     gc_collect() that wrote a checkpoint (a commit point too), if nothing touched the name
//     since. A sealed file must survive a crash exactly (a sealed absence: the name must not
//     exist). Problems call it "fsync'd" whichever of the three sealed it.
//   - history: for every block index, the xxHash of every content ever written there
//     (recorded before the write is issued, so a write cut by the power loss counts), so
//     "no file holds data that was never written to it" can be checked; zeros are allowed
//     anywhere (holes, extensions).
//
// Thread safety: plain values and functions used by one thread.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <unordered_set>
#include <vector>

#include "base/error.h"
#include "blockdev/fault_device.h"
#include "fs/file_system.h"

namespace f2sc::stress {

struct CrashFileState {
  bool exists = false;
  uint64_t size = 0;             // bytes
  std::vector<uint64_t> hashes;  // per block below size; zero_block_hash() for holes
};

struct CrashFile {
  uint32_t id = 0;
  std::string name;
  uint32_t ino = 0;
  bool create_attempted = false;  // the name may exist on the device
  CrashFileState now;             // what the filesystem holds (in memory)
  std::optional<CrashFileState> sealed;
  std::vector<std::unordered_set<uint64_t>> history;  // per block index
  uint64_t max_size = 0;                              // largest size ever asked for
};

struct CrashModel {
  std::vector<CrashFile> files;
  CrashFile* find(std::string_view name);
  const CrashFile* find(std::string_view name) const;
};

uint64_t zero_block_hash();

struct CrashWorkloadOptions {
  uint64_t seed = 1;
  uint64_t ops = 400;  // workload operations (each may do many device operations)
  uint32_t files = 10;
  double fill_low = 0.70, fill_high = 0.85;  // of the capacity users may fill
  bool explicit_gc = true;                   // gc_collect(1) now and then, on this thread
};

struct CrashWorkloadResult {
  uint64_t ops_done = 0;
  bool power_cut = false;         // an operation failed because the power was cut
  std::string cut_during;         // the operation that saw the cut ("write f03", "gc", ...)
  std::string error;              // an operation failed without a power cut (a bug)
  uint64_t enospc = 0;            // writes refused for space (allowed)
  uint64_t gc_checkpoints = 0;    // gc_collect() rounds that checkpointed (sealing all)
  uint64_t peak_used_blocks = 0;  // of capacity_blocks
  uint64_t capacity_blocks = 0;
};

// Runs the workload on a mounted `fs` whose device is `dev`, updating `model`. Stops at
// the first operation that fails while `dev` is powered off (the cut), or on an error other
// than ENOSPC (recorded in `error`).
CrashWorkloadResult run_crash_workload(fs::FileSystem& fs, const blockdev::FaultDevice& dev,
                                       const CrashWorkloadOptions& opts, CrashModel* model);

// Checks a mounted filesystem after the crash against the model: every sealed file exists
// with exactly its content (sealed absences are absent); every file present holds, block by
// block, only contents once written at that block or zeros, within the largest size it ever
// had; no name exists that the workload never created. Returns one line per problem (empty:
// all good); at most `max_problems` lines plus a count of the rest.
std::vector<std::string> check_after_crash(fs::FileSystem& fs, const CrashModel& model,
                                           size_t max_problems = 8);

// The recovered filesystem must keep working: two GC rounds over it (moving what survived),
// then a new file written, fsync'd, read back and unlinked, and a sync. Returns one line
// per problem (ENOSPC is not one). Run check_after_crash again afterwards: GC on a wrongly
// recovered SIT or SSA corrupts what survived.
std::vector<std::string> exercise_after_crash(fs::FileSystem& fs);

// fsck.f2fs --dry-run judged strictly: exit 0, its "[FSCK] other corrupted bugs [Ok..]"
// line present, and no line that reports a failure or a fix (fsck.f2fs 1.15 prints
// "[FSCK] fixing SIT types" on every run: that line is allowed). With `crashed`, the
// checkpoint pack selection's own messages ("\tInvalid CP CRC offset: N", "\tInvalid CP
// CRC: ...") are allowed too: a cut between a pack's header and its commit block leaves
// that pack invalid, and fsck.f2fs (like the kernel) then uses the other one; an image
// with no valid pack still fails. `output` gets what it printed. `program` is the path
// fsck_f2fs_path() found. An error when it cannot be run.
Result<bool> fsck_f2fs_clean(const std::string& program, const std::string& image,
                             std::string* output, bool crashed = false);

// fsck.f2fs on PATH, or in /usr/sbin or /sbin (not on users' PATH on Debian); empty if none.
std::string fsck_f2fs_path();

}  // namespace f2sc::stress
