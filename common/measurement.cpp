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
  AMPERE_REQUIRE(!m.seconds_per_iteration.empty(), "measurement: no repeats");
  AMPERE_REQUIRE(m.joules_per_iteration.empty() || m.joules_per_iteration.size() == m.seconds_per_iteration.size(),
                 "measurement: ", m.seconds_per_iteration.size(), " time repeats but ", m.joules_per_iteration.size(),
                 " energy repeats");
  for (std::size_t i = 0; i < m.seconds_per_iteration.size(); ++i)
    AMPERE_REQUIRE(std::isfinite(m.seconds_per_iteration[i]) && m.seconds_per_iteration[i] > 0,
                   "measurement: seconds of repeat ", i, " must be finite and positive, got ", m.seconds_per_iteration[i]);
  for (std::size_t i = 0; i < m.joules_per_iteration.size(); ++i)
    AMPERE_REQUIRE(std::isfinite(m.joules_per_iteration[i]) && m.joules_per_iteration[i] >= 0,
                   "measurement: joules of repeat ", i, " must be finite and non-negative, got ", m.joules_per_iteration[i]);
  for (const auto& [name, value] : {std::pair<const char*, double>{"seconds", m.reference_seconds},
                                    std::pair<const char*, double>{"joules", m.reference_joules}})
    AMPERE_REQUIRE(std::isnan(value) || (std::isfinite(value) && value > 0), "measurement: the reference reading's ",
                   name, " must be finite and positive (or absent), got ", value);
}

}  // namespace ampere
