#include "agent/simulated_trainer.hpp"

#include <chrono>
#include <thread>

namespace ampere {
namespace {

class SimulatedTrainer final : public Trainer {
 public:
  SimulatedTrainer(const DeviceProfile& profile, int pace_ms) : device_(profile), pace_ms_(pace_ms) {}
  Measurement measure(const ModelSpec& model, const JobSettings& settings) override {
    if (pace_ms_ > 0) std::this_thread::sleep_for(std::chrono::milliseconds(pace_ms_));
    Measurement m = device_.measure(model, settings.repeats, settings.seed);
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
};

}  // namespace

TrainerPtr make_simulated_trainer(const DeviceProfile& profile, int pace_ms) {
  return std::make_unique<SimulatedTrainer>(profile, pace_ms);
}

}  // namespace ampere
