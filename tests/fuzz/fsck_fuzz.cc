// libFuzzer target over fsck.f2sc's image walk: check_image(), repair_image() and a second
// check must return findings or errors, never crash, hang or grow without bound, on any bytes.
//
// Input: as image_reader_fuzz.cc: u32 device_blocks (clamped to 1..65536), then records of
// u32 block index + 4096 bytes written at that block (a sparse image). A short last record
// is zero-padded.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <vector>

#include "blockdev/memory_device.h"
#include "tools/fsck.f2sc/checker.h"
#include "tools/fsck.f2sc/repair.h"

using namespace f2sc;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  constexpr size_t kBlock = 4096;
  if (size < 4) return 0;
  uint32_t blocks;
  std::memcpy(&blocks, data, 4);
  blocks = blocks % 65536 + 1;
  auto dev = blockdev::MemoryDevice::create({.block_size = kBlock, .block_count = blocks});
  if (!dev) return 0;
  std::vector<std::byte> buf(kBlock);
  for (size_t off = 4; off + 4 <= size;) {
    uint32_t idx;
    std::memcpy(&idx, data + off, 4);
    off += 4;
    size_t n = std::min(kBlock, size - off);
    std::memset(buf.data(), 0, kBlock);
    std::memcpy(buf.data(), data + off, n);
    off += n;
    if (idx < blocks) (void)(*dev)->write(idx, buf);
  }
  auto result = fsck::check_image(**dev);
  if (!result || result->errors() == 0) return 0;
  if (!fsck::repair_image(**dev, *result)) return 0;
  (void)fsck::check_image(**dev);
  return 0;
}
