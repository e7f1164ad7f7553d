#include "coordinator/planning/flops_baseline.hpp"

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

void FlopsBaselineBuilder::add(const std::string& device_class, const ModelSpec& variant, const Measurement& m) {
  const RepeatStatistic stat = RepeatStatistic::Minimum;
  points_[device_class].push_back(
      {model_cost(variant).training_flops_per_iteration, summarize_repeats(m.seconds_per_iteration, stat).value,
       m.joules_per_iteration.empty() ? std::nan("") : summarize_repeats(m.joules_per_iteration, stat).value});
}

std::optional<FlopsBaseline> FlopsBaselineBuilder::baseline(const std::string& device_class) const {
  const auto found = points_.find(device_class);
  if (found == points_.end()) return std::nullopt;
  std::vector<double> x, seconds, joules;
  bool has_joules = true;
  for (const Point& p : found->second) {
    x.push_back(p.flops);
    seconds.push_back(p.seconds);
    joules.push_back(p.joules);
    has_joules = has_joules && std::isfinite(p.joules);
  }
  try {
    FlopsBaseline baseline;
    baseline.seconds = fit_line(x, seconds);
    baseline.has_joules = has_joules;
    if (has_joules) baseline.joules = fit_line(x, joules);
    return baseline;
  } catch (const InputError&) {
    return std::nullopt;  // fewer than two distinct FLOP counts yet
  }
}

}  // namespace ampere
