#include "common/repeat_rule.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <random>

#include "common/error.hpp"

namespace ampere {
namespace {

/// The q-quantile of sorted values, nearest rank.
double quantile(const std::vector<double>& sorted, double q) {
  const std::size_t rank = static_cast<std::size_t>(std::ceil(q * static_cast<double>(sorted.size())));
  return sorted[std::min(sorted.size() - 1, rank == 0 ? 0 : rank - 1)];
}

}  // namespace

RepeatRule RepeatRule::fixed(std::uint32_t repeats, RepeatStatistic statistic) {
  RepeatRule rule;
  rule.min_repeats = rule.max_repeats = repeats;
  rule.relative_half_width = 0;
  rule.statistic = statistic;
  return rule;
}

void validate_repeat_rule(const RepeatRule& rule) {
  AMPERE_REQUIRE(rule.min_repeats >= 1, "repeats: the minimum must be at least 1, got ", rule.min_repeats);
  AMPERE_REQUIRE(rule.max_repeats >= rule.min_repeats, "repeats: the cap (", rule.max_repeats,
                 ") is below the minimum (", rule.min_repeats, ")");
  AMPERE_REQUIRE(std::isfinite(rule.relative_half_width) && rule.relative_half_width >= 0 && rule.relative_half_width < 1,
                 "repeats: the agreement (relative half-width) must be in [0, 1), got ", rule.relative_half_width);
}

double bootstrap_relative_half_width(const std::vector<double>& repeats, RepeatStatistic statistic) {
  if (repeats.size() < 2) return std::numeric_limits<double>::infinity();
  const double value = summarize_repeats(repeats, statistic).value;
  constexpr int kResamples = 2000;
  std::mt19937_64 rng(0x5eedULL);
  std::uniform_int_distribution<std::size_t> pick(0, repeats.size() - 1);
  std::vector<double> stats(kResamples), draw(repeats.size());
  for (double& s : stats) {
    for (double& d : draw) d = repeats[pick(rng)];
    s = summarize_repeats(draw, statistic).value;
  }
  std::sort(stats.begin(), stats.end());
  const double half_width = 0.5 * (quantile(stats, 0.95) - quantile(stats, 0.05));
  return value > 0 ? half_width / value : std::numeric_limits<double>::infinity();
}

bool repeats_suffice(const std::vector<double>& repeats, const RepeatRule& rule) {
  if (repeats.size() >= rule.max_repeats) return true;
  if (repeats.size() < rule.min_repeats) return false;
  if (!rule.adaptive()) return true;
  return bootstrap_relative_half_width(repeats, rule.statistic) <= rule.relative_half_width;
}

double default_window_seconds(MeterSource meter) {
  switch (meter) {
    case MeterSource::Rapl:
    case MeterSource::TimeSurrogate: return 0.1;
    case MeterSource::Nvml:
    case MeterSource::JetsonIna:
    case MeterSource::Composite: return 1.0;  // rapl+nvml: NVML's; a part android-battery wants --min-window 5
    case MeterSource::AndroidBattery: return 5.0;
    case MeterSource::Simulated: return 0.0;
  }
  return 0.1;
}

}  // namespace ampere
