#include "agent/meter.hpp"

#include <unistd.h>

#include <filesystem>
#include <fstream>

#include <doctest/doctest.h>

#include "common/error.hpp"

using namespace ampere;

namespace {
struct FakePowercap {
  std::filesystem::path root = std::filesystem::temp_directory_path() / ("ampere-powercap-" + std::to_string(::getpid()));
  FakePowercap() { std::filesystem::create_directories(root); }
  ~FakePowercap() { std::filesystem::remove_all(root); }
  void domain(const std::string& name, double energy_uj, double max_uj) {
    std::filesystem::create_directories(root / name);
    std::ofstream(root / name / "energy_uj") << energy_uj;
    std::ofstream(root / name / "max_energy_range_uj") << max_uj;
  }
};
}  // namespace

TEST_CASE("rapl sums package domains and handles counter wrap-around") {
  FakePowercap fake;
  fake.domain("intel-rapl:0", 1000, 1e6);
  fake.domain("intel-rapl:1", 999000, 1e6);
  fake.domain("intel-rapl:0:0", 5, 1e6);  // a sub-domain, inside package 0: not added again
  MeterPtr meter = make_rapl_meter(fake.root.string());
  CHECK(meter->source() == MeterSource::Rapl);
  meter->begin();
  fake.domain("intel-rapl:0", 3000, 1e6);   // +2000 µJ
  fake.domain("intel-rapl:1", 2000, 1e6);   // wrapped: +3000 µJ
  CHECK(meter->end(1.0) == doctest::Approx(0.005));
}

TEST_CASE("an unreadable or absent rapl is refused with the reason") {
  CHECK_THROWS_WITH_AS(make_rapl_meter("/nonexistent/powercap"), doctest::Contains("does not exist"), InputError);
  FakePowercap empty;
  CHECK_THROWS_WITH_AS(make_rapl_meter(empty.root.string()), doctest::Contains("no readable package domain"), InputError);
}

TEST_CASE("the time surrogate is seconds times watts and says so") {
  MeterPtr meter = make_time_surrogate_meter(12.5);
  CHECK(meter->source() == MeterSource::TimeSurrogate);
  meter->begin();
  CHECK(meter->end(2.0) == doctest::Approx(25.0));
  CHECK_THROWS_AS(make_time_surrogate_meter(0), InputError);
  CHECK_THROWS_WITH_AS(make_meter("simulated", 10), doctest::Contains("--backend simulated"), InputError);
  CHECK_THROWS_AS(make_meter("bogus", 10), InputError);
}
