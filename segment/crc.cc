#include "segment/crc.h"

#include <zlib.h>

namespace f2sc::segment {

uint32_t f2fs_crc32(uint32_t seed, const void* buf, size_t len) {
  // zlib inverts on entry and exit; cancel both.
  uLong crc = ~seed & 0xFFFFFFFFul;
  const auto* p = static_cast<const Bytef*>(buf);
  while (len > 0) {
    uInt chunk = len > (1u << 30) ? (1u << 30) : static_cast<uInt>(len);
    crc = crc32(crc, p, chunk);
    p += chunk;
    len -= chunk;
  }
  return ~static_cast<uint32_t>(crc);
}

}  // namespace f2sc::segment
