#include "coordinator/planning/joint_additive_gp.hpp"

#include <cmath>
#include <random>

#include <doctest/doctest.h>

#include "common/error.hpp"
#include "gp/gaussian_process.hpp"

using namespace ampere;

namespace {

// A synthetic class with the paper's three roles: an output kind O(c), an input kind I(c) measured
// as I(c) + O(c), and a hidden kind H(a, b) measured as I(a) + H(a, b) + O(b). Channels in [4, 64].
double truth_o(double c) { return 2.0e-3 + 1.5e-5 * std::pow(c, 1.3); }
double truth_i(double c) { return 3.0e-3 + 2.0e-5 * c + 1.0e-7 * c * c; }
double truth_h(double a, double b) { return 1.0e-3 + 4.0e-7 * a * b + 1.0e-5 * (a + b); }

const std::vector<std::pair<double, double>> kOneD{{4, 64}};
const std::vector<std::pair<double, double>> kTwoD{{4, 64}, {4, 64}};
const std::vector<double> kOutputPoints{4, 16, 28, 40, 52, 64};
const std::vector<double> kInputPoints{4, 28, 52, 64};
const std::vector<double> kHiddenSide{4, 28, 64};

enum Kind : std::size_t { O = 0, I = 1, H = 2 };

std::vector<JointKind> kinds(GpTrend trend = GpTrend::None, GpWarp warp = GpWarp::Linear) {
  return {{"O", kOneD, trend, {}, warp, {}}, {"I", kOneD, trend, {}, warp, {}}, {"H", kTwoD, trend, {}, warp, {}}};
}

/// The variant networks of the three kinds, values from `o`, `i`, `h` (truth, or truth with noise).
struct Synthetic {
  std::vector<JointMeasurement> measurements;
  std::vector<double> o_values, i_values;
  std::vector<std::pair<double, double>> h_points;
  std::vector<double> h_values;
};

Synthetic variants(double output_noise_fraction, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<double> normal(0.0, 1.0);
  Synthetic s;
  for (double c : kOutputPoints) {
    const double value = truth_o(c) * (1.0 + output_noise_fraction * normal(rng));
    const double variance = std::pow(output_noise_fraction * truth_o(c), 2);
    s.measurements.push_back({{{O, {c}}}, value, variance});
    s.o_values.push_back(value);
  }
  for (double c : kInputPoints) {
    const double value = truth_i(c) + truth_o(c);
    s.measurements.push_back({{{I, {c}}, {O, {c}}}, value, 0.0});
    s.i_values.push_back(value);
  }
  for (double a : kHiddenSide)
    for (double b : kHiddenSide) {
      const double value = truth_i(a) + truth_h(a, b) + truth_o(b);
      s.measurements.push_back({{{I, {a}}, {H, {a, b}}, {O, {b}}}, value, 0.0});
      s.h_points.emplace_back(a, b);
      s.h_values.push_back(value);
    }
  return s;
}

Eigen::MatrixXd column(const std::vector<double>& v) {
  return Eigen::Map<const Eigen::VectorXd>(v.data(), static_cast<Eigen::Index>(v.size()));
}

GpPrediction predict_at(const KindFunction& f, std::initializer_list<double> channels) {
  Eigen::MatrixXd q(1, static_cast<Eigen::Index>(channels.size()));
  Eigen::Index d = 0;
  for (double c : channels) q(0, d++) = c;
  return f.predict(q);
}
double one(const KindFunction& f, std::initializer_list<double> channels) { return predict_at(f, channels).mean[0]; }
double one_variance(const KindFunction& f, std::initializer_list<double> channels) {
  return predict_at(f, channels).variance[0];
}

/// The paper's subtractive fit at fixed hyper-parameters: O on its own networks, then I on
/// I+O minus Ô (Ô's variance as extra noise), then H on I+H+O minus Î and Ô.
struct Subtractive {
  std::shared_ptr<GaussianProcess> o, i, h;
};
Subtractive subtractive(const Synthetic& s, const GpHyperparameters& one_d, const GpHyperparameters& two_d, bool fit,
                        GpTrend trend = GpTrend::None, GpWarp warp = GpWarp::Linear) {
  Subtractive out;
  out.o = std::make_shared<GaussianProcess>(kOneD, trend, warp);
  out.o->set_hyperparameters(one_d);
  Eigen::VectorXd o_noise(static_cast<Eigen::Index>(kOutputPoints.size()));
  for (std::size_t k = 0; k < kOutputPoints.size(); ++k) o_noise[static_cast<Eigen::Index>(k)] = s.measurements[k].noise_variance;
  out.o->set_data(column(kOutputPoints), column(s.o_values), o_noise);
  if (fit) out.o->fit();
  const GpPrediction o_at_i = out.o->predict(column(kInputPoints));
  out.i = std::make_shared<GaussianProcess>(kOneD, trend, warp);
  out.i->set_hyperparameters(one_d);
  out.i->set_data(column(kInputPoints), column(s.i_values) - o_at_i.mean, o_at_i.variance);
  if (fit) out.i->fit();
  const auto n = static_cast<Eigen::Index>(s.h_points.size());
  Eigen::MatrixXd x(n, 2), a(n, 1), b(n, 1);
  for (Eigen::Index r = 0; r < n; ++r) {
    x(r, 0) = a(r, 0) = s.h_points[static_cast<std::size_t>(r)].first;
    x(r, 1) = b(r, 0) = s.h_points[static_cast<std::size_t>(r)].second;
  }
  const GpPrediction i_at = out.i->predict(a), o_at = out.o->predict(b);
  out.h = std::make_shared<GaussianProcess>(kTwoD, trend, warp);
  out.h->set_hyperparameters(two_d);
  out.h->set_data(x, column(s.h_values) - i_at.mean - o_at.mean, i_at.variance + o_at.variance);
  if (fit) out.h->fit();
  return out;
}

/// The joint model's hyper-parameters equal to a kind GP's: its prior in target units.
JointKindHyperparameters same_prior(const GaussianProcess& gp) {
  return {gp.targets().mean(), gp.hyperparameters().signal_variance * gp.target_variance_scale(),
          gp.hyperparameters().length_scales,
          gp.trend() == GpTrend::None ? 0.0 : gp.hyperparameters().trend_variance * gp.target_variance_scale()};
}

/// Relative error of a whole network's estimate, I(x) + H(x, y) + H(y, z) + O(z), over a grid.
template <typename Fo, typename Fi, typename Fh>
double whole_model_error(Fo o, Fi i, Fh h) {
  double sum = 0;
  int count = 0;
  for (double x = 6; x <= 62; x += 8)
    for (double y = 6; y <= 62; y += 8)
      for (double z = 10; z <= 60; z += 25) {
        const double truth = truth_i(x) + truth_h(x, y) + truth_h(y, z) + truth_o(z);
        const double estimate = i(x) + h(x, y) + h(y, z) + o(z);
        sum += std::abs(estimate / truth - 1.0);
        ++count;
      }
  return sum / count;
}

}  // namespace

