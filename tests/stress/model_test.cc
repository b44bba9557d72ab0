// The greedy-cleaning model of REFERENCE.md section 6 and the Lambert W it rests on.
#include <cmath>

#include <catch2/catch.hpp>

#include "tools/f2sc-stress/model.h"

namespace f2sc::stress {
namespace {

TEST_CASE("lambert_w0 inverts w * e^w on the principal branch") {
  for (double x :
       {-0.36787944117144233, -0.36, -0.3, -0.2, -0.05, 0.0, 0.1, 1.0, 2.718281828, 10.0, 1e3}) {
    INFO("x = " << x);
    const double w = lambert_w0(x);
    REQUIRE(w >= -1.0);
    CHECK(w * std::exp(w) == Approx(x).margin(1e-12).epsilon(1e-12));
  }
  CHECK(lambert_w0(0) == 0);
  CHECK(lambert_w0(std::exp(1.0)) == Approx(1.0));
  CHECK(std::isnan(lambert_w0(-0.5)));
}

TEST_CASE("greedy_waf matches the anchors of REFERENCE.md section 6") {
  CHECK(greedy_waf(0.70) == Approx(1.88).epsilon(0.01));
  CHECK(greedy_waf(0.80) == Approx(2.69).epsilon(0.01));
  CHECK(greedy_waf(0.90) == Approx(5.18).epsilon(0.01));
  CHECK(greedy_waf(0.95) == Approx(10.2).epsilon(0.01));
  CHECK(greedy_waf(0) == 1.0);
  CHECK(std::isinf(greedy_waf(1.0)));
  // Monotonic, and above the LFS bound of 1 and below 1/(1-u) (greedy beats FIFO).
  double prev = 1.0;
  for (double u = 0.05; u < 0.99; u += 0.05) {
    const double a = greedy_waf(u);
    CHECK(a >= prev);
    CHECK(a <= 1.0 / (1.0 - u) + 1e-9);
    prev = a;
  }
}

}  // namespace
}  // namespace f2sc::stress
