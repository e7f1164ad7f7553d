#include "coordinator/planning/flops_baseline.hpp"

#include <algorithm>
#include <cmath>

#include "common/error.hpp"
#include "common/layer_shapes.hpp"

namespace ampere {

LinearFit fit_line(const std::vector<double>& x, const std::vector<double>& y) {
  AMPERE_REQUIRE(x.size() == y.size(), "line fit: ", x.size(), " x values but ", y.size(), " y values");
  const double n = static_cast<double>(x.size());
  double mx = 0, my = 0;
  for (std::size_t i = 0; i < x.size(); ++i) {
    mx += x[i];
    my += y[i];
  }
  mx /= n;
  my /= n;
  double sxx = 0, sxy = 0;
  for (std::size_t i = 0; i < x.size(); ++i) {
    sxx += (x[i] - mx) * (x[i] - mx);
    sxy += (x[i] - mx) * (y[i] - my);
  }
  AMPERE_REQUIRE(x.size() >= 2 && sxx > 0, "line fit: needs at least two distinct x values");
  LinearFit fit;
  fit.slope = sxy / sxx;
  fit.intercept = my - fit.slope * mx;
  fit.points = x.size();
  double rss = 0;
  for (std::size_t i = 0; i < x.size(); ++i) rss += std::pow(y[i] - fit(x[i]), 2);
  fit.residual_std = x.size() > 2 ? std::sqrt(rss / (n - 2)) : 0.0;
  return fit;
}

void LineAccumulator::add(double x, double y) {
  ++n_;
  const double n = static_cast<double>(n_);
  const double dx = x - mean_x_, dy = y - mean_y_;
  mean_x_ += dx / n;
  mean_y_ += dy / n;
  cxx_ += dx * (x - mean_x_);
  cxy_ += dx * (y - mean_y_);
  cyy_ += dy * (y - mean_y_);
}

LinearFit LineAccumulator::fit() const {
  AMPERE_REQUIRE(n_ >= 2 && cxx_ > 0, "line fit: needs at least two distinct x values");
  LinearFit fit;
  fit.slope = cxy_ / cxx_;
  fit.intercept = mean_y_ - fit.slope * mean_x_;
  fit.points = n_;
  const double rss = std::max(0.0, cyy_ - cxy_ * cxy_ / cxx_);
  fit.residual_std = n_ > 2 ? std::sqrt(rss / static_cast<double>(n_ - 2)) : 0.0;
  return fit;
}

void FlopsBaselineBuilder::add(const std::string& device_class, const ModelSpec& variant, const Measurement& m) {
  const RepeatStatistic stat = RepeatStatistic::Minimum;
  const double flops = model_cost(variant).training_flops_per_iteration;
  ClassLines& lines = lines_[device_class];
  lines.seconds.add(flops, summarize_repeats(m.seconds_per_iteration, stat).value);
  const double joules = m.joules_per_iteration.empty() ? std::nan("") : summarize_repeats(m.joules_per_iteration, stat).value;
  if (!std::isfinite(joules)) lines.has_joules = false;
  if (lines.has_joules) lines.joules.add(flops, joules);
}

std::optional<FlopsBaseline> FlopsBaselineBuilder::baseline(const std::string& device_class) const {
  const auto found = lines_.find(device_class);
  if (found == lines_.end()) return std::nullopt;
  try {
    FlopsBaseline baseline;
    baseline.seconds = found->second.seconds.fit();
    baseline.has_joules = found->second.has_joules;
    if (baseline.has_joules) baseline.joules = found->second.joules.fit();
    return baseline;
  } catch (const InputError&) {
    return std::nullopt;  // fewer than two distinct FLOP counts yet
  }
}

}  // namespace ampere
