#include "coordinator/planning/estimator.hpp"

#include <doctest/doctest.h>

using namespace ampere;

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
