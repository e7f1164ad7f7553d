// Energy meters behind one interface (docs/meters.md). Every reading carries its label.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "common/measurement.hpp"

namespace ampere {

/// Measures the energy of a window of work. One owning thread.
class Meter {
 public:
  virtual ~Meter() = default;
  virtual MeterSource source() const = 0;
  /// Starts a measurement window.
  virtual void begin() = 0;
  /// Ends the window that lasted `seconds`; returns its joules.
  virtual double end(double seconds) = 0;
};
using MeterPtr = std::unique_ptr<Meter>;

/// Intel/AMD RAPL through powercap sysfs: sums the package domains' energy_uj counters, handling
/// wrap-around with max_energy_range_uj. Throws InputError saying why when none can be read.
MeterPtr make_rapl_meter(const std::string& powercap_root = "/sys/class/powercap");
/// seconds × a configured watts figure; says it is a surrogate (label time-surrogate).
MeterPtr make_time_surrogate_meter(double watts);

/// The meter named by `label` ("rapl", "time-surrogate"); "auto" picks rapl when readable, else
/// the time surrogate. Throws InputError with the reason when the meter cannot be used here.
MeterPtr make_meter(const std::string& label, double surrogate_watts);

}  // namespace ampere
