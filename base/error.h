// Error and Result: the error model of every f2sc library.
//
// Libraries return tl::expected<T, Error> (Result<T>) or Status; exceptions are used only at
// tool boundaries. An Error carries a machine-checkable code (Errc), the errno that best
// describes it (for POSIX-facing callers such as the FUSE mount), and a message for humans
// that names the object and the values involved.
//
// Thread safety: value types; no shared state.
#pragma once

#include <cerrno>
#include <string>
#include <string_view>
#include <utility>

#include <tl/expected.hpp>

namespace f2sc {

enum class Errc {
  kInvalidArgument,  // a malformed request from the caller
  kNoRanges,         // copy request without source ranges
  kEmptyRange,       // a copy range of zero blocks
  kOutOfRange,       // an address past the end of the device
  kAddressOverflow,  // lba + blocks wraps around 64 bits
  kOverlap,          // a copy source overlaps the destination
  kMisaligned,       // a buffer that is not a whole number of blocks
  kNotSupported,     // the device cannot do this (e.g. copy offload)
  kIoError,          // the device failed the operation
  kNoSpace,          // out of space
  kCorrupt,          // on-disk structure failed validation
  kNotFound,         // no such object
  kExists,           // object already exists
  kBusy,             // resource in use
  kReadOnly,         // write on a read-only object
  kPowerCut,         // the (simulated) device lost power
  kInternal,         // a broken invariant inside f2sc
};

std::string_view errc_name(Errc code);

struct Error {
  Errc code = Errc::kInternal;
  int sys_errno = EIO;  // positive errno value
  std::string message;

  // "message" alone; errc is for machines.
  const std::string& what() const { return message; }
};

// Default errno for each code, used when the caller does not give one.
int default_errno(Errc code);

inline Error make_error(Errc code, std::string message) {
  return Error{code, default_errno(code), std::move(message)};
}
inline Error make_error(Errc code, int sys_errno, std::string message) {
  return Error{code, sys_errno, std::move(message)};
}
// An error from a failed system call: the message gets strerror(sys_errno) appended.
Error sys_error(int sys_errno, std::string_view what);

template <class T>
using Result = tl::expected<T, Error>;
using Status = tl::expected<void, Error>;

inline tl::unexpected<Error> fail(Errc code, std::string message) {
  return tl::unexpected(make_error(code, std::move(message)));
}
inline tl::unexpected<Error> fail(Errc code, int sys_errno, std::string message) {
  return tl::unexpected(make_error(code, sys_errno, std::move(message)));
}
inline tl::unexpected<Error> fail(Error e) {
  return tl::unexpected(std::move(e));
}

// Prefix an error's message with context ("reading superblock: ...").
inline Error with_context(Error e, std::string_view context) {
  e.message = std::string(context) + ": " + e.message;
  return e;
}

}  // namespace f2sc
