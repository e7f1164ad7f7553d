// What an agent reports for one job, and the statistic the coordinator fits (docs/method.md §5).
#pragma once

#include <cstddef>
#include <cstdint>
#include <limits>
#include <string>
#include <utility>
#include <vector>

namespace ampere {

/// Where an energy figure came from (docs/meters.md). Only the first four are readings
/// of a physical meter; a surrogate or simulated joule is never presented as measured. Composite:
/// the sum of several physical meters read over the same window (a whole node: `--meter
/// rapl+nvml`); its parts name them (Measurement::meter_parts, MeterLabel).
enum class MeterSource { Rapl, Nvml, JetsonIna, AndroidBattery, TimeSurrogate, Simulated, Composite };

/// "rapl", "nvml", "jetson-ina", "android-battery", "time-surrogate", "simulated", "composite".
const char* meter_label(MeterSource source);
/// Parses a single meter's label (or "composite"); throws InputError listing the known ones.
MeterSource parse_meter_label(const std::string& label);
/// True when energy is read live (guided profiling then guides on energy, else on time).
bool reads_energy_live(MeterSource source);

/// A figure's whole label: one meter, or a composite's parts ("rapl+nvml"), as results, estimates
/// and metrics print it.
struct MeterLabel {
  MeterLabel() = default;
  MeterLabel(MeterSource single) : source(single) {}  // NOLINT: a single meter is its whole label
  MeterLabel(MeterSource source_, std::vector<MeterSource> parts_) : source(source_), parts(std::move(parts_)) {}
  MeterSource source = MeterSource::TimeSurrogate;
  std::vector<MeterSource> parts;  ///< a composite's, in the order given; empty otherwise
  std::string str() const;
  bool operator==(const MeterLabel& other) const { return source == other.source && parts == other.parts; }
};
/// "rapl" or "rapl+nvml". Throws InputError for a composite of fewer than two parts, a part
/// twice, or a part that is not a physical meter (rapl, nvml, jetson-ina, android-battery): a
/// surrogate is never summed with measured joules.
MeterLabel parse_meter_label_text(const std::string& label);

/// One part of a composite meter's reading: per repeat, per training iteration.
struct MeterPart {
  MeterSource source = MeterSource::Rapl;
  std::vector<double> joules_per_iteration;
};

/// What a GPU was doing during one measured window (the nvml meter): its SM clock and temperature
/// at the window's end, and every clocks-throttle reason NVML reported at either end (its bit
/// mask). A locked clock is still overridden by power or thermal throttling.
struct WindowConditions {
  double sm_clock_mhz = std::numeric_limits<double>::quiet_NaN();
  double temperature_c = std::numeric_limits<double>::quiet_NaN();
  unsigned long long throttle_reasons = 0;
  /// True when a reason other than idle or an applications-clock setting is set: a power cap,
  /// thermal or hardware slowdown, power brake.
  bool throttled() const { return (throttle_reasons & ~0x3ull) != 0; }
};
/// NVML's names of the bits set in `reasons` ("sw-power-cap", "hw-thermal-slowdown", ...).
std::string throttle_reason_names(unsigned long long reasons);

/// One job's figures: per repeat, per training iteration.
struct Measurement {
  std::vector<double> seconds_per_iteration;
  std::vector<double> joules_per_iteration;
  MeterSource meter = MeterSource::TimeSurrogate;
  /// A composite meter's parts, each with its own joules per repeat (their sum is
  /// joules_per_iteration); empty for a single meter.
  std::vector<MeterPart> meter_parts;
  std::uint32_t iterations = 0;  ///< per repeat
  std::uint32_t threads = 0;
  double idle_watts = 0;         ///< NaN when not calibrated
  /// The agent's reading of the fixed reference network taken beside this job (docs/method.md §5):
  /// seconds and joules per iteration, the minimum of its repeats. NaN when none was taken (an
  /// older agent) or its meter reads no energy live (joules).
  double reference_seconds = std::numeric_limits<double>::quiet_NaN();
  double reference_joules = std::numeric_limits<double>::quiet_NaN();
  bool has_reference() const { return reference_seconds == reference_seconds; }
  /// Per repeat, what the GPU was doing (nvml only; empty otherwise). Reported by `measure` and in
  /// the agent's log; not carried on the wire.
  std::vector<WindowConditions> windows;
  /// The trained network's parameters as the training library counts them (0: not reported).
  /// `measure` prints it; not carried on the wire.
  std::int64_t parameters = 0;
};

enum class RepeatStatistic { Minimum, Median };

/// The statistic of the repeats the GP fits (default minimum: the most stable here) and the
/// variance of that statistic's values across repeats (used as the point's extra noise).
struct RepeatSummary {
  double value = 0;
  double spread_variance = 0;
};
RepeatSummary summarize_repeats(const std::vector<double>& repeats, RepeatStatistic statistic);

/// What a measured figure may be before it is refused as implausible (docs/method.md §5,
/// "Plausibility"): wide enough for any device from a phone to a GPU node, narrow enough that
/// no accepted figure can overflow a GP's arithmetic or dwarf every other point.
struct PlausibleBounds {
  static constexpr std::size_t max_repeats = 1000;
  static constexpr double min_seconds = 1e-7;      ///< per iteration: 100 ns
  static constexpr double max_seconds = 3600;      ///< per iteration: one hour
  static constexpr double max_joules = 1e8;        ///< per iteration
  static constexpr double max_watts = 1e5;         ///< joules / seconds of a repeat; idle watts too
  static constexpr double max_repeat_ratio = 100;  ///< slowest / fastest repeat of one job
  static constexpr std::uint32_t max_iterations = 1000000000;
  static constexpr std::uint32_t max_threads = 65536;
};

/// Throws InputError naming the figure when a measurement is unusable: no repeats or more than
/// PlausibleBounds::max_repeats, NaN, a time or energy outside the bounds, repeats whose slowest
/// is more than max_repeat_ratio times the fastest, an implied power over max_watts, seconds and
/// joules of different lengths, idle watts or a reference reading present (not NaN) but outside
/// the bounds.
void validate_measurement(const Measurement& m);

/// The measurement's whole meter label (its parts for a composite).
MeterLabel meter_label_of(const Measurement& m);
/// Sets a measurement's meter from a whole label (no part joules yet for a composite).
void set_meter(Measurement& m, const MeterLabel& label);

}  // namespace ampere
