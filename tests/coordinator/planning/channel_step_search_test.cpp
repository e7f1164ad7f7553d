#include "coordinator/planning/channel_step_search.hpp"

#include <cmath>

#include <doctest/doctest.h>

#include "common/error.hpp"

using namespace ampere;

namespace {
ChannelRange range(std::int64_t lo, std::int64_t hi, std::int64_t multiple = 1) { return ChannelRange{lo, hi, multiple}; }
using Points = std::vector<std::vector<std::int64_t>>;
}  // namespace

TEST_CASE("probe points sit just below and just above one edge of each candidate block") {
  // [1, 128]: the odd multiple of each block nearest √128 ≈ 11.3, by hand: 16, 8, 32, 64, 12
  CHECK(step_probe_points({range(1, 128)}, 10) == Points{{16}, {17}, {8}, {9}, {32}, {33}, {64}, {65}, {12}, {13}});
  // whole pairs only, in candidate order
  CHECK(step_probe_points({range(1, 128)}, 5) == Points{{16}, {17}, {8}, {9}});
  // [16, 512]: √(16·512) ≈ 90.5 → 80 (16), 88 (8), 96 (32), 64 (64), 92 (4)
  CHECK(step_probe_points({range(16, 512)}, 4) == Points{{80}, {81}, {88}, {89}});
  // a surface: both free widths cross the edge together; a fixed one stays
  CHECK(step_probe_points({range(1, 64), range(1, 128)}, 2) == Points{{16, 16}, {17, 17}});
  CHECK(step_probe_points({range(3, 3), range(1, 64)}, 2) == Points{{3, 16}, {3, 17}});
  // nothing to probe: widths that are multiples of 8 (c + 1 is not a member), a fixed kind, no edge inside
  CHECK(step_probe_points({range(8, 256, 8)}, 10).empty());
  CHECK(step_probe_points({range(10, 10)}, 10).empty());
  CHECK(step_probe_points({range(1, 3)}, 10).empty());
}

TEST_CASE("the candidate quantizations: none, and each block with an edge inside the range at each share") {
  const std::vector<ChannelSteps> wide = candidate_channel_steps({range(1, 128)});
  CHECK(wide.size() == 1 + 5 * candidate_step_shares().size());
  CHECK(wide.front().empty());
  const std::vector<ChannelSteps> narrow = candidate_channel_steps({range(1, 12)});  // edges of 4 and 8 only
  CHECK(narrow.size() == 1 + 2 * candidate_step_shares().size());
  for (const ChannelSteps& steps : candidate_channel_steps({range(3, 3), range(1, 64)})) {
    if (steps.empty()) continue;
    CHECK(steps[0].none());  // the fixed dimension never steps
    CHECK_FALSE(steps[1].none());
  }
  CHECK(candidate_channel_steps({range(8, 256, 8)}).size() == 1);
}

TEST_CASE("the likelihood picks the block a staircase steps at, from corners, probes and a few more points") {
  const auto pad = [](double c, double b) { return b * std::ceil(c / b); };
  std::vector<double> widths = {1, 128};
  for (const auto& p : step_probe_points({range(1, 128)}, 10)) widths.push_back(static_cast<double>(p[0]));
  for (double c : {23.0, 41.0, 57.0, 90.0, 105.0, 119.0}) widths.push_back(c);
  for (double block : {16.0, 32.0}) {
    Eigen::MatrixXd x(static_cast<Eigen::Index>(widths.size()), 1);
    Eigen::VectorXd y(x.rows());
    for (Eigen::Index i = 0; i < x.rows(); ++i) {
      x(i, 0) = widths[static_cast<std::size_t>(i)];
      y[i] = 1e-3 * (pad(x(i, 0), block) * pad(x(i, 0), block) + 4 * x(i, 0));  // a staircase of `block`
    }
    const ChannelStepChoice choice = choose_channel_steps({{1, 128}}, candidate_channel_steps({range(1, 128)}),
                                                          GpTrend::Quadratic, GpWarp::Log, x, y, Eigen::VectorXd(), {});
    CAPTURE(block);
    REQUIRE(choice.steps.size() == 1);
    CHECK(choice.steps[0].block == static_cast<std::int64_t>(block));
    CHECK(choice.steps[0].within <= 0.1);
    REQUIRE(choice.gp != nullptr);
    CHECK(choice.gp->steps() == choice.steps);
  }
}

TEST_CASE("on a smooth cost the chosen quantization still predicts it") {
  std::vector<double> widths = {1, 128, 23, 41, 57, 90, 105, 119};
  for (const auto& p : step_probe_points({range(1, 128)}, 10)) widths.push_back(static_cast<double>(p[0]));
  Eigen::MatrixXd x(static_cast<Eigen::Index>(widths.size()), 1);
  Eigen::VectorXd y(x.rows());
  const auto cost = [](double c) { return 1e-3 * (c * c + 40 * c + 100); };
  for (Eigen::Index i = 0; i < x.rows(); ++i) {
    x(i, 0) = widths[static_cast<std::size_t>(i)];
    y[i] = cost(x(i, 0));
  }
  const ChannelStepChoice choice = choose_channel_steps({{1, 128}}, candidate_channel_steps({range(1, 128)}),
                                                        GpTrend::Quadratic, GpWarp::Log, x, y, Eigen::VectorXd(), {});
  CAPTURE(channel_steps_text(choice.steps));
  double error = 0;
  for (double c = 2; c < 128; c += 7) {
    Eigen::MatrixXd q(1, 1);
    q(0, 0) = c;
    error = std::max(error, std::abs(choice.gp->predict(q).mean[0] / cost(c) - 1.0));
  }
  CHECK(error < 0.03);
  CHECK_THROWS_AS(choose_channel_steps({{1, 128}}, {}, GpTrend::None, GpWarp::Linear, x, y, Eigen::VectorXd(), {}),
                  InputError);
}
