#include "gc/migrator.h"

#include <algorithm>
#include <bitset>
#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

namespace f2sc::gc {

using segment::kBlocksPerSeg;
using segment::Log;

struct Migrator::Chunk {
  std::vector<LiveBlock> blocks;  // sources, in request order
  BlockKind kind = BlockKind::kData;
  uint32_t dst = 0;
  blockdev::CopyRequest request;
  std::optional<Result<blockdev::CopyResult>> done;  // set by the completion
};

Migrator::Migrator(segment::SegmentManager& sm, blockdev::BlockDevice& dev, BlockOwners& owners,
                   GcStats& stats, MigratorOptions options)
    : sm_(sm), dev_(dev), owners_(owners), stats_(stats), options_(options) {
  options_.max_in_flight = std::max(1u, options_.max_in_flight);
}

Status Migrator::scan(uint32_t secno, std::vector<LiveBlock>& data, std::vector<LiveBlock>& node,
                      MigrationResult& result) {
  const segment::Layout& L = sm_.layout();
  for (uint32_t k = 0; k < L.segs_per_sec; ++k) {
    const uint32_t segno = secno * L.segs_per_sec + k;
    const segment::SegmentInfo info = sm_.segment(segno);
    if (info.valid == 0) continue;
    auto sums = sm_.summary_block(segno);
    if (!sums) {
      ++result.errors;
      ++stats_.owner_errors;
      continue;  // without owners nothing in this segment can move
    }
    const BlockKind kind = segment::is_node_log(info.type) ? BlockKind::kNode : BlockKind::kData;
    // The SIT's log type and the SSA footer must agree on data vs node, or the summaries
    // cannot be trusted to name owners: leave the segment alone.
    const uint8_t want = kind == BlockKind::kNode ? segment::kSumTypeNode : segment::kSumTypeData;
    if (sums->footer.entry_type != want) {
      ++result.errors;
      ++stats_.owner_errors;
      continue;
    }
    const std::bitset<kBlocksPerSeg> valid = sm_.segment_valid_map(segno);
    for (uint32_t off = 0; off < kBlocksPerSeg; ++off) {
      if (!valid.test(off)) continue;
      const uint32_t addr = L.seg_start(segno) + off;
      ++stats_.blocks_scanned;
      const segment::Summary sum = sums->entries[off];
      auto live = owners_.is_live(addr, sum, kind);
      if (!live) {
        ++result.errors;
        ++stats_.owner_errors;
        continue;
      }
      if (!*live) {
        ++result.not_live;
        ++stats_.blocks_dead;
        continue;
      }
      (kind == BlockKind::kNode ? node : data).push_back({addr, sum});
      ++result.live_blocks;
    }
  }
  return {};
}

std::vector<uint8_t> Migrator::retry_blocks(const Chunk& chunk, MigrationResult& result) {
  const uint32_t bs = dev_.block_size();
  std::vector<uint8_t> ok(chunk.blocks.size(), 0);
  std::vector<std::byte> buf(bs);
  for (size_t i = 0; i < chunk.blocks.size(); ++i) {
    const LiveBlock& b = chunk.blocks[i];
    ++stats_.blocks_retried;
    if (auto r = dev_.read(b.addr, buf); !r) {
      if (r.error().code == Errc::kPowerCut) break;
      ++stats_.unreadable_blocks;
      result.unreadable.push_back({b.addr, chunk.kind, b.sum, r.error().message});
      continue;
    }
    if (auto w = dev_.write(chunk.dst + static_cast<uint32_t>(i), buf); !w) {
      if (w.error().code == Errc::kPowerCut) break;
      ++stats_.unwritable_blocks;
      continue;
    }
    ok[i] = 1;
    ++stats_.blocks_emulated;
    stats_.copy_host_bytes += 2 * uint64_t{bs};
  }
  return ok;
}

Status Migrator::commit(Chunk& chunk, MigrationResult& result) {
  const Result<blockdev::CopyResult>& copied = *chunk.done;
  const uint64_t n = chunk.blocks.size();
  std::vector<uint8_t> ok;  // empty: every copy landed
  if (!copied) {
    ++result.copy_faults;
    ++stats_.copy_faults;
    if (copied.error().code != Errc::kPowerCut) ok = retry_blocks(chunk, result);
    if (std::find(ok.begin(), ok.end(), 1) == ok.end()) {
      // Nothing to repoint: the old blocks stay valid and owned; drop every destination.
      std::vector<uint32_t> dropped(n);
      for (uint64_t i = 0; i < n; ++i) dropped[i] = chunk.dst + static_cast<uint32_t>(i);
      Status status = sm_.invalidate_blocks(dropped);
      sm_.release_run(chunk.dst, static_cast<uint32_t>(n));
      if (!status) return fail(with_context(status.error(), "GC: dropping a failed copy"));
      return {};
    }
  } else {
    stats_.add_copy(*copied, n, chunk.request.sources.size(), dev_.block_size());
    result.command_faults += copied->failed_commands;
  }
  return owners_.run_commit([&]() -> Status {
    // Checkpoints may record the copies from here on: each is owned or invalid by the end.
    struct Release {
      segment::SegmentManager& sm;
      uint32_t first, n;
      ~Release() { sm.release_run(first, n); }
    } release{sm_, chunk.dst, static_cast<uint32_t>(n)};
    // What each block leaves behind: its old address when repointed, else its copy.
    std::vector<uint32_t> dead(n);
    for (uint64_t i = 0; i < n; ++i) {
      const LiveBlock& b = chunk.blocks[i];
      const uint32_t to = chunk.dst + static_cast<uint32_t>(i);
      dead[i] = to;
      if (!ok.empty() && !ok[i]) {
        // This copy did not land: the block stays where it is.
      } else if (auto moved = owners_.repoint(b.addr, to, b.sum, chunk.kind); !moved) {
        ++result.errors;
        ++stats_.owner_errors;
      } else if (*moved) {
        dead[i] = b.addr;
        ++result.moved;
        ++(chunk.kind == BlockKind::kNode ? stats_.node_blocks_moved : stats_.data_blocks_moved);
      } else {
        ++result.dropped;
        ++stats_.dropped_copies;
      }
    }
    if (auto s = sm_.invalidate_blocks(dead); !s)
      return fail(with_context(s.error(), "GC: committing copies to " + std::to_string(chunk.dst) +
                                              ".." + std::to_string(chunk.dst + n - 1)));
    return {};
  });
}

// The requests of one migrate() call that are submitted and not yet committed.
struct Migrator::Flight {
  std::mutex mu;
  std::condition_variable cv;
  std::deque<std::unique_ptr<Chunk>> chunks;  // submission order
  Status first_error;
};

void Migrator::retire_oldest(Flight& flight, MigrationResult& result) {
  Chunk& c = *flight.chunks.front();
  {
    std::unique_lock lock(flight.mu);
    flight.cv.wait(lock, [&] { return c.done.has_value(); });
  }
  if (auto s = commit(c, result); !s && flight.first_error) flight.first_error = s;
  flight.chunks.pop_front();
}

void Migrator::move(std::vector<LiveBlock>& blocks, BlockKind kind, bool last, Flight& flight,
                    MigrationResult& result) {
  const Log log = kind == BlockKind::kNode ? Log::kColdNode : Log::kColdData;
  const blockdev::CopyLimits lim = dev_.limits().copy;
  const uint64_t max_blocks =
      std::min<uint64_t>(std::max<uint64_t>(lim.max_copy_sectors, 1), kBlocksPerSeg);
  const uint64_t max_ranges = std::max<uint32_t>(lim.max_copy_nr_ranges, 1);
  const uint64_t max_range = std::max<uint64_t>(lim.max_copy_range_sectors, 1);

  size_t pos = 0;
  while (pos < blocks.size() && flight.first_error && !result.out_of_space) {
    // Stay inside the log's current segment when it has room (no wasted tail).
    uint64_t cap = max_blocks;
    if (uint32_t room = sm_.log_free_blocks(log); room > 0) cap = std::min<uint64_t>(cap, room);
    auto chunk = std::make_unique<Chunk>();
    chunk->kind = kind;
    std::vector<segment::Summary> sums;
    const size_t start = pos;
    bool full = false;
    while (pos < blocks.size() && !(full = chunk->blocks.size() == cap)) {
      const LiveBlock& b = blocks[pos];
      auto& ranges = chunk->request.sources;
      const bool extends = !ranges.empty() && ranges.back().lba + ranges.back().blocks == b.addr &&
                           ranges.back().blocks < max_range;
      if (!extends) {
        if ((full = ranges.size() == max_ranges)) break;
        ranges.push_back({b.addr, 0});
      }
      ++ranges.back().blocks;
      chunk->blocks.push_back(b);
      sums.push_back(b.sum);
      ++pos;
    }
    full = full || chunk->blocks.size() == cap;
    if (!full && !last) {
      pos = start;  // the next victim's blocks may fill this request
      break;
    }
    auto dst = sm_.allocate_held_run(log, sums);
    if (!dst) {
      if (dst.error().code != Errc::kNoSpace) {
        flight.first_error = fail(with_context(dst.error(), "GC: allocating a destination run"));
        break;
      }
      result.out_of_space = true;
      break;
    }
    chunk->dst = *dst;
    chunk->request.dst = *dst;
    if (result.command_faults >= options_.offload_fault_limit && dev_.offload_enabled()) {
      chunk->request.emulate = true;
      if (!result.offload_suspended) ++stats_.offload_suspensions;
      result.offload_suspended = true;
    }
    ++result.copy_requests;
    ++stats_.copy_requests;
    if (flight.chunks.size() >= options_.max_in_flight) retire_oldest(flight, result);
    Chunk* c = chunk.get();
    flight.chunks.push_back(std::move(chunk));
    if (options_.on_copy_request) options_.on_copy_request(c->request);
    dev_.copy_async(c->request, [&flight, c](Result<blockdev::CopyResult> r) {
      std::lock_guard lock(flight.mu);
      c->done = std::move(r);
      flight.cv.notify_all();
    });
  }
  blocks.erase(blocks.begin(), blocks.begin() + static_cast<ptrdiff_t>(pos));
}

Result<MigrationResult> Migrator::migrate(std::span<const uint32_t> sections) {
  MigrationResult result;
  for (uint32_t secno : sections)
    if (secno >= sm_.layout().sections)
      return fail(Errc::kInvalidArgument, "GC: no section " + std::to_string(secno));
  // Each victim's requests are submitted as soon as it is scanned, so its copies run while
  // the next victim is scanned; a request that the next victim may fill waits for it.
  Flight flight;
  std::vector<LiveBlock> data, node;
  for (size_t i = 0; i < sections.size(); ++i) {
    if (auto s = scan(sections[i], data, node, result); !s && flight.first_error)
      flight.first_error = s;
    ++result.sections;
    const bool last = i + 1 == sections.size() || !flight.first_error;
    move(node, BlockKind::kNode, last, flight, result);
    move(data, BlockKind::kData, last, flight, result);
    if (!flight.first_error) break;
  }
  while (!flight.chunks.empty()) retire_oldest(flight, result);
  for (uint32_t secno : sections)
    if (sm_.section_valid_blocks(secno) == 0) ++result.sections_freed;
  stats_.victims += result.sections;
  stats_.victims_freed += result.sections_freed;
  if (!flight.first_error) return fail(flight.first_error.error());
  return result;
}

}  // namespace f2sc::gc
