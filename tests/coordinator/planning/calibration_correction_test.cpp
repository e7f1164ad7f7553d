#include "coordinator/planning/calibration_correction.hpp"

#include <cmath>
#include <memory>

#include <doctest/doctest.h>

#include "common/error.hpp"
#include "coordinator/planning/estimator.hpp"

using namespace ampere;

TEST_CASE("a calibration correction is the mean log ratio, shrunk where the models' own scatter explains it") {
  SUBCASE("a consistent 10% miss is corrected almost in full") {
    const std::vector<double> estimated = {1.0, 2.0, 3.0};
    const std::vector<double> measured = {1.1 * 1.01, 2.2, 3.3 * 0.99};
    const LogCorrection c = fit_log_correction(estimated, measured);
    const double r[3] = {std::log(1.1 * 1.01), std::log(1.1), std::log(1.1 * 0.99)};
    const double mean = (r[0] + r[1] + r[2]) / 3;
    double s2 = 0;
    for (double x : r) s2 += (x - mean) * (x - mean) / 2;
    const double w = 1 - (s2 / 3) / (mean * mean);
    CHECK(w > 0.99);
    CHECK(c.log_factor == doctest::Approx(w * mean).epsilon(1e-12));
    CHECK(c.log_variance == doctest::Approx(w * s2 / 3).epsilon(1e-12));
    CHECK(c.factor() == doctest::Approx(1.1).epsilon(0.01));
  }
  SUBCASE("a mean miss smaller than its own standard error is not applied") {
    const LogCorrection c = fit_log_correction({1, 1, 1}, {std::exp(0.05), std::exp(-0.04), std::exp(0.02)});
    CHECK(c.log_factor == 0.0);
    CHECK(c.log_variance == 0.0);
    CHECK(c.factor() == 1.0);
  }
  SUBCASE("one model says nothing about its scatter: no correction") {
    CHECK(fit_log_correction({1.0}, {1.5}).log_factor == 0.0);
    CHECK(fit_log_correction({}, {}).log_factor == 0.0);
  }
  SUBCASE("bad input is named") {
    CHECK_THROWS_WITH_AS(fit_log_correction({1, 2}, {1}), doctest::Contains("2 estimates for 1 measurements"), InputError);
    CHECK_THROWS_WITH_AS(fit_log_correction({1, 0}, {1, 1}), doctest::Contains("model 1"), InputError);
    CHECK_THROWS_WITH_AS(fit_log_correction({1, 1}, {1, std::nan("")}), doctest::Contains("positive and finite"), InputError);
  }
}

TEST_CASE("a calibration correction round-trips through JSON and bad JSON is refused") {
  CalibrationCorrection c;
  c.campaign = 7;
  c.models = 3;
  c.seconds = {0.05, 1e-4};
  c.joules = {-0.02, 2e-4};
  const CalibrationCorrection back = calibration_correction_from_json(calibration_correction_to_json(c));
  CHECK(back.campaign == 7);
  CHECK(back.models == 3);
  CHECK(back.seconds.log_factor == 0.05);
  CHECK(back.joules.log_variance == 2e-4);
  nlohmann::json bad = calibration_correction_to_json(c);
  bad["seconds"]["log_variance"] = -1;
  CHECK_THROWS_WITH_AS(calibration_correction_from_json(bad), doctest::Contains("seconds"), InputError);
  bad.erase("models");
  CHECK_THROWS_WITH_AS(calibration_correction_from_json(bad), doctest::Contains("calibration correction"), InputError);
}

namespace {

/// A kind model over `dims` channels predicting about `seconds` (and twice that in joules), with a
/// small variance.
KindModel flat_model(std::size_t dims, double seconds) {
  auto gp = [dims](double value) {
    auto g = std::make_shared<GaussianProcess>(std::vector<std::pair<double, double>>(dims, {1, 1000}));
    Eigen::MatrixXd x(3, static_cast<Eigen::Index>(dims));
    for (Eigen::Index d = 0; d < x.cols(); ++d) x.col(d) << 1, 500, 1000;
    g->set_data(x, Eigen::Vector3d(value, 1.01 * value, 0.99 * value));
    return g;
  };
  KindModel m;
  m.seconds = gp(seconds);
  m.joules = gp(2 * seconds);
  m.meter = MeterSource::Simulated;
  m.points = 3;
  return m;
}

}  // namespace

TEST_CASE("an estimate multiplies each block by its campaign's factor and adds the factor's variance once per campaign") {
  const ModelSpec model = sample_model(load_model_spec(std::string(AMPERE_MODELS_DIR) + "/cnn5.json"), 3);
  const std::vector<Block> blocks = parse_blocks(model);
  REQUIRE(blocks.size() >= 3);
  std::map<KindKey, KindModel> plain;
  for (const Block& b : blocks) plain[b.kind] = flat_model(b.channel_values().size(), b.kind.str().size() % 2 == 0 ? 0.001 : 0.003);
  CalibrationCorrection a;
  a.campaign = 1;
  a.models = 3;
  a.seconds = {std::log(1.2), 0.01};
  a.joules = {std::log(0.9), 0.02};
  CalibrationCorrection b = a;
  b.campaign = 2;
  b.seconds = {std::log(1.5), 0.04};
  std::map<KindKey, KindModel> corrected = plain;
  const KindKey first = blocks.front().kind;
  for (auto& [key, m] : corrected) m.calibration = key == first ? b : a;

  Estimator e;
  e.set_models("plain", plain);
  e.set_models("corrected", corrected);
  const nlohmann::json p = e.estimate(model, "plain", 1), c = e.estimate(model, "corrected", 1);
  CHECK(p.at("calibration").empty());
  REQUIRE(c.at("calibration").size() == 2);
  double mean = 0, variance = 0, sum_a = 0, sum_b = 0, joules = 0;
  for (std::size_t i = 0; i < blocks.size(); ++i) {
    const nlohmann::json& block = p.at("blocks")[i];
    const double f = blocks[i].kind == first ? 1.5 : 1.2;
    const double m = block.at("seconds_per_iteration").at("mean").get<double>();
    const double sd = block.at("seconds_per_iteration").at("std").get<double>();
    mean += f * m;
    variance += f * f * sd * sd;
    (blocks[i].kind == first ? sum_b : sum_a) += f * m;
    joules += 0.9 * block.at("joules_per_iteration").at("mean").get<double>();
    CHECK(c.at("blocks")[i].at("calibration_factor").at("seconds").get<double>() == doctest::Approx(f));
  }
  variance += sum_a * sum_a * 0.01 + sum_b * sum_b * 0.04;  // one term per campaign, on its blocks' sum
  CHECK(c.at("seconds_per_iteration").at("mean").get<double>() == doctest::Approx(mean).epsilon(1e-12));
  CHECK(c.at("seconds_per_iteration").at("std").get<double>() == doctest::Approx(std::sqrt(variance)).epsilon(1e-9));
  CHECK(c.at("joules_per_iteration").at("mean").get<double>() == doctest::Approx(joules).epsilon(1e-12));
}
