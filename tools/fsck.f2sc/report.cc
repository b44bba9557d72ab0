#include "tools/fsck.f2sc/report.h"

#include <cstdio>

namespace f2sc::fsck {

namespace {

std::string json_string(const std::string& s) {
  std::string out = "\"";
  for (unsigned char c : s) {
    if (c == '"' || c == '\\') {
      out += '\\', out += static_cast<char>(c);
    } else if (c < 0x20) {
      char buf[8];
      std::snprintf(buf, sizeof(buf), "\\u%04x", c);
      out += buf;
    } else {
      out += static_cast<char>(c);
    }
  }
  return out + "\"";
}

const char* fix_name(Fix f) {
  switch (f) {
    case Fix::kNone:
      return "none";
    case Fix::kSit:
      return "rewrite SIT";
    case Fix::kCheckpoint:
      return "rewrite checkpoint counts";
    case Fix::kNatFree:
      return "free NAT entry";
    case Fix::kNatAddress:
      return "repoint NAT entry";
    case Fix::kLinks:
      return "set i_links";
    case Fix::kIBlocks:
      return "set i_blocks";
    case Fix::kIExt:
      return "clear i_ext";
    case Fix::kDentry:
      return "remove dentry";
    case Fix::kDentryHash:
      return "rewrite dentry hash";
    case Fix::kFooter:
      return "rewrite node footer";
    case Fix::kSuperblock:
      return "rewrite superblock copy";
    case Fix::kSsa:
      return "rewrite SSA entry";
  }
  return "none";
}

}  // namespace

std::string finding_line(const Finding& f) {
  std::string s = (f.warning ? "warning: " : "") + f.structure + ": " + f.object + ": expected " +
                  f.expected + ", found " + f.found;
  if (f.fix != Fix::kNone) s += std::string(" [fix: ") + fix_name(f.fix) + "]";
  return s;
}

std::string json_report(const std::string& device, const CheckResult& r, size_t fixed,
                        int exit_code) {
  std::string out =
      "{\"device\":" + json_string(device) + ",\"clean\":" + (r.errors() == 0 ? "true" : "false") +
      ",\"errors\":" + std::to_string(r.errors()) + ",\"fixed\":" + std::to_string(fixed) +
      ",\"exit\":" + std::to_string(exit_code) + ",\"findings\":[";
  for (size_t i = 0; i < r.findings.size(); ++i) {
    const Finding& f = r.findings[i];
    if (i) out += ",";
    out += "{\"structure\":" + json_string(f.structure) + ",\"object\":" + json_string(f.object) +
           ",\"expected\":" + json_string(f.expected) + ",\"found\":" + json_string(f.found) +
           ",\"fix\":" + json_string(fix_name(f.fix)) +
           ",\"warning\":" + (f.warning ? "true" : "false") + "}";
  }
  return out + "]}";
}

}  // namespace f2sc::fsck
