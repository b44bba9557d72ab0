#include "fs/dentry_hash.h"

#include <array>

namespace f2sc::fs {

namespace {

constexpr uint32_t kTeaDelta = 0x9E3779B9;

// Mixes one 16-byte block into the running state (Davies-Meyer over TEA).
void tea_mix(std::array<uint32_t, 4>& state, const std::array<uint32_t, 4>& in) {
  uint32_t x = state[0], y = state[1], sum = 0;
  for (int round = 0; round < 16; ++round) {
    sum += kTeaDelta;
    x += ((y << 4) + in[0]) ^ (y + sum) ^ ((y >> 5) + in[1]);
    y += ((x << 4) + in[2]) ^ (x + sum) ^ ((x >> 5) + in[3]);
  }
  state[0] += x;
  state[1] += y;
}

// Packs up to 16 bytes of `chunk` into four words, big-endian within each word; words the
// name does not reach are filled with `pad`, which repeats the total remaining length.
std::array<uint32_t, 4> pack(std::string_view chunk, size_t remaining) {
  uint32_t pad = static_cast<uint32_t>(remaining) | (static_cast<uint32_t>(remaining) << 8);
  pad |= pad << 16;
  std::array<uint32_t, 4> words{pad, pad, pad, pad};
  const size_t n = std::min<size_t>(chunk.size(), 16);
  uint32_t value = pad;
  for (size_t i = 0; i < n; ++i) {
    if (i % 4 == 0) value = pad;
    // Unsigned bytes: 0xff adds 255 (what f2fs-tools writes; see the test's vectors).
    value = static_cast<uint32_t>(static_cast<unsigned char>(chunk[i])) + (value << 8);
    if (i % 4 == 3) words[i / 4] = value;
  }
  if (n % 4 != 0) words[n / 4] = value;
  return words;
}

}  // namespace

uint32_t dentry_hash(std::string_view name) {
  if (name == "." || name == "..") return 0;
  std::array<uint32_t, 4> state{0x67452301, 0xefcdab89, 0x98badcfe, 0x10325476};
  for (size_t at = 0; at < name.size(); at += 16) {
    tea_mix(state, pack(name.substr(at), name.size() - at));
  }
  return state[0];
}

}  // namespace f2sc::fs
