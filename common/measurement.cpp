#include "common/measurement.hpp"

#include <algorithm>
#include <cmath>

#include "common/error.hpp"

namespace ampere {

std::string throttle_reason_names(unsigned long long reasons) {
  // nvml.h's nvmlClocksThrottleReason* (nvmlClocksEventReason* in newer headers) bits
  static const std::pair<unsigned long long, const char*> names[] = {
      {0x1, "gpu-idle"},           {0x2, "applications-clocks-setting"}, {0x4, "sw-power-cap"},
      {0x8, "hw-slowdown"},        {0x10, "sync-boost"},                  {0x20, "sw-thermal-slowdown"},
      {0x40, "hw-thermal-slowdown"}, {0x80, "hw-power-brake-slowdown"},   {0x100, "display-clock-setting"}};
  std::string out;
  for (const auto& [bit, name] : names)
    if (reasons & bit) out += (out.empty() ? "" : ",") + std::string(name);
  const unsigned long long known = 0x1ff;
  if (reasons & ~known) out += (out.empty() ? "" : ",") + std::string("other");
  return out.empty() ? "none" : out;
}

const char* meter_label(MeterSource source) {
  switch (source) {
    case MeterSource::Rapl: return "rapl";
    case MeterSource::Nvml: return "nvml";
    case MeterSource::JetsonIna: return "jetson-ina";
    case MeterSource::AndroidBattery: return "android-battery";
    case MeterSource::TimeSurrogate: return "time-surrogate";
    case MeterSource::Simulated: return "simulated";
  }
  return "?";
}

MeterSource parse_meter_label(const std::string& label) {
  for (MeterSource s : {MeterSource::Rapl, MeterSource::Nvml, MeterSource::JetsonIna, MeterSource::AndroidBattery,
                        MeterSource::TimeSurrogate, MeterSource::Simulated})
    if (label == meter_label(s)) return s;
  throw InputError("meter: unknown label '" + label +
                   "' (known: rapl, nvml, jetson-ina, android-battery, time-surrogate, simulated)");
}

bool reads_energy_live(MeterSource source) { return source != MeterSource::TimeSurrogate; }

RepeatSummary summarize_repeats(const std::vector<double>& repeats, RepeatStatistic statistic) {
  AMPERE_REQUIRE(!repeats.empty(), "repeats: none");
  std::vector<double> sorted = repeats;
  std::sort(sorted.begin(), sorted.end());
  RepeatSummary summary;
  const std::size_t n = sorted.size();
  summary.value = statistic == RepeatStatistic::Minimum
                      ? sorted.front()
                      : (n % 2 == 1 ? sorted[n / 2] : 0.5 * (sorted[n / 2 - 1] + sorted[n / 2]));
  if (n > 1) {
    double mean = 0;
    for (double v : sorted) mean += v;
    mean /= static_cast<double>(n);
    double var = 0;
    for (double v : sorted) var += (v - mean) * (v - mean);
    summary.spread_variance = var / static_cast<double>(n - 1);
  }
  return summary;
}

void validate_measurement(const Measurement& m) {
  using B = PlausibleBounds;
  const std::size_t n = m.seconds_per_iteration.size();
  AMPERE_REQUIRE(n > 0, "measurement: no repeats");
  AMPERE_REQUIRE(n <= B::max_repeats, "measurement: ", n, " repeats, at most ", B::max_repeats, " are plausible");
  AMPERE_REQUIRE(m.joules_per_iteration.empty() || m.joules_per_iteration.size() == n, "measurement: ", n,
                 " time repeats but ", m.joules_per_iteration.size(), " energy repeats");
  for (std::size_t i = 0; i < n; ++i) {
    const double s = m.seconds_per_iteration[i];
    AMPERE_REQUIRE(std::isfinite(s) && s >= B::min_seconds && s <= B::max_seconds, "measurement: seconds of repeat ", i,
                   " must be within [", B::min_seconds, ", ", B::max_seconds, "] per iteration, got ", s);
  }
  const auto [fastest, slowest] = std::minmax_element(m.seconds_per_iteration.begin(), m.seconds_per_iteration.end());
  AMPERE_REQUIRE(*slowest <= B::max_repeat_ratio * *fastest, "measurement: the slowest repeat (", *slowest,
                 " s) is more than ", B::max_repeat_ratio, "x the fastest (", *fastest, " s): not one measurement");
  for (std::size_t i = 0; i < m.joules_per_iteration.size(); ++i) {
    const double j = m.joules_per_iteration[i];
    AMPERE_REQUIRE(std::isfinite(j) && j >= 0 && j <= B::max_joules, "measurement: joules of repeat ", i,
                   " must be within [0, ", B::max_joules, "] per iteration, got ", j);
    AMPERE_REQUIRE(j <= B::max_watts * m.seconds_per_iteration[i], "measurement: repeat ", i, " implies ",
                   j / m.seconds_per_iteration[i], " W, more than the plausible ", B::max_watts, " W");
  }
  AMPERE_REQUIRE(std::isnan(m.idle_watts) || (m.idle_watts >= 0 && m.idle_watts <= B::max_watts),
                 "measurement: idle watts must be within [0, ", B::max_watts, "] (or absent), got ", m.idle_watts);
  AMPERE_REQUIRE(std::isnan(m.reference_seconds) ||
                     (m.reference_seconds >= B::min_seconds && m.reference_seconds <= B::max_seconds),
                 "measurement: the reference reading's seconds must be within [", B::min_seconds, ", ", B::max_seconds,
                 "] (or absent), got ", m.reference_seconds);
  AMPERE_REQUIRE(std::isnan(m.reference_joules) || (m.reference_joules > 0 && m.reference_joules <= B::max_joules),
                 "measurement: the reference reading's joules must be within (0, ", B::max_joules, "] (or absent), got ",
                 m.reference_joules);
  AMPERE_REQUIRE(m.iterations <= B::max_iterations, "measurement: ", m.iterations, " iterations per repeat, at most ",
                 B::max_iterations, " are plausible");
  AMPERE_REQUIRE(m.threads <= B::max_threads, "measurement: ", m.threads, " threads, at most ", B::max_threads,
                 " are plausible");
}

}  // namespace ampere
