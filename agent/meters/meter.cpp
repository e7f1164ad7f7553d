#include "agent/meters/meter.hpp"

#include <dlfcn.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <sstream>
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

/// A sysfs file's first line without its trailing blanks; nullopt when it cannot be read.
std::optional<std::string> first_line(const std::filesystem::path& file) {
  std::ifstream in(file);
  std::string line;
  if (!in || !std::getline(in, line)) return std::nullopt;
  while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) line.pop_back();
  return line;
}

/// The same, "" when unreadable.
std::string read_line(const std::filesystem::path& file) { return first_line(file).value_or(""); }

void require_sample_rate(const char* meter, double sample_hz) {
  AMPERE_REQUIRE(sample_hz >= 1 && sample_hz <= 1000, "meter ", meter, ": sample rate must be 1..1000 Hz, got ", sample_hz);
}

/// Power sampled in a thread from begin() to end() (a first sample at begin, a last at end) and
/// integrated by the trapezoid rule. A subclass reads one sample's watts and says what stops a
/// window (charging, a vanished file); the first failure ends the window with its reason.
class SampledPowerMeter : public Meter {
 public:
  explicit SampledPowerMeter(double sample_hz) : sample_hz_(sample_hz) {}
  ~SampledPowerMeter() override { stop(); }

  void begin() override {
    stop();
    check_window("the window starts");
    samples_.clear();
    failure_.clear();
    sample();
    running_ = true;
    sampler_ = std::thread([this] {
      const auto period = std::chrono::duration<double>(1.0 / sample_hz_);
      std::unique_lock<std::mutex> lock(wake_mutex_);
      while (!wake_.wait_for(lock, period, [this] { return !running_.load(); })) sample();
    });
  }

  double end(double) override {
    stop();
    sample();
    if (!failure_.empty()) throw InputError(failure_);
    check_window("during the window");
    AMPERE_REQUIRE(samples_.size() >= 2, meter_label(source()), ": fewer than 2 samples in the window");
    double joules = 0;
    for (std::size_t i = 1; i < samples_.size(); ++i)
      joules += 0.5 * (samples_[i].watts + samples_[i - 1].watts) * (samples_[i].seconds - samples_[i - 1].seconds);
    return joules;
  }

 protected:
  /// One sample's watts; an empty string, or the reason the window fails. Called on the sampler
  /// thread and on the caller's, never both at once.
  virtual std::string read_watts(double& watts) = 0;
  /// Throws InputError when a window cannot start or must not count (`when` says which).
  virtual void check_window(const std::string& when) const = 0;
  /// Stops the sampler; a subclass's destructor calls it before its members go.
  void stop() {  // prompt: the sampler waits on a condition, not a sleep
    {
      const std::lock_guard<std::mutex> lock(wake_mutex_);
      running_ = false;
    }
    wake_.notify_all();
    if (sampler_.joinable()) sampler_.join();
  }

 private:
  struct Sample {
    double seconds, watts;
  };
  void sample() {
    if (!failure_.empty()) return;
    double watts = 0;
    const std::string failure = read_watts(watts);
    const double now = std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
    if (!failure.empty()) failure_ = failure;
    else samples_.push_back({now, watts});
  }

  double sample_hz_;
  std::thread sampler_;
  std::atomic<bool> running_{false};
  std::mutex wake_mutex_;
  std::condition_variable wake_;
  std::vector<Sample> samples_;  ///< the sampler's while it runs, the caller's after stop()
  std::string failure_;
};

class LocalSysfs final : public SysfsFiles {
 public:
  explicit LocalSysfs(std::string root) : root_(std::move(root)) {}
  std::vector<std::optional<std::string>> read_lines(const std::vector<std::string>& files) const override {
    std::vector<std::optional<std::string>> out;
    for (const std::string& f : files) out.push_back(first_line(full(f)));
    return out;
  }
  std::vector<std::string> list(const std::string& directory) const override {
    std::vector<std::string> names;
    std::error_code ec;
    for (const auto& entry : std::filesystem::directory_iterator(full(directory), ec)) names.push_back(entry.path().filename());
    return names;
  }
  std::string describe(const std::string& path) const override { return full(path); }

