#include "common/repeat_rule.hpp"

#include <doctest/doctest.h>

#include <cmath>

#include "common/error.hpp"

using namespace ampere;

TEST_CASE("the bootstrap half-width of the minimum of three is half the gap of the two smallest") {
  // Resampled minimums: the smallest with probability 1 − (2/3)³ = 0.70, the middle with 0.26, the
  // largest with 0.04: the 5% and 95% quantiles are the smallest and the middle value.
  const double h = bootstrap_relative_half_width({1.00, 1.04, 1.50}, RepeatStatistic::Minimum);
  CHECK(h == doctest::Approx(0.02).epsilon(1e-9));
  // Order does not matter; the answer is deterministic.
  CHECK(bootstrap_relative_half_width({1.50, 1.00, 1.04}, RepeatStatistic::Minimum) == h);
  // Five repeats: the 95% quantile of the resampled minimum is the third smallest (P = 0.99).
  CHECK(bootstrap_relative_half_width({2.0, 2.02, 2.08, 3, 3}, RepeatStatistic::Minimum) ==
        doctest::Approx(0.02).epsilon(1e-9));
  CHECK(bootstrap_relative_half_width({5, 5, 5}, RepeatStatistic::Minimum) == 0.0);
  CHECK(std::isinf(bootstrap_relative_half_width({5}, RepeatStatistic::Minimum)));
}

TEST_CASE("the bootstrap half-width of the median narrows as agreeing repeats accumulate") {
  const double few = bootstrap_relative_half_width({1.0, 1.1, 0.9}, RepeatStatistic::Median);
  const double many = bootstrap_relative_half_width({1.0, 1.1, 0.9, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0}, RepeatStatistic::Median);
  CHECK(few > 0.04);
  CHECK(many < few);
}

TEST_CASE("repeats suffice when they agree, at the cap, never below the minimum") {
  RepeatRule rule;  // 3 to 10, 1%
  CHECK_FALSE(repeats_suffice({1.0, 1.0}, rule));                 // below the minimum, however close
  CHECK(repeats_suffice({1.0, 1.01, 1.3}, rule));                 // two smallest within 2%: half-width 0.5%
  CHECK_FALSE(repeats_suffice({1.0, 1.05, 1.3}, rule));           // 2.5% half-width
  CHECK_FALSE(repeats_suffice({1.0, 1.05, 1.3, 1.2, 1.1}, rule));
  CHECK(repeats_suffice({1.0, 1.05, 1.3, 1.2, 1.1, 1.2, 1.1, 1.3, 1.4, 1.2}, rule));  // the cap
  const RepeatRule fixed = RepeatRule::fixed(5);
  CHECK_FALSE(fixed.adaptive());
  CHECK_FALSE(repeats_suffice({1.0, 1.0, 1.0, 1.0}, fixed));
  CHECK(repeats_suffice({1.0, 1.5, 2.0, 2.5, 3.0}, fixed));      // exactly five, agreeing or not
}

TEST_CASE("a bad repeat rule is refused naming what is wrong") {
  RepeatRule rule;
  rule.min_repeats = 0;
  CHECK_THROWS_WITH_AS(validate_repeat_rule(rule), doctest::Contains("at least 1"), InputError);
  rule = RepeatRule();
  rule.max_repeats = 2;
  CHECK_THROWS_WITH_AS(validate_repeat_rule(rule), doctest::Contains("below the minimum"), InputError);
  rule = RepeatRule();
  rule.relative_half_width = std::nan("");
  CHECK_THROWS_WITH_AS(validate_repeat_rule(rule), doctest::Contains("agreement"), InputError);
  rule.relative_half_width = 1.0;
  CHECK_THROWS_AS(validate_repeat_rule(rule), InputError);
  CHECK_NOTHROW(validate_repeat_rule(RepeatRule::fixed(5)));
}

TEST_CASE("windows follow the meter: seconds for slow meters, a tenth of one for clocks") {
  CHECK(default_window_seconds(MeterSource::TimeSurrogate) == doctest::Approx(0.1));
  CHECK(default_window_seconds(MeterSource::Rapl) == doctest::Approx(0.1));
  CHECK(default_window_seconds(MeterSource::Nvml) >= 1.0);
  CHECK(default_window_seconds(MeterSource::JetsonIna) >= 1.0);
  CHECK(default_window_seconds(MeterSource::AndroidBattery) >= 5.0);
}
