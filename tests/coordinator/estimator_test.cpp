#include "coordinator/estimator.hpp"

#include <doctest/doctest.h>

using namespace ampere;

TEST_CASE("the FLOPs line is least squares with its residual spread") {
  const LinearFit exact = fit_line({1, 2, 3}, {3, 5, 7});  // y = 2x + 1
  CHECK(exact.slope == doctest::Approx(2));
  CHECK(exact.intercept == doctest::Approx(1));
  CHECK(exact.residual_std == doctest::Approx(0).epsilon(1e-12));
  CHECK(fit_line({0, 0, 1, 1}, {0, 2, 1, 3}).residual_std > 0);
  CHECK_THROWS_AS(fit_line({1, 1}, {1, 2}), InputError);
}

TEST_CASE("an estimate of a model with unprofiled kinds lists them, and an unknown class is named") {
  Estimator estimator;
  const ModelSpec lenet = sample_model(load_model_spec(std::string(AMPERE_MODELS_DIR) + "/lenet5.json"), 1);
  CHECK_THROWS_WITH_AS(estimator.estimate(lenet, "phone", 1), doctest::Contains("device class 'phone' has no profiled kinds"),
                       UnknownDeviceClass);
  // one kind known: the others are listed
  const std::vector<Block> blocks = parse_blocks(lenet);
  auto gp = std::make_shared<GaussianProcess>(std::vector<std::pair<double, double>>{{1, 200}});
  Eigen::MatrixXd x(2, 1);
  x << 1, 200;
  gp->set_data(x, Eigen::Vector2d(0.001, 0.002));
  KindModel model;
  model.seconds = gp;
  estimator.set_models("phone", {{blocks.back().kind, model}});
  try {
    estimator.estimate(lenet, "phone", 1);
    FAIL("expected MissingKinds");
  } catch (const MissingKinds& e) {
    CHECK(e.kinds().size() == blocks.size() - 1);
    CHECK(std::string(e.what()).find(blocks.front().kind.str()) != std::string::npos);
  }
  const ModelSpec fam = load_model_spec(std::string(AMPERE_MODELS_DIR) + "/lenet5.json");
  CHECK_THROWS_WITH_AS(estimator.estimate(fam, "phone", 1), doctest::Contains("this is a family"), InputError);
}

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
