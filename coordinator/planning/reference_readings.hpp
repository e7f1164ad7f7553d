// A campaign's reference readings (docs/method.md §5, §10, §17): every result's reading of the
// reference network, their median (what normalized fits answer at), a new reading judged against
// it, and how much the readings moved (what an estimate's interval adds for the device's speed).
#pragma once

#include <cmath>
#include <cstddef>
#include <vector>

#include "common/measurement.hpp"

namespace ampere {

/// What a result's reference reading says (docs/method.md §5), against the campaign's median.
enum class ReferenceVerdict {
  Normal,    ///< within kDriftShare of the median, or too few readings yet to judge
  Missing,   ///< no reading: the result is fitted as measured
  Drift,     ///< beyond kDriftShare: flagged, its point measured again once
  OffClass,  ///< beyond kOffClassRatio: another kind of machine in this class; refused
};
/// "normal", "missing", "drift", "off-class" (the metric's label).
const char* reference_verdict_name(ReferenceVerdict verdict);
struct ReferenceCheck {
  ReferenceVerdict verdict = ReferenceVerdict::Normal;
  double ratio = std::nan("");  ///< the reading over the campaign's median (NaN: none to compare)
};
constexpr double kDriftShare = 0.05;
constexpr double kOffClassRatio = 1.5;
/// Readings a campaign needs before it judges one against their median.
constexpr std::size_t kReferenceQuorum = 3;

/// How much a device's speed (or energy per iteration) moved: the sample variance of log(reading)
/// over `readings` (docs/method.md §17). 0 below `quorum` readings (and below 2); throws InputError
/// for a non-positive or non-finite reading (a measurement with one is refused before).
double reference_log_variance(const std::vector<double>& readings, std::size_t quorum);

/// Every reading of one campaign's results, time and energy, as added.
class ReferenceReadings {
 public:
  /// Keeps `m`'s readings (time when it has one; energy when not NaN).
  void note(const Measurement& m);
  /// The median reading; NaN below kReferenceQuorum readings.
  double median(bool energy) const;
  /// reference_log_variance of the time readings; for energy, of the energy readings when there
  /// are kReferenceQuorum, else time's (a time surrogate's joules move as its seconds do).
  double log_variance(bool energy) const;
  /// Judges `m`'s time reading against the median (Normal while too few to judge).
  ReferenceCheck check(const Measurement& m) const;

 private:
  std::vector<double> seconds_, joules_;
};

}  // namespace ampere
