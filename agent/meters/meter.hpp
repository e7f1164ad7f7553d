// Energy meters behind one interface (docs/meters.md). Every reading carries its label.
#pragma once

#include <memory>
#include <optional>
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
  /// What the device was doing during the last window, where the meter can tell (nvml: SM clock,
  /// temperature, throttle reasons); nullopt elsewhere.
  virtual std::optional<WindowConditions> window_conditions() const { return std::nullopt; }
  /// A composite's parts, in order (empty for a single meter).
  virtual std::vector<MeterSource> part_sources() const { return {}; }
  /// A composite's joules of each part over the last window, in part_sources() order (empty for
  /// a single meter).
  virtual std::vector<double> last_part_joules() const { return {}; }
};
using MeterPtr = std::unique_ptr<Meter>;

/// Several meters read over the same window (a whole node: `rapl+nvml`): begin opens each part's
/// window in order, end closes them in the same order and returns the sum; each part's joules
/// stay (last_part_joules). Needs two parts or more. The label is MeterSource::Composite with
/// the parts' sources (MeterLabel).
MeterPtr make_composite_meter(std::vector<MeterPtr> parts);

/// Turns a composite's per-window part joules into `m`'s meter parts: the last
/// m.joules_per_iteration.size() windows (the measured repeats; an idle baseline or a probe
/// window before them is passed over), each divided by m.iterations. Throws InputError when there
/// are fewer windows than repeats or a repeat's parts do not sum to its joules. A single meter
/// (no parts): nothing to do.
void attach_meter_parts(Measurement& m, const std::vector<MeterSource>& parts,
                        const std::vector<std::vector<double>>& window_part_joules);

/// Intel/AMD RAPL through powercap sysfs: sums the package domains' energy_uj counters and each
/// package's dram sub-domain where it exists (memory is outside the package figure), never psys
/// (the platform: it would count the packages twice) nor core/uncore (inside their package),
/// handling wrap-around with max_energy_range_uj. `domains_read`, when given, gets what it sums
/// ("package-0 + dram (intel-rapl:0:2)"). Throws InputError saying why when none can be read.
MeterPtr make_rapl_meter(const std::string& powercap_root = "/sys/class/powercap", std::string* domains_read = nullptr);
/// seconds × a configured watts figure; says it is a surrogate (label time-surrogate).
MeterPtr make_time_surrogate_meter(double watts);

/// Which sign of `current_now` means discharging: the kernel documents negative; some vendors
/// report positive only. Auto takes it from the first window: while the battery reads Discharging,
/// the sign the current has is the discharge sign.
enum class CurrentSign { Auto, DischargeNegative, DischargePositive };
/// "auto", "discharge-negative", "discharge-positive"; throws InputError on another.
CurrentSign parse_current_sign(const std::string& text);

/// Where a meter reads sysfs: this machine's files under a root, or a phone's over adb.
class SysfsFiles {
 public:
  virtual ~SysfsFiles() = default;
  /// Each file's first line, trailing blanks dropped; nullopt for one that cannot be read. Several
  /// files in one call (over adb: one round trip).
  virtual std::vector<std::optional<std::string>> read_lines(const std::vector<std::string>& files) const = 0;
  /// The names in a directory; empty when it cannot be listed.
  virtual std::vector<std::string> list(const std::string& directory) const = 0;
  /// How a path reads in messages ("/sys/..." here, "SERIAL:/sys/..." on a phone).
  virtual std::string describe(const std::string& path) const = 0;
};
/// This machine's files, `root` prefixed to every path ("/" or a fake tree).
std::shared_ptr<const SysfsFiles> local_sysfs(const std::string& root);

struct AndroidBatteryOptions {
  std::string sysfs_root = "/";  ///< a fake tree in tests
  /// Where the battery's files are read; null: this machine's, under sysfs_root. A phone driven
  /// over adb (--runner adb) reads them through adb (agent/adb_device.hpp).
  std::shared_ptr<const SysfsFiles> files;
  CurrentSign sign = CurrentSign::Auto;
  bool allow_charging = false;  ///< USB/AC power confounds the reading: refused unless this
  double sample_hz = 10;
};
/// An Android phone's fuel gauge: power_supply/battery/{current_now (µA), voltage_now (µV)} sampled
/// at sample_hz in a thread during the window, |I|·V integrated by the trapezoid rule. Refuses
/// (InputError, naming the file and value) while charging — battery/status Charging or Full, or a
/// power_supply/*/online of type USB, AC or Wireless reading 1 — unless allow_charging, at the
/// start and, when the phone starts charging mid-window, at the end; and a current of the wrong
/// sign for the chosen convention.
MeterPtr make_android_battery_meter(const AndroidBatteryOptions& options);

