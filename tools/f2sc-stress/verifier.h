// The verifier: reads file blocks back through the Target and checks them against the
// shadow model (xxHash per 4 KiB block). Used for the reads during the run and for the full
// pass at the end.
//
// Thread safety: as the Target; a ShadowFile must not change during a check.
#pragma once

#include <cstdint>
#include <vector>

#include "tools/f2sc-stress/shadow.h"
#include "tools/f2sc-stress/target.h"

namespace f2sc::stress {

// Appends to `out` at most this many mismatches per call site; `errors` counts them all.
inline constexpr size_t kMaxListedMismatches = 20;

struct VerifyTally {
  uint64_t errors = 0;
  uint64_t bytes = 0;
  std::vector<Mismatch> listed;

  void add(Mismatch m);
};

// Reads `blocks` blocks from `first`; each bad block (content, short read, read error) is
// tallied. Returns true when all were good.
bool verify_range(Target& t, const ShadowFile& f, uint64_t first, uint64_t blocks,
                  VerifyTally* tally);

// The whole file: its size, then every block in 1 MiB reads.
bool verify_file(Target& t, const ShadowFile& f, VerifyTally* tally);

// Every file the fill created, spread over `threads` threads; *files gets their count.
VerifyTally verify_all(Target& t, const std::vector<ShadowFile>& files, unsigned threads,
                       uint64_t* files_checked);

}  // namespace f2sc::stress
