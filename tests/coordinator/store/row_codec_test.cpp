#include "coordinator/store/row_codec.hpp"

#include <cmath>

#include <doctest/doctest.h>

using namespace ampere;

TEST_CASE("rows round-trip channels and per-repeat figures, and a bad column is named") {
  CHECK(row_codec::encode_channels({3, 64}) == "[3,64]");
  CHECK(row_codec::decode_channels("[3,64]") == std::vector<std::int64_t>{3, 64});
  Measurement m;
  m.seconds_per_iteration = {0.5, 0.25};
  m.joules_per_iteration = {};
  m.meter = MeterSource::Rapl;
  const row_codec::ResultText text = row_codec::encode_result(m);
  CHECK(text.meter == "rapl");
  const Measurement back = row_codec::decode_result(text, 12, 2, std::nan(""));
  CHECK(back.seconds_per_iteration == m.seconds_per_iteration);
  CHECK(back.joules_per_iteration.empty());
  CHECK(back.meter == MeterSource::Rapl);
  CHECK(back.iterations == 12);
  CHECK(back.threads == 2);
  CHECK(std::isnan(back.idle_watts));
  CHECK_THROWS_WITH_AS(row_codec::decode_channels("[3,"), doctest::Contains("column channels_json"), InputError);
  CHECK_THROWS_WITH_AS(row_codec::decode_result({"[1]", "{\"a\":1}", "rapl", ""}, 1, 1, 0), doctest::Contains("column joules_json"),
                       InputError);
  CHECK_THROWS_WITH_AS(row_codec::decode_result({"[1]", "[]", "battery", ""}, 1, 1, 0), doctest::Contains("unknown label 'battery'"),
                       InputError);
  // a composite's label names its parts and its column keeps each part's joules
  Measurement whole;
  whole.seconds_per_iteration = {0.5, 0.6};
  whole.joules_per_iteration = {3.0, 3.5};
  whole.meter = MeterSource::Composite;
  whole.meter_parts = {{MeterSource::Rapl, {1.0, 1.25}}, {MeterSource::Nvml, {2.0, 2.25}}};
  const row_codec::ResultText composite = row_codec::encode_result(whole);
  CHECK(composite.meter == "rapl+nvml");
  CHECK(composite.meter_parts_json == "[[1.0,1.25],[2.0,2.25]]");
  const Measurement read = row_codec::decode_result(composite, 4, 1, 0);
  CHECK(read.meter == MeterSource::Composite);
  REQUIRE(read.meter_parts.size() == 2);
  CHECK(read.meter_parts[1].source == MeterSource::Nvml);
  CHECK(read.meter_parts[1].joules_per_iteration == std::vector<double>{2.0, 2.25});
  CHECK_THROWS_WITH_AS(row_codec::decode_result({"[1]", "[3]", "rapl+nvml", "[[1]]"}, 1, 1, 0),
                       doctest::Contains("not the 2 parts of rapl+nvml"), InputError);
  CHECK_THROWS_WITH_AS(row_codec::decode_result({"[1]", "[3]", "rapl+nvml", "[[1], \"x\"]"}, 1, 1, 0),
                       doctest::Contains("part 1 is not an array of numbers"), InputError);
}
