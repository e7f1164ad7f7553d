#include "coordinator/planning/reference_readings.hpp"

#include <algorithm>

#include "common/error.hpp"

namespace ampere {

const char* reference_verdict_name(ReferenceVerdict verdict) {
  switch (verdict) {
    case ReferenceVerdict::Normal: return "normal";
    case ReferenceVerdict::Missing: return "missing";
    case ReferenceVerdict::Drift: return "drift";
    case ReferenceVerdict::OffClass: return "off-class";
  }
  return "?";
}

double reference_log_variance(const std::vector<double>& readings, std::size_t quorum) {
  if (readings.size() < std::max<std::size_t>(quorum, 2)) return 0;
  std::vector<double> logs;
  logs.reserve(readings.size());
  double sum = 0;
  for (const double r : readings) {
    AMPERE_REQUIRE(std::isfinite(r) && r > 0, "reference reading must be finite and > 0, got ", r);
    logs.push_back(std::log(r));
    sum += logs.back();
  }
  const double mean = sum / static_cast<double>(logs.size());
  double squares = 0;
  for (const double l : logs) squares += (l - mean) * (l - mean);
  return squares / static_cast<double>(logs.size() - 1);
}

void ReferenceReadings::note(const Measurement& m) {
  if (m.has_reference()) seconds_.push_back(m.reference_seconds);
  if (m.reference_joules == m.reference_joules) joules_.push_back(m.reference_joules);
}

double ReferenceReadings::median(bool energy) const {
  const std::vector<double>& readings = energy ? joules_ : seconds_;
  if (readings.size() < kReferenceQuorum) return std::nan("");
  return summarize_repeats(readings, RepeatStatistic::Median).value;
}

double ReferenceReadings::log_variance(bool energy) const {
  if (energy && joules_.size() >= kReferenceQuorum) return reference_log_variance(joules_, kReferenceQuorum);
  return reference_log_variance(seconds_, kReferenceQuorum);
}

ReferenceCheck ReferenceReadings::check(const Measurement& m) const {
  ReferenceCheck check;
  if (!m.has_reference()) {
    check.verdict = ReferenceVerdict::Missing;
    return check;
  }
  const double middle = median(false);
  if (!(middle > 0)) return check;  // too few readings to judge yet
  check.ratio = m.reference_seconds / middle;
  if (check.ratio > kOffClassRatio || check.ratio < 1 / kOffClassRatio) check.verdict = ReferenceVerdict::OffClass;
  else if (std::abs(check.ratio - 1) > kDriftShare) check.verdict = ReferenceVerdict::Drift;
  return check;
}

}  // namespace ampere
