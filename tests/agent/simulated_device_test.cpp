#include "agent/simulated_device.hpp"
#include "agent/simulated_trainer.hpp"

#include <cmath>

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include "common/error.hpp"
#include "common/layer_parser.hpp"

using namespace ampere;

namespace {
ModelSpec cnn5(std::uint64_t seed) {
  return sample_model(load_model_spec(std::string(AMPERE_MODELS_DIR) + "/cnn5.json"), seed);
}
}  // namespace

TEST_CASE("simulated measurements are labeled, reproducible and above the truth") {
  const SimulatedDevice device(simulated_profile("oppo"));
  const ModelSpec model = cnn5(3);
  const Measurement a = device.measure(model, 5, 42), b = device.measure(model, 5, 42);
  CHECK(a.meter == MeterSource::Simulated);
  CHECK(a.seconds_per_iteration == b.seconds_per_iteration);
  CHECK(a.seconds_per_iteration != device.measure(model, 5, 43).seconds_per_iteration);
  const SimulatedCost truth = device.truth(model);
  for (double s : a.seconds_per_iteration) CHECK(s >= truth.seconds);
  CHECK(truth.joules > truth.seconds * simulated_profile("oppo").idle_watts);
}

TEST_CASE("the simulated cost has utilization steps at the vector width") {
  const SimulatedDevice device(simulated_profile("server"));  // vector width 16
  auto with_width = [](std::int64_t c) {
    return parse_model_spec(nlohmann::json::parse(R"({"name": "w", "input": {"shape": [64, 32, 32]}, "batch_size": 64,
      "classes": 10, "layers": [{"type": "conv2d", "out_channels": )" + std::to_string(c) +
                                                  R"(, "kernel": 3, "padding": 1}, {"type": "flatten"},
      {"type": "linear", "out_features": 10}]})"));
  };
  const double at16 = device.truth(with_width(16)).seconds, at17 = device.truth(with_width(17)).seconds;
  const double at32 = device.truth(with_width(32)).seconds;
  CHECK(at17 - at16 > 3 * (at32 - at16) / 16);  // a jump at 17, not a straight line
}

TEST_CASE("profiles are the paper's devices and this machine's CPU, others are refused") {
  CHECK(simulated_profile_names() == std::vector<std::string>{"oppo", "iphone", "xavier", "tx2", "server", "cpu-avx512", "cpu-avx512-shared"});
  CHECK_THROWS_WITH_AS(simulated_profile("pixel"), doctest::Contains("unknown 'pixel'"), InputError);
  // each declares the memory its agents report (the coordinator's job memory guard reads it)
  CHECK(simulated_profile("iphone").memory_bytes == 6e9);
  CHECK(simulated_profile("server").memory_bytes == 64e9);
  for (const std::string& name : simulated_profile_names()) CHECK(simulated_profile(name).memory_bytes >= 1e9);
  CHECK_THROWS_AS(SimulatedDevice(simulated_profile("tx2")).truth(load_model_spec(std::string(AMPERE_MODELS_DIR) + "/cnn5.json")),
                  InputError);
}

TEST_CASE("the truth layer by layer adds up to the truth, step cost apart") {
  const SimulatedDevice device(simulated_profile("xavier"));
  const ModelSpec model = sample_model(load_model_spec(std::string(AMPERE_MODELS_DIR) + "/resnet.json"), 11);
  const std::vector<SimulatedCost> layers = device.layer_costs(model);
  REQUIRE(layers.size() == model.layers.size());
  double seconds = device.profile().step_seconds, joules = device.profile().step_seconds * device.profile().idle_watts;
  for (const SimulatedCost& c : layers) {
    CHECK(c.seconds > 0);
    seconds += c.seconds;
    joules += c.joules;
  }
  CHECK(seconds == doctest::Approx(device.truth(model).seconds).epsilon(1e-12));
  CHECK(joules == doctest::Approx(device.truth(model).joules).epsilon(1e-12));
  CHECK_THROWS_AS(device.layer_costs(load_model_spec(std::string(AMPERE_MODELS_DIR) + "/resnet.json")), InputError);
}

TEST_CASE("the simulated trainer repeats until its repeats agree, or the cap, and a fixed rule exactly") {
  TrainerPtr trainer = make_simulated_trainer(simulated_profile("iphone"));
  const ModelSpec model = cnn5(5);
  JobSettings fixed;
  fixed.repeats = RepeatRule::fixed(5);
  CHECK(trainer->measure(model, fixed).seconds_per_iteration.size() == 5);
  JobSettings adaptive;
  adaptive.repeats.min_repeats = 3;
  adaptive.repeats.max_repeats = 12;
  adaptive.repeats.relative_half_width = 0.01;
  std::size_t stopped_early = 0, capped = 0;
  for (std::uint64_t seed = 1; seed <= 40; ++seed) {
    adaptive.seed = seed;
    const Measurement m = trainer->measure(model, adaptive);
    const std::size_t n = m.seconds_per_iteration.size();
    REQUIRE(n >= 3);
    REQUIRE(n <= 12);
    CHECK(m.joules_per_iteration.size() == n);
    if (n < 12) {
      ++stopped_early;
      // It stopped at the first prefix that satisfied the rule, on time and on energy.
      CHECK(repeats_suffice(m.seconds_per_iteration, adaptive.repeats));
      CHECK(repeats_suffice(m.joules_per_iteration, adaptive.repeats));
      const std::vector<double> shorter_s(m.seconds_per_iteration.begin(), m.seconds_per_iteration.end() - 1);
      const std::vector<double> shorter_j(m.joules_per_iteration.begin(), m.joules_per_iteration.end() - 1);
      CHECK_FALSE((repeats_suffice(shorter_s, adaptive.repeats) && repeats_suffice(shorter_j, adaptive.repeats)));
    } else {
      ++capped;
    }
  }
  CHECK(stopped_early > 0);  // the rule decides, not the cap alone
  adaptive.repeats.max_repeats = 2;
  CHECK_THROWS_AS(trainer->measure(model, adaptive), InputError);
}

