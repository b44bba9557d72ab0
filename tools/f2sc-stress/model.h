// The analytic anchor of REFERENCE.md section 6: write amplification of greedy cleaning under
// uniform random overwrites with large segments, A(u) = a / (a + W0(-a e^-a)), a = 1/u, where
// u is the live fraction of the space the cleaner works on and W0 the principal branch of
// the Lambert W function (computed here numerically).
//
// Thread safety: pure functions.
#pragma once

namespace f2sc::stress {

// Principal branch W0(x) for x >= -1/e (Halley's iteration); NaN below -1/e.
double lambert_w0(double x);

// Greedy model write amplification at live fraction u in (0, 1); 1 for u <= 0, +inf for
// u >= 1.
double greedy_waf(double u);

}  // namespace f2sc::stress
