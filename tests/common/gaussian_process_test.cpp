#include "common/gaussian_process.hpp"

#include <cmath>
#include <limits>

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include "common/error.hpp"
#include "common/reference_data.hpp"

using ampere::GaussianProcess;
using ampere::GpHyperparameters;
using ampere::testing::load_gp_reference;
using ampere::testing::vector_of;

namespace {

GpHyperparameters from_theta(const Eigen::VectorXd& theta) {
  GpHyperparameters h;
  h.signal_variance = std::exp(theta[0]);
  for (Eigen::Index d = 1; d + 1 < theta.size(); ++d) h.length_scales.push_back(std::exp(theta[d]));
  h.noise_variance = std::exp(theta[theta.size() - 1]);
  return h;
}

double max_relative_error(const Eigen::VectorXd& ours, const Eigen::VectorXd& reference) {
  REQUIRE(ours.size() == reference.size());
  return ((ours - reference).array().abs() / reference.array().abs().max(1e-300)).maxCoeff();
}

}  // namespace

TEST_CASE("Matern 5/2 correlation matches its closed form") {
  CHECK(ampere::matern52(0.0) == 1.0);
  // r = 1: (1 + √5 + 5/3) e^{−√5} = 0.523994...
  CHECK(ampere::matern52(1.0) == doctest::Approx(0.5239941088318203).epsilon(1e-12));
}

TEST_CASE("at fixed hyper-parameters, mean, std and likelihood equal scikit-learn's to 1e-6") {
  for (const std::string& name : ampere::testing::gp_reference_names()) {
    CAPTURE(name);
    const auto ref = load_gp_reference(name);
    const auto& fixed = ref.json.at("fixed");
    GaussianProcess gp(ref.bounds);
    gp.set_hyperparameters(from_theta(vector_of(fixed.at("theta"))));
    gp.set_data(ref.x, ref.y);
    const ampere::GpPrediction p = gp.predict(ref.query, /*include_noise=*/true);  // sklearn's std has the white noise
    CHECK(max_relative_error(p.mean, vector_of(fixed.at("mean"))) < 1e-6);
    CHECK(max_relative_error(p.variance.cwiseSqrt(), vector_of(fixed.at("std"))) < 1e-6);
    const double lml_ref = fixed.at("log_marginal_likelihood").get<double>();
    CHECK(gp.log_marginal_likelihood() == doctest::Approx(lml_ref).epsilon(1e-6));
    Eigen::VectorXd gradient;
    const double lml = gp.log_marginal_likelihood(vector_of(fixed.at("theta")), &gradient);
    CHECK(lml == doctest::Approx(lml_ref).epsilon(1e-6));
    const Eigen::VectorXd grad_ref = vector_of(fixed.at("gradient"));
    CHECK((gradient - grad_ref).cwiseAbs().maxCoeff() < 1e-6 * std::max(1.0, grad_ref.cwiseAbs().maxCoeff()));
  }
}

TEST_CASE("the likelihood gradient agrees with central finite differences") {
  const auto ref = load_gp_reference("2d_noisy_100");
  GaussianProcess gp(ref.bounds);
  gp.set_data(ref.x, ref.y, Eigen::VectorXd::Constant(ref.y.size(), 1e-6));
  Eigen::VectorXd theta(4);
  theta << 0.3, -1.1, -0.4, -3.0;
  Eigen::VectorXd gradient;
  gp.log_marginal_likelihood(theta, &gradient);
  for (Eigen::Index i = 0; i < theta.size(); ++i) {
    CAPTURE(i);
    const double h = 1e-5;
    Eigen::VectorXd up = theta, down = theta;
    up[i] += h;
    down[i] -= h;
    const double numeric = (gp.log_marginal_likelihood(up, nullptr) - gp.log_marginal_likelihood(down, nullptr)) / (2 * h);
    CHECK(gradient[i] == doctest::Approx(numeric).epsilon(1e-5));
  }
}

TEST_CASE("the L-BFGS-B fit reaches scikit-learn's log marginal likelihood") {
  for (const std::string& name : ampere::testing::gp_reference_names()) {
    CAPTURE(name);
    const auto ref = load_gp_reference(name);
    GaussianProcess gp(ref.bounds);
    gp.set_data(ref.x, ref.y);
    gp.fit();
    const double ours = gp.log_marginal_likelihood();
    const double theirs = ref.json.at("fitted").at("log_marginal_likelihood").get<double>();
    CAPTURE(ours);
    CAPTURE(theirs);
    CHECK(ours >= theirs - 1e-3);
  }
}

TEST_CASE("fits are reproducible for a fixed seed") {
  const auto ref = load_gp_reference("2d_noisy_100");
  GaussianProcess a(ref.bounds), b(ref.bounds);
  a.set_data(ref.x, ref.y);
  b.set_data(ref.x, ref.y);
  a.fit();
  b.fit();
  CHECK(a.log_marginal_likelihood() == b.log_marginal_likelihood());
  CHECK(a.hyperparameters().length_scales == b.hyperparameters().length_scales);
}

