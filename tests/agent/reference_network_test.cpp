#include "agent/reference_network.hpp"

#include <doctest/doctest.h>

#include <cmath>

#include <nlohmann/json.hpp>

#include "agent/simulated_device.hpp"
#include "common/error.hpp"
#include "common/layer_shapes.hpp"
#include "support/fake_clock.hpp"

using namespace ampere;
using ampere::testing::FakeClock;

TEST_CASE("the reference network is small, concrete and the same every time") {
  const ModelSpec a = reference_network(), b = reference_network();
  CHECK_FALSE(a.is_family());
  CHECK(to_json(a) == to_json(b));
  CHECK(model_cost(a).training_flops_per_iteration > 0);
  // Small next to what it is timed between: tens of MFLOPs per iteration at most.
  CHECK(model_cost(a).training_flops_per_iteration < 50e6);
}

TEST_CASE("the reference reading is due first, then every N jobs or T seconds, whichever comes first") {
  FakeClock clock;
  ReferenceSchedule schedule(clock, 3, std::chrono::seconds(60));
  CHECK(schedule.due());
  CHECK(std::isnan(schedule.seconds()));
  int measured = 0;
  auto measure = [&] {
    ++measured;
    Measurement m;
    m.seconds_per_iteration = {0.0021, 0.0020, 0.0022};
    m.meter = MeterSource::TimeSurrogate;
    m.joules_per_iteration = {0.021, 0.020, 0.022};
    return m;
  };
  refresh_reference(schedule, measure);
  CHECK(measured == 1);
  CHECK(schedule.seconds() == doctest::Approx(0.0020));  // the minimum of its repeats
  CHECK(std::isnan(schedule.joules()));                  // a surrogate's joules are no reading
  for (int job = 0; job < 2; ++job) {
    schedule.job_done();
    refresh_reference(schedule, measure);
  }
  CHECK(measured == 1);  // two jobs: not yet
  schedule.job_done();
  refresh_reference(schedule, measure);
  CHECK(measured == 2);  // the third job
  clock.advance(std::chrono::seconds(61));
  refresh_reference(schedule, measure);
  CHECK(measured == 3);  // a minute, with no job in between
  // An unusable reading is refused and the schedule stays due.
  clock.advance(std::chrono::seconds(61));
  CHECK_THROWS_AS(refresh_reference(schedule, [] { return Measurement(); }), InputError);
  CHECK(schedule.due());
  CHECK_THROWS_AS(ReferenceSchedule(clock, 0), InputError);
}

TEST_CASE("a reference reading that is present must be finite and positive") {
  Measurement m;
  m.seconds_per_iteration = {0.01};
  CHECK_NOTHROW(validate_measurement(m));  // absent (NaN): fine
  m.reference_seconds = 0.002;
  CHECK_NOTHROW(validate_measurement(m));
  m.reference_seconds = 0;
  CHECK_THROWS_WITH_AS(validate_measurement(m), doctest::Contains("reference reading"), InputError);
  m.reference_seconds = -1;
  CHECK_THROWS_AS(validate_measurement(m), InputError);
  m.reference_seconds = 0.002;
  m.reference_joules = INFINITY;
  CHECK_THROWS_AS(validate_measurement(m), InputError);
}
