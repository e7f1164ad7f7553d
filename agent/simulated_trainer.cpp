#include "agent/simulated_trainer.hpp"

#include <chrono>
#include <cstdint>
#include <thread>

namespace ampere {
namespace {

class SimulatedTrainer final : public Trainer {
 public:
  SimulatedTrainer(const DeviceProfile& profile, int pace_ms) : device_(profile), pace_ms_(pace_ms) {}
  Measurement measure(const ModelSpec& model, const JobSettings& settings) override {
    if (pace_ms_ > 0) std::this_thread::sleep_for(std::chrono::milliseconds(pace_ms_));
    validate_repeat_rule(settings.repeats);
    // Draw the cap's worth, keep the prefix the rule would have stopped at: the same repeats a
    // device measuring one at a time would report (draws are independent and seeded in order).
    Measurement m = device_.measure(model, settings.repeats.max_repeats, settings.seed);
    std::size_t kept = 1;
    while (kept < m.seconds_per_iteration.size()) {
      const std::vector<double> s(m.seconds_per_iteration.begin(), m.seconds_per_iteration.begin() + static_cast<std::ptrdiff_t>(kept));
      const std::vector<double> j(m.joules_per_iteration.begin(), m.joules_per_iteration.begin() + static_cast<std::ptrdiff_t>(kept));
      if (repeats_suffice(s, settings.repeats) && repeats_suffice(j, settings.repeats)) break;
      ++kept;
    }
    m.seconds_per_iteration.resize(kept);
    m.joules_per_iteration.resize(kept);
    // the device's speed at this job (drift: docs/simulated-device.md); reference readings see it too
    const double speed = device_.speed_factor(jobs_++);
    for (double& t : m.seconds_per_iteration) t *= speed;
    for (double& j : m.joules_per_iteration) j *= speed;
    m.iterations = settings.iterations == 0 ? 10 : settings.iterations;
    return m;
  }
  std::string backend() const override { return "simulated"; }
  std::vector<std::pair<std::string, std::string>> libraries() const override {
    return {{"ampere-simulated-device", device_.profile().name}};
  }

 private:
  SimulatedDevice device_;
  int pace_ms_;
  std::uint64_t jobs_ = 0;  ///< measurements so far, reference readings included
};

}  // namespace

TrainerPtr make_simulated_trainer(const DeviceProfile& profile, int pace_ms) {
  return std::make_unique<SimulatedTrainer>(profile, pace_ms);
}

}  // namespace ampere
