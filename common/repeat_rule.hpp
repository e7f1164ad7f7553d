// When a job has repeated enough, and how long one repeat's window lasts (docs/method.md §5).
// Shared by the agent's trainers (which apply it) and the coordinator (which sends it in a Job).
#pragma once

#include <cstdint>
#include <vector>

#include "common/measurement.hpp"

namespace ampere {

/// Repeat until the repeats agree or a cap. A job repeats at least `min_repeats` times; with
/// `relative_half_width` > 0 it goes on until the half-width of the 90% bootstrap interval of the
/// fitted statistic is within that share of the statistic, or `max_repeats`. With
/// `relative_half_width` == 0 it repeats exactly `min_repeats` times (the paper's fixed count).
struct RepeatRule {
  std::uint32_t min_repeats = 3;
  std::uint32_t max_repeats = 10;
  double relative_half_width = 0.01;
  RepeatStatistic statistic = RepeatStatistic::Minimum;

  /// Exactly `repeats` repeats, no agreement test (the paper's protocol; `--repeats N` of measure).
  static RepeatRule fixed(std::uint32_t repeats, RepeatStatistic statistic = RepeatStatistic::Minimum);
  bool adaptive() const { return relative_half_width > 0; }
};

/// Throws InputError naming the field: min_repeats 0, max_repeats < min_repeats, a negative or
/// non-finite half-width, or a half-width of 1 and more (it would never test anything).
void validate_repeat_rule(const RepeatRule& rule);

/// Half-width of the 90% bootstrap interval of `statistic` over `repeats`, divided by the
/// statistic: (q95 − q05) / 2 / value over 2000 resamples drawn from a fixed seed (deterministic:
/// the same repeats give the same answer). 0 for one repeat's worth of distinct values; +inf for
/// fewer than two repeats. For the minimum of three repeats it is (x₍₂₎ − x₍₁₎) / 2 / x₍₁₎.
double bootstrap_relative_half_width(const std::vector<double>& repeats, RepeatStatistic statistic);

/// True when `repeats` satisfy `rule` (stop repeating): the cap is reached, or at least
/// min_repeats agree as the rule asks (a fixed rule: exactly min_repeats).
bool repeats_suffice(const std::vector<double>& repeats, const RepeatRule& rule);

/// Seconds one measured repeat should last on this meter when the job leaves it open: long
/// enough for the meter's counter to update many times (docs/meters.md). Time and RAPL (µJ
/// counters, ~1 ms updates): 0.1 s; NVML (10–100 ms updates) and Jetson INA rails (sampled
/// sysfs): 1 s; Android fuel gauges (≥ 1 s updates): 5 s; simulated: 0 (no clock involved).
double default_window_seconds(MeterSource meter);

}  // namespace ampere
