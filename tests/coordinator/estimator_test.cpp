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
