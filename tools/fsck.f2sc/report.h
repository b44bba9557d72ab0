// fsck.f2sc reports: findings as text lines or one JSON document.
#pragma once

#include <string>

#include "tools/fsck.f2sc/checker.h"

namespace f2sc::fsck {

std::string finding_line(const Finding& f);
// {"device":..., "clean":..., "errors":N, "fixed":N, "exit":N, "findings":[...]}
std::string json_report(const std::string& device, const CheckResult& r, size_t fixed,
                        int exit_code);

}  // namespace f2sc::fsck
