// EmulatedController: Identify, the I/O commands, and every Copy status code with the spec's
// DW0 rules, on memory and file namespaces.
#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <thread>

#include <catch2/catch.hpp>

#include "nvme_test_util.h"

namespace f2sc::nvme {
namespace {

using testing::copy;
using testing::memory_controller;
using testing::random_bytes;
using testing::Range;
using testing::read;
using testing::write;

constexpr uint32_t kBs = 4096;

// A 256-block memory namespace filled with seeded data; returns the data.
std::vector<std::byte> fill(Controller& c, uint32_t bs, uint64_t blocks, uint64_t seed) {
  auto data = random_bytes(blocks * bs, seed);
  for (uint64_t at = 0; at < blocks; at += 64) {
    std::vector<std::byte> part(data.begin() + static_cast<ptrdiff_t>(at * bs),
                                data.begin() + static_cast<ptrdiff_t>((at + 64) * bs));
    REQUIRE(write(c, at, part, bs).status.ok());
  }
  return data;
}

std::vector<std::byte> blocks_of(const std::vector<std::byte>& image, uint64_t lba, uint64_t blocks,
                                 uint32_t bs = kBs) {
  return {image.begin() + static_cast<ptrdiff_t>(lba * bs),
          image.begin() + static_cast<ptrdiff_t>((lba + blocks) * bs)};
}

EmulatedControllerOptions small_limits() {
  EmulatedControllerOptions o;
  o.memory_bytes = 256 * kBs;
  o.mssrl = 16;
  o.mcl = 32;
  o.msrc = 3;
  return o;
}

TEST_CASE("spec: status, Copy fields and Identify helpers encode the exact bits") {
  Status s = Status::command_specific(kScCommandSizeLimitExceeded);
  CHECK(s.to_passthru() == 0x4183);
  CHECK(Status::from_passthru(0x4183) == s);
  CHECK(s.to_cqe(true) == (0x4183 << 1 | 1));
  CHECK(Status::from_cqe(s.to_cqe(true)) == s);
  CHECK(Status::generic(kScLbaOutOfRange).to_passthru() == 0x4080);
  CHECK(Status::generic(kScInternalError, false).to_passthru() == 0x0006);
  CHECK(describe(s).find("Command Size Limit Exceeded") != std::string::npos);

  CopyFields f;
  f.sdlba = 0x1122334455667788ull;
  f.nr = 3;
  f.desfmt = 1;
  f.prinfor = 0x5;
  f.dtype = 0x2;
  f.prinfow = 0x9;
  f.fua = true;
  f.lr = true;
  f.dspec = 0xbeef;
  SubmissionEntry e;
  f.encode(e);
  CHECK(e.opcode == 0x19);
  CHECK(e.cdw10 == 0x55667788u);
  CHECK(e.cdw11 == 0x11223344u);
  CHECK(e.cdw12 == (3u | 1u << 8 | 5u << 12 | 2u << 20 | 9u << 26 | 1u << 30 | 1u << 31));
  CHECK(e.cdw13 == 0xbeef0000u);
  CHECK(CopyFields::decode(e) == f);

  auto rw = make_rw(IoOpcode::kRead, 1, 0x100000002ull, 8);
  CHECK(rw.cdw10 == 2);
  CHECK(rw.cdw11 == 1);
  CHECK(rw.cdw12 == 7);
}

TEST_CASE("Identify reports the namespace, the copy limits, ONCS and OCFS") {
  for (uint32_t lba : {512u, 4096u}) {
    EmulatedControllerOptions o = small_limits();
    o.lba_size = lba;
    auto c = memory_controller(o);
    auto ctrl = c->identify_controller();
    auto ns = c->identify_namespace();
    REQUIRE(ctrl);
    REQUIRE(ns);
    CHECK((ctrl->oncs & kOncsCopy) != 0);
    CHECK(ctrl->ocfs == (kOcfsFormat0 | kOcfsFormat1));
    CHECK(ctrl->mdts == 7);
    CHECK(ctrl->nn == 1);
    CHECK(ns->nsze == 256 * kBs / lba);
    CHECK(block_size_of(*ns) == lba);
    CHECK(ns->mssrl == 16);
    CHECK(ns->mcl == 32);
    CHECK(ns->msrc == 3);
  }
  EmulatedControllerOptions o = small_limits();
  o.copy = false;
  auto c = memory_controller(o);
  auto ctrl = c->identify_controller();
  REQUIRE(ctrl);
  CHECK((ctrl->oncs & kOncsCopy) == 0);
  CHECK(ctrl->ocfs == 0);

  // A bad CNS and an unknown admin opcode.
  SubmissionEntry e;
  e.opcode = 0x06;
  e.cdw10 = 0x55;
  std::vector<std::byte> buf(4096);
  auto r = c->admin(e, buf);
  REQUIRE(r);
  CHECK(r->status.to_passthru() == 0x4002);
  e.opcode = 0x7f;
  r = c->admin(e, buf);
  REQUIRE(r);
  CHECK(r->status.to_passthru() == 0x4001);
}

TEST_CASE("options are checked when the controller is created") {
  for (auto change : std::vector<std::function<void(EmulatedControllerOptions&)>>{
           [](auto& o) { o.lba_size = 1024; }, [](auto& o) { o.mssrl = 0; },
           [](auto& o) { o.mssrl = 65536; }, [](auto& o) { o.mcl = 0; },
           [](auto& o) { o.msrc = 256; }, [](auto& o) { o.queue_depth = 0; },
           [](auto& o) { o.memory_bytes = 1000; }}) {
    EmulatedControllerOptions o;
    o.memory_bytes = 1 << 20;
    change(o);
    auto c = EmulatedController::create(o);
    REQUIRE_FALSE(c);
    CHECK(c.error().code == Errc::kInvalidArgument);
  }
  EmulatedControllerOptions o;
  o.path = "/nonexistent/f2sc.img";
  auto c = EmulatedController::create(o);
  REQUIRE_FALSE(c);
  CHECK(c.error().message.find("cannot open") != std::string::npos);
}

TEST_CASE("Read and Write round trip; bad ranges, sizes, namespaces and opcodes fail") {
  auto c = memory_controller(small_limits());
  auto data = random_bytes(8 * kBs, 1);
  REQUIRE(write(*c, 100, data, kBs).status.ok());
  CHECK(read(*c, 100, 8, kBs) == data);

  std::vector<std::byte> buf(256 * kBs);
  auto run = [&](SubmissionEntry e) {
    auto r = c->execute(1, e, buf);
    REQUIRE(r);
    return r->status.to_passthru();
  };
  CHECK(run(make_rw(IoOpcode::kRead, 1, 250, 7)) == 0x4080);  // past the end
  CHECK(run(make_rw(IoOpcode::kWrite, 1, 256, 1)) == 0x4080);
  CHECK(run(make_rw(IoOpcode::kRead, 1, 0, 128)) == 0x0000);  // MDTS 7: 512 KiB
  CHECK(run(make_rw(IoOpcode::kRead, 1, 0, 129)) == 0x4002);  // above MDTS
  CHECK(run(make_rw(IoOpcode::kRead, 2, 0, 1)) == 0x400b);    // no namespace 2
  SubmissionEntry bad;
  bad.opcode = 0x7e;
  bad.nsid = 1;
  CHECK(run(bad) == 0x4001);
  SubmissionEntry flush;
  flush.opcode = 0;
  flush.nsid = 1;
  CHECK(run(flush) == 0);
  flush.nsid = 0xffffffff;  // all namespaces
  CHECK(run(flush) == 0);
  CHECK(run(make_rw(IoOpcode::kWriteZeroes, 1, 255, 2)) == 0x4080);
  CHECK(run(make_rw(IoOpcode::kWriteZeroes, 1, 255, 1)) == 0x0000);
  // Copy on a foreign namespace, and with fewer descriptor bytes than NR promises.
  CopyFields f;
  f.sdlba = 100;
  f.nr = 1;
  SubmissionEntry copy_cmd;
  f.encode(copy_cmd);
  copy_cmd.nsid = 2;
  CHECK(run(copy_cmd) == 0x400b);
  copy_cmd.nsid = 1;
  std::vector<std::byte> one_entry(32);
  auto short_buf = c->execute(0, copy_cmd, one_entry);
  REQUIRE(short_buf);
  CHECK(short_buf->status.to_passthru() == 0x4002);
  // A data buffer smaller than the transfer.
  std::vector<std::byte> small(kBs);
  auto r = c->execute(0, make_rw(IoOpcode::kRead, 1, 0, 2), small);
  REQUIRE(r);
  CHECK(r->status.to_passthru() == 0x4002);
}

TEST_CASE("Write Zeroes and Dataset Management deallocate read back as zeros") {
  for (bool file : {false, true}) {
    testing::TempImage img(256 * kBs);
    EmulatedControllerOptions o = small_limits();
    if (file) o.path = img.path();
    auto c = memory_controller(o);
    auto data = fill(*c, kBs, 256, 2);
    const std::vector<std::byte> zeros(4 * kBs);

    auto wz = make_rw(IoOpcode::kWriteZeroes, 1, 10, 4);
    auto r = c->execute(0, wz, {});
    REQUIRE(r);
    CHECK(r->status.ok());
    CHECK(read(*c, 10, 4, kBs) == zeros);
    CHECK(read(*c, 14, 1, kBs) == blocks_of(data, 14, 1));

    DsmRange ranges[2] = {{0, 4, 20}, {0, 4, 40}};
    SubmissionEntry dsm;
    dsm.opcode = 0x09;
    dsm.nsid = 1;
    dsm.cdw10 = 1;  // two ranges
    dsm.cdw11 = kDsmDeallocate;
    r = c->execute(0, dsm, std::as_writable_bytes(std::span(ranges)));
    REQUIRE(r);
    CHECK(r->status.ok());
    CHECK(read(*c, 20, 4, kBs) == zeros);
    CHECK(read(*c, 40, 4, kBs) == zeros);
    CHECK(read(*c, 24, 16, kBs) == blocks_of(data, 24, 16));

    ranges[1].slba = 254;  // 254 + 4 > 256
    r = c->execute(0, dsm, std::as_writable_bytes(std::span(ranges)));
    REQUIRE(r);
    CHECK(r->status.to_passthru() == 0x4080);
    CHECK(c->stats().dsm == 2);
  }
}

TEST_CASE("Copy moves multi-range data inside the device, formats 0h and 1h") {
  for (uint8_t fmt : {0, 1}) {
    for (uint32_t bs : {512u, 4096u}) {
      EmulatedControllerOptions o = small_limits();
      o.lba_size = bs;
      o.memory_bytes = 256 * bs;
      auto c = memory_controller(o);
      auto data = fill(*c, bs, 256, 3 + fmt);
      c->reset_stats();
      std::vector<Range> ranges{{10, 3}, {50, 16}, {5, 1}, {10, 3}};  // sources may repeat
      auto r = copy(*c, ranges, 200, fmt);
      CHECK(r.status.ok());
      CHECK(r.dw0 == 0);
      std::vector<std::byte> expect;
      for (const Range& x : ranges) {
        auto part = blocks_of(data, x.slba, x.blocks, bs);
        expect.insert(expect.end(), part.begin(), part.end());
      }
      CHECK(read(*c, 200, 23, bs) == expect);
      CHECK(read(*c, 223, 1, bs) == blocks_of(data, 223, 1, bs));
      ControllerStats s = c->stats();
      CHECK(s.copies == 1);
      CHECK(s.copy_ranges == 4);
      CHECK(s.bytes_copied_in_device == 23 * bs);
      // Only the descriptors crossed the host interface for the copy itself.
      CHECK(s.bytes_to_device == 4 * source_range_bytes(fmt));
      CHECK(s.bytes_to_host == 24 * bs);  // the two verifying reads
    }
  }
}

// Each limit at its value succeeds; one over fails with 0x4183, writes nothing, DW0 = 0.
TEST_CASE("Copy limits MSRC, MSSRL and MCL: at the limit succeeds, one over is 0x4183") {
  auto c = memory_controller(small_limits());  // mssrl 16, mcl 32, msrc 3 (4 ranges)
  auto data = fill(*c, kBs, 256, 5);
  struct Case {
    const char* what;
    std::vector<Range> at_limit, over;
  };
  for (const Case& k :
       {Case{"msrc", {{0, 1}, {1, 1}, {2, 1}, {3, 1}}, {{0, 1}, {1, 1}, {2, 1}, {3, 1}, {4, 1}}},
        Case{"mssrl", {{0, 16}}, {{0, 17}}},
        Case{"mssrl in a later range", {{0, 1}, {20, 16}}, {{0, 1}, {20, 17}}},
        Case{"mcl", {{0, 16}, {20, 16}}, {{0, 16}, {20, 16}, {40, 1}}}}) {
    INFO(k.what);
    auto ok = copy(*c, k.at_limit, 100);
    CHECK(ok.status.to_passthru() == 0);
    auto before = read(*c, 150, 40, kBs);
    auto over = copy(*c, k.over, 150);
    CHECK(over.status.to_passthru() == 0x4183);
    CHECK(over.status.dnr);
    CHECK(over.dw0 == 0);
    CHECK(read(*c, 150, 40, kBs) == before);
  }
  (void)data;
}

TEST_CASE("Copy past the end is LBA Out of Range; formats 2h/3h are Invalid Field") {
  auto c = memory_controller(small_limits());
  fill(*c, kBs, 256, 6);
  auto before = read(*c, 0, 256, kBs);
  CHECK(copy(*c, {{250, 7}}, 10).status.to_passthru() == 0x4080);  // source past the end
  CHECK(copy(*c, {{0, 4}}, 253).status.to_passthru() == 0x4080);   // destination past
  CHECK(copy(*c, {{0, 4}}, 252).status.to_passthru() == 0x0000);   // destination at the end
  CHECK(copy(*c, {{UINT64_MAX, 1}}, 0).status.to_passthru() == 0x4080);
  CHECK(copy(*c, {{0, 1}}, UINT64_MAX).status.to_passthru() == 0x4080);
  for (uint8_t fmt : {2, 3, 15}) {
    CopyFields f;
    f.sdlba = 100;
    f.desfmt = fmt;
    SubmissionEntry e;
    e.nsid = 1;
    f.encode(e);
    std::vector<std::byte> buf(64);
    auto r = c->execute(0, e, buf);
    REQUIRE(r);
    CHECK(r->status.to_passthru() == 0x4002);
  }
  auto after = read(*c, 0, 252, kBs);
  CHECK(std::equal(after.begin(), after.end(), before.begin()));
}

TEST_CASE("Copy rejects a source overlapping the destination with Overlapping I/O Range") {
  auto c = memory_controller(small_limits());
  fill(*c, kBs, 256, 7);
  auto before = read(*c, 0, 256, kBs);
  CHECK(copy(*c, {{0, 4}, {30, 4}}, 28).status.to_passthru() == 0x4187);  // [30,34) in [28,36)
  CHECK(copy(*c, {{10, 4}}, 13).status.to_passthru() == 0x4187);
  CHECK(copy(*c, {{10, 4}}, 7).status.to_passthru() == 0x4187);
  CHECK(read(*c, 0, 256, kBs) == before);
  CHECK(copy(*c, {{10, 4}}, 14).status.ok());  // adjacent is fine
}

TEST_CASE("copy=0 models a device without Copy: Invalid Command Opcode") {
  EmulatedControllerOptions o = small_limits();
  o.copy = false;
  auto c = memory_controller(o);
  auto r = copy(*c, {{0, 1}}, 10);
  CHECK(r.status.to_passthru() == 0x4001);
}

TEST_CASE("a Copy failing part way returns DW0 = the first range not copied") {
  auto c = memory_controller(small_limits());
  auto data = fill(*c, kBs, 256, 8);
  const Status media = Status::error(StatusCodeType::kMediaError, kScUnrecoveredReadError, false);
  c->inject_copy_fault(2, media);
  std::vector<Range> ranges{{0, 2}, {10, 3}, {20, 4}, {30, 1}};
  auto before = read(*c, 100, 10, kBs);
  auto r = copy(*c, ranges, 100);
  CHECK(r.status == media);
  CHECK(r.dw0 == 2);
  CHECK(read(*c, 100, 2, kBs) == blocks_of(data, 0, 2));
  CHECK(read(*c, 102, 3, kBs) == blocks_of(data, 10, 3));
  CHECK(read(*c, 105, 5, kBs) == blocks_of(before, 5, 5));  // ranges 2 and 3: untouched
  // The fault was one shot; a fault past the last range does not fire.
  c->inject_copy_fault(9, media);
  CHECK(copy(*c, ranges, 100).status.ok());
  CHECK(copy(*c, {{0, 1}, {1, 1}, {2, 1}, {3, 1}}, 200).dw0 == 0);
}

TEST_CASE("a file-backed namespace copies with copy_file_range; the image shows the result") {
  for (uint32_t bs : {512u, 4096u}) {
    testing::TempImage img(256 * uint64_t{bs});
    EmulatedControllerOptions o = small_limits();
    o.path = img.path();
    o.lba_size = bs;
    auto c = memory_controller(o);
    auto data = fill(*c, bs, 256, 9);
    REQUIRE(copy(*c, {{1, 2}, {7, 16}}, 128).status.ok());
    SubmissionEntry flush;
    flush.nsid = 1;
    REQUIRE(c->execute(0, flush, {})->status.ok());
    std::vector<std::byte> image(256 * uint64_t{bs});
    int fd = ::open(img.path().c_str(), O_RDONLY);
    REQUIRE(fd >= 0);
    REQUIRE(pread(fd, image.data(), image.size(), 0) == static_cast<ssize_t>(image.size()));
    ::close(fd);
    auto expect = data;
    std::copy_n(data.begin() + 1 * bs, 2 * bs, expect.begin() + 128 * bs);
    std::copy_n(data.begin() + 7 * bs, 16 * bs, expect.begin() + 130 * bs);
    CHECK(image == expect);
  }
}

TEST_CASE("queue pairs serve concurrent submitters within their depth") {
  EmulatedControllerOptions o;
  o.memory_bytes = 1024 * kBs;
  o.queues = 3;
  o.queue_depth = 4;
  o.workers_per_queue = 2;
  auto c = memory_controller(o);
  constexpr int kThreads = 4, kPerThread = 64;
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      // Each thread owns blocks t*256 .. t*256+255 and keeps up to 16 writes in flight.
      std::vector<std::vector<std::byte>> bufs(kPerThread);
      std::atomic<int> pending{kPerThread};
      for (int i = 0; i < kPerThread; ++i) {
        bufs[i] = random_bytes(kBs, t * 1000 + i);
        uint64_t lba = uint64_t(t) * 256 + i;
        c->submit(t + i, make_rw(IoOpcode::kWrite, 1, lba, 1), bufs[i], [&](Result<Completion> r) {
          if (!r || !r->status.ok()) failures++;
          pending--;
        });
      }
      while (pending.load() > 0) std::this_thread::yield();
      for (int i = 0; i < kPerThread; ++i) {
        std::vector<std::byte> back(kBs);
        auto r = c->execute(t + i, make_rw(IoOpcode::kRead, 1, uint64_t(t) * 256 + i, 1), back);
        if (!r || !r->status.ok() || back != bufs[i]) failures++;
      }
    });
  }
  for (auto& t : threads) t.join();
  CHECK(failures.load() == 0);
  ControllerStats s = c->stats();
  CHECK(s.writes == kThreads * kPerThread);
  CHECK(s.max_outstanding <= 4);  // the depth holds; the rest waited in the backlog
  CHECK(s.max_outstanding >= 1);
}

