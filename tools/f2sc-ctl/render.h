// f2sc-ctl's output: the status of a mount (f2sc_ioctl.h's Status) as a human-readable
// table or as JSON, and the result of a GC request.
//
// Thread safety: pure functions.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "tools/f2sc-fuse/f2sc_ioctl.h"

namespace f2sc::ctl {

nlohmann::json status_json(const ioctl::Status& st);
std::string status_table(const std::string& mountpoint, const ioctl::Status& st);

nlohmann::json gc_json(const ioctl::GcRequest& r);
std::string gc_text(const ioctl::GcRequest& r);

}  // namespace f2sc::ctl