 private:
  std::string full(const std::string& path) const {
    const auto start = path.find_first_not_of('/');
    return (std::filesystem::path(root_) / (start == std::string::npos ? std::string() : path.substr(start))).string();
  }
  std::string root_;
};

bool parse_number(const std::optional<std::string>& text, double& value) {
  if (!text) return false;
  std::istringstream in(*text);
  return static_cast<bool>(in >> value);
}

/// The fuel gauge of an Android phone (docs/meters.md), read here or over adb.
class AndroidBatteryMeter final : public SampledPowerMeter {
 public:
  explicit AndroidBatteryMeter(AndroidBatteryOptions options)
      : SampledPowerMeter(options.sample_hz),
        options_(std::move(options)),
        files_(options_.files ? options_.files : local_sysfs(options_.sysfs_root)),
        sign_(options_.sign) {
    check_window("the window starts");
    const auto probe = files_->read_lines({current_, voltage_});
    double value = 0;
    AMPERE_REQUIRE(parse_number(probe[0], value), "meter android-battery: cannot read ", files_->describe(current_));
    AMPERE_REQUIRE(parse_number(probe[1], value), "meter android-battery: cannot read ", files_->describe(voltage_));
  }
  ~AndroidBatteryMeter() override { stop(); }
  MeterSource source() const override { return MeterSource::AndroidBattery; }

 private:
  std::string read_watts(double& watts) override {
    double micro_amps = 0, micro_volts = 0;
    const auto sample = files_->read_lines({current_, voltage_});
    if (!parse_number(sample[0], micro_amps) || !parse_number(sample[1], micro_volts))
      return "meter android-battery: " + files_->describe(kBattery) + "/current_now or voltage_now vanished or became unreadable";
    if (!(micro_volts > 0 && micro_volts < 1e8) || !(std::abs(micro_amps) < 1e8))
      return "meter android-battery: absurd sample (current_now " + std::to_string(micro_amps) + " µA, voltage_now " +
             std::to_string(micro_volts) + " µV)";
    if (sign_ == CurrentSign::Auto && micro_amps != 0)  // the battery reads Discharging: this sign is discharge
      sign_ = micro_amps < 0 ? CurrentSign::DischargeNegative : CurrentSign::DischargePositive;
    const double discharge = sign_ == CurrentSign::DischargePositive ? micro_amps : -micro_amps;
    if (discharge < 0 && !options_.allow_charging)
      return "meter android-battery: current_now " + std::to_string(micro_amps) + " µA means charging under the " +
             (sign_ == CurrentSign::DischargePositive ? "discharge-positive" : "discharge-negative") +
             " convention (--current-sign)";
    watts = std::abs(discharge) * 1e-6 * micro_volts * 1e-6;
    return "";
  }

  void check_window(const std::string& when) const override {
    if (options_.allow_charging) return;
    const std::string status_file = std::string(kBattery) + "/status";
    const std::string status = files_->read_lines({status_file})[0].value_or("");
    AMPERE_REQUIRE(status != "Charging" && status != "Full", "meter android-battery: ", files_->describe(status_file), " reads ",
                   status, " as ", when, "; USB or AC power confounds the reading (unplug, or --allow-charging)");
    const std::vector<std::string> supplies = files_->list(kSupply);
    std::vector<std::string> files;
    for (const std::string& supply : supplies) {
      files.push_back(std::string(kSupply) + "/" + supply + "/type");
      files.push_back(std::string(kSupply) + "/" + supply + "/online");
    }
    const auto lines = files_->read_lines(files);
    for (std::size_t i = 0; i + 1 < lines.size(); i += 2) {
      const std::string type = lines[i].value_or("");
      if (type != "USB" && type != "AC" && type != "Wireless") continue;
      double online = 0;
      AMPERE_REQUIRE(!(parse_number(lines[i + 1], online) && online == 1), "meter android-battery: ",
                     files_->describe(files[i + 1]), " (", type, ") reads 1 as ", when,
                     "; external power confounds the reading (unplug, or --allow-charging)");
    }
  }

  static constexpr const char* kSupply = "/sys/class/power_supply";
  static constexpr const char* kBattery = "/sys/class/power_supply/battery";
  AndroidBatteryOptions options_;
  std::shared_ptr<const SysfsFiles> files_;
  std::string current_ = std::string(kBattery) + "/current_now", voltage_ = std::string(kBattery) + "/voltage_now";
  CurrentSign sign_;
};

