#include "coordinator/planning/reference_readings.hpp"

#include <cmath>

#include <doctest/doctest.h>

#include "common/error.hpp"

using namespace ampere;

TEST_CASE("the device's speed variance is the sample variance of its reference readings' logs") {
  const std::vector<double> readings = {0.010, 0.011, 0.0095, 0.012};
  double mean = 0;
  for (const double r : readings) mean += std::log(r) / 4;
  double expected = 0;
  for (const double r : readings) expected += std::pow(std::log(r) - mean, 2) / 3;
  CHECK(reference_log_variance(readings, 3) == doctest::Approx(expected).epsilon(1e-12));
  CHECK(expected > 0.008);  // about 9% of spread
  // a scale of the readings (another unit, a slower device) does not change it
  std::vector<double> scaled;
  for (const double r : readings) scaled.push_back(r * 7.5);
  CHECK(reference_log_variance(scaled, 3) == doctest::Approx(expected).epsilon(1e-9));
  CHECK(reference_log_variance({0.01, 0.01, 0.01}, 3) == 0);
  // below the quorum (and below 2, whatever the quorum): none known
  CHECK(reference_log_variance({0.01, 0.02}, 3) == 0);
  CHECK(reference_log_variance({0.01}, 0) == 0);
  CHECK_THROWS_WITH_AS(reference_log_variance({0.01, 0.02, 0.0}, 3), doctest::Contains("reference reading must be finite and > 0"),
                       InputError);
}

TEST_CASE("a campaign's readings: median, judged against it, and their log variance for time and energy") {
  ReferenceReadings readings;
  Measurement m;
  m.seconds_per_iteration = {0.01};
  CHECK(std::isnan(readings.median(false)));
  CHECK(readings.log_variance(false) == 0);
  for (const double r : {0.002, 0.0022, 0.0018}) {
    m.reference_seconds = r;
    readings.note(m);
  }
  CHECK(readings.median(false) == doctest::Approx(0.002));
  CHECK(std::isnan(readings.median(true)));  // no energy readings
  const double time = reference_log_variance({0.002, 0.0022, 0.0018}, kReferenceQuorum);
  CHECK(readings.log_variance(false) == doctest::Approx(time));
  CHECK(readings.log_variance(true) == doctest::Approx(time));  // a time surrogate's joules move as its seconds
  m.reference_seconds = 0.0025;  // 25% off: a drift spike; 3x: another machine; none: missing
  CHECK(readings.check(m).verdict == ReferenceVerdict::Drift);
  CHECK(readings.check(m).ratio == doctest::Approx(1.25));
  m.reference_seconds = 0.006;
  CHECK(readings.check(m).verdict == ReferenceVerdict::OffClass);
  m.reference_seconds = std::nan("");
  CHECK(readings.check(m).verdict == ReferenceVerdict::Missing);
  // energy read live has its own readings and its own variance
  for (const double j : {1.0, 1.0, 1.0, 1.0}) {
    m.reference_seconds = 0.002;
    m.reference_joules = j;
    readings.note(m);
  }
  CHECK(readings.median(true) == doctest::Approx(1.0));
  CHECK(readings.log_variance(true) == 0);
  CHECK(readings.log_variance(false) > 0);
}
