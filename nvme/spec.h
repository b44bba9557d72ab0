// NVMe wire formats f2sc uses: submission and completion entries, status, the Identify
// structures, the Copy command (TP4065 "Simple Copy") and its Source Range entries, and
// Dataset Management ranges. Layouts follow NVMe Base 2.0 and the NVM Command Set 1.0;
// every size and every field offset we rely on is checked by static_assert. All fields are
// little endian; f2sc only builds for little-endian hosts (checked below).
//
// Thread safety: value types and constexpr helpers; no shared state.
#pragma once

#include <bit>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace f2sc::nvme {

static_assert(std::endian::native == std::endian::little, "NVMe structures are little endian");

// ---- opcodes ----------------------------------------------------------------------------

enum class AdminOpcode : uint8_t {
  kIdentify = 0x06,
};

enum class IoOpcode : uint8_t {
  kFlush = 0x00,
  kWrite = 0x01,
  kRead = 0x02,
  kWriteZeroes = 0x08,
  kDatasetManagement = 0x09,
  kCopy = 0x19,
};

// Identify CNS values (CDW10 bits 7:0).
inline constexpr uint8_t kCnsNamespace = 0x00;
inline constexpr uint8_t kCnsController = 0x01;

// ---- submission and completion entries --------------------------------------------------

// A 64-byte submission queue entry. For the NVM command set: CDW10/11 hold the starting LBA
// of Read/Write/Write Zeroes (SDLBA for Copy), CDW12 bits 15:0 the 0's based block count.
struct SubmissionEntry {
  uint8_t opcode = 0;
  uint8_t flags = 0;  // FUSE bits 1:0, PSDT bits 7:6
  uint16_t cid = 0;
  uint32_t nsid = 0;
  uint32_t cdw2 = 0;
  uint32_t cdw3 = 0;
  uint64_t mptr = 0;
  uint64_t prp1 = 0;  // data pointer (PRP entry 1 or SGL)
  uint64_t prp2 = 0;
  uint32_t cdw10 = 0;
  uint32_t cdw11 = 0;
  uint32_t cdw12 = 0;
  uint32_t cdw13 = 0;
  uint32_t cdw14 = 0;
  uint32_t cdw15 = 0;
};
static_assert(sizeof(SubmissionEntry) == 64);
static_assert(offsetof(SubmissionEntry, cid) == 2);
static_assert(offsetof(SubmissionEntry, nsid) == 4);
static_assert(offsetof(SubmissionEntry, mptr) == 16);
static_assert(offsetof(SubmissionEntry, prp1) == 24);
static_assert(offsetof(SubmissionEntry, cdw10) == 40);
static_assert(offsetof(SubmissionEntry, cdw15) == 60);

// A 16-byte completion queue entry. The status field holds the phase tag in bit 0, then
// SC (bits 8:1), SCT (11:9), CRD (13:12), M (14) and DNR (15).
struct CompletionEntry {
  uint32_t dw0 = 0;
  uint32_t dw1 = 0;
  uint16_t sq_head = 0;
  uint16_t sq_id = 0;
  uint16_t cid = 0;
  uint16_t status = 0;
};
static_assert(sizeof(CompletionEntry) == 16);
static_assert(offsetof(CompletionEntry, sq_head) == 8);
static_assert(offsetof(CompletionEntry, cid) == 12);
static_assert(offsetof(CompletionEntry, status) == 14);

// ---- status -----------------------------------------------------------------------------

enum class StatusCodeType : uint8_t {
  kGeneric = 0,
  kCommandSpecific = 1,
  kMediaError = 2,
  kPath = 3,
};

// Generic command status (SCT 0).
inline constexpr uint8_t kScSuccess = 0x00;
inline constexpr uint8_t kScInvalidOpcode = 0x01;
inline constexpr uint8_t kScInvalidField = 0x02;
inline constexpr uint8_t kScDataTransferError = 0x04;
inline constexpr uint8_t kScInternalError = 0x06;
inline constexpr uint8_t kScInvalidNamespace = 0x0b;
inline constexpr uint8_t kScNamespaceWriteProtected = 0x20;
inline constexpr uint8_t kScLbaOutOfRange = 0x80;
// Command specific status (SCT 1).
inline constexpr uint8_t kScInvalidFormat = 0x0a;
inline constexpr uint8_t kScCommandSizeLimitExceeded = 0x83;
inline constexpr uint8_t kScOverlappingIoRange = 0x87;
// Media and data integrity errors (SCT 2).
inline constexpr uint8_t kScWriteFault = 0x80;
inline constexpr uint8_t kScUnrecoveredReadError = 0x81;

