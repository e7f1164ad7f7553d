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

TEST_CASE("an estimate says its joules are gross and, with the class's idle power, gives energy above idle") {
  Estimator estimator;
  const ModelSpec lenet = sample_model(load_model_spec(std::string(AMPERE_MODELS_DIR) + "/lenet5.json"), 1);
  std::map<KindKey, KindModel> models;
  for (const Block& b : parse_blocks(lenet)) {
    if (models.count(b.kind)) continue;
    const Eigen::Index dims = static_cast<Eigen::Index>(b.channels.size());
    auto constant = [dims](double value) {  // a GP that predicts about `value` everywhere (flat data)
      auto gp = std::make_shared<GaussianProcess>(std::vector<std::pair<double, double>>(static_cast<std::size_t>(dims), {1, 2000}));
      Eigen::MatrixXd x(3, dims);
      for (Eigen::Index d = 0; d < dims; ++d) x.col(d) << 1, 1000, 2000;
      gp->set_data(x, Eigen::Vector3d(value, value, value));
      return gp;
    };
    KindModel m;
    m.seconds = constant(0.01);
    m.joules = constant(0.5);
    m.meter = MeterSource::Rapl;
    models[b.kind] = m;
  }
  estimator.set_models("box", models);
  const nlohmann::json gross = estimator.estimate(lenet, "box", 10);
  CHECK(gross.at("energy") == "gross");
  CHECK(gross.at("above_idle").is_null());  // no idle power known for the class yet
  estimator.set_idle_watts("box", 20);
  const nlohmann::json e = estimator.estimate(lenet, "box", 10);
  const double s = e.at("seconds_per_iteration").at("mean").get<double>(), j = e.at("joules_per_iteration").at("mean").get<double>();
  CHECK(e.at("idle_watts").get<double>() == doctest::Approx(20));
  CHECK(e.at("above_idle").at("joules_per_iteration").at("mean").get<double>() == doctest::Approx(j - 20 * s));
  CHECK(e.at("above_idle").at("total").at("joules").at("mean").get<double>() == doctest::Approx(10 * (j - 20 * s)));
  CHECK(e.at("joules_per_iteration").at("mean").get<double>() == doctest::Approx(j));  // the gross figure is unchanged
}