struct JetsonInaOptions {
  std::string sysfs_root = "/";
  std::vector<std::string> rails;  ///< empty: the board's input rail(s)
  double sample_hz = 10;
};
/// A Jetson board's INA3221 power monitors, found by scanning SYSFS/sys/bus/i2c/devices/*/name:
/// `ina3221x` (L4T ≤ 32, IIO: rail_name_N, in_powerN_input in mW) or `ina3221` (JetPack ≥ 5,
/// hwmon/hwmonK/: inN_label, inN_input in mV, currN_input in mA); "NC" and sum-of-shunts channels
/// are skipped. Samples the chosen rails at sample_hz and integrates; the default is the input
/// rail (VDD_IN, POM_5V_IN, VIN_SYS_5V0 — summed when a board has more than one). Throws
/// InputError naming what it found when no monitor, or no rail asked for, is there.
MeterPtr make_jetson_ina_meter(const JetsonInaOptions& options);

struct NvmlOptions {
  std::string library = "libnvidia-ml.so.1";  ///< dlopen'ed: no build-time dependency
  unsigned device_index = 0;                   ///< NVML's index of the GPU, when no UUID is given
  /// The GPU the trainer trains on, by UUID ("GPU-…", as the CUDA driver reports it): NVML's
  /// indices ignore CUDA_VISIBLE_DEVICES and may order GPUs differently, a UUID does not.
  std::string device_uuid;
  double sample_hz = 10;                       ///< power sampling, for GPUs without the counter
};
/// NVIDIA GPUs through NVML, loaded with dlopen: the total-energy counter (mJ, Volta and newer)
/// read at begin and end, a counter that went backwards read as a wrap of its 64 bits; on a GPU
/// without it (NOT_SUPPORTED), nvmlDeviceGetPowerUsage (mW) sampled at sample_hz and integrated.
/// Each window also records the SM clock, temperature and throttle reasons (window_conditions).
/// Throws InputError saying why when the library, NVML or the device cannot be had.
MeterPtr make_nvml_meter(const NvmlOptions& options);

/// Idle power: what `meter` reads over `seconds` while nothing trains, in watts — the baseline
/// beside which a result's energy above idle is J − idle_watts × s. NaN for a meter that reads no
/// energy live (the time surrogate's watts are a setting, not a reading). Throws what the meter
/// throws (an unreadable file, a phone that is charging) and InputError for seconds <= 0.
double measure_idle_watts(Meter& meter, double seconds);

/// Every meter's options, for make_meter.
struct MeterOptions {
  double surrogate_watts = 10;  ///< time-surrogate: seconds × this
  std::string powercap_root = "/sys/class/powercap";
  AndroidBatteryOptions android;
  JetsonInaOptions jetson;
  NvmlOptions nvml;
  /// What "auto" goes by: the trainer trains on a CUDA GPU (nvml first); this is a phone (its
  /// battery first).
  bool cuda_trainer = false;
  bool phone = false;
};

/// A meter and why it is the one: what it reads ("rapl: package-0 + dram (intel-rapl:0:2)") and,
/// for "auto", what was passed over and why. The agent and the trainer log it.
struct MeterChoice {
  MeterPtr meter;
  std::string reason;
};

/// The meter named by `label` ("rapl", "nvml", "jetson-ina", "android-battery", "time-surrogate"),
/// or a composite of physical meters joined by '+' ("rapl+nvml": make_composite_meter).
/// "auto" takes the first of these that can be used here: nvml for a CUDA trainer, android-battery
/// on a phone, jetson-ina where INA3221 monitors are, rapl where readable, else the time surrogate
/// (labeled as such). Throws InputError with the reason when a named meter cannot be used here, or
/// naming the known labels for an unknown one.
MeterChoice choose_meter(const std::string& label, const MeterOptions& options = {});
/// choose_meter's meter.
MeterPtr make_meter(const std::string& label, const MeterOptions& options = {});

}  // namespace ampere
