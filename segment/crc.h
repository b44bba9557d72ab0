// F2FS crc32: the reflected CRC-32 (polynomial 0xEDB88320) with neither initial nor final
// inversion, seeded with the F2FS magic. Equivalent to zlib's ~crc32(~seed, buf, len).
//
// Thread safety: pure functions.
#pragma once

#include <cstddef>
#include <cstdint>

#include "segment/format.h"

namespace f2sc::segment {

uint32_t f2fs_crc32(uint32_t seed, const void* buf, size_t len);
inline uint32_t f2fs_crc32(const void* buf, size_t len) {
  return f2fs_crc32(kMagic, buf, len);
}

}  // namespace f2sc::segment
