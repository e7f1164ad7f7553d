#include "coordinator/planning/accuracy.hpp"

#include <cmath>

namespace ampere {

AccuracyScore score_estimates(const std::vector<std::pair<nlohmann::json, Measurement>>& pairs) {
  struct Mean {
    double sum = 0;
    std::size_t n = 0;
    void add(const nlohmann::json& estimate, double truth) {
      if (estimate.is_null() || !(truth > 0)) return;
      sum += std::abs(estimate.at("mean").get<double>() - truth) / truth;
      ++n;
    }
    std::optional<double> value() const { return n == 0 ? std::nullopt : std::optional<double>(sum / static_cast<double>(n)); }
  };
  Mean seconds, flops_seconds, joules, flops_joules;
  std::string meter;
  for (const auto& [e, m] : pairs) {
    const std::string label = meter_label_of(m).str();
    meter = meter.empty() || meter == label ? label : "mixed";
    const double s = summarize_repeats(m.seconds_per_iteration, RepeatStatistic::Minimum).value;
    const double j = m.joules_per_iteration.empty() ? 0.0 : summarize_repeats(m.joules_per_iteration, RepeatStatistic::Minimum).value;
    seconds.add(e.at("seconds_per_iteration"), s);
    flops_seconds.add(e.at("flops_baseline").at("seconds_per_iteration"), s);
    joules.add(e.at("joules_per_iteration"), j);
    flops_joules.add(e.at("flops_baseline").at("joules_per_iteration"), j);
  }
  return {pairs.size(), meter, seconds.value(), flops_seconds.value(), joules.value(), flops_joules.value()};
}

}  // namespace ampere
