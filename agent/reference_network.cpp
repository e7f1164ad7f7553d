#include "agent/reference_network.hpp"

#include <nlohmann/json.hpp>

#include "common/error.hpp"

namespace ampere {

ModelSpec reference_network() {
  static const char* kSpec = R"json({
    "name": "ampere-reference", "input": {"shape": [3, 16, 16]}, "batch_size": 8, "classes": 10, "dtype": "float32",
    "layers": [
      {"type": "conv2d", "out_channels": 16, "kernel": 3, "padding": 1}, {"type": "relu"},
      {"type": "maxpool2d", "kernel": 2},
      {"type": "conv2d", "out_channels": 32, "kernel": 3, "padding": 1}, {"type": "relu"},
      {"type": "flatten"},
      {"type": "linear", "out_features": 10}]})json";
  return parse_model_spec(nlohmann::json::parse(kSpec));
}

ReferenceSchedule::ReferenceSchedule(const Clock& clock, std::uint32_t every_jobs, std::chrono::seconds every)
    : clock_(clock), every_jobs_(every_jobs), every_(every) {
  AMPERE_REQUIRE(every_jobs >= 1, "reference: every_jobs must be at least 1");
  AMPERE_REQUIRE(every.count() > 0, "reference: the interval must be positive");
}

bool ReferenceSchedule::due() const {
  return !taken_ || jobs_since_ >= every_jobs_ || clock_.now() - at_ >= every_;
}

void ReferenceSchedule::taken(double seconds, double joules) {
  taken_ = true;
  at_ = clock_.now();
  jobs_since_ = 0;
  seconds_ = seconds;
  joules_ = joules;
}

void refresh_reference(ReferenceSchedule& schedule, const std::function<Measurement()>& measure) {
  if (schedule.due()) {
    const Measurement r = measure();
    validate_measurement(r);
    schedule.taken(summarize_repeats(r.seconds_per_iteration, RepeatStatistic::Minimum).value,
                   r.joules_per_iteration.empty() || !reads_energy_live(r.meter)
                       ? std::numeric_limits<double>::quiet_NaN()
                       : summarize_repeats(r.joules_per_iteration, RepeatStatistic::Minimum).value);
  }
}

}  // namespace ampere
