// The shadow model: what every file must hold. Each 4 KiB block's content is generated from
// (seed, file, block, version) and only its xxHash (XXH3-64) is kept, 8 bytes per block, so
// a 256 MiB filesystem needs half a MiB of model.
//
// Thread safety: a ShadowFile belongs to one runner thread at a time; generate() and
// hash_block() are pure.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <unordered_map>
#include <vector>

namespace f2sc::stress {

inline constexpr uint64_t kBlockBytes = 4096;

struct ShadowFile {
  uint32_t id = 0;
  std::string name;
  uint64_t handle = 0;
  bool created = false;          // the fill created it (handle is valid)
  uint64_t size = 0;             // bytes, a multiple of kBlockBytes
  std::vector<uint64_t> hashes;  // one per block below size
  uint64_t version = 0;          // bumped per block written (content differs every write)
  // After a write that failed, the blocks it covered may hold the old or the new content:
  // the new hash is accepted too, until a later write succeeds there. The size may then be
  // anywhere in [size, size_max].
  std::unordered_map<uint64_t, uint64_t> alt;
  uint64_t size_max = 0;

  uint64_t blocks() const { return size / kBlockBytes; }
  bool matches(uint64_t block, uint64_t hash) const;
};

uint64_t hash_block(std::span<const std::byte> block);

// A block's seeded content from (seed, file, block, version): pseudo-random words, the first
// three naming it (tag, file:block, version) for anyone looking at a dump.
inline constexpr uint64_t kStressBlockTag = 0x6632736373747273ull;  // "srtscs2f"
void fill_block(uint64_t seed, uint32_t file, uint64_t block, uint64_t version, std::byte* out,
                uint64_t tag = kStressBlockTag);

// Fills `out` (whole blocks) with the content of blocks [first, ...) of file `f` at the next
// versions; their hashes go to *hashes. The model is unchanged until commit().
void generate(uint64_t seed, ShadowFile& f, uint64_t first_block, std::span<std::byte> out,
              std::vector<uint64_t>* hashes);

// The write of `hashes` at first_block succeeded: the model now expects them (the file
// grows if they end past its size).
void commit(ShadowFile& f, uint64_t first_block, const std::vector<uint64_t>& hashes);

// The write failed: each block may hold the old or the new content.
void mark_uncertain(ShadowFile& f, uint64_t first_block, const std::vector<uint64_t>& hashes);

// A verification failure: where, and what the model expected against what was read.
struct Mismatch {
  std::string file;
  uint64_t offset = 0;
  uint64_t expected = 0;  // xxHash of the block
  uint64_t found = 0;
  std::string what;  // "content", "short read", "size", "read error: ..."
};

std::string describe(const Mismatch& m);

// Checks `data` (whole blocks read from offset first_block * 4 KiB) against the model;
// appends a Mismatch per bad block to *out. Returns the number of bad blocks.
size_t check_blocks(const ShadowFile& f, uint64_t first_block, std::span<const std::byte> data,
                    std::vector<Mismatch>* out);

}  // namespace f2sc::stress