/// One INA3221 channel: mW from IIO, or mV × mA from hwmon.
struct InaRail {
  std::string label;
  std::string power_mw;            ///< IIO: in_powerN_input
  std::string volts_mv, amps_ma;  ///< hwmon: inN_input, currN_input

  /// The file the rail is read from, for messages.
  const std::string& file() const { return power_mw.empty() ? volts_mv : power_mw; }
  /// The rail's watts now; false when a file cannot be read.
  bool read_watts(double& watts) const {
    double a = 0, b = 0;
    if (power_mw.empty() ? !(read_number(volts_mv, a) && read_number(amps_ma, b)) : !read_number(power_mw, a)) return false;
    watts = power_mw.empty() ? a * b * 1e-6 : a * 1e-3;
    return true;
  }
};

class JetsonInaMeter final : public SampledPowerMeter {
 public:
  JetsonInaMeter(std::vector<InaRail> rails, double sample_hz) : SampledPowerMeter(sample_hz), rails_(std::move(rails)) {}
  ~JetsonInaMeter() override { stop(); }
  MeterSource source() const override { return MeterSource::JetsonIna; }

 private:
  std::string read_watts(double& watts) override {
    watts = 0;
    for (const InaRail& rail : rails_) {
      double w = 0;
      if (!rail.read_watts(w)) return "meter jetson-ina: rail " + rail.label + " vanished or became unreadable (" + rail.file() + ")";
      if (!(w >= 0 && w < 1e4)) return "meter jetson-ina: absurd sample on rail " + rail.label + ": " + std::to_string(w) + " W";
      watts += w;
    }
    return "";
  }
  void check_window(const std::string&) const override {}
  std::vector<InaRail> rails_;
};

bool skipped_channel(const std::string& label) {
  return label.empty() || label == "NC" || label.find("sum") != std::string::npos || label.find("Sum") != std::string::npos;
}

std::vector<InaRail> scan_ina_rails(const std::filesystem::path& devices) {
  namespace fs = std::filesystem;
  std::vector<InaRail> rails;
  std::error_code ec;
  for (const auto& device : fs::directory_iterator(devices, ec)) {
    const std::string name = read_line(device.path() / "name");
    if (name == "ina3221x") {  // L4T <= 32: an IIO device
      for (const auto& sub : fs::directory_iterator(device.path(), ec)) {
        if (sub.path().filename().string().rfind("iio:device", 0) != 0) continue;
        for (int n = 0; n < 8; ++n) {
          const std::string label = read_line(sub.path() / ("rail_name_" + std::to_string(n)));
          if (skipped_channel(label)) continue;
          rails.push_back({label, (sub.path() / ("in_power" + std::to_string(n) + "_input")).string(), "", ""});
        }
      }
    } else if (name == "ina3221") {  // JetPack >= 5: hwmon, one level deeper
      for (const auto& hwmon : fs::directory_iterator(device.path() / "hwmon", ec)) {
        for (int n = 1; n <= 8; ++n) {
          const std::string label = read_line(hwmon.path() / ("in" + std::to_string(n) + "_label"));
          if (skipped_channel(label) || !fs::exists(hwmon.path() / ("curr" + std::to_string(n) + "_input"))) continue;
          rails.push_back({label, "", (hwmon.path() / ("in" + std::to_string(n) + "_input")).string(),
                           (hwmon.path() / ("curr" + std::to_string(n) + "_input")).string()});
        }
      }
    }
  }
  return rails;
}

/// The few NVML entry points the meter calls (nvml.h's signatures; nvmlDevice_t is opaque).
struct NvmlLibrary {
  using Init = int (*)();
  using Handle = int (*)(unsigned, void**);
  using HandleByUuid = int (*)(const char*, void**);
  using Energy = int (*)(void*, unsigned long long*);
  using Power = int (*)(void*, unsigned*);
  using Clock = int (*)(void*, int, unsigned*);
  using Temperature = int (*)(void*, int, unsigned*);
  using Throttle = int (*)(void*, unsigned long long*);
  static constexpr int kSuccess = 0, kNotSupported = 3;
  static constexpr int kClockSm = 1, kTemperatureGpu = 0;  // NVML_CLOCK_SM, NVML_TEMPERATURE_GPU

