#include "base/error.h"

#include <cstring>

namespace f2sc {

std::string_view errc_name(Errc code) {
  switch (code) {
    case Errc::kInvalidArgument:
      return "invalid-argument";
    case Errc::kNoRanges:
      return "no-ranges";
    case Errc::kEmptyRange:
      return "empty-range";
    case Errc::kOutOfRange:
      return "out-of-range";
    case Errc::kAddressOverflow:
      return "address-overflow";
    case Errc::kOverlap:
      return "overlap";
    case Errc::kMisaligned:
      return "misaligned";
    case Errc::kNotSupported:
      return "not-supported";
    case Errc::kIoError:
      return "io-error";
    case Errc::kNoSpace:
      return "no-space";
    case Errc::kCorrupt:
      return "corrupt";
    case Errc::kNotFound:
      return "not-found";
    case Errc::kExists:
      return "exists";
    case Errc::kBusy:
      return "busy";
    case Errc::kReadOnly:
      return "read-only";
    case Errc::kPowerCut:
      return "power-cut";
    case Errc::kInternal:
      return "internal";
  }
  return "unknown";
}

int default_errno(Errc code) {
  switch (code) {
    case Errc::kInvalidArgument:
    case Errc::kNoRanges:
    case Errc::kEmptyRange:
    case Errc::kOverlap:
    case Errc::kMisaligned:
      return EINVAL;
    case Errc::kOutOfRange:
    case Errc::kAddressOverflow:
      return ERANGE;
    case Errc::kNotSupported:
      return EOPNOTSUPP;
    case Errc::kIoError:
    case Errc::kPowerCut:
    case Errc::kInternal:
      return EIO;
    case Errc::kNoSpace:
      return ENOSPC;
    case Errc::kCorrupt:
      return EUCLEAN;
    case Errc::kNotFound:
      return ENOENT;
    case Errc::kExists:
      return EEXIST;
    case Errc::kBusy:
      return EBUSY;
    case Errc::kReadOnly:
      return EROFS;
  }
  return EIO;
}

Error sys_error(int sys_errno, std::string_view what) {
  Errc code = Errc::kIoError;
  switch (sys_errno) {
    case EINVAL:
      code = Errc::kInvalidArgument;
      break;
    case ENOENT:
      code = Errc::kNotFound;
      break;
    case EEXIST:
      code = Errc::kExists;
      break;
    case ENOSPC:
      code = Errc::kNoSpace;
      break;
    case EROFS:
      code = Errc::kReadOnly;
      break;
    case EBUSY:
      code = Errc::kBusy;
      break;
    case EOPNOTSUPP:
    case ENOSYS:
      code = Errc::kNotSupported;
      break;
    default:
      break;
  }
  return Error{code, sys_errno, std::string(what) + ": " + std::strerror(sys_errno)};
}

}  // namespace f2sc
