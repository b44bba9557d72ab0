// The F2FS directory-entry name hash: which bucket of which level a name lives in.
//
// It is the ext3 "half-MD4"-era TEA hash: the name is packed 16 bytes at a time into four
// 32-bit words (padded with a pattern made of the length) and mixed into a fixed seed with
// 16 rounds of TEA; the result is the first seed word. "." and ".." hash to 0. Bytes are
// unsigned, as f2fs-tools 1.15 computes them: this decides the hash of every name with a
// byte >= 0x80 (UTF-8), and the tests hold vectors read back from sload.f2fs images.
//
// Thread safety: pure function.
#pragma once

#include <cstdint>
#include <string_view>

namespace f2sc::fs {

uint32_t dentry_hash(std::string_view name);

}  // namespace f2sc::fs