  explicit NvmlLibrary(const NvmlOptions& options) {
    handle_ = dlopen(options.library.c_str(), RTLD_NOW | RTLD_LOCAL);
    AMPERE_REQUIRE(handle_ != nullptr, "meter nvml: cannot load ", options.library, " (", dlerror(),
                   "): no NVIDIA driver here, or its library is not on the loader's path");
    init_ = reinterpret_cast<Init>(dlsym(handle_, "nvmlInit_v2"));
    shutdown_ = reinterpret_cast<Init>(dlsym(handle_, "nvmlShutdown"));
    const auto get_handle = reinterpret_cast<Handle>(dlsym(handle_, "nvmlDeviceGetHandleByIndex_v2"));
    energy_ = reinterpret_cast<Energy>(dlsym(handle_, "nvmlDeviceGetTotalEnergyConsumption"));
    power_ = reinterpret_cast<Power>(dlsym(handle_, "nvmlDeviceGetPowerUsage"));
    clock_ = reinterpret_cast<Clock>(dlsym(handle_, "nvmlDeviceGetClockInfo"));
    temperature_ = reinterpret_cast<Temperature>(dlsym(handle_, "nvmlDeviceGetTemperature"));
    throttle_ = reinterpret_cast<Throttle>(dlsym(handle_, "nvmlDeviceGetCurrentClocksThrottleReasons"));
    if (!init_ || !shutdown_ || !get_handle || !power_) {
      dlclose(handle_);
      throw InputError("meter nvml: " + options.library + " lacks the NVML entry points the meter needs");
    }
    if (const int rc = init_(); rc != kSuccess) {
      dlclose(handle_);
      throw InputError("meter nvml: nvmlInit_v2 failed with NVML error " + std::to_string(rc));
    }
    if (!options.device_uuid.empty()) {  // the trainer's GPU, whatever CUDA_VISIBLE_DEVICES made its index
      const auto by_uuid = reinterpret_cast<HandleByUuid>(dlsym(handle_, "nvmlDeviceGetHandleByUUID"));
      const int rc = by_uuid ? by_uuid(options.device_uuid.c_str(), &device_) : -1;
      if (rc != kSuccess) {
        shutdown_();
        dlclose(handle_);
        throw InputError("meter nvml: no GPU with UUID " + options.device_uuid + " (NVML error " + std::to_string(rc) + ")");
      }
    } else if (const int rc = get_handle(options.device_index, &device_); rc != kSuccess) {
      shutdown_();
      dlclose(handle_);
      throw InputError("meter nvml: no GPU at NVML index " + std::to_string(options.device_index) + " (NVML error " +
                       std::to_string(rc) + ")");
    }
  }
  ~NvmlLibrary() {
    shutdown_();
    dlclose(handle_);
  }
  NvmlLibrary(const NvmlLibrary&) = delete;
  NvmlLibrary& operator=(const NvmlLibrary&) = delete;

  /// NVML's return code; `millijoules` set on success.
  int energy(unsigned long long& millijoules) const { return energy_ ? energy_(device_, &millijoules) : kNotSupported; }
  int power(unsigned& milliwatts) const { return power_(device_, &milliwatts); }
  /// SM clock, temperature and throttle reasons now; a field NVML cannot give stays NaN / 0.
  WindowConditions conditions() const {
    WindowConditions c;
    unsigned value = 0;
    if (clock_ && clock_(device_, kClockSm, &value) == kSuccess) c.sm_clock_mhz = value;
    if (temperature_ && temperature_(device_, kTemperatureGpu, &value) == kSuccess) c.temperature_c = value;
    unsigned long long reasons = 0;
    if (throttle_ && throttle_(device_, &reasons) == kSuccess) c.throttle_reasons = reasons;
    return c;
  }

 private:
  void* handle_ = nullptr;
  void* device_ = nullptr;
  Init init_ = nullptr, shutdown_ = nullptr;
  Energy energy_ = nullptr;
  Power power_ = nullptr;
  Clock clock_ = nullptr;
  Temperature temperature_ = nullptr;
  Throttle throttle_ = nullptr;
};

