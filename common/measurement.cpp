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
    case MeterSource::Composite: return "composite";
  }
  return "?";
}

MeterSource parse_meter_label(const std::string& label) {
  for (MeterSource s : {MeterSource::Rapl, MeterSource::Nvml, MeterSource::JetsonIna, MeterSource::AndroidBattery,
                        MeterSource::TimeSurrogate, MeterSource::Simulated, MeterSource::Composite})
    if (label == meter_label(s)) return s;
  throw InputError("meter: unknown label '" + label +
                   "' (known: rapl, nvml, jetson-ina, android-battery, time-surrogate, simulated, or parts joined by '+')");
}

bool reads_energy_live(MeterSource source) { return source != MeterSource::TimeSurrogate; }

std::string MeterLabel::str() const {
  if (source != MeterSource::Composite) return meter_label(source);
  std::string out;
  for (MeterSource part : parts) out += (out.empty() ? "" : "+") + std::string(meter_label(part));
  return out;
}

MeterLabel parse_meter_label_text(const std::string& label) {
  MeterLabel out;
  if (label.find('+') == std::string::npos) {
    out.source = parse_meter_label(label);
    AMPERE_REQUIRE(out.source != MeterSource::Composite, "meter: 'composite' names no parts (rapl+nvml, ...)");
    return out;
  }
  out.source = MeterSource::Composite;
  std::size_t start = 0;
  while (start <= label.size()) {
    const std::size_t plus = label.find('+', start);
    const std::string part = label.substr(start, plus == std::string::npos ? std::string::npos : plus - start);
    const MeterSource source = parse_meter_label(part);
    AMPERE_REQUIRE(source == MeterSource::Rapl || source == MeterSource::Nvml || source == MeterSource::JetsonIna ||
                       source == MeterSource::AndroidBattery,
                   "meter ", label, ": ", part, " cannot be a part (a composite sums physical meters: rapl, nvml, jetson-ina, android-battery)");
    AMPERE_REQUIRE(std::find(out.parts.begin(), out.parts.end(), source) == out.parts.end(), "meter ", label, ": ", part,
                   " twice");
    out.parts.push_back(source);
    if (plus == std::string::npos) break;
    start = plus + 1;
  }
  AMPERE_REQUIRE(out.parts.size() >= 2, "meter ", label, ": a composite needs two parts or more");
  return out;
}

MeterLabel meter_label_of(const Measurement& m) {
  MeterLabel label{m.meter, {}};
  for (const MeterPart& part : m.meter_parts) label.parts.push_back(part.source);
  return label;
}

void set_meter(Measurement& m, const MeterLabel& label) {
  m.meter = label.source;
  m.meter_parts.clear();
  for (MeterSource part : label.parts) m.meter_parts.push_back({part, {}});
}

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
  // A composite: its parts are physical meters, each with a figure per repeat, summing to the total.
  if (m.meter != MeterSource::Composite) {
    AMPERE_REQUIRE(m.meter_parts.empty(), "measurement: meter parts on a ", meter_label(m.meter), " reading");
    return;
  }
  AMPERE_REQUIRE(m.meter_parts.size() >= 2, "measurement: a composite meter needs two parts or more, got ", m.meter_parts.size());
  parse_meter_label_text(meter_label_of(m).str());  // distinct, physical
  for (const MeterPart& part : m.meter_parts) {
    AMPERE_REQUIRE(part.joules_per_iteration.size() == m.joules_per_iteration.size(), "measurement: meter part ",
                   meter_label(part.source), " has ", part.joules_per_iteration.size(), " repeats, the total ",
                   m.joules_per_iteration.size());
    for (double j : part.joules_per_iteration)
      AMPERE_REQUIRE(std::isfinite(j) && j >= 0 && j <= B::max_joules, "measurement: meter part ", meter_label(part.source),
                     ": joules must be within [0, ", B::max_joules, "] per iteration, got ", j);
  }
  for (std::size_t i = 0; i < m.joules_per_iteration.size(); ++i) {
    double sum = 0;
    for (const MeterPart& part : m.meter_parts) sum += part.joules_per_iteration[i];
    AMPERE_REQUIRE(std::abs(sum - m.joules_per_iteration[i]) <= 1e-9 * std::max(1.0, m.joules_per_iteration[i]) + 1e-12,
                   "measurement: repeat ", i, "'s meter parts sum to ", sum, " J, not its ", m.joules_per_iteration[i], " J");
  }
}

}  // namespace ampere