// The status of a completed command. Linux passthrough reports it as
// SC | SCT << 8 | CRD << 11 | M << 13 | DNR << 14, i.e. the CQE status field shifted right
// by one (without the phase tag); to_passthru()/from_passthru() convert exactly.
struct Status {
  uint8_t sc = 0;
  uint8_t sct = 0;  // 3 bits
  bool dnr = false;
  bool more = false;
  uint8_t crd = 0;  // 2 bits

  bool ok() const { return sc == 0 && sct == 0; }
  bool operator==(const Status&) const = default;

  static constexpr Status success() { return {}; }
  static constexpr Status error(StatusCodeType type, uint8_t code, bool dnr = true) {
    Status s;
    s.sc = code;
    s.sct = static_cast<uint8_t>(type);
    s.dnr = dnr;
    return s;
  }
  static constexpr Status generic(uint8_t code, bool dnr = true) {
    return error(StatusCodeType::kGeneric, code, dnr);
  }
  static constexpr Status command_specific(uint8_t code, bool dnr = true) {
    return error(StatusCodeType::kCommandSpecific, code, dnr);
  }

  constexpr uint16_t to_passthru() const {
    return static_cast<uint16_t>(sc | (sct & 7) << 8 | (crd & 3) << 11 | (more ? 1 : 0) << 13 |
                                 (dnr ? 1 : 0) << 14);
  }
  static constexpr Status from_passthru(uint16_t v) {
    Status s;
    s.sc = static_cast<uint8_t>(v & 0xff);
    s.sct = static_cast<uint8_t>(v >> 8 & 7);
    s.crd = static_cast<uint8_t>(v >> 11 & 3);
    s.more = (v >> 13 & 1) != 0;
    s.dnr = (v >> 14 & 1) != 0;
    return s;
  }
  // The CQE status field (phase tag in bit 0).
  constexpr uint16_t to_cqe(bool phase) const {
    return static_cast<uint16_t>(to_passthru() << 1 | (phase ? 1 : 0));
  }
  static constexpr Status from_cqe(uint16_t field) {
    return from_passthru(static_cast<uint16_t>(field >> 1));
  }
};

// "Command Size Limit Exceeded (SCT 1h, SC 83h, DNR)" and the like, for messages.
std::string describe(const Status& status);

// ---- Identify Controller (CNS 01h) ------------------------------------------------------

// Bits of ONCS (Optional NVM Command Support).
inline constexpr uint16_t kOncsCompare = 1u << 0;
inline constexpr uint16_t kOncsWriteUncorrectable = 1u << 1;
inline constexpr uint16_t kOncsDatasetManagement = 1u << 2;
inline constexpr uint16_t kOncsWriteZeroes = 1u << 3;
inline constexpr uint16_t kOncsCopy = 1u << 8;
// Bits of OCFS (Optional Copy Formats Supported): bit n = descriptor format n.
inline constexpr uint16_t kOcfsFormat0 = 1u << 0;
inline constexpr uint16_t kOcfsFormat1 = 1u << 1;

struct IdentifyController {
  uint16_t vid;
  uint16_t ssvid;
  char sn[20];
  char mn[40];
  char fr[8];
  uint8_t rab;
  uint8_t ieee[3];
  uint8_t cmic;
  uint8_t mdts;  // max data transfer: 2^mdts units of the minimum page size (4 KiB); 0 = none
  uint16_t cntlid;
  uint32_t ver;
  uint8_t rsvd84[172];
  uint16_t oacs;  // byte 256
  uint8_t rsvd258[254];
  uint8_t sqes;  // byte 512
  uint8_t cqes;
  uint16_t maxcmd;
  uint32_t nn;
  uint16_t oncs;  // byte 520
  uint16_t fuses;
  uint8_t fna;
  uint8_t vwc;
  uint16_t awun;
  uint16_t awupf;
  uint8_t icsvscc;
  uint8_t nwpc;
  uint16_t acwu;
  uint16_t ocfs;  // byte 534
  uint32_t sgls;
  uint8_t rsvd540[228];
  char subnqn[256];  // byte 768
  uint8_t rsvd1024[3072];
};
static_assert(sizeof(IdentifyController) == 4096);
static_assert(offsetof(IdentifyController, sn) == 4);
static_assert(offsetof(IdentifyController, mn) == 24);
static_assert(offsetof(IdentifyController, fr) == 64);
static_assert(offsetof(IdentifyController, mdts) == 77);
static_assert(offsetof(IdentifyController, ver) == 80);
static_assert(offsetof(IdentifyController, oacs) == 256);
static_assert(offsetof(IdentifyController, sqes) == 512);
static_assert(offsetof(IdentifyController, nn) == 516);
static_assert(offsetof(IdentifyController, oncs) == 520);
static_assert(offsetof(IdentifyController, vwc) == 525);
static_assert(offsetof(IdentifyController, ocfs) == 534);
static_assert(offsetof(IdentifyController, sgls) == 536);
static_assert(offsetof(IdentifyController, subnqn) == 768);

