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
    m.meter = MeterLabel(MeterSource::Composite, {MeterSource::Rapl, MeterSource::Nvml});  // a whole node
    models[b.kind] = m;
  }
  estimator.set_models("box", models);
  const nlohmann::json gross = estimator.estimate(lenet, "box", 10);
  CHECK(gross.at("energy") == "gross");
  CHECK(gross.at("meter") == "rapl+nvml");  // the estimate names every meter its energy comes from
  CHECK(gross.at("blocks").at(0).at("meter") == "rapl+nvml");
  // a stored kind model keeps the whole label
  CHECK(kind_model_from_json(kind_model_to_json(models.begin()->second)).meter.str() == "rapl+nvml");
  CHECK(gross.at("above_idle").is_null());  // no idle power known for the class yet
  estimator.set_idle_watts("box", 20);
  const nlohmann::json e = estimator.estimate(lenet, "box", 10);
  const double s = e.at("seconds_per_iteration").at("mean").get<double>(), j = e.at("joules_per_iteration").at("mean").get<double>();
  CHECK(e.at("idle_watts").get<double>() == doctest::Approx(20));
  CHECK(e.at("above_idle").at("joules_per_iteration").at("mean").get<double>() == doctest::Approx(j - 20 * s));
  CHECK(e.at("above_idle").at("total").at("joules").at("mean").get<double>() == doctest::Approx(10 * (j - 20 * s)));
  CHECK(e.at("joules_per_iteration").at("mean").get<double>() == doctest::Approx(j));  // the gross figure is unchanged
}

