// A synthetic device with known truth, for tests and fleet-scale runs (docs/simulated-device.md).
// Its cost per layer is a non-linear, non-additive function of channels, shapes and batch; its
// figures are labeled `simulated` and never stand in for a measurement.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/measurement.hpp"
#include "common/model_spec.hpp"

namespace ampere {

/// The constants of one synthetic device.
struct DeviceProfile {
  std::string name;
  double peak_flops;        ///< FLOP/s at full utilization
  double bandwidth;         ///< bytes/s from memory
  double cache_bytes;       ///< working sets below this run at cache_speedup × bandwidth
  double cache_speedup;
  int vector_width;         ///< channel counts are padded to multiples of this
  double saturation_flops;  ///< an op of this many FLOPs reaches half of its utilization
  double launch_seconds;    ///< per layer and pass (forward, backward, update)
  double step_seconds;      ///< per iteration (optimizer bookkeeping, data)
  double idle_watts;
  double dynamic_watts;     ///< added at full compute utilization
  double interaction;       ///< share of a layer's memory time saved when its input is still cached
  double noise;             ///< multiplicative log-normal σ per repeat
  double memory_bytes;      ///< what a device of this kind has for training (its agent reports it)
  /// Kernels compute the padded layer (docs/simulated-device.md, "Full padding"): a parametric
  /// layer's work and its saturation are those of its channels rounded up to the vector width, a
  /// pure staircase as measured on this machine's CPU (docs/method.md §14). False: the half-lane
  /// utilization steps above.
  bool pads_work = false;
  /// The device's own speed moves over time (docs/simulated-device.md, "Drift"), as a shared
  /// machine's does: job n (every measurement a trainer makes, reference readings included) runs
  /// speed_factor(n) = exp(drift · √2 · sin(2π n / drift_period_jobs)) times its cost, so the log of
  /// the factor has standard deviation `drift` over a period. 0: none.
  double drift = 0;
  double drift_period_jobs = 0;
};

/// The shipped profiles: oppo, iphone, xavier, tx2, server, cpu-avx512, cpu-avx512-shared. Throws InputError on another name.
const DeviceProfile& simulated_profile(const std::string& name);
std::vector<std::string> simulated_profile_names();

/// Noise-free cost of one training iteration.
struct SimulatedCost {
  double seconds = 0;
  double joules = 0;
};

class SimulatedDevice {
 public:
  explicit SimulatedDevice(DeviceProfile profile) : profile_(std::move(profile)) {}

  /// The truth: noise-free seconds and joules of one training iteration of `model`.
  SimulatedCost truth(const ModelSpec& model) const;
  /// The truth layer by layer (one entry per layer of `model`, in order; the per-iteration step
  /// cost is not in any layer): what a block of the model really costs in its context.
  std::vector<SimulatedCost> layer_costs(const ModelSpec& model) const;

  /// What an agent on this device reports: `repeats` noisy draws around the truth, seeded by
  /// `seed` (the same seed gives the same figures). Labeled MeterSource::Simulated.
  Measurement measure(const ModelSpec& model, std::uint32_t repeats, std::uint64_t seed) const;

  /// How much slower than its truth the device runs its `job_index`-th measurement (1 without drift).
  double speed_factor(std::uint64_t job_index) const;

  const DeviceProfile& profile() const { return profile_; }

 private:
  DeviceProfile profile_;
};

}  // namespace ampere