// ---- Identify Namespace (CNS 00h) -------------------------------------------------------

struct LbaFormat {
  uint16_t ms;    // metadata bytes per block
  uint8_t lbads;  // log2 of the data block size
  uint8_t rp;     // relative performance, bits 1:0
};
static_assert(sizeof(LbaFormat) == 4);

struct IdentifyNamespace {
  uint64_t nsze;  // namespace size in blocks
  uint64_t ncap;
  uint64_t nuse;
  uint8_t nsfeat;
  uint8_t nlbaf;  // number of LBA formats, 0's based
  uint8_t flbas;  // bits 3:0 (and 6:5) select the format in use
  uint8_t mc;
  uint8_t dpc;
  uint8_t dps;
  uint8_t nmic;
  uint8_t rescap;
  uint8_t fpi;
  uint8_t dlfeat;  // bits 2:0 = 001b: deallocated blocks read as zeros
  uint16_t nawun;
  uint16_t nawupf;
  uint16_t nacwu;
  uint16_t nabsn;
  uint16_t nabo;
  uint16_t nabspf;
  uint16_t noiob;
  uint8_t nvmcap[16];
  uint16_t npwg;
  uint16_t npwa;
  uint16_t npdg;
  uint16_t npda;
  uint16_t nows;
  uint16_t mssrl;  // byte 74: max blocks in one source range (a plain count)
  uint32_t mcl;    // byte 76: max blocks in one Copy command (a plain count)
  uint8_t msrc;    // byte 80: max source ranges, 0's based
  uint8_t rsvd81[11];
  uint32_t anagrpid;  // byte 92
  uint8_t rsvd96[3];
  uint8_t nsattr;  // bit 0: the namespace is write protected
  uint16_t nvmsetid;
  uint16_t endgid;
  uint8_t nguid[16];   // byte 104
  uint8_t eui64[8];    // byte 120
  LbaFormat lbaf[64];  // byte 128
  uint8_t vs[3712];    // byte 384
};
static_assert(sizeof(IdentifyNamespace) == 4096);
static_assert(offsetof(IdentifyNamespace, ncap) == 8);
static_assert(offsetof(IdentifyNamespace, nlbaf) == 25);
static_assert(offsetof(IdentifyNamespace, flbas) == 26);
static_assert(offsetof(IdentifyNamespace, dlfeat) == 33);
static_assert(offsetof(IdentifyNamespace, nvmcap) == 48);
static_assert(offsetof(IdentifyNamespace, mssrl) == 74);
static_assert(offsetof(IdentifyNamespace, mcl) == 76);
static_assert(offsetof(IdentifyNamespace, msrc) == 80);
static_assert(offsetof(IdentifyNamespace, anagrpid) == 92);
static_assert(offsetof(IdentifyNamespace, nguid) == 104);
static_assert(offsetof(IdentifyNamespace, lbaf) == 128);
static_assert(offsetof(IdentifyNamespace, vs) == 384);

// The data block size of the format in use (FLBAS bits 3:0, with bits 6:5 as the upper bits).
inline uint32_t block_size_of(const IdentifyNamespace& ns) {
  unsigned index = (ns.flbas & 0x0f) | ((ns.flbas >> 5 & 3) << 4);
  uint8_t lbads = ns.lbaf[index].lbads;
  return lbads >= 9 && lbads < 32 ? 1u << lbads : 0;
}

// ---- Copy (opcode 19h) ------------------------------------------------------------------

// CDW10..13 of a Copy command.
struct CopyFields {
  uint64_t sdlba = 0;   // destination start LBA (CDW10, CDW11)
  uint8_t nr = 0;       // number of ranges, 0's based (CDW12 7:0)
  uint8_t desfmt = 0;   // descriptor format (CDW12 11:8)
  uint8_t prinfor = 0;  // CDW12 15:12
  uint8_t dtype = 0;    // CDW12 23:20
  uint8_t prinfow = 0;  // CDW12 29:26
  bool fua = false;     // CDW12 30
  bool lr = false;      // CDW12 31
  uint16_t dspec = 0;   // CDW13 31:16