TEST_CASE("the joint GP equals the subtractive fit on exactly additive, noise-free data at fixed hyper-parameters") {
  GpTrend trend = GpTrend::None;
  GpWarp warp = GpWarp::Linear;
  SUBCASE("Matérn alone") {}
  SUBCASE("with the quadratic trend") { trend = GpTrend::Quadratic; }
  SUBCASE("with the quadratic trend and log-warped channels") {
    trend = GpTrend::Quadratic;
    warp = GpWarp::Log;
  }
  CAPTURE(gp_trend_name(trend));
  CAPTURE(gp_warp_name(warp));
  const Synthetic s = variants(0.0, 1);
  GpHyperparameters one_d{1.0, {0.35}, 1e-10, 0.8};
  GpHyperparameters two_d{1.0, {0.6, 0.6}, 1e-10, 1.7};
  const Subtractive sub = subtractive(s, one_d, two_d, false, trend, warp);

  JointAdditiveGp joint(kinds(trend, warp), s.measurements);
  joint.set_hyperparameters({{same_prior(*sub.o), same_prior(*sub.i), same_prior(*sub.h)}, 1e-12, 1e-16});
  const auto o = joint.posterior(O), i = joint.posterior(I), h = joint.posterior(H);
  for (double c : {5.0, 11.0, 23.0, 37.5, 50.0, 63.0}) {
    CAPTURE(c);
    CHECK(one(*o, {c}) == doctest::Approx(one(*sub.o, {c})).epsilon(1e-6));
    CHECK(one(*i, {c}) == doctest::Approx(one(*sub.i, {c})).epsilon(1e-6));
    // variances: a small remainder of the prior's, compared to 1e-6 of the prior variance
    const double prior = sub.o->prior_variance(column({c}))[0] * sub.o->target_variance_scale();
    CHECK(std::abs(one_variance(*o, {c}) - one_variance(*sub.o, {c})) <= 1e-6 * prior);
    for (double b : {7.0, 33.0, 60.0}) CHECK(one(*h, {c, b}) == doctest::Approx(one(*sub.h, {c, b})).epsilon(1e-6));
  }
  // the posterior saved and restored predicts the same
  const nlohmann::json saved = nlohmann::json::parse(h->to_json().dump());
  CHECK(saved.contains("warp") == (warp == GpWarp::Log));
  const JointKindPosterior restored = JointKindPosterior::from_json(saved);
  CHECK(restored.parts().warp == warp);
  CHECK(one(restored, {20.0, 40.0}) == doctest::Approx(one(*h, {20.0, 40.0})).epsilon(1e-12));
  CHECK(one_variance(restored, {20.0, 40.0}) == doctest::Approx(one_variance(*h, {20.0, 40.0})).epsilon(1e-9));
}