/// A window's conditions from NVML readings at its two ends: the end's clock and temperature,
/// the reasons of both.
WindowConditions combine(const WindowConditions& at_begin, WindowConditions at_end) {
  at_end.throttle_reasons |= at_begin.throttle_reasons;
  return at_end;
}

/// The energy counter, read at both ends of the window.
class NvmlCounterMeter final : public Meter {
 public:
  explicit NvmlCounterMeter(std::unique_ptr<NvmlLibrary> nvml) : nvml_(std::move(nvml)) {}
  MeterSource source() const override { return MeterSource::Nvml; }
  void begin() override {
    at_begin_ = nvml_->conditions();
    start_ = read();
  }
  double end(double) override {
    const unsigned long long stop = read();
    window_ = combine(at_begin_, nvml_->conditions());
    // a 64-bit counter that went backwards wrapped (or the driver reset it): count up through 2^64
    const unsigned long long delta = stop - start_;  // unsigned arithmetic wraps exactly so
    return static_cast<double>(delta) * 1e-3;
  }
  std::optional<WindowConditions> window_conditions() const override { return window_; }

 private:
  unsigned long long read() const {
    unsigned long long mj = 0;
    const int rc = nvml_->energy(mj);
    AMPERE_REQUIRE(rc == NvmlLibrary::kSuccess, "meter nvml: nvmlDeviceGetTotalEnergyConsumption failed with NVML error ", rc);
    return mj;
  }
  std::unique_ptr<NvmlLibrary> nvml_;
  unsigned long long start_ = 0;
  WindowConditions at_begin_;
  std::optional<WindowConditions> window_;
};

/// Power sampled and integrated, for GPUs without the counter.
class NvmlPowerMeter final : public SampledPowerMeter {
 public:
  NvmlPowerMeter(std::unique_ptr<NvmlLibrary> nvml, double sample_hz) : SampledPowerMeter(sample_hz), nvml_(std::move(nvml)) {}
  ~NvmlPowerMeter() override { stop(); }
  MeterSource source() const override { return MeterSource::Nvml; }
  void begin() override {
    at_begin_ = nvml_->conditions();
    SampledPowerMeter::begin();
  }
  double end(double seconds) override {
    const double joules = SampledPowerMeter::end(seconds);
    window_ = combine(at_begin_, nvml_->conditions());
    return joules;
  }
  std::optional<WindowConditions> window_conditions() const override { return window_; }

 private:
  std::string read_watts(double& watts) override {
    unsigned mw = 0;
    if (const int rc = nvml_->power(mw); rc != NvmlLibrary::kSuccess)
      return "meter nvml: nvmlDeviceGetPowerUsage failed with NVML error " + std::to_string(rc);
    watts = mw * 1e-3;
    if (!(watts < 1e4)) return "meter nvml: absurd power sample " + std::to_string(watts) + " W";
    return "";
  }
  void check_window(const std::string&) const override {}
  std::unique_ptr<NvmlLibrary> nvml_;
  WindowConditions at_begin_;
  std::optional<WindowConditions> window_;
};

}  // namespace

MeterPtr make_nvml_meter(const NvmlOptions& options) {
  require_sample_rate("nvml", options.sample_hz);
  auto nvml = std::make_unique<NvmlLibrary>(options);
  unsigned long long probe = 0;
  const int rc = nvml->energy(probe);
  if (rc == NvmlLibrary::kSuccess) return std::make_unique<NvmlCounterMeter>(std::move(nvml));
  AMPERE_REQUIRE(rc == NvmlLibrary::kNotSupported, "meter nvml: nvmlDeviceGetTotalEnergyConsumption failed with NVML error ", rc);
  return std::make_unique<NvmlPowerMeter>(std::move(nvml), options.sample_hz);  // pre-Volta: no counter
}