TEST_CASE("the cpu-avx512 profile steps every 16 channels and barely moves inside a step, as this machine's CPU") {
  // One residual block (two 3x3 convolutions with BatchNorm, 16x16 input, batch 8; here after a 1x1
  // stem that makes its C channels, since the data's channels are never padded), as measured on
  // this machine through ampere-agent measure (docs/method.md §14): 16 -> 1.17 ms, 17 -> 2.33,
  // 32 -> 2.72, 33 -> 4.44, 64 -> 7.40, 65 -> 10.73, 128 -> 26.84, 129 -> 31.55.
  const SimulatedDevice device(simulated_profile("cpu-avx512"));
  auto block = [&](int c) {
    const std::string w = std::to_string(c);
    return device.truth(parse_model_spec(nlohmann::json::parse(
        R"({"name": "b", "spec_version": 2, "input": {"shape": [3, 16, 16]}, "batch_size": 8, "classes": 10, "layers": [
        {"type": "conv2d", "out_channels": )" + w + R"(, "kernel": 1, "bias": false}, {"type": "residual", "layers": [{"type": "conv2d", "kernel": 3, "padding": 1, "bias": false}, {"type": "batchnorm2d"},
          {"type": "relu"}, {"type": "conv2d", "kernel": 3, "padding": 1, "bias": false}, {"type": "batchnorm2d"}]},
        {"type": "relu"}, {"type": "adaptive_avgpool2d", "output": 1}, {"type": "flatten"}, {"type": "linear", "out_features": 10}]})"))).seconds;
  };
  for (int edge : {16, 32, 64, 128}) {
    CAPTURE(edge);
    CHECK(block(edge + 1) / block(edge) > 1.15);  // a jump of 18-100% measured
  }
  CHECK(block(32) / block(17) < 1.25);  // 1.17 measured inside the step
  CHECK(block(64) / block(49) < 1.25);
  CHECK(block(128) / block(113) < 1.25);
  CHECK(block(128) / block(16) > 10);  // 23x measured
}

TEST_CASE("the cpu-avx512-shared profile drifts: its trainer's jobs, reference readings included, run at a speed that moves") {
  const DeviceProfile& shared = simulated_profile("cpu-avx512-shared");
  const SimulatedDevice device(shared);
  REQUIRE(shared.drift > 0);
  REQUIRE(shared.drift_period_jobs > 0);
  // over a period the log of the speed factor has standard deviation `drift`, mean 0
  double sum = 0, squares = 0;
  const int n = static_cast<int>(shared.drift_period_jobs) * 4;
  for (int i = 0; i < n; ++i) {
    const double l = std::log(device.speed_factor(static_cast<std::uint64_t>(i)));
    sum += l;
    squares += l * l;
  }
  CHECK(sum / n == doctest::Approx(0).epsilon(1e-9).scale(1));
  CHECK(std::sqrt(squares / n) == doctest::Approx(shared.drift).epsilon(0.01));
  // the truth does not drift; every other profile's speed is 1
  const ModelSpec model = cnn5(3);
  CHECK(device.truth(model).seconds == SimulatedDevice(simulated_profile("cpu-avx512")).truth(model).seconds);
  for (const char* name : {"oppo", "server", "cpu-avx512"}) CHECK(SimulatedDevice(simulated_profile(name)).speed_factor(37) == 1.0);
  // through its trainer, the same job at two times differs by the factor of those times
  TrainerPtr trainer = make_simulated_trainer(shared);
  JobSettings settings;
  settings.repeats = RepeatRule::fixed(1);
  settings.seed = 5;
  std::vector<double> seen;
  const std::uint64_t quarter = static_cast<std::uint64_t>(shared.drift_period_jobs / 4);
  for (std::uint64_t i = 0; i <= quarter; ++i) seen.push_back(trainer->measure(model, settings).seconds_per_iteration[0]);
  CHECK(seen.back() / seen.front() == doctest::Approx(device.speed_factor(quarter) / device.speed_factor(0)).epsilon(1e-9));
  CHECK(seen.back() / seen.front() > 1.1);  // a quarter period in: the slowest
}
