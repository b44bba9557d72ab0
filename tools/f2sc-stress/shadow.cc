#include "tools/f2sc-stress/shadow.h"

#include <xxhash.h>

#include <algorithm>
#include <cinttypes>
#include <cstdio>
#include <cstring>

namespace f2sc::stress {

namespace {

uint64_t splitmix64(uint64_t& x) {
  uint64_t z = (x += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

}  // namespace

void fill_block(uint64_t seed, uint32_t file, uint64_t block, uint64_t version, std::byte* out,
                uint64_t tag) {
  uint64_t x = seed ^ (uint64_t{file} << 40) ^ (block * 0x2545f4914f6cdd1dull) ^
               (version * 0xd1342543de82ef95ull);
  uint64_t words[kBlockBytes / 8];
  for (auto& w : words) w = splitmix64(x);
  // The first 24 bytes say what the block is, for anyone looking at a dump.
  words[0] = tag;
  words[1] = (uint64_t{file} << 32) | (block & 0xffffffffull);
  words[2] = version;
  std::memcpy(out, words, kBlockBytes);
}

uint64_t hash_block(std::span<const std::byte> block) {
  return XXH3_64bits(block.data(), block.size());
}

bool ShadowFile::matches(uint64_t block, uint64_t hash) const {
  if (block < hashes.size() && hashes[block] == hash) return true;
  auto it = alt.find(block);
  return it != alt.end() && it->second == hash;
}

void generate(uint64_t seed, ShadowFile& f, uint64_t first_block, std::span<std::byte> out,
              std::vector<uint64_t>* hashes) {
  const uint64_t n = out.size() / kBlockBytes;
  hashes->resize(n);
  for (uint64_t i = 0; i < n; ++i) {
    std::byte* b = out.data() + i * kBlockBytes;
    fill_block(seed, f.id, first_block + i, ++f.version, b);
    (*hashes)[i] = hash_block({b, kBlockBytes});
  }
}

void commit(ShadowFile& f, uint64_t first_block, const std::vector<uint64_t>& hashes) {
  const uint64_t end = first_block + hashes.size();
  if (f.hashes.size() < end) f.hashes.resize(end);
  for (size_t i = 0; i < hashes.size(); ++i) {
    f.hashes[first_block + i] = hashes[i];
    if (!f.alt.empty()) f.alt.erase(first_block + i);
  }
  f.size = std::max(f.size, end * kBlockBytes);
  f.size_max = std::max(f.size_max, f.size);
}

void mark_uncertain(ShadowFile& f, uint64_t first_block, const std::vector<uint64_t>& hashes) {
  const uint64_t end = first_block + hashes.size();
  if (f.hashes.size() < end) f.hashes.resize(end);
  for (size_t i = 0; i < hashes.size(); ++i) f.alt[first_block + i] = hashes[i];
  f.size_max = std::max(f.size_max, end * kBlockBytes);
}

std::string describe(const Mismatch& m) {
  char buf[160];
  std::snprintf(buf, sizeof buf, "offset %" PRIu64 " (block %" PRIu64 "): ", m.offset,
                m.offset / kBlockBytes);
  std::string out = m.file + ": " + buf;
  const std::string_view kContent = "content";
  const std::string_view what = m.what;
  if (what.size() >= kContent.size() && what.substr(what.size() - kContent.size()) == kContent) {
    std::snprintf(buf, sizeof buf, "expected xxh3 %016" PRIx64 ", found %016" PRIx64, m.expected,
                  m.found);
    out += std::string(what.substr(0, what.size() - kContent.size())) + buf;
  } else {
    out += m.what;
  }
  return out;
}

size_t check_blocks(const ShadowFile& f, uint64_t first_block, std::span<const std::byte> data,
                    std::vector<Mismatch>* out) {
  size_t bad = 0;
  const uint64_t n = data.size() / kBlockBytes;
  for (uint64_t i = 0; i < n; ++i) {
    const uint64_t b = first_block + i;
    const uint64_t found = hash_block(data.subspan(i * kBlockBytes, kBlockBytes));
    if (f.matches(b, found)) continue;
    const uint64_t expected = b < f.hashes.size() ? f.hashes[b] : 0;
    ++bad;
    out->push_back(Mismatch{f.name, b * kBlockBytes, expected, found, "content"});
  }
  return bad;
}

}  // namespace f2sc::stress