MeterPtr make_jetson_ina_meter(const JetsonInaOptions& options) {
  require_sample_rate("jetson-ina", options.sample_hz);
  const std::filesystem::path devices = std::filesystem::path(options.sysfs_root) / "sys/bus/i2c/devices";
  const std::vector<InaRail> found = scan_ina_rails(devices);
  AMPERE_REQUIRE(!found.empty(), "meter jetson-ina: no INA3221 power monitor under ", devices.string(),
                 " (no device named ina3221x or ina3221; not a Jetson, or its driver is not loaded)");
  std::string names;
  for (const InaRail& r : found) names += (names.empty() ? "" : ", ") + r.label;
  static const std::vector<std::string> kInputRails = {"VDD_IN", "POM_5V_IN", "VIN_SYS_5V0"};
  const std::vector<std::string>& wanted = options.rails.empty() ? kInputRails : options.rails;
  std::vector<InaRail> chosen;
  for (const InaRail& r : found)
    if (std::find(wanted.begin(), wanted.end(), r.label) != wanted.end()) chosen.push_back(r);
  if (!options.rails.empty())
    for (const std::string& w : options.rails)
      AMPERE_REQUIRE(std::any_of(found.begin(), found.end(), [&](const InaRail& r) { return r.label == w; }),
                     "meter jetson-ina: no rail ", w, " on this board (rails: ", names, ")");
  AMPERE_REQUIRE(!chosen.empty(), "meter jetson-ina: no input rail (VDD_IN, POM_5V_IN, VIN_SYS_5V0) on this board; "
                                  "pick the rails to sum with --rails (rails: ", names, ")");
  for (const InaRail& r : chosen) {
    double probe = 0;
    AMPERE_REQUIRE(r.read_watts(probe), "meter jetson-ina: cannot read rail ", r.label, " (", r.file(), ")");
  }
  return std::make_unique<JetsonInaMeter>(chosen, options.sample_hz);
}

CurrentSign parse_current_sign(const std::string& text) {
  if (text == "auto") return CurrentSign::Auto;
  if (text == "discharge-negative") return CurrentSign::DischargeNegative;
  if (text == "discharge-positive") return CurrentSign::DischargePositive;
  throw InputError("--current-sign: unknown '" + text + "' (auto, discharge-negative, discharge-positive)");
}

std::shared_ptr<const SysfsFiles> local_sysfs(const std::string& root) { return std::make_shared<LocalSysfs>(root); }

MeterPtr make_android_battery_meter(const AndroidBatteryOptions& options) {
  require_sample_rate("android-battery", options.sample_hz);
  return std::make_unique<AndroidBatteryMeter>(options);
}

MeterPtr make_rapl_meter(const std::string& root, std::string* domains_read) {
  namespace fs = std::filesystem;
  std::error_code ec;
  AMPERE_REQUIRE(fs::is_directory(root, ec), "meter rapl: ", root, " does not exist (no powercap driver on this machine)");
  std::vector<RaplDomain> domains;
  std::string unreadable, names;
  // A domain's name file says what it covers: package-N (cores, caches, uncore), dram (a package's
  // memory, not in its package figure), psys (the whole platform: it would count the packages twice),
  // core and uncore (inside their package). Without a readable name (an older driver) a top-level
  // domain counts as a package, as before.
  auto domain_name = [](const fs::path& dir) {
    std::ifstream in(dir / "name");
    std::string name;
    std::getline(in, name);
    return name;
  };
  auto add = [&](const fs::path& dir, const std::string& label) {
    RaplDomain d{(dir / "energy_uj").string(), 0};
    double probe = 0;
    if (!read_number(d.energy_file, probe) || !read_number((dir / "max_energy_range_uj").string(), d.max_range_uj)) {
      unreadable += " " + d.energy_file;
      return;
    }
    domains.push_back(d);
    names += (names.empty() ? "" : " + ") + label;
  };
  std::vector<fs::path> entries;
  for (const auto& entry : fs::directory_iterator(root, ec)) entries.push_back(entry.path());
  std::sort(entries.begin(), entries.end());
  for (const fs::path& dir : entries) {
    const std::string id = dir.filename().string();
    if (id.rfind("intel-rapl:", 0) != 0) continue;
    const bool top_level = id.find(':', 11) == std::string::npos;
    const std::string name = domain_name(dir);
    if (top_level) {
      if (name == "psys") continue;  // the platform: packages and more, counted once through them
      add(dir, name.empty() ? id : name);
    } else if (name == "dram") {
      add(dir, "dram (" + id + ")");
    }
  }
  AMPERE_REQUIRE(!domains.empty(), "meter rapl: no readable package domain under ", root,
                 unreadable.empty() ? " (none present)"
                                    : "; unreadable:" + unreadable +
                                          " (energy_uj is root-only since Linux 5.10, the 2020 PLATYPUS fix: grant the agent's "
                                          "group read access with the udev rule in docs/operations.md, 'Add an agent')");
  if (domains_read != nullptr) *domains_read = names;
  return std::make_unique<RaplMeter>(std::move(domains));
}

