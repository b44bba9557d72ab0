// Plots with gnuplot: FILE.png with four panels - WAF over time (with the greedy model),
// free space over time, the user write latency CDF, and offload vs emulation bars (device
// and host MiB, WAF). The data and the script stay beside the image as FILE.dat and
// FILE.gp so a plot can be restyled and redrawn with `gnuplot FILE.gp`.
//
// Thread safety: runs a child process; call from one thread.
#pragma once

#include <string>
#include <vector>

#include "base/error.h"
#include "tools/f2sc-stress/runner.h"

namespace f2sc::stress {

// Fails with a clear message when gnuplot is not on PATH (Debian: apt-get install
// gnuplot-nox) or exits non-zero.
Status write_plot(const std::string& png_path, const std::vector<RunResult>& runs);

// Whether a gnuplot binary is on PATH (checked before a run so a missing one fails fast).
bool have_gnuplot();

}  // namespace f2sc::stress
