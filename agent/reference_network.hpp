// The fixed reference network an agent times at start and between jobs (docs/method.md §5): the
// same small network everywhere, so its reading says how fast this device is running right now.
// The coordinator divides each result by the reading taken beside it (drift normalization).
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <limits>

#include "common/clock.hpp"
#include "common/measurement.hpp"
#include "common/model_spec.hpp"

namespace ampere {

/// A two-convolution CNN on 16×16 inputs, batch 8 (about a millisecond per training iteration on
/// one CPU core): small next to the jobs it is timed between, and a mix of the layer types jobs use.
ModelSpec reference_network();

/// When the reading is due: before the first job, then once `every_jobs` jobs have run or `every`
/// has passed since the last reading, whichever comes first.
class ReferenceSchedule {
 public:
  /// Throws InputError when every_jobs is 0 or `every` is not positive.
  ReferenceSchedule(const Clock& clock, std::uint32_t every_jobs = 5, std::chrono::seconds every = std::chrono::seconds(60));

  bool due() const;
  /// A reading was taken now: the minimum over its repeats of seconds (and joules, NaN without a
  /// live meter) per iteration.
  void taken(double seconds, double joules);
  /// A job finished (counts toward every_jobs).
  void job_done() { ++jobs_since_; }

  /// The latest reading; NaN before the first.
  double seconds() const { return seconds_; }
  double joules() const { return joules_; }

 private:
  const Clock& clock_;
  std::uint32_t every_jobs_;
  std::chrono::seconds every_;
  bool taken_ = false;
  Clock::TimePoint at_{};
  std::uint32_t jobs_since_ = 0;
  double seconds_ = std::numeric_limits<double>::quiet_NaN();
  double joules_ = std::numeric_limits<double>::quiet_NaN();
};

/// Takes the reading with `measure` when due (before a job, so it sees what the job will). Throws
/// what `measure` throws, or InputError for an unusable reading; the schedule then stays due.
void refresh_reference(ReferenceSchedule& schedule, const std::function<Measurement()>& measure);

}  // namespace ampere
