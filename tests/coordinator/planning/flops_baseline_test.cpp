#include "coordinator/planning/flops_baseline.hpp"

#include <doctest/doctest.h>

#include "common/error.hpp"

using namespace ampere;

TEST_CASE("the FLOPs line is least squares with its residual spread") {
  const LinearFit exact = fit_line({1, 2, 3}, {3, 5, 7});  // y = 2x + 1
  CHECK(exact.slope == doctest::Approx(2));
  CHECK(exact.intercept == doctest::Approx(1));
  CHECK(exact.residual_std == doctest::Approx(0).epsilon(1e-12));
  CHECK(fit_line({0, 0, 1, 1}, {0, 2, 1, 3}).residual_std > 0);
  CHECK_THROWS_AS(fit_line({1, 1}, {1, 2}), InputError);
}
