#include "agent/meter.hpp"

#include <atomic>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <thread>

#include "common/error.hpp"

namespace ampere {
namespace {

struct RaplDomain {
  std::string energy_file;
  double max_range_uj = 0;
};

bool read_number(const std::string& file, double& value) {
  std::ifstream in(file);
  return static_cast<bool>(in >> value);
}

class RaplMeter final : public Meter {
 public:
  explicit RaplMeter(std::vector<RaplDomain> domains) : domains_(std::move(domains)), start_(domains_.size()) {}
  MeterSource source() const override { return MeterSource::Rapl; }
  void begin() override {
    for (std::size_t i = 0; i < domains_.size(); ++i) start_[i] = read(i);
  }
  double end(double) override {
    double joules = 0;
    for (std::size_t i = 0; i < domains_.size(); ++i) {
      double delta = read(i) - start_[i];
      if (delta < 0) delta += domains_[i].max_range_uj;  // the counter wrapped
      joules += delta * 1e-6;
    }
    return joules;
  }

 private:
  double read(std::size_t i) const {
    double v = 0;
    if (!read_number(domains_[i].energy_file, v)) throw std::runtime_error("rapl: cannot read " + domains_[i].energy_file);
    return v;
  }
  std::vector<RaplDomain> domains_;
  std::vector<double> start_;
};

class TimeSurrogateMeter final : public Meter {
 public:
  explicit TimeSurrogateMeter(double watts) : watts_(watts) {}
  MeterSource source() const override { return MeterSource::TimeSurrogate; }
  void begin() override {}
  double end(double seconds) override { return seconds * watts_; }

 private:
  double watts_;
};

std::string read_word(const std::filesystem::path& file) {
  std::ifstream in(file);
  std::string word;
  in >> word;
  return word;
}

/// The fuel gauge of an Android phone (docs/meters.md): samples current and voltage in a thread.
class AndroidBatteryMeter final : public Meter {
 public:
  explicit AndroidBatteryMeter(AndroidBatteryOptions options)
      : options_(std::move(options)),
        supply_(std::filesystem::path(options_.sysfs_root) / "sys/class/power_supply"),
        battery_(supply_ / "battery"),
        sign_(options_.sign) {
    refuse_if_charging("the window starts");
    double probe = 0;
    AMPERE_REQUIRE(read_number((battery_ / "current_now").string(), probe), "meter android-battery: cannot read ",
                   (battery_ / "current_now").string());
    AMPERE_REQUIRE(read_number((battery_ / "voltage_now").string(), probe), "meter android-battery: cannot read ",
                   (battery_ / "voltage_now").string());
  }
  ~AndroidBatteryMeter() override { stop(); }
  MeterSource source() const override { return MeterSource::AndroidBattery; }

  void begin() override {
    stop();
    refuse_if_charging("the window starts");
    samples_.clear();
    failure_.clear();
    sample();  // the window's first sample, now
    running_ = true;
    sampler_ = std::thread([this] {
      const auto period = std::chrono::duration<double>(1.0 / options_.sample_hz);
      std::unique_lock<std::mutex> lock(wake_mutex_);
      while (!wake_.wait_for(lock, period, [this] { return !running_.load(); })) sample();
    });
  }

  double end(double) override {
    stop();
    sample();
    {
      const std::lock_guard<std::mutex> lock(mutex_);
      if (!failure_.empty()) throw InputError(failure_);
    }
    refuse_if_charging("during the window");
    AMPERE_REQUIRE(samples_.size() >= 2, "meter android-battery: fewer than 2 samples in the window");
    double joules = 0;
    for (std::size_t i = 1; i < samples_.size(); ++i)
      joules += 0.5 * (samples_[i].watts + samples_[i - 1].watts) * (samples_[i].seconds - samples_[i - 1].seconds);
    return joules;
  }

 private:
  struct Sample {
    double seconds, watts;
  };

  void stop() {  // prompt: the sampler waits on a condition, not a sleep
    {
      const std::lock_guard<std::mutex> lock(wake_mutex_);
      running_ = false;
    }
    wake_.notify_all();
    if (sampler_.joinable()) sampler_.join();
  }

  void sample() {
    double micro_amps = 0, micro_volts = 0;
    const bool ok = read_number((battery_ / "current_now").string(), micro_amps) &&
                    read_number((battery_ / "voltage_now").string(), micro_volts);
    const double now = std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
    const std::lock_guard<std::mutex> lock(mutex_);
    if (!failure_.empty()) return;
    if (!ok) {
      failure_ = "meter android-battery: " + battery_.string() + "/current_now or voltage_now vanished or became unreadable";
      return;
    }
    if (!(micro_volts > 0 && micro_volts < 1e8) || !(std::abs(micro_amps) < 1e8)) {
      failure_ = "meter android-battery: absurd sample (current_now " + std::to_string(micro_amps) + " µA, voltage_now " +
                 std::to_string(micro_volts) + " µV)";
      return;
    }
    if (sign_ == CurrentSign::Auto && micro_amps != 0)  // the battery reads Discharging: this sign is discharge
      sign_ = micro_amps < 0 ? CurrentSign::DischargeNegative : CurrentSign::DischargePositive;
    const double discharge = sign_ == CurrentSign::DischargePositive ? micro_amps : -micro_amps;
    if (discharge < 0 && !options_.allow_charging) {
      failure_ = "meter android-battery: current_now " + std::to_string(micro_amps) + " µA means charging under the " +
                 (sign_ == CurrentSign::DischargePositive ? "discharge-positive" : "discharge-negative") +
                 " convention (--current-sign)";
      return;
    }
    samples_.push_back({now, std::abs(discharge) * 1e-6 * micro_volts * 1e-6});
  }