  void encode(SubmissionEntry& sqe) const;
  static CopyFields decode(const SubmissionEntry& sqe);
  bool operator==(const CopyFields&) const = default;
};

// Source Range entry, descriptor format 0h (32 bytes).
struct SourceRangeFormat0 {
  uint8_t rsvd0[8];
  uint64_t slba;  // byte 8
  uint16_t nlb;   // byte 16: blocks, 0's based
  uint8_t rsvd18[6];
  uint32_t eilbrt;  // byte 24: expected initial logical block reference tag
  uint16_t elbat;   // byte 28
  uint16_t elbatm;  // byte 30
};
static_assert(sizeof(SourceRangeFormat0) == 32);
static_assert(offsetof(SourceRangeFormat0, slba) == 8);
static_assert(offsetof(SourceRangeFormat0, nlb) == 16);
static_assert(offsetof(SourceRangeFormat0, eilbrt) == 24);
static_assert(offsetof(SourceRangeFormat0, elbat) == 28);
static_assert(offsetof(SourceRangeFormat0, elbatm) == 30);

// Source Range entry, descriptor format 1h (40 bytes; 80-bit reference tag for 64b guard PI).
struct SourceRangeFormat1 {
  uint8_t rsvd0[8];
  uint64_t slba;  // byte 8
  uint16_t nlb;   // byte 16: blocks, 0's based
  uint8_t rsvd18[8];
  uint8_t elbt[10];  // byte 26
  uint16_t elbat;    // byte 36
  uint16_t elbatm;   // byte 38
};
static_assert(sizeof(SourceRangeFormat1) == 40);
static_assert(offsetof(SourceRangeFormat1, slba) == 8);
static_assert(offsetof(SourceRangeFormat1, nlb) == 16);
static_assert(offsetof(SourceRangeFormat1, elbt) == 26);
static_assert(offsetof(SourceRangeFormat1, elbat) == 36);
static_assert(offsetof(SourceRangeFormat1, elbatm) == 38);

// Bytes of one Source Range entry of descriptor format `desfmt`; 0 if we do not know it.
inline constexpr size_t source_range_bytes(uint8_t desfmt) {
  return desfmt == 0 ? sizeof(SourceRangeFormat0) : desfmt == 1 ? sizeof(SourceRangeFormat1) : 0;
}

// One source of a Copy: `blocks` blocks (1..65536) starting at `slba`.
struct CopySource {
  uint64_t slba = 0;
  uint32_t blocks = 0;
};

// A Copy command's data buffer: one Source Range entry per source, SLBA at byte 8 and the
// 0's based NLB at byte 16 of each. Formats 0h and 2h have 32-byte entries, 1h and 3h
// 40-byte ones; every other field (PI tags, the SNSID of 2h/3h) is left zero.
std::vector<std::byte> encode_source_ranges(std::span<const CopySource> sources, uint8_t desfmt);

// Largest counts the fields can express.
inline constexpr uint32_t kMaxCopyRanges = 256;        // NR is 8 bits, 0's based
inline constexpr uint32_t kMaxBlocksPerRange = 65536;  // NLB is 16 bits, 0's based
inline constexpr uint32_t kMaxBlocksPerIo = 65536;     // Read/Write NLB, 16 bits, 0's based

// ---- Dataset Management (opcode 09h) ----------------------------------------------------

// CDW10 bits 7:0 = number of ranges, 0's based; CDW11 bit 2 = AD (deallocate).
inline constexpr uint32_t kDsmDeallocate = 1u << 2;

struct DsmRange {
  uint32_t attributes;
  uint32_t nlb;  // blocks (a plain count, not 0's based)
  uint64_t slba;
};
static_assert(sizeof(DsmRange) == 16);
static_assert(offsetof(DsmRange, nlb) == 4);
static_assert(offsetof(DsmRange, slba) == 8);

// ---- helpers to fill entries ------------------------------------------------------------

// Read, Write or Write Zeroes of `blocks` (1..65536) blocks at `slba`.
inline SubmissionEntry make_rw(IoOpcode op, uint32_t nsid, uint64_t slba, uint32_t blocks) {
  SubmissionEntry e;
  e.opcode = static_cast<uint8_t>(op);
  e.nsid = nsid;
  e.cdw10 = static_cast<uint32_t>(slba);
  e.cdw11 = static_cast<uint32_t>(slba >> 32);
  e.cdw12 = (blocks - 1) & 0xffff;
  return e;
}

inline uint64_t slba_of(const SubmissionEntry& e) {
  return uint64_t{e.cdw10} | uint64_t{e.cdw11} << 32;
}

}  // namespace f2sc::nvme
