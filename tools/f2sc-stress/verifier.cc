#include "tools/f2sc-stress/verifier.h"

#include <algorithm>
#include <atomic>
#include <thread>

namespace f2sc::stress {

void VerifyTally::add(Mismatch m) {
  ++errors;
  if (listed.size() < kMaxListedMismatches) listed.push_back(std::move(m));
}

bool verify_range(Target& t, const ShadowFile& f, uint64_t first, uint64_t blocks,
                  VerifyTally* tally) {
  std::vector<std::byte> buf(blocks * kBlockBytes);
  auto n = t.read(f.handle, first * kBlockBytes, buf);
  if (!n) {
    for (uint64_t b = first; b < first + blocks; ++b)
      tally->add(Mismatch{f.name, b * kBlockBytes, b < f.hashes.size() ? f.hashes[b] : 0, 0,
                          "read error: " + n.error().message});
    return false;
  }
  tally->bytes += *n;
  const uint64_t whole = *n / kBlockBytes;
  std::vector<Mismatch> bad;
  check_blocks(f, first, std::span<const std::byte>(buf).first(whole * kBlockBytes), &bad);
  for (auto& m : bad) tally->add(std::move(m));
  for (uint64_t b = first + whole; b < first + blocks; ++b)
    tally->add(Mismatch{f.name, b * kBlockBytes, b < f.hashes.size() ? f.hashes[b] : 0, 0,
                        "short read: " + std::to_string(*n) + " of " + std::to_string(buf.size()) +
                            " bytes from offset " + std::to_string(first * kBlockBytes)});
  return bad.empty() && whole == blocks;
}

bool verify_file(Target& t, const ShadowFile& f, VerifyTally* tally) {
  bool ok = true;
  auto size = t.size(f.handle);
  if (!size) {
    tally->add(Mismatch{f.name, 0, 0, 0, "getattr failed: " + size.error().message});
    return false;
  }
  // After a failed write the size may be anywhere up to where that write would have ended.
  uint64_t blocks = f.blocks();
  if (*size >= f.size && *size <= std::max(f.size, f.size_max) && *size % kBlockBytes == 0) {
    blocks = *size / kBlockBytes;
  } else {
    tally->add(Mismatch{
        f.name, 0, f.size, *size,
        "size: expected " + std::to_string(f.size) + " bytes, found " + std::to_string(*size)});
    ok = false;
  }
  constexpr uint64_t kChunk = 256;  // blocks: 1 MiB reads
  for (uint64_t b = 0; b < blocks; b += kChunk)
    ok = verify_range(t, f, b, std::min(kChunk, blocks - b), tally) && ok;
  return ok;
}

VerifyTally verify_all(Target& t, const std::vector<ShadowFile>& files, unsigned threads,
                       uint64_t* files_checked) {
  threads = std::max(1u, threads);
  std::vector<VerifyTally> tallies(threads);
  std::atomic<size_t> next{0};
  std::atomic<uint64_t> checked{0};
  std::vector<std::thread> pool;
  for (unsigned i = 0; i < threads; ++i) {
    pool.emplace_back([&, i] {
      for (size_t k = next++; k < files.size(); k = next++) {
        if (!files[k].created) continue;
        verify_file(t, files[k], &tallies[i]);
        ++checked;
      }
    });
  }
  for (auto& th : pool) th.join();
  VerifyTally all;
  for (auto& v : tallies) {
    all.bytes += v.bytes;
    all.errors += v.errors;
    for (auto& m : v.listed)
      if (all.listed.size() < kMaxListedMismatches) all.listed.push_back(std::move(m));
  }
  *files_checked = checked;
  return all;
}

}  // namespace f2sc::stress
