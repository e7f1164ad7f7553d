#include "coordinator/planning/accuracy.hpp"

#include <doctest/doctest.h>

using namespace ampere;

TEST_CASE("estimates are scored against measurements by MAPE, the FLOPs line beside, unscorable parts left empty") {
  auto estimate = [](double seconds, const nlohmann::json& flops_seconds, const nlohmann::json& joules) {
    return nlohmann::json{{"seconds_per_iteration", {{"mean", seconds}, {"std", 0.0}}},
                          {"joules_per_iteration", joules},
                          {"flops_baseline", {{"seconds_per_iteration", flops_seconds}, {"joules_per_iteration", nullptr}}}};
  };
  Measurement a;
  a.seconds_per_iteration = {1.2, 1.0, 1.1};  // the minimum, 1.0, is the truth (as the GPs fit)
  a.joules_per_iteration = {10.0, 11.0, 12.0};
  Measurement b;
  b.seconds_per_iteration = {2.0};
  b.joules_per_iteration = {20.0};
  const AccuracyScore score = score_estimates(
      {{estimate(1.1, {{"mean", 0.5}}, {{"mean", 9.0}}), a}, {estimate(1.8, nullptr, nullptr), b}});
  CHECK(score.models == 2);
  CHECK(score.meter == "time-surrogate");  // both measurements default to it
  REQUIRE(score.seconds);
  CHECK(*score.seconds == doctest::Approx(0.10));        // (10% + 10%) / 2
  REQUIRE(score.flops_seconds);
  CHECK(*score.flops_seconds == doctest::Approx(0.50));  // only the model that had a FLOPs line
  REQUIRE(score.joules);
  CHECK(*score.joules == doctest::Approx(0.10));         // only the model with an energy estimate
  CHECK_FALSE(score.flops_joules);
  CHECK_FALSE(score_estimates({}).seconds);
}