  void refuse_if_charging(const std::string& when) const {
    if (options_.allow_charging) return;
    const std::string status = read_word(battery_ / "status");
    AMPERE_REQUIRE(status != "Charging" && status != "Full", "meter android-battery: ", (battery_ / "status").string(), " reads ",
                   status, " as ", when, "; USB or AC power confounds the reading (unplug, or --allow-charging)");
    std::error_code ec;
    for (const auto& entry : std::filesystem::directory_iterator(supply_, ec)) {
      const std::string type = read_word(entry.path() / "type");
      if (type != "USB" && type != "AC" && type != "Wireless") continue;
      double online = 0;
      AMPERE_REQUIRE(!(read_number((entry.path() / "online").string(), online) && online == 1), "meter android-battery: ",
                     (entry.path() / "online").string(), " (", type, ") reads 1 as ", when,
                     "; external power confounds the reading (unplug, or --allow-charging)");
    }
  }

  AndroidBatteryOptions options_;
  std::filesystem::path supply_, battery_;
  CurrentSign sign_;
  std::thread sampler_;
  std::atomic<bool> running_{false};
  std::mutex wake_mutex_;
  std::condition_variable wake_;
  std::mutex mutex_;
  std::vector<Sample> samples_;
  std::string failure_;
};

}  // namespace

CurrentSign parse_current_sign(const std::string& text) {
  if (text == "auto") return CurrentSign::Auto;
  if (text == "discharge-negative") return CurrentSign::DischargeNegative;
  if (text == "discharge-positive") return CurrentSign::DischargePositive;
  throw InputError("--current-sign: unknown '" + text + "' (auto, discharge-negative, discharge-positive)");
}

MeterPtr make_android_battery_meter(const AndroidBatteryOptions& options) {
  AMPERE_REQUIRE(options.sample_hz >= 1 && options.sample_hz <= 1000, "meter android-battery: sample rate must be 1..1000 Hz, got ",
                 options.sample_hz);
  return std::make_unique<AndroidBatteryMeter>(options);
}

MeterPtr make_rapl_meter(const std::string& root) {
  namespace fs = std::filesystem;
  std::error_code ec;
  AMPERE_REQUIRE(fs::is_directory(root, ec), "meter rapl: ", root, " does not exist (no powercap driver on this machine)");
  std::vector<RaplDomain> domains;
  std::string unreadable;
  for (const auto& entry : fs::directory_iterator(root, ec)) {
    const std::string name = entry.path().filename().string();
    // Package domains only (intel-rapl:0, intel-rapl:1); sub-domains (intel-rapl:0:0) are inside them.
    if (name.rfind("intel-rapl:", 0) != 0 || name.find(':', 11) != std::string::npos) continue;
    RaplDomain d{(entry.path() / "energy_uj").string(), 0};
    double probe = 0;
    if (!read_number(d.energy_file, probe) || !read_number((entry.path() / "max_energy_range_uj").string(), d.max_range_uj)) {
      unreadable += " " + d.energy_file;
      continue;
    }
    domains.push_back(d);
  }
  AMPERE_REQUIRE(!domains.empty(), "meter rapl: no readable package domain under ", root,
                 unreadable.empty() ? " (none present)"
                                    : "; unreadable:" + unreadable +
                                          " (energy_uj is root-only since Linux 5.10, the 2020 PLATYPUS fix: grant the agent's "
                                          "group read access with the udev rule in docs/operations.md, 'Add an agent')");
  return std::make_unique<RaplMeter>(std::move(domains));
}

MeterPtr make_time_surrogate_meter(double watts) {
  AMPERE_REQUIRE(watts > 0 && watts < 1e5, "meter time-surrogate: --watts must be a positive figure, got ", watts);
  return std::make_unique<TimeSurrogateMeter>(watts);
}

MeterPtr make_meter(const std::string& label, double surrogate_watts, const AndroidBatteryOptions& android) {
  if (label == "auto") {
    try {
      return make_rapl_meter();
    } catch (const InputError&) {
      return make_time_surrogate_meter(surrogate_watts);
    }
  }
  const MeterSource source = parse_meter_label(label);
  switch (source) {
    case MeterSource::Rapl: return make_rapl_meter();
    case MeterSource::TimeSurrogate: return make_time_surrogate_meter(surrogate_watts);
    case MeterSource::AndroidBattery: return make_android_battery_meter(android);
    case MeterSource::Simulated:
      throw InputError("meter simulated: only the simulated backend reports simulated energy (--backend simulated)");
    default:
      throw InputError(std::string("meter ") + meter_label(source) + ": not available in this agent build");
  }
}

}  // namespace ampere
