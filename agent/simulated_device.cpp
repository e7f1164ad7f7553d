#include "agent/simulated_device.hpp"

#include <algorithm>
#include <cmath>
#include <random>

#include "common/error.hpp"
#include "common/layer_shapes.hpp"

namespace ampere {
namespace {

// Plausible magnitudes per paper device (docs/simulated-device.md gives the sources of the shapes;
// the numbers are synthetic). Phones are slow with wide vectors; the server is fast and hungry.
// cpu-avx512-shared: the log std of the device's speed and its period, in jobs (docs/simulated-device.md).
constexpr double kSharedDrift = 0.08;
constexpr double kSharedDriftPeriodJobs = 150;

const std::vector<DeviceProfile>& profiles() {
  static const std::vector<DeviceProfile> all = {
      // name     peak     bandwidth cache  speedup vw  sat     launch  step    idle  dyn   inter noise  memory (RAM)
      {"oppo",    2.0e10,  8.0e9,    2e6,   3.0,    4,  2.0e5,  4e-5,   2e-4,   0.6,  3.0,  0.30, 0.02,  8e9},
      {"iphone",  4.0e10,  1.5e10,   4e6,   3.0,    8,  2.0e5,  3e-5,   1.5e-4, 0.5,  2.5,  0.25, 0.02,  6e9},
      {"xavier",  1.0e11,  5.0e10,   4e6,   2.5,    8,  1.0e6,  6e-5,   3e-4,   5.0,  15.0, 0.20, 0.01,  16e9},
      {"tx2",     5.0e10,  2.5e10,   2e6,   2.5,    8,  1.0e6,  8e-5,   4e-4,   3.0,  9.0,  0.20, 0.015, 8e9},
      {"server",  1.0e12,  4.0e11,   3e7,   2.0,    16, 1.0e7,  1e-5,   5e-5,   60.0, 190.0, 0.15, 0.02,  64e9},
      // One core of this machine's AVX-512 Xeon through LibTorch, fitted to its measured staircase
      // (docs/method.md §14): 16-channel blocks, ~135 GFLOP/s on wide convolutions, ~48 at 16 channels.
      {"cpu-avx512", 1.4e11, 2.0e10,  2e6,   3.0,    16, 5.4e7,  2e-5,   1e-4,   10.0, 20.0,  0.10, 0.02,  24e9, true},
      // The same core as a shared virtual machine runs it: its speed drifts over minutes, as the
      // reference readings of real campaigns here show (docs/simulated-device.md, "Drift").
      {"cpu-avx512-shared", 1.4e11, 2.0e10, 2e6, 3.0,   16, 5.4e7,  2e-5,   1e-4,   10.0, 20.0,  0.10, 0.02,  24e9, true,
       kSharedDrift, kSharedDriftPeriodJobs},
  };
  return all;
}

/// Utilization steps at the vector width: the padded share of a channel count's lanes is wasted,
/// but only half of the kernel's time scales with lanes (the rest is per-pixel bookkeeping).
double padding_efficiency(std::int64_t channels, int vector_width) {
  const double padded = std::ceil(static_cast<double>(channels) / vector_width) * vector_width;
  return 0.5 + 0.5 * static_cast<double>(channels) / padded;
}

/// Full padding: the model a blocked kernel really computes, every width it sets rounded up to the
/// vector width (the data's channels stay: a first layer reads them as they come). Layer by layer,
/// so a residual's inner convolutions are padded by their own widths.
void pad_widths(LayerSpec& layer, std::int64_t vector_width) {
  if ((layer.width_given || layer.type == LayerType::Residual) && layer.width.max > 0) {
    layer.width.min = (layer.width.min + vector_width - 1) / vector_width * vector_width;
    layer.width.max = (layer.width.max + vector_width - 1) / vector_width * vector_width;
    layer.width.multiple_of = 1;
  }
  for (LayerSpec& inner : layer.inner) pad_widths(inner, vector_width);
}

ModelSpec padded_model(const ModelSpec& model, std::int64_t vector_width) {
  ModelSpec out = model;
  // the classifier keeps its classes (the model's output shape is checked against them)
  std::size_t classifier = out.layers.size();
  for (std::size_t i = 0; i < out.layers.size(); ++i)
    if (out.layers[i].width_given) classifier = i;
  for (std::size_t i = 0; i < out.layers.size(); ++i)
    if (i != classifier) pad_widths(out.layers[i], vector_width);
  return out;
}

bool is_compute_layer(LayerType type) {
  return is_parametric(type);
}

}  // namespace

const DeviceProfile& simulated_profile(const std::string& name) {
  for (const DeviceProfile& p : profiles())
    if (p.name == name) return p;
  std::string known;
  for (const DeviceProfile& p : profiles()) known += (known.empty() ? "" : ", ") + p.name;
  throw InputError("simulated profile: unknown '" + name + "' (known: " + known + ")");
}

std::vector<std::string> simulated_profile_names() {
  std::vector<std::string> names;
  for (const DeviceProfile& p : profiles()) names.push_back(p.name);
  return names;
}

SimulatedCost SimulatedDevice::truth(const ModelSpec& model) const {
  SimulatedCost cost;
  cost.seconds = profile_.step_seconds;
  cost.joules = profile_.step_seconds * profile_.idle_watts;
  for (const SimulatedCost& layer : layer_costs(model)) {
    cost.seconds += layer.seconds;
    cost.joules += layer.joules;
  }
  return cost;
}

std::vector<SimulatedCost> SimulatedDevice::layer_costs(const ModelSpec& model) const {
  AMPERE_REQUIRE(!model.is_family(), model.name, ": the simulated device trains concrete models, not families");
  const DeviceProfile& p = profile_;
  const std::vector<LayerShape> shapes = infer_shapes(model);
  // full padding: parametric layers do the padded model's work (activations run on the real channels)
  const std::vector<LayerShape> padded = p.pads_work ? infer_shapes(padded_model(model, p.vector_width)) : std::vector<LayerShape>();
  const double batch = static_cast<double>(model.batch_size);
  const double bytes_per_value = model.dtype == "float64" ? 8 : (model.dtype == "float32" ? 4 : 2);
  std::vector<SimulatedCost> costs;
  double previous_activation_bytes = 1e300;  // the data is never cached
  bool previous_parametric = false;
  for (std::size_t i = 0; i < shapes.size(); ++i) {
    const LayerShape& s = shapes[i];
    const LayerSpec& layer = model.layers[i];
    // Training ≈ 3 × forward FLOPs (forward, input gradient, weight gradient).
    const bool padded_work = !padded.empty() && is_compute_layer(layer.type);
    const double flops = 3.0 * batch * (padded_work ? padded[i].forward_flops : s.forward_flops);
    double efficiency = 1.0;
    if (is_compute_layer(layer.type) && !p.pads_work) {
      efficiency *= padding_efficiency(s.in.channels(), p.vector_width);
      efficiency *= padding_efficiency(s.out.channels(), p.vector_width);
    }
    efficiency *= flops / (flops + p.saturation_flops);  // small ops never fill the device
    const double compute_seconds = flops > 0 ? flops / (p.peak_flops * std::max(efficiency, 1e-3)) : 0.0;
    // Activations read and written forward and backward, weights read, gradients written, updated.
    const double in_bytes = batch * static_cast<double>(s.in.elements()) * bytes_per_value;
    const double out_bytes = batch * static_cast<double>(s.out.elements()) * bytes_per_value;
    const double weight_bytes = static_cast<double>(s.parameters) * bytes_per_value;
    const double bytes = 3.0 * (in_bytes + out_bytes) + 4.0 * weight_bytes;
    const bool cached = in_bytes + out_bytes + weight_bytes < p.cache_bytes;
    double memory_seconds = bytes / (p.bandwidth * (cached ? p.cache_speedup : 1.0));
    // Cross-layer interaction: a layer whose input was just written and still fits in cache reads
    // it faster. Depends on the previous layer's output, so the sum over blocks is not exact.
    // A parametric layer's output is hotter in cache than a pooling or activation's, so what came
    // before a block (not preserved by the variant networks) changes its cost: not additive.
    if (previous_activation_bytes < p.cache_bytes) memory_seconds *= 1.0 - p.interaction * (previous_parametric ? 1.0 : 0.5);
    previous_activation_bytes = out_bytes;
    previous_parametric = is_parametric(layer.type);
    const double launches = flops > 0 || s.parameters > 0 ? 3.0 : 2.0;
    const double seconds = std::max(compute_seconds, memory_seconds) + launches * p.launch_seconds;
    // Power rises with the compute-bound share of the time: a non-linear energy per layer.
    const double busy = seconds > 0 ? std::min(1.0, compute_seconds / seconds) : 0.0;
    costs.push_back({seconds, seconds * (p.idle_watts + p.dynamic_watts * (0.3 + 0.7 * busy * busy))});
  }
  return costs;
}

double SimulatedDevice::speed_factor(std::uint64_t job_index) const {
  if (profile_.drift <= 0 || profile_.drift_period_jobs <= 0) return 1.0;
  constexpr double kTwoPi = 6.283185307179586;
  const double phase = std::fmod(static_cast<double>(job_index), profile_.drift_period_jobs) / profile_.drift_period_jobs;
  return std::exp(profile_.drift * std::sqrt(2.0) * std::sin(kTwoPi * phase));
}

Measurement SimulatedDevice::measure(const ModelSpec& model, std::uint32_t repeats, std::uint64_t seed) const {
  AMPERE_REQUIRE(repeats >= 1, "simulated measurement: repeats must be >= 1");
  const SimulatedCost truth_cost = truth(model);
  std::mt19937_64 rng(seed ^ 0x9e3779b97f4a7c15ULL);
  std::normal_distribution<double> normal(0.0, 1.0);
  Measurement m;
  m.meter = MeterSource::Simulated;
  m.iterations = 1;
  m.threads = 1;
  m.idle_watts = profile_.idle_watts;
  for (std::uint32_t r = 0; r < repeats; ++r) {
    // Positive noise only beyond the floor: the minimum of repeats estimates the truth.
    const double factor = std::exp(profile_.noise * std::abs(normal(rng)));
    const double power_jitter = std::exp(0.5 * profile_.noise * normal(rng));
    m.seconds_per_iteration.push_back(truth_cost.seconds * factor);
    m.joules_per_iteration.push_back(truth_cost.joules * factor * power_jitter);
  }
  return m;
}

}  // namespace ampere
