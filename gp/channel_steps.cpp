#include "gp/channel_steps.hpp"

#include <cmath>
#include <cstdio>

#include <nlohmann/json.hpp>

#include "common/error.hpp"

namespace ampere {

bool no_steps(const ChannelSteps& steps) {
  for (const ChannelStep& s : steps)
    if (!s.none()) return false;
  return true;
}

double stepped_channel(double channels, const ChannelStep& step) {
  if (step.none()) return channels;
  const double b = static_cast<double>(step.block);
  return step.within * channels + (1.0 - step.within) * b * std::ceil(channels / b);
}

Eigen::MatrixXd stepped_channels(const Eigen::MatrixXd& x, const ChannelSteps& steps) {
  if (steps.empty()) return x;
  AMPERE_REQUIRE(static_cast<std::size_t>(x.cols()) == steps.size(), "channel steps: inputs have ", x.cols(),
                 " columns, the steps ", steps.size(), " dimensions");
  Eigen::MatrixXd out(x.rows(), x.cols());
  for (Eigen::Index d = 0; d < x.cols(); ++d)
    for (Eigen::Index i = 0; i < x.rows(); ++i) out(i, d) = stepped_channel(x(i, d), steps[static_cast<std::size_t>(d)]);
  return out;
}

std::vector<std::pair<double, double>> stepped_bounds(const std::vector<std::pair<double, double>>& bounds,
                                                      const ChannelSteps& steps) {
  if (steps.empty()) return bounds;
  AMPERE_REQUIRE(bounds.size() == steps.size(), "channel steps: ", steps.size(), " for ", bounds.size(), " dimensions");
  std::vector<std::pair<double, double>> out;
  for (std::size_t d = 0; d < bounds.size(); ++d)
    out.emplace_back(stepped_channel(bounds[d].first, steps[d]), stepped_channel(bounds[d].second, steps[d]));
  return out;
}

void require_valid_steps(const ChannelSteps& steps, std::size_t dimensions, const std::string& who) {
  AMPERE_REQUIRE(steps.empty() || steps.size() == dimensions, who, ": ", steps.size(), " channel steps for ", dimensions,
                 " dimensions");
  for (std::size_t d = 0; d < steps.size(); ++d) {
    AMPERE_REQUIRE(steps[d].block >= 1, who, ": the channel block of dimension ", d, " must be >= 1, got ", steps[d].block);
    AMPERE_REQUIRE(steps[d].within >= 0.0 && steps[d].within <= 1.0, who, ": the within-block share of dimension ", d,
                   " must be in [0, 1], got ", steps[d].within);
  }
}

nlohmann::json channel_steps_to_json(const ChannelSteps& steps) {
  nlohmann::json out = nlohmann::json::array();
  for (const ChannelStep& s : steps) out.push_back({s.block, s.within});
  return out;
}

ChannelSteps channel_steps_from_json(const nlohmann::json& json) {
  AMPERE_REQUIRE(json.is_array(), "channel steps: expected an array of [block, within] pairs");
  ChannelSteps out;
  for (const nlohmann::json& pair : json) {
    AMPERE_REQUIRE(pair.is_array() && pair.size() == 2 && pair[0].is_number_integer() && pair[1].is_number(),
                   "channel steps: each dimension is [block, within], got ", pair.dump());
    out.push_back({pair[0].get<std::int64_t>(), pair[1].get<double>()});
  }
  require_valid_steps(out, out.size(), "channel steps");
  return out;
}

std::string channel_steps_text(const ChannelSteps& steps) {
  if (no_steps(steps)) return "none";
  std::string out;
  for (const ChannelStep& s : steps) {
    char part[48];
    if (s.none()) std::snprintf(part, sizeof part, "1");
    else std::snprintf(part, sizeof part, "%lld@%.2f", static_cast<long long>(s.block), s.within);
    out += (out.empty() ? "" : "x") + std::string(part);
  }
  return out;
}

}  // namespace ampere
