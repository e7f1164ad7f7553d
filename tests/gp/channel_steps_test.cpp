#include "gp/channel_steps.hpp"

#include <cmath>

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include "common/error.hpp"
#include "gp/gaussian_process.hpp"

using namespace ampere;

namespace {
double pad16(double c) { return 16.0 * std::ceil(c / 16.0); }
/// A staircase like this machine's convolutions (docs/method.md §14): the padded width's square,
/// plus a little that follows the raw width.
double staircase(double c) { return 1e-3 * (pad16(c) * pad16(c) + 2.0 * c); }
}  // namespace

TEST_CASE("channel steps map a width to the padded width, or part way, and bounds with it") {
  // s(c) = within·c + (1 − within)·b·⌈c/b⌉, by hand
  CHECK(stepped_channel(17, {16, 0.0}) == 32);
  CHECK(stepped_channel(32, {16, 0.0}) == 32);
  CHECK(stepped_channel(33, {16, 0.0}) == 48);
  CHECK(stepped_channel(17, {16, 0.1}) == doctest::Approx(0.1 * 17 + 0.9 * 32));
  CHECK(stepped_channel(17, {16, 1.0}) == 17);
  CHECK(stepped_channel(17, {1, 0.0}) == 17);
  // across an edge the map moves by within + (1 − within)·b; inside a block by within per channel
  const ChannelStep step{16, 0.25};
  CHECK(stepped_channel(33, step) - stepped_channel(32, step) == doctest::Approx(0.25 + 0.75 * 16));
  CHECK(stepped_channel(40, step) - stepped_channel(39, step) == doctest::Approx(0.25));
  Eigen::MatrixXd x(2, 2);
  x << 17, 5, 33, 9;
  const Eigen::MatrixXd s = stepped_channels(x, {{16, 0.0}, {}});
  CHECK(s(0, 0) == 32);
  CHECK(s(1, 0) == 48);
  CHECK(s(1, 1) == 9);  // a dimension without steps is unchanged
  CHECK(stepped_channels(x, {}) == x);
  const auto bounds = stepped_bounds({{1, 100}, {3, 3}}, {{16, 0.0}, {}});
  CHECK(bounds[0] == std::make_pair(16.0, 112.0));
  CHECK(bounds[1] == std::make_pair(3.0, 3.0));
  CHECK(no_steps({{1, 0.0}, {16, 1.0}}));
  CHECK_FALSE(no_steps({{1, 0.0}, {16, 0.5}}));
  CHECK(channel_steps_text({{16, 0.1}, {}}) == "16@0.10x1");
  CHECK(channel_steps_text({}) == "none");
}

TEST_CASE("channel steps in JSON round-trip, and bad steps are refused by name") {
  const ChannelSteps steps = {{16, 0.1}, {8, 0.0}};
  CHECK(channel_steps_from_json(nlohmann::json::parse(channel_steps_to_json(steps).dump())) == steps);
  CHECK_THROWS_WITH_AS(channel_steps_from_json(nlohmann::json::parse("[[0, 0.5]]")),
                       doctest::Contains("channel block of dimension 0 must be >= 1, got 0"), InputError);
  CHECK_THROWS_WITH_AS(channel_steps_from_json(nlohmann::json::parse("[[16, 1.5]]")),
                       doctest::Contains("within-block share of dimension 0 must be in [0, 1], got 1.5"), InputError);
  CHECK_THROWS_WITH_AS(channel_steps_from_json(nlohmann::json::parse("[16]")), doctest::Contains("[block, within]"),
                       InputError);
  CHECK_THROWS_WITH_AS(channel_steps_from_json(nlohmann::json::parse("{}")), doctest::Contains("array"), InputError);
  CHECK_THROWS_WITH_AS(GaussianProcess({{1, 64}}, GpTrend::None, GpWarp::Linear, {{16, 0.0}, {16, 0.0}}),
                       doctest::Contains("2 channel steps for 1 dimensions"), InputError);
}

TEST_CASE("a GP reading stepped channels follows a staircase that a smooth GP smooths away") {
  // Training widths at both ends of several blocks; held-out widths just above and below edges.
  const std::vector<double> train = {1, 8, 16, 17, 24, 32, 33, 48, 49, 64, 72, 80, 96, 97, 112, 128};
  const std::vector<double> held = {15, 18, 31, 34, 47, 50, 63, 65, 79, 81, 95, 98, 111, 113, 127};
  Eigen::MatrixXd x(static_cast<Eigen::Index>(train.size()), 1);
  Eigen::VectorXd y(x.rows());
  for (Eigen::Index i = 0; i < x.rows(); ++i) {
    x(i, 0) = train[static_cast<std::size_t>(i)];
    y[i] = staircase(x(i, 0));
  }
  auto mape = [&](const ChannelSteps& steps) {
    GaussianProcess gp({{1, 128}}, GpTrend::Quadratic, GpWarp::Log, steps);
    gp.set_data(x, y);
    gp.fit();
    double error = 0;
    for (double c : held) {
      Eigen::MatrixXd q(1, 1);
      q(0, 0) = c;
      error += std::abs(gp.predict(q).mean[0] / staircase(c) - 1.0);
    }
    return 100 * error / static_cast<double>(held.size());
  };
  const double smooth = mape({}), stepped = mape({{16, 0.0}});
  CAPTURE(smooth);
  CAPTURE(stepped);
  CHECK(stepped < 2.0);
  CHECK(smooth > 10.0);

  // saved with its steps, restored without a refit, it predicts the same
  GaussianProcess gp({{1, 128}}, GpTrend::Quadratic, GpWarp::Log, {{16, 0.1}});
  gp.set_data(x, y);
  gp.fit();
  const nlohmann::json saved = gp.to_json();
  CHECK(saved.at("steps") == nlohmann::json::parse("[[16, 0.1]]"));
  const GaussianProcess restored = GaussianProcess::from_json(nlohmann::json::parse(saved.dump()));
  CHECK(restored.steps() == ChannelSteps{{16, 0.1}});
  Eigen::MatrixXd q(1, 1);
  q(0, 0) = 81;
  CHECK(restored.predict(q).mean[0] == doctest::Approx(gp.predict(q).mean[0]).epsilon(1e-9));
  // a GP without steps saves none (older readers see the format they know)
  GaussianProcess plain({{1, 128}});
  plain.set_data(x, y);
  CHECK_FALSE(plain.to_json().contains("steps"));
}
