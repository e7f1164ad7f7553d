#include "coordinator/planning/interval_calibration.hpp"

#include <cmath>

#include <doctest/doctest.h>

#include "coordinator/planning/estimator.hpp"

using namespace ampere;

TEST_CASE("the whole-model residual is the mean squared log miss beyond the estimate's own relative variance") {
  const ModelSpec fam = load_model_spec(std::string(AMPERE_MODELS_DIR) + "/lenet5.json");
  std::map<KindKey, KindModel> models;
  for (const Block& b : parse_blocks(sample_model(fam, 1))) {
    if (models.count(b.kind)) continue;
    const Eigen::Index dims = static_cast<Eigen::Index>(b.channels.size());
    auto gp = std::make_shared<GaussianProcess>(std::vector<std::pair<double, double>>(static_cast<std::size_t>(dims), {1, 2000}));
    Eigen::MatrixXd x(3, dims);
    for (Eigen::Index d = 0; d < dims; ++d) x.col(d) << 1, 1000, 2000;
    gp->set_data(x, Eigen::Vector3d(0.01, 0.012, 0.011));
    KindModel m;
    m.seconds = gp;
    m.whole_model_residual = 0.5;  // ignored: the residual is measured against the blocks alone
    models[b.kind] = m;
  }
  std::map<KindKey, KindModel> plain = models;
  for (auto& [key, m] : plain) m.whole_model_residual = 0;
  Estimator estimator;
  estimator.set_models("c", plain);
  const ModelSpec a = sample_model(fam, 1), b = sample_model(fam, 2);
  auto figures = [&](const ModelSpec& m) {
    const nlohmann::json e = estimator.estimate(m, "c", 1).at("seconds_per_iteration");
    return std::make_pair(e.at("mean").get<double>(), e.at("std").get<double>());
  };
  const auto [mean_a, std_a] = figures(a);
  const auto [mean_b, std_b] = figures(b);
  // measured 10% above (log) and 20% below (log) their estimates, by hand
  const std::vector<std::pair<ModelSpec, double>> measured = {{a, mean_a * std::exp(0.1)}, {b, mean_b * std::exp(-0.2)}};
  const double expected = std::max(0.0, (0.01 - std::pow(std_a / mean_a, 2) + 0.04 - std::pow(std_b / mean_b, 2)) / 2);
  CHECK(whole_model_residual(models, measured) == doctest::Approx(expected).epsilon(1e-9));
  CHECK(expected > 0.02);
  // fewer than 2 models, a non-positive figure, or a model with a kind not fitted: none
  CHECK(whole_model_residual(models, {measured[0]}) == 0);
  CHECK(whole_model_residual(models, {measured[0], {b, 0.0}}) == 0);
  const ModelSpec cnn = sample_model(load_model_spec(std::string(AMPERE_MODELS_DIR) + "/cnn5.json"), 1);
  CHECK(whole_model_residual(models, {measured[0], {cnn, 0.01}}) == 0);
}
