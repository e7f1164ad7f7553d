#include <sstream>

#include <doctest/doctest.h>

#include "coordinator/cli/client_commands.hpp"

using namespace ampere;
using nlohmann::json;

namespace {

MeasuredModel measured(double estimate, double flops, double truth, double again) {
  MeasuredModel m;
  m.model = {{"name", "m"}};
  m.estimate = {{"seconds_per_iteration", {{"mean", estimate}, {"std", 0.0}}},
                {"joules_per_iteration", {{"mean", estimate * 10}, {"std", 0.0}}},
                {"flops_baseline",
                 {{"seconds_per_iteration", {{"mean", flops}, {"std", 0.0}}},
                  {"joules_per_iteration", {{"mean", flops * 10}, {"std", 0.0}}}}},
                {"blocks", json::array({{{"role", "input"}, {"channels", {8}}}, {{"role", "output"}, {"channels", {8}}}})}};
  m.measured = {{"seconds_per_iteration", {{"value", truth}}},
                {"joules_per_iteration", {{"value", truth * 10}}},
                {"meter", "time-surrogate"}};
  if (again > 0) m.measured_again = {{"seconds_per_iteration", {{"value", again}}}};
  return m;
}

}  // namespace

TEST_CASE("compare prints per-model errors, the MAPEs, and the noise floor from repeated measurements") {
  std::ostringstream out;
  const double mape = print_comparison({measured(1.05, 0.5, 1.0, 1.0), measured(1.7, 1.0, 2.0, 2.2)}, out);
  CAPTURE(out.str());
  CHECK(mape == doctest::Approx(10.0));  // (5% + 15%) / 2
  CHECK(out.str().find("time 10.0% (FLOPs baseline 50.0%)") != std::string::npos);
  CHECK(out.str().find("1 within +-10%") != std::string::npos);
  // |1.0-1.0|/1.0 = 0, |2.2-2.0|/2.1 = 9.52%: mean 4.8%
  CHECK(out.str().find("differ by 4.8% on average") != std::string::npos);
  CHECK(out.str().find("no joule above was measured") != std::string::npos);

  std::ostringstream once;
  print_comparison({measured(1.1, 0.5, 1.0, 0)}, once);
  CHECK(once.str().find("noise floor") == std::string::npos);  // no second measurement, no claim
}