TEST_CASE("the joint GP beats the subtractive fit when one block's helper is noisy") {
  // The output helper's own networks carry 10% noise (declared as their variance); every variant
  // network with it inside is exact. Subtraction puts Ô's error into I and H; the joint posterior
  // weighs all networks together. Both fit their hyper-parameters; averaged over draws.
  double joint_error = 0, subtractive_error = 0;
  const int draws = 12;
  for (int draw = 0; draw < draws; ++draw) {
    const Synthetic s = variants(0.10, 100 + static_cast<std::uint64_t>(draw));
    const Subtractive sub = subtractive(s, {1.0, {1.0}, 1e-2}, {1.0, {1.0, 1.0}, 1e-2}, true);
    JointAdditiveGp joint(kinds(), s.measurements);
    joint.set_hyperparameters({{same_prior(*sub.o), same_prior(*sub.i), same_prior(*sub.h)}, 1e-4, 1e-10});
    joint.fit();
    const auto o = joint.posterior(O), i = joint.posterior(I), h = joint.posterior(H);
    joint_error += whole_model_error([&](double c) { return one(*o, {c}); }, [&](double c) { return one(*i, {c}); },
                                     [&](double a, double b) { return one(*h, {a, b}); });
    subtractive_error += whole_model_error([&](double c) { return one(*sub.o, {c}); }, [&](double c) { return one(*sub.i, {c}); },
                                           [&](double a, double b) { return one(*sub.h, {a, b}); });
  }
  joint_error /= draws;
  subtractive_error /= draws;
  MESSAGE("whole-model MAPE: joint ", 100 * joint_error, "%, subtractive ", 100 * subtractive_error, "%");
  CHECK(joint_error < 0.8 * subtractive_error);
}

TEST_CASE("the joint GP's likelihood gradient matches finite differences") {
  GpTrend trend = GpTrend::None;
  GpWarp warp = GpWarp::Linear;
  SUBCASE("Matérn alone") {}
  SUBCASE("with the quadratic trend") { trend = GpTrend::Quadratic; }
  SUBCASE("with the quadratic trend and log-warped channels") {
    trend = GpTrend::Quadratic;
    warp = GpWarp::Log;
  }
  CAPTURE(gp_trend_name(trend));
  CAPTURE(gp_warp_name(warp));
  const Synthetic s = variants(0.05, 7);
  std::vector<JointMeasurement> data = s.measurements;
  // a whole model too: two hidden blocks of the same kind, one of them twice
  data.push_back({{{I, {10}}, {H, {10, 30}}, {H, {30, 30}}, {H, {30, 30}}, {O, {30}}},
                  truth_i(10) + truth_h(10, 30) + 2 * truth_h(30, 30) + truth_o(30), 1e-10});
  JointAdditiveGp joint(kinds(trend, warp), data);
  JointHyperparameters h{{{0.0, 1e-6, {0.4}, 4e-6}, {0.0, 2e-6, {0.7}, 1e-6}, {0.0, 3e-6, {0.5, 1.3}, 2e-6}}, 3e-4, 2e-7};
  joint.set_hyperparameters(h);
  const Eigen::VectorXd theta = joint.theta();
  Eigen::VectorXd gradient;
  joint.log_marginal_likelihood(theta, &gradient);
  REQUIRE(gradient.size() == theta.size());
  for (Eigen::Index p = 0; p < theta.size(); ++p) {
    const double step = 1e-5;
    Eigen::VectorXd up = theta, down = theta;
    up[p] += step;
    down[p] -= step;
    const double fd = (joint.log_marginal_likelihood(up, nullptr) - joint.log_marginal_likelihood(down, nullptr)) / (2 * step);
    CAPTURE(p);
    CHECK(gradient[p] == doctest::Approx(fd).epsilon(1e-4).scale(1e-3));
  }
}