TEST_CASE("blocks of one kind add their stds, kinds add variances, and a kind's variance scale widens its blocks") {
  // resnet-steps' two residual blocks share one kind: a member has an input, two hidden blocks of
  // the same kind at the same width, and an output block.
  const ModelSpec fam = load_model_spec(std::string(AMPERE_SOURCE_DIR) + "/bench/data/resnet-steps.json");
  ModelSpec model = sample_model(fam, 3);
  const std::vector<Block> blocks = parse_blocks(model);
  REQUIRE(blocks.size() == 4);
  REQUIRE(blocks[1].kind == blocks[2].kind);
  // GPs with a known latent variance: two noisy points far apart, fixed hyper-parameters
  std::map<KindKey, KindModel> models;
  std::map<KindKey, double> variance;
  for (const Block& b : blocks) {
    if (models.count(b.kind)) continue;
    auto gp = std::make_shared<GaussianProcess>(std::vector<std::pair<double, double>>{{8, 136}});
    Eigen::MatrixXd x(2, 1);
    x << 8, 136;
    GpHyperparameters h;
    h.length_scales = {0.3};
    h.noise_variance = 0.1;
    gp->set_hyperparameters(h);
    gp->set_data(x, Eigen::Vector2d(0.001, 0.003));
    KindModel m;
    m.seconds = gp;
    models[b.kind] = m;
    Eigen::MatrixXd q(1, 1);
    q(0, 0) = static_cast<double>(b.channel_values()[0]);
    variance[b.kind] = gp->predict(q).variance[0];
  }
  Estimator estimator;
  estimator.set_models("c", models);
  const nlohmann::json e = estimator.estimate(model, "c", 1);
  // by hand: (σ_in)² + (σ_h + σ_h)² + (σ_out)² = v_in + 4·v_h + v_out
  const double expected = variance[blocks[0].kind] + 4 * variance[blocks[1].kind] + variance[blocks[3].kind];
  const double std = e.at("seconds_per_iteration").at("std").get<double>();
  CHECK(std * std == doctest::Approx(expected).epsilon(1e-9));
  // the 90% interval is mean ± 1.645 std, cut at 0
  const double mean = e.at("seconds_per_iteration").at("mean").get<double>();
  const nlohmann::json& interval = e.at("seconds_per_iteration").at("interval90");
  CHECK(interval.at(1).get<double>() == doctest::Approx(mean + 1.6448536269514722 * std));
  CHECK(interval.at(0).get<double>() == doctest::Approx(std::max(0.0, mean - 1.6448536269514722 * std)));
  // a variance scale of 4 on the hidden kind doubles its blocks' stds
  models[blocks[1].kind].variance_scale = 4.0;
  Estimator scaled;
  scaled.set_models("c", models);
  const double scaled_std = scaled.estimate(model, "c", 1).at("seconds_per_iteration").at("std").get<double>();
  CHECK(scaled_std * scaled_std ==
        doctest::Approx(variance[blocks[0].kind] + 16 * variance[blocks[1].kind] + variance[blocks[3].kind]).epsilon(1e-9));
  // a whole-model residual r adds (mean·√r)², the largest r among the model's kinds
  models[blocks[0].kind].whole_model_residual = 0.0025;  // a 5% miss beyond the blocks' variances
  models[blocks[3].kind].whole_model_residual = 0.0016;
  Estimator residual;
  residual.set_models("c", models);
  const nlohmann::json r = residual.estimate(model, "c", 1).at("seconds_per_iteration");
  const double r_mean = r.at("mean").get<double>(), r_std = r.at("std").get<double>();
  CHECK(r_std * r_std == doctest::Approx(scaled_std * scaled_std + r_mean * r_mean * 0.0025).epsilon(1e-9));
  CHECK(kind_model_from_json(kind_model_to_json(models[blocks[0].kind])).whole_model_residual == 0.0025);
  CHECK(residual.estimate(model, "c", 1).at("uncertainty").at("whole_model_relative_std").get<double>() ==
        doctest::Approx(0.05));
  // the device's speed variance v (its reference readings, log) adds (mean·√v)² as well, the largest v
  models[blocks[0].kind].reference_seconds_log_variance = 0.0009;  // the device moved by 3% over the campaign
  models[blocks[3].kind].reference_seconds_log_variance = 0.0004;
  Estimator speed;
  speed.set_models("c", models);
  const nlohmann::json sp = speed.estimate(model, "c", 1);
  const double sp_std = sp.at("seconds_per_iteration").at("std").get<double>();
  CHECK(sp_std * sp_std == doctest::Approx(scaled_std * scaled_std + r_mean * r_mean * (0.0025 + 0.0009)).epsilon(1e-9));
  CHECK(sp.at("uncertainty").at("device_speed_relative_std").at("seconds").get<double>() == doctest::Approx(0.03));
  CHECK(sp.at("uncertainty").at("device_speed_relative_std").at("joules").is_null());  // no energy model here
  const KindModel restored = kind_model_from_json(kind_model_to_json(models[blocks[0].kind]));
  CHECK(restored.reference_seconds_log_variance == 0.0009);
  CHECK(restored.reference_joules_log_variance == 0);
  CHECK_FALSE(kind_model_to_json(models[blocks[1].kind]).contains("reference_log_variance"));  // none: as saved before
  nlohmann::json bad_speed = kind_model_to_json(models[blocks[0].kind]);
  bad_speed["reference_log_variance"]["joules"] = -0.5;
  CHECK_THROWS_WITH_AS(kind_model_from_json(bad_speed), doctest::Contains("reference_log_variance must be finite and >= 0, got -0.5"),
                       InputError);
  bad_speed["reference_log_variance"] = {{"seconds", 0.1}};
  CHECK_THROWS_AS(kind_model_from_json(bad_speed), InputError);  // joules missing
  models[blocks[0].kind].reference_seconds_log_variance = 0;
  models[blocks[3].kind].reference_seconds_log_variance = 0;
  nlohmann::json negative = kind_model_to_json(models[blocks[0].kind]);
  negative["whole_model_residual"] = -1;
  CHECK_THROWS_WITH_AS(kind_model_from_json(negative), doctest::Contains("whole_model_residual must be finite and >= 0"), InputError);
  // saved and restored, the scale stays; a scale below 1 is refused by name
  const nlohmann::json saved = kind_model_to_json(models[blocks[1].kind]);
  CHECK(saved.at("variance_scale") == 4.0);
  CHECK(kind_model_from_json(saved).variance_scale == 4.0);
  CHECK_FALSE(kind_model_to_json(models[blocks[0].kind]).contains("variance_scale"));
  nlohmann::json bad = saved;
  bad["variance_scale"] = 0.5;
  CHECK_THROWS_WITH_AS(kind_model_from_json(bad), doctest::Contains("variance_scale must be finite and >= 1, got 0.5"), InputError);
}