MeterPtr make_time_surrogate_meter(double watts) {
  AMPERE_REQUIRE(watts > 0 && watts < 1e5, "meter time-surrogate: --watts must be a positive figure, got ", watts);
  return std::make_unique<TimeSurrogateMeter>(watts);
}

double measure_idle_watts(Meter& meter, double seconds) {
  AMPERE_REQUIRE(seconds > 0 && std::isfinite(seconds), "idle baseline: seconds must be positive, got ", seconds);
  if (!reads_energy_live(meter.source()) || meter.source() == MeterSource::Simulated) return std::nan("");
  const auto start = std::chrono::steady_clock::now();
  meter.begin();
  std::this_thread::sleep_for(std::chrono::duration<double>(seconds));
  const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  const double joules = meter.end(wall);
  AMPERE_REQUIRE(joules >= 0 && std::isfinite(joules), "idle baseline: the meter read ", joules, " J over ", wall, " s");
  return joules / wall;
}

namespace {

class CompositeMeter final : public Meter {
 public:
  explicit CompositeMeter(std::vector<MeterPtr> parts) : parts_(std::move(parts)), last_(parts_.size(), 0.0) {}
  MeterSource source() const override { return MeterSource::Composite; }
  void begin() override {
    for (MeterPtr& part : parts_) part->begin();
  }
  double end(double seconds) override {
    double sum = 0;
    for (std::size_t i = 0; i < parts_.size(); ++i) sum += last_[i] = parts_[i]->end(seconds);
    return sum;
  }
  std::optional<WindowConditions> window_conditions() const override {
    for (const MeterPtr& part : parts_)
      if (auto conditions = part->window_conditions()) return conditions;
    return std::nullopt;
  }
  std::vector<MeterSource> part_sources() const override {
    std::vector<MeterSource> out;
    for (const MeterPtr& part : parts_) out.push_back(part->source());
    return out;
  }
  std::vector<double> last_part_joules() const override { return last_; }

 private:
  std::vector<MeterPtr> parts_;
  std::vector<double> last_;
};

}  // namespace

MeterPtr make_composite_meter(std::vector<MeterPtr> parts) {
  AMPERE_REQUIRE(parts.size() >= 2, "meter: a composite needs two parts or more, got ", parts.size());
  return std::make_unique<CompositeMeter>(std::move(parts));
}

void attach_meter_parts(Measurement& m, const std::vector<MeterSource>& parts,
                        const std::vector<std::vector<double>>& window_part_joules) {
  if (parts.empty()) return;
  const std::size_t repeats = m.joules_per_iteration.size();
  AMPERE_REQUIRE(window_part_joules.size() >= repeats, "composite meter: ", window_part_joules.size(),
                 " windows read for ", repeats, " repeats");
  AMPERE_REQUIRE(m.iterations > 0, "composite meter: the measurement names no iterations per repeat");
  m.meter_parts.clear();
  for (MeterSource source : parts) m.meter_parts.push_back({source, {}});
  const std::size_t first = window_part_joules.size() - repeats;
  for (std::size_t r = 0; r < repeats; ++r) {
    const std::vector<double>& window = window_part_joules[first + r];
    AMPERE_REQUIRE(window.size() == parts.size(), "composite meter: a window read ", window.size(), " parts, not ", parts.size());
    double sum = 0;
    for (std::size_t p = 0; p < parts.size(); ++p) {
      const double per_iteration = window[p] / static_cast<double>(m.iterations);
      m.meter_parts[p].joules_per_iteration.push_back(per_iteration);
      sum += per_iteration;
    }
    // the parts were read over the very windows whose sum the repeat reports: anything else is a bug
    AMPERE_REQUIRE(std::abs(sum - m.joules_per_iteration[r]) <= 1e-9 * std::max(1.0, std::abs(sum)) + 1e-12,
                   "composite meter: repeat ", r, "'s parts sum to ", sum, " J per iteration, the repeat reports ",
                   m.joules_per_iteration[r]);
    m.joules_per_iteration[r] = sum;  // bit for bit the parts' sum
  }
}

