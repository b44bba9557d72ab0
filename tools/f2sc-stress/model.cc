#include "tools/f2sc-stress/model.h"

#include <cmath>
#include <limits>

namespace f2sc::stress {

double lambert_w0(double x) {
  const double e_inv = std::exp(-1.0);
  if (std::isnan(x) || x < -e_inv) return std::numeric_limits<double>::quiet_NaN();
  if (x == 0) return 0;
  if (x == -e_inv) return -1;
  // Start near the branch point with its series, elsewhere with log1p; Halley converges
  // cubically from either.
  double w;
  if (x < -0.3) {
    const double p = std::sqrt(2.0 * (std::exp(1.0) * x + 1.0));
    w = -1.0 + p - p * p / 3.0 + 11.0 / 72.0 * p * p * p;
  } else {
    w = std::log1p(x);
    if (x > 3) w -= std::log(w);
  }
  for (int i = 0; i < 100; ++i) {
    const double ew = std::exp(w);
    const double f = w * ew - x;
    const double wp1 = w + 1.0;
    if (wp1 == 0) break;
    const double step = f / (ew * wp1 - (w + 2.0) * f / (2.0 * wp1));
    w -= step;
    if (std::fabs(step) <= 1e-15 * (1.0 + std::fabs(w))) break;
  }
  return w;
}

double greedy_waf(double u) {
  if (!(u > 0)) return 1.0;
  if (u >= 1) return std::numeric_limits<double>::infinity();
  const double a = 1.0 / u;
  // W0 of -a e^-a: the root other than -a itself (which is W_-1's).
  const double w = lambert_w0(-a * std::exp(-a));
  return a / (a + w);
}

}  // namespace f2sc::stress
