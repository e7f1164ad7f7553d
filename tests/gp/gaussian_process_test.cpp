#include "gp/gaussian_process.hpp"

#include <cmath>
#include <limits>
#include <random>

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include "common/error.hpp"
#include "support/reference_data.hpp"

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

/// The analytic likelihood gradient at θ against central finite differences.
void check_gradient(const GaussianProcess& gp, const Eigen::VectorXd& theta) {
  Eigen::VectorXd gradient;
  gp.log_marginal_likelihood(theta, &gradient);
  REQUIRE(gradient.size() == theta.size());
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
  check_gradient(gp, theta);
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

TEST_CASE("the quadratic trend: gradient against finite differences, and a saved GP predicts like the original") {
  const auto ref = load_gp_reference("2d_noisy_100");
  GaussianProcess gp(ref.bounds, ampere::GpTrend::Quadratic);
  gp.set_data(ref.x, ref.y, Eigen::VectorXd::Constant(ref.y.size(), 1e-6));
  Eigen::VectorXd theta(5);  // log σ_f², log ℓ_1, log ℓ_2, log σ_n², log σ_t²
  theta << 0.3, -1.1, -0.4, -3.0, 0.7;
  check_gradient(gp, theta);
  gp.fit();
  const nlohmann::json saved = nlohmann::json::parse(gp.to_json().dump());
  CHECK(saved.at("trend") == "quadratic");
  const GaussianProcess restored = GaussianProcess::from_json(saved);
  CHECK(restored.trend() == ampere::GpTrend::Quadratic);
  const auto a = gp.predict(ref.query), b = restored.predict(ref.query);
  CHECK((a.mean - b.mean).cwiseAbs().maxCoeff() == 0.0);
  CHECK((a.variance - b.variance).cwiseAbs().maxCoeff() == 0.0);
  // the posterior variance is never above the prior's, which now grows with the trend features
  CHECK((a.variance.array() <= gp.prior_variance(ref.query).array() * gp.target_variance_scale() * (1 + 1e-12)).all());
  nlohmann::json broken = saved;
  broken["trend"] = "cubic";
  CHECK_THROWS_WITH_AS(GaussianProcess::from_json(broken), doctest::Contains("unknown 'cubic'"), ampere::InputError);
}

TEST_CASE("with the quadratic trend, a block's bilinear cost measured on the edges is right inside") {
  // A convolution's cost grows with C_in·C_out. Max-variance acquisition measures the corners and
  // edges first; interpolating a bilinear surface between them with a stationary kernel alone
  // overshoots inside (the surface is not flat), which is where the family's models live.
  const auto cost = [](double a, double b) { return 2.0e-5 + 1.0e-6 * a * b + 2.0e-7 * (a + b) + 3.0e-8 * b * b; };
  // Corners and edge midpoints, measured with 2% noise (12 draws averaged below).
  std::vector<std::pair<double, double>> points;
  for (double t : {1.0, 32.0, 64.0}) {
    points.emplace_back(1.0, t);
    points.emplace_back(64.0, t);
    if (t == 32.0) {
      points.emplace_back(t, 1.0);
      points.emplace_back(t, 64.0);
    }
  }
  Eigen::MatrixXd x(static_cast<Eigen::Index>(points.size()), 2);
  Eigen::VectorXd y(x.rows());
  std::mt19937_64 rng(3);
  std::normal_distribution<double> normal(0.0, 1.0);
  const auto interior_error_once = [&](ampere::GpTrend trend) {
    GaussianProcess gp({{1, 64}, {1, 64}}, trend);
    gp.set_data(x, y);
    gp.fit();
    double sum = 0;
    int n = 0;
    for (double a = 8; a <= 56; a += 6)
      for (double b = 8; b <= 56; b += 6) {
        Eigen::MatrixXd q(1, 2);
        q << a, b;
        sum += std::abs(gp.predict(q).mean[0] / cost(a, b) - 1.0);
        ++n;
      }
    return sum / n;
  };
  const auto interior_error = [&](ampere::GpTrend trend) {
    rng.seed(3);
    double sum = 0;
    for (int draw = 0; draw < 12; ++draw) {
      for (Eigen::Index i = 0; i < x.rows(); ++i) {
        x(i, 0) = points[static_cast<std::size_t>(i)].first;
        x(i, 1) = points[static_cast<std::size_t>(i)].second;
        y[i] = cost(x(i, 0), x(i, 1)) * (1.0 + 0.02 * normal(rng));
      }
      sum += interior_error_once(trend);
    }
    return sum / 12;
  };
  const double plain = interior_error(ampere::GpTrend::None), trended = interior_error(ampere::GpTrend::Quadratic);
  MESSAGE("interior mean relative error: Matérn alone ", 100 * plain, "%, with the quadratic trend ", 100 * trended, "%");
  CHECK(trended < 0.7 * plain);  // measured here: 5.8% → 3.4%
}

TEST_CASE("a log warp: gradient against finite differences, saved and restored, refused on bounds that are not positive") {
  const auto ref = load_gp_reference("2d_noisy_100");
  std::vector<std::pair<double, double>> bounds = ref.bounds;
  for (auto& b : bounds) REQUIRE(b.first > 0);  // the reference data's inputs are positive
  GaussianProcess gp(bounds, ampere::GpTrend::Quadratic, ampere::GpWarp::Log);
  gp.set_data(ref.x, ref.y, Eigen::VectorXd::Constant(ref.y.size(), 1e-6));
  Eigen::VectorXd theta(5);
  theta << 0.3, -1.1, -0.4, -3.0, 0.7;
  check_gradient(gp, theta);
  gp.fit();
  const nlohmann::json saved = nlohmann::json::parse(gp.to_json().dump());
  CHECK(saved.at("warp") == "log");
  const GaussianProcess restored = GaussianProcess::from_json(saved);
  CHECK(restored.warp() == ampere::GpWarp::Log);
  const auto a = gp.predict(ref.query), b = restored.predict(ref.query);
  CHECK((a.mean - b.mean).cwiseAbs().maxCoeff() == 0.0);
  // a linear GP on the same data predicts differently: the warp is in the kernel
  GaussianProcess linear(bounds, ampere::GpTrend::Quadratic);
  linear.set_data(ref.x, ref.y, Eigen::VectorXd::Constant(ref.y.size(), 1e-6));
  linear.set_hyperparameters(gp.hyperparameters());
  CHECK((linear.predict(ref.query).mean - a.mean).cwiseAbs().maxCoeff() > 1e-9);
  // an old save without the field is linear
  nlohmann::json old = linear.to_json();
  CHECK_FALSE(old.contains("warp"));
  CHECK(GaussianProcess::from_json(old).warp() == ampere::GpWarp::Linear);
  nlohmann::json broken = saved;
  broken["warp"] = "sqrt";
  CHECK_THROWS_WITH_AS(GaussianProcess::from_json(broken), doctest::Contains("unknown 'sqrt'"), ampere::InputError);
  CHECK_THROWS_WITH_AS(GaussianProcess({{0, 64}}, ampere::GpTrend::None, ampere::GpWarp::Log),
                       doctest::Contains("positive bounds"), ampere::InputError);
}

TEST_CASE("warp_for_kernel: log(x/lo)/log(hi/lo) of the raw channels, a fixed dimension at zero") {
  Eigen::MatrixXd raw(3, 2);
  raw << 1, 16, 8, 16, 64, 16;
  const std::vector<std::pair<double, double>> bounds{{1, 64}, {16, 16}};
  const Eigen::MatrixXd w = ampere::warp_for_kernel(ampere::scale_to_unit(raw, bounds), bounds, ampere::GpWarp::Log);
  CHECK(w(0, 0) == doctest::Approx(0.0));
  CHECK(w(1, 0) == doctest::Approx(0.5));  // 8 is halfway from 1 to 64 in log
  CHECK(w(2, 0) == doctest::Approx(1.0));
  CHECK(w.col(1).cwiseAbs().maxCoeff() == 0.0);
  CHECK(ampere::warp_for_kernel(raw, bounds, ampere::GpWarp::Linear) == raw);
}

TEST_CASE("with a log warp, a cost that bends at small widths is followed better between the points") {
  // Cost per channel falls fast over the first few channels (fixed overheads, lanes left empty)
  // and slowly after: the shape a stationary kernel on linear channels cannot follow at both ends.
  const auto cost = [](double c) { return 1e-3 * c + 4e-3 * std::sqrt(c) + 2e-3 / c; };
  const std::vector<double> at{1, 2, 3, 5, 8, 12, 18, 27, 40, 52, 64};
  Eigen::MatrixXd x(static_cast<Eigen::Index>(at.size()), 1);
  Eigen::VectorXd y(x.rows());
  for (Eigen::Index i = 0; i < x.rows(); ++i) {
    x(i, 0) = at[static_cast<std::size_t>(i)];
    y[i] = cost(x(i, 0));
  }
  const auto error = [&](ampere::GpWarp warp) {
    GaussianProcess gp({{1, 64}}, ampere::GpTrend::Quadratic, warp);
    gp.set_data(x, y);
    gp.fit();
    double sum = 0;
    int n = 0;
    for (double c = 1; c <= 64; c += 1) {
      Eigen::MatrixXd q(1, 1);
      q << c;
      sum += std::abs(gp.predict(q).mean[0] / cost(c) - 1.0);
      ++n;
    }
    return sum / n;
  };
  const double linear = error(ampere::GpWarp::Linear), log = error(ampere::GpWarp::Log);
  MESSAGE("mean relative error, linear " << linear << ", log " << log);
  CHECK(log < 0.5 * linear);
}

TEST_CASE("leave-one-out predictions equal refitting without the point at the same hyper-parameters") {
  Eigen::MatrixXd x(6, 1);
  x << 1, 3, 4, 7, 9, 12;
  Eigen::VectorXd y(6);
  y << 1.0, 2.5, 2.9, 4.1, 5.5, 4.0;
  Eigen::VectorXd noise(6);
  noise << 0.01, 0.0, 0.02, 0.0, 0.0, 0.05;
  ampere::GaussianProcess gp({{1, 12}}, ampere::GpTrend::Quadratic);
  gp.set_data(x, y, noise);
  gp.fit();
  const ampere::GpPrediction loo = gp.leave_one_out();
  for (Eigen::Index i = 0; i < 6; ++i) {
    // by brute force: the other five points, normalized as the whole set was (the hyper-parameters
    // live in normalized units, so the same normalization is what makes them the same model)
    std::vector<Eigen::Index> keep;
    for (Eigen::Index j = 0; j < 6; ++j)
      if (j != i) keep.push_back(j);
    const double mean = y.mean(), scale = std::sqrt((y.array() - mean).square().mean());
    // centre the rest on the full set's mean: set_data re-standardizes, so compare in a form that
    // does not depend on it — the posterior of the normalized latent function
    Eigen::MatrixXd k = gp.prior_covariance(x(keep, Eigen::all), x(keep, Eigen::all));
    for (std::size_t a = 0; a < keep.size(); ++a)
      k(static_cast<Eigen::Index>(a), static_cast<Eigen::Index>(a)) +=
          gp.hyperparameters().noise_variance + noise[keep[a]] / (scale * scale);
    const Eigen::VectorXd kx = gp.prior_covariance(x(keep, Eigen::all), x.row(i)).col(0);
    const Eigen::VectorXd yn = (y(keep).array() - mean) / scale;
    const Eigen::LDLT<Eigen::MatrixXd> solve(k);
    const double expected_mean = kx.dot(solve.solve(yn)) * scale + mean;
    const double expected_variance = (gp.prior_covariance(x.row(i), x.row(i))(0, 0) - kx.dot(solve.solve(kx)) +
                                      gp.hyperparameters().noise_variance + noise[i] / (scale * scale)) *
                                     scale * scale;
    CAPTURE(i);
    CHECK(loo.mean[i] == doctest::Approx(expected_mean).epsilon(1e-6));
    CHECK(loo.variance[i] == doctest::Approx(expected_variance).epsilon(1e-5));
  }
}
