#include "nvme/spec.h"

#include <cstddef>
#include <cstdio>
#include <cstring>

namespace f2sc::nvme {

namespace {

const char* status_name(const Status& s) {
  if (s.sct == 0) {
    switch (s.sc) {
      case kScSuccess:
        return "Successful Completion";
      case kScInvalidOpcode:
        return "Invalid Command Opcode";
      case kScInvalidField:
        return "Invalid Field in Command";
      case kScDataTransferError:
        return "Data Transfer Error";
      case kScInternalError:
        return "Internal Error";
      case kScInvalidNamespace:
        return "Invalid Namespace or Format";
      case kScNamespaceWriteProtected:
        return "Namespace is Write Protected";
      case kScLbaOutOfRange:
        return "LBA Out of Range";
      default:
        return "generic status";
    }
  }
  if (s.sct == 1) {
    switch (s.sc) {
      case kScInvalidFormat:
        return "Invalid Format";
      case kScCommandSizeLimitExceeded:
        return "Command Size Limit Exceeded";
      case kScOverlappingIoRange:
        return "Overlapping I/O Range";
      default:
        return "command specific status";
    }
  }
  if (s.sct == 2) {
    switch (s.sc) {
      case kScWriteFault:
        return "Write Fault";
      case kScUnrecoveredReadError:
        return "Unrecovered Read Error";
      default:
        return "media error";
    }
  }
  return "path or vendor status";
}

}  // namespace

std::string describe(const Status& s) {
  char buf[128];
  std::snprintf(buf, sizeof buf, "%s (SCT %xh, SC %02xh%s, status 0x%04x)", status_name(s),
                unsigned{s.sct}, unsigned{s.sc}, s.dnr ? ", DNR" : "", unsigned{s.to_passthru()});
  return buf;
}

std::vector<std::byte> encode_source_ranges(std::span<const CopySource> sources, uint8_t desfmt) {
  const size_t entry = (desfmt & 1) ? sizeof(SourceRangeFormat1) : sizeof(SourceRangeFormat0);
  std::vector<std::byte> buf(sources.size() * entry);
  for (size_t i = 0; i < sources.size(); ++i) {
    const uint64_t slba = sources[i].slba;
    const auto nlb = static_cast<uint16_t>(sources[i].blocks - 1);
    std::memcpy(buf.data() + i * entry + offsetof(SourceRangeFormat0, slba), &slba, sizeof slba);
    std::memcpy(buf.data() + i * entry + offsetof(SourceRangeFormat0, nlb), &nlb, sizeof nlb);
  }
  return buf;
}

void CopyFields::encode(SubmissionEntry& e) const {
  e.opcode = static_cast<uint8_t>(IoOpcode::kCopy);
  e.cdw10 = static_cast<uint32_t>(sdlba);
  e.cdw11 = static_cast<uint32_t>(sdlba >> 32);
  e.cdw12 = uint32_t{nr} | uint32_t{desfmt & 0xfu} << 8 | uint32_t{prinfor & 0xfu} << 12 |
            uint32_t{dtype & 0xfu} << 20 | uint32_t{prinfow & 0xfu} << 26 | (fua ? 1u : 0u) << 30 |
            (lr ? 1u : 0u) << 31;
  e.cdw13 = uint32_t{dspec} << 16;
}

CopyFields CopyFields::decode(const SubmissionEntry& e) {
  CopyFields f;
  f.sdlba = slba_of(e);
  f.nr = static_cast<uint8_t>(e.cdw12 & 0xff);
  f.desfmt = static_cast<uint8_t>(e.cdw12 >> 8 & 0xf);
  f.prinfor = static_cast<uint8_t>(e.cdw12 >> 12 & 0xf);
  f.dtype = static_cast<uint8_t>(e.cdw12 >> 20 & 0xf);
  f.prinfow = static_cast<uint8_t>(e.cdw12 >> 26 & 0xf);
  f.fua = (e.cdw12 >> 30 & 1) != 0;
  f.lr = (e.cdw12 >> 31 & 1) != 0;
  f.dspec = static_cast<uint16_t>(e.cdw13 >> 16);
  return f;
}

}  // namespace f2sc::nvme