MeterChoice choose_meter(const std::string& label, const MeterOptions& options) {
  if (label.find('+') != std::string::npos) {  // a composite: each part as it would be alone
    const MeterLabel whole = parse_meter_label_text(label);
    std::vector<MeterPtr> parts;
    std::string reasons;
    for (MeterSource part : whole.parts) {
      MeterChoice one = choose_meter(meter_label(part), options);
      reasons += (reasons.empty() ? "" : "; ") + one.reason;
      parts.push_back(std::move(one.meter));
    }
    return {make_composite_meter(std::move(parts)), whole.str() + ", summed over each window (" + reasons + ")"};
  }
  if (label == "auto") {
    // The most direct meter of what trains, first; each that cannot be used here is passed over
    // with its reason; the time surrogate last (labeled as such, never a measured joule).
    std::string passed_over;
    auto pass = [&](const char* name, const std::exception& e) {
      passed_over += std::string(passed_over.empty() ? "" : "; ") + name + ": " + e.what();
    };
    auto chosen = [&](MeterPtr meter, const std::string& why) {
      return MeterChoice{std::move(meter), "auto: " + why + (passed_over.empty() ? "" : " (passed over: " + passed_over + ")")};
    };
    if (options.cuda_trainer) {
      try {
        return chosen(make_nvml_meter(options.nvml), "nvml, the GPU the trainer trains on");
      } catch (const InputError& e) {
        pass("nvml", e);
      }
    }
    if (options.phone) {
      try {
        return chosen(make_android_battery_meter(options.android), "android-battery, this phone's fuel gauge");
      } catch (const InputError& e) {
        pass("android-battery", e);
      }
    }
    try {
      return chosen(make_jetson_ina_meter(options.jetson), "jetson-ina, this Jetson board's INA3221 input rail");
    } catch (const InputError& e) {
      pass("jetson-ina", e);
    }
    try {
      std::string domains;
      MeterPtr rapl = make_rapl_meter(options.powercap_root, &domains);
      return chosen(std::move(rapl), "rapl, readable here: " + domains);
    } catch (const InputError& e) {
      pass("rapl", e);
    }
    return chosen(make_time_surrogate_meter(options.surrogate_watts),
                  "time-surrogate at " + detail::concat(options.surrogate_watts) + " W, no meter readable here");
  }
  MeterSource source;
  try {
    source = parse_meter_label(label);
  } catch (const InputError&) {
    throw InputError("unknown meter '" + label + "' (auto, rapl, nvml, jetson-ina, android-battery, time-surrogate)");
  }
  switch (source) {
    case MeterSource::Rapl: {
      std::string domains;
      MeterPtr rapl = make_rapl_meter(options.powercap_root, &domains);
      return {std::move(rapl), "rapl: " + domains};
    }
    case MeterSource::TimeSurrogate:
      return {make_time_surrogate_meter(options.surrogate_watts),
              "time-surrogate at " + detail::concat(options.surrogate_watts) + " W (seconds x watts; not a measured joule)"};
    case MeterSource::AndroidBattery: return {make_android_battery_meter(options.android), "android-battery"};
    case MeterSource::JetsonIna: return {make_jetson_ina_meter(options.jetson), "jetson-ina"};
    case MeterSource::Nvml: return {make_nvml_meter(options.nvml), "nvml"};
    case MeterSource::Simulated:
      throw InputError("meter simulated: only the simulated backend reports simulated energy (--backend simulated)");
    case MeterSource::Composite:
      throw InputError("meter composite: name its parts, joined by '+' (rapl+nvml)");
    default:
      throw InputError(std::string("meter ") + meter_label(source) + ": not available in this agent build");
  }
}

MeterPtr make_meter(const std::string& label, const MeterOptions& options) { return choose_meter(label, options).meter; }

}  // namespace ampere
