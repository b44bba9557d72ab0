// libFuzzer target over the image reader: open_image(), NAT lookups and SegmentManager
// loading must return errors, never crash, on any bytes.
//
// Input: u32 device_blocks (clamped to 1..65536), then records of u32 block index +
// 4096 bytes written at that block (a sparse image; seeds are the non-zero blocks of
// mkfs output). A short last record is zero-padded.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <vector>

#include "blockdev/memory_device.h"
#include "segment/image.h"
#include "segment/segment_manager.h"

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
  auto img = segment::open_image(**dev);
  if (!img) return 0;
  for (uint32_t nid : {0u, 1u, 2u, 3u, 4u, 455u, 100000u})
    (void)segment::read_nat_entry(**dev, *img, nid);
  auto sm = segment::SegmentManager::load(**dev, std::move(*img));
  if (!sm) return 0;
  (void)(*sm)->dirty_sections();
  for (uint32_t i = 0; i < 4; ++i) {
    auto a = (*sm)->allocate(segment::Log::kWarmData, segment::Summary{5, 0, 0});
    if (!a) break;
    (void)(*sm)->summary(*a);
  }
  (void)(*sm)->checkpoint();
  return 0;
}