TEST_CASE("inline=1 runs a command to an idle queue on the caller; inline=0 never does") {
  for (bool inline_idle : {true, false}) {
    DYNAMIC_SECTION("inline " << inline_idle) {
      EmulatedControllerOptions o;
      o.memory_bytes = 64 * kBs;
      o.queues = 1;
      o.inline_idle = inline_idle;
      auto c = memory_controller(o);
      std::vector<std::byte> buf = random_bytes(kBs, 7);
      std::atomic<bool> done{false};
      std::thread::id ran_on;
      c->submit(0, make_rw(IoOpcode::kWrite, 1, 3, 1), buf, [&](Result<Completion> r) {
        CHECK((r && r->status.ok()));
        ran_on = std::this_thread::get_id();
        done = true;
      });
      if (inline_idle) {
        CHECK(done.load());  // completed before submit() returned
        CHECK(ran_on == std::this_thread::get_id());
      } else {
        while (!done.load()) std::this_thread::yield();
        CHECK(ran_on != std::this_thread::get_id());
      }
      std::vector<std::byte> back(kBs);
      REQUIRE(c->execute(0, make_rw(IoOpcode::kRead, 1, 3, 1), back));
      CHECK(back == buf);
      // A timing model always queues: completions must be held for their simulated time.
      o.timing = TimingOptions{};
      auto timed = memory_controller(o);
      std::atomic<bool> timed_done{false};
      std::thread::id timed_on;
      timed->submit(0, make_rw(IoOpcode::kWrite, 1, 3, 1), buf, [&](Result<Completion>) {
        timed_on = std::this_thread::get_id();
        timed_done = true;
      });
      while (!timed_done.load()) std::this_thread::yield();
      CHECK(timed_on != std::this_thread::get_id());
      CHECK(timed->stats().writes == 1);
    }
  }
}

}  // namespace
}  // namespace f2sc::nvme
