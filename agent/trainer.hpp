// What measures a job: the LibTorch trainer (torch_trainer.cpp, the only LibTorch translation
// unit) or the simulated device.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "agent/meter.hpp"
#include "agent/simulated_device.hpp"
#include "common/measurement.hpp"
#include "common/model_spec.hpp"

namespace ampere {

/// method.md §5: W warm-up iterations, then R repeats of N iterations.
struct JobSettings {
  std::uint32_t warmup = 5;
  std::uint32_t iterations = 0;  ///< per repeat; 0: enough for min_window_seconds, at least 10
  std::uint32_t repeats = 5;
  double min_window_seconds = 0.2;
  std::uint64_t seed = 0;        ///< synthetic data and initial weights
};

class Trainer {
 public:
  virtual ~Trainer() = default;
  /// Trains `model` on synthetic data and reports per-iteration figures per repeat. Throws
  /// InputError for a model this trainer cannot build.
  virtual Measurement measure(const ModelSpec& model, const JobSettings& settings) = 0;
  /// "torch" or "simulated".
  virtual std::string backend() const = 0;
  /// (name, version) of the libraries that produce the figures.
  virtual std::vector<std::pair<std::string, std::string>> libraries() const = 0;
};
using TrainerPtr = std::unique_ptr<Trainer>;

/// glibc adapts its mmap threshold as a process runs, making the same model up to 1.38× slower
/// early than late (method.md §5); fixing the thresholds stops that. Call once at process start,
/// before any measurement. Returns false when glibc refused.
bool pin_allocator();

/// LibTorch on this machine's CPU with `threads` intra-op threads, energy from `meter`.
TrainerPtr make_torch_trainer(int threads, MeterPtr meter);
/// The synthetic device `profile` (no training; figures labeled simulated). Each job takes
/// `pace_ms` of wall time (0: returns at once), so tests can catch a campaign mid-way.
TrainerPtr make_simulated_trainer(const DeviceProfile& profile, int pace_ms = 0);

}  // namespace ampere