TEST_CASE("a saved GP predicts exactly like the original without refitting") {
  const auto ref = load_gp_reference("2d_clean_30");
  GaussianProcess gp(ref.bounds);
  Eigen::VectorXd extra = Eigen::VectorXd::Zero(ref.y.size());
  extra[3] = 0.01;
  gp.set_data(ref.x, ref.y, extra);
  gp.fit();
  const nlohmann::json saved = nlohmann::json::parse(gp.to_json().dump());
  const GaussianProcess restored = GaussianProcess::from_json(saved);
  const auto a = gp.predict(ref.query), b = restored.predict(ref.query);
  CHECK((a.mean - b.mean).cwiseAbs().maxCoeff() == 0.0);
  CHECK((a.variance - b.variance).cwiseAbs().maxCoeff() == 0.0);
  CHECK(restored.log_marginal_likelihood() == gp.log_marginal_likelihood());

  nlohmann::json broken = saved;
  broken["y"].erase(0);
  CHECK_THROWS_WITH_AS(GaussianProcess::from_json(broken), doctest::Contains("saved GP: x, y and extra_noise_variance differ"),
                       ampere::InputError);
  broken = saved;
  broken["format"] = "something-else";
  CHECK_THROWS_AS(GaussianProcess::from_json(broken), ampere::InputError);
}

TEST_CASE("extra noise on a subtracted target widens the posterior there") {
  Eigen::MatrixXd x(3, 1);
  x << 1, 10, 20;
  Eigen::VectorXd y(3);
  y << 1.0, 2.0, 4.0;
  GaussianProcess plain({{1, 20}}), noisy({{1, 20}});
  GpHyperparameters h;
  h.length_scales = {0.5};
  h.noise_variance = 1e-4;
  plain.set_hyperparameters(h);
  noisy.set_hyperparameters(h);
  plain.set_data(x, y);
  noisy.set_data(x, y, Eigen::Vector3d(0, 0.5, 0));
  Eigen::MatrixXd at(1, 1);
  at << 10;
  CHECK(noisy.predict(at).variance[0] > 10 * plain.predict(at).variance[0]);
}

TEST_CASE("degenerate data: one point, duplicates and constant targets are handled") {
  GaussianProcess one({{1, 64}});
  one.set_data(Eigen::MatrixXd::Constant(1, 1, 8.0), Eigen::VectorXd::Constant(1, 3.5));
  one.fit();
  Eigen::MatrixXd q(2, 1);
  q << 8, 60;
  auto p = one.predict(q);
  CHECK(p.mean[0] == doctest::Approx(3.5));
  CHECK(std::isfinite(p.variance[1]));

  Eigen::MatrixXd dup(4, 1);
  dup << 5, 5, 5, 30;
  GaussianProcess duplicates({{1, 64}});
  duplicates.set_data(dup, Eigen::Vector4d(1.0, 1.1, 0.9, 2.0));
  duplicates.fit();
  p = duplicates.predict(q);
  CHECK(p.mean.allFinite());
  CHECK(p.variance.allFinite());

  GaussianProcess constant({{1, 64}});
  constant.set_data(dup, Eigen::Vector4d::Constant(2.0));
  constant.fit();
  p = constant.predict(q);
  CHECK(p.mean[0] == doctest::Approx(2.0));
  CHECK(p.mean[1] == doctest::Approx(2.0));
}

TEST_CASE("bad GP data is refused with the point and the problem") {
  GaussianProcess gp({{1, 64}});
  Eigen::MatrixXd x(2, 1);
  x << 1, 2;
  CHECK_THROWS_WITH_AS(gp.set_data(x, Eigen::Vector2d(1.0, std::nan(""))), "GP: target of point 1 is nan",
                       ampere::InputError);
  x(0, 0) = 70;
  CHECK_THROWS_WITH_AS(gp.set_data(x, Eigen::Vector2d(1.0, 2.0)),
                       "GP: input 0 of point 0 = 70 is outside its bounds [1, 64]", ampere::InputError);
  CHECK_THROWS_AS(gp.set_data(Eigen::MatrixXd(0, 1), Eigen::VectorXd()), ampere::InputError);
  CHECK_THROWS_AS(gp.set_data(x, Eigen::Vector3d(1, 2, 3)), ampere::InputError);
  CHECK_THROWS_AS(gp.predict(x), ampere::InputError);  // no data yet
  CHECK_THROWS_AS(GaussianProcess({{5, 1}}), ampere::InputError);
}

TEST_CASE("a fixed channel dimension (lo == hi) is scaled to zero, not divided by zero") {
  GaussianProcess gp({{16, 16}, {1, 64}});
  Eigen::MatrixXd x(3, 2);
  x << 16, 1, 16, 32, 16, 64;
  gp.set_data(x, Eigen::Vector3d(1, 2, 3));
  gp.fit();
  CHECK(gp.predict(x).mean.allFinite());
}