TEST_CASE("the joint GP refuses bad measurements by name") {
  const std::vector<JointKind> k = kinds();
  CHECK_THROWS_WITH_AS(JointAdditiveGp(k, {}), doctest::Contains("at least one measurement"), InputError);
  CHECK_THROWS_WITH_AS(JointAdditiveGp(k, {{{{O, {4}}}, -1.0, 0.0}}), doctest::Contains("measurement 0 has value -1"), InputError);
  CHECK_THROWS_WITH_AS(JointAdditiveGp(k, {{{{O, {4}}}, 1.0, 0.0}, {{{O, {99}}}, 1.0, 0.0}}),
                       doctest::Contains("measurement 1 block 0 (O): channel 0 = 99 is outside [4, 64]"), InputError);
  CHECK_THROWS_WITH_AS(JointAdditiveGp(k, {{{{H, {4}}}, 1.0, 0.0}}), doctest::Contains("has 1 channel values, the kind has 2"),
                       InputError);
  CHECK_THROWS_WITH_AS(JointAdditiveGp(k, {{{{7, {4}}}, 1.0, 0.0}}), doctest::Contains("names kind 7"), InputError);
  CHECK_THROWS_WITH_AS(JointAdditiveGp(k, {{{{O, {4}}}, 1.0, std::nan("")}}), doctest::Contains("noise variance"), InputError);
  JointAdditiveGp only_o(k, {{{{O, {4}}}, 1.0, 0.0}});
  CHECK(only_o.measured(O));
  CHECK_FALSE(only_o.measured(H));
  CHECK_THROWS_WITH_AS(only_o.posterior(H), doctest::Contains("H appears in no measurement"), InputError);
  CHECK_THROWS_WITH_AS(JointAdditiveGp({{"Z", {{0, 8}}, GpTrend::None, {}, GpWarp::Log, {}}}, {{{{0, {4}}}, 1.0, 0.0}}),
                       doctest::Contains("kind Z: a log warp needs positive bounds"), InputError);
  CHECK_THROWS_WITH_AS(JointKindPosterior::from_json(nlohmann::json{{"format", "ampere-gp/1"}}),
                       doctest::Contains("expected \"ampere-joint-kind/1\""), InputError);
}

TEST_CASE("the joint GP's work mean: a shared slope on each kind's FLOPs polynomial, saved with the posterior") {
  // W_O(c) = W_I(c) = c, W_H(a, b) = a·b, as polynomials of the scaled channels u = (c − 4)/60.
  std::vector<JointKind> k = kinds(GpTrend::Quadratic);
  k[O].work_polynomial = k[I].work_polynomial = {4, 60, 0};
  k[H].work_polynomial = {16, 240, 240, 0, 3600, 0};
  Eigen::MatrixXd q(1, 2);
  q << 20, 50;
  CHECK(work_at(k[H].work_polynomial, kTwoD, q)[0] == doctest::Approx(1000.0));
  const Synthetic s = variants(0.02, 5);
  const Subtractive sub = subtractive(s, {1.0, {1.0}, 1e-2, 1.0}, {1.0, {1.0, 1.0}, 1e-2, 1.0}, true, GpTrend::Quadratic);
  JointAdditiveGp joint(k, s.measurements);
  joint.set_hyperparameters({{same_prior(*sub.o), same_prior(*sub.i), same_prior(*sub.h)}, 1e-4, 1e-10});
  joint.fit();
  const double beta = joint.hyperparameters().work_coefficient;
  CHECK(std::isfinite(beta));
  const auto o = joint.posterior(O), i = joint.posterior(I), h = joint.posterior(H);
  REQUIRE(h->parts().mean_polynomial.size() == 6);
  CHECK(h->parts().mean_polynomial[4] == doctest::Approx(beta * 3600));
  const double error = whole_model_error([&](double c) { return one(*o, {c}); }, [&](double c) { return one(*i, {c}); },
                                         [&](double a, double b) { return one(*h, {a, b}); });
  MESSAGE("whole-model MAPE with the work mean: ", 100 * error, "%");
  CHECK(error < 0.03);
  const JointKindPosterior restored = JointKindPosterior::from_json(nlohmann::json::parse(h->to_json().dump()));
  CHECK(one(restored, {20.0, 40.0}) == doctest::Approx(one(*h, {20.0, 40.0})).epsilon(1e-12));
  nlohmann::json broken = h->to_json();
  broken["mean_polynomial"] = {1.0, 2.0};
  CHECK_THROWS_WITH_AS(JointKindPosterior::from_json(broken), doctest::Contains("work polynomial: 2 coefficients"), InputError);
  // a kind's work that is zero everywhere cannot scale the slope
  std::vector<JointKind> zero = kinds();
  zero[O].work_polynomial = {0, 0, 0};
  CHECK_THROWS_WITH_AS(JointAdditiveGp(zero, {{{{O, {4}}}, 1.0, 0.0}}), doctest::Contains("work is 0"), InputError);
}
