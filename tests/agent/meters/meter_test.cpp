#include "agent/meters/meter.hpp"

#include <unistd.h>

#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <thread>
#include <tuple>
#include <utility>
#include <vector>

#include <doctest/doctest.h>

#include "common/error.hpp"

using namespace ampere;

namespace {
struct FakePowercap {
  std::filesystem::path root = std::filesystem::temp_directory_path() / ("ampere-powercap-" + std::to_string(::getpid()));
  FakePowercap() { std::filesystem::create_directories(root); }
  ~FakePowercap() { std::filesystem::remove_all(root); }
  void domain(const std::string& name, double energy_uj, double max_uj, const std::string& label = "") {
    std::filesystem::create_directories(root / name);
    std::ofstream(root / name / "energy_uj") << energy_uj;
    std::ofstream(root / name / "max_energy_range_uj") << max_uj;
    if (!label.empty()) std::ofstream(root / name / "name") << label << "\n";
  }
};
}  // namespace

TEST_CASE("rapl adds each package's dram domain, and never psys or the core and uncore inside a package") {
  FakePowercap fake;
  fake.domain("intel-rapl:0", 1000, 1e9, "package-0");
  fake.domain("intel-rapl:0:0", 100, 1e9, "core");
  fake.domain("intel-rapl:0:1", 100, 1e9, "uncore");
  fake.domain("intel-rapl:0:2", 500, 1e9, "dram");
  fake.domain("intel-rapl:1", 7000, 1e9, "psys");
  std::string domains;
  MeterPtr meter = make_rapl_meter(fake.root.string(), &domains);
  CHECK(domains == "package-0 + dram (intel-rapl:0:2)");
  meter->begin();
  fake.domain("intel-rapl:0", 3000, 1e9, "package-0");  // +2000 µJ
  fake.domain("intel-rapl:0:0", 1100, 1e9, "core");     // inside the package's figure: not again
  fake.domain("intel-rapl:0:2", 1500, 1e9, "dram");     // +1000 µJ: memory, outside the package's
  fake.domain("intel-rapl:1", 99000, 1e9, "psys");      // the whole platform: would count twice
  CHECK(meter->end(1.0) == doctest::Approx(0.003));
}

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
  CHECK_THROWS_WITH_AS(make_meter("simulated"), doctest::Contains("--backend simulated"), InputError);
  CHECK_THROWS_WITH_AS(make_meter("bogus"), doctest::Contains("unknown meter 'bogus' (auto, rapl, nvml"), InputError);
}

namespace {
/// A fake Android sysfs tree (the layout the kernel's power_supply class documents): tests our
/// code against that documented behaviour, not a phone.
struct FakePhone {
  std::filesystem::path root = std::filesystem::temp_directory_path() / ("ampere-phone-" + std::to_string(::getpid()));
  std::filesystem::path supply = root / "sys/class/power_supply";
  FakePhone() {
    std::filesystem::create_directories(supply / "battery");
    std::filesystem::create_directories(supply / "usb");
    write("usb/type", "USB");
    write("usb/online", "0");
    write("battery/status", "Discharging");
  }
  ~FakePhone() { std::filesystem::remove_all(root); }
  void write(const std::string& file, const std::string& value) { std::ofstream(supply / file) << value << "\n"; }
  void battery(double micro_amps, double micro_volts) {
    write("battery/current_now", std::to_string(static_cast<long long>(micro_amps)));
    write("battery/voltage_now", std::to_string(static_cast<long long>(micro_volts)));
  }
  AndroidBatteryOptions options(CurrentSign sign) const {
    AndroidBatteryOptions o;
    o.sysfs_root = root.string();
    o.sign = sign;
    o.sample_hz = 50;
    return o;
  }
};

/// Joules over a window of about `seconds`, and the wall it took.
std::pair<double, double> window(Meter& meter, double seconds) {
  const auto start = std::chrono::steady_clock::now();
  meter.begin();
  std::this_thread::sleep_for(std::chrono::duration<double>(seconds));
  const double joules = meter.end(seconds);
  return {joules, std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count()};
}
}  // namespace

TEST_CASE("android-battery integrates |I|·V under both sign conventions") {
  FakePhone phone;
  phone.battery(-500000, 4000000);  // the kernel's convention: discharging is negative; 0.5 A at 4 V = 2 W
  for (const CurrentSign sign : {CurrentSign::DischargeNegative, CurrentSign::Auto}) {
    MeterPtr meter = make_android_battery_meter(phone.options(sign));
    CHECK(meter->source() == MeterSource::AndroidBattery);
    const auto [joules, wall] = window(*meter, 0.5);
    CHECK(joules == doctest::Approx(2.0 * wall).epsilon(0.2));
  }
  phone.battery(500000, 4000000);  // a vendor that reports discharge as positive
  for (const CurrentSign sign : {CurrentSign::DischargePositive, CurrentSign::Auto}) {
    MeterPtr meter = make_android_battery_meter(phone.options(sign));
    const auto [joules, wall] = window(*meter, 0.5);
    CHECK(joules == doctest::Approx(2.0 * wall).epsilon(0.2));
  }
  // the wrong sign for the convention asked for is charging: refused by name
  MeterPtr wrong = make_android_battery_meter(phone.options(CurrentSign::DischargeNegative));
  wrong->begin();
  CHECK_THROWS_WITH_AS(wrong->end(0.1), doctest::Contains("means charging under the discharge-negative convention"), InputError);
}

TEST_CASE("android-battery refuses to measure while charging, unless allowed") {
  FakePhone phone;
  phone.battery(-500000, 4000000);
  phone.write("battery/status", "Charging");
  CHECK_THROWS_WITH_AS(make_android_battery_meter(phone.options(CurrentSign::Auto)), doctest::Contains("reads Charging"), InputError);
  phone.write("battery/status", "Full");
  CHECK_THROWS_WITH_AS(make_android_battery_meter(phone.options(CurrentSign::Auto)), doctest::Contains("reads Full"), InputError);
  phone.write("battery/status", "Discharging");
  phone.write("usb/online", "1");
  CHECK_THROWS_WITH_AS(make_android_battery_meter(phone.options(CurrentSign::Auto)), doctest::Contains("(USB) reads 1"), InputError);
  AndroidBatteryOptions allowed = phone.options(CurrentSign::DischargeNegative);
  allowed.allow_charging = true;
  CHECK(window(*make_android_battery_meter(allowed), 0.1).first > 0);
  // plugged in mid-window: the window is refused at its end
  phone.write("usb/online", "0");
  MeterPtr meter = make_android_battery_meter(phone.options(CurrentSign::Auto));
  meter->begin();
  phone.write("usb/online", "1");
  CHECK_THROWS_WITH_AS(meter->end(0.1), doctest::Contains("during the window"), InputError);
}

TEST_CASE("android-battery refuses a missing, vanished or absurd reading by name") {
  FakePhone phone;
  CHECK_THROWS_WITH_AS(make_android_battery_meter(phone.options(CurrentSign::Auto)), doctest::Contains("current_now"), InputError);
  phone.battery(-500000, 4000000);
  MeterPtr meter = make_android_battery_meter(phone.options(CurrentSign::Auto));
  meter->begin();
  std::filesystem::remove(phone.supply / "battery/current_now");
  CHECK_THROWS_WITH_AS(meter->end(0.1), doctest::Contains("vanished or became unreadable"), InputError);
  phone.battery(-500000, -4000000);
  meter->begin();
  CHECK_THROWS_WITH_AS(meter->end(0.1), doctest::Contains("absurd sample"), InputError);
  CHECK_THROWS_AS(parse_current_sign("sideways"), InputError);
}

namespace {
/// Fake Jetson sysfs trees in the two documented INA3221 layouts: tests our code against them, not
/// a board.
struct FakeJetson {
  std::filesystem::path root = std::filesystem::temp_directory_path() / ("ampere-jetson-" + std::to_string(::getpid()));
  std::filesystem::path devices = root / "sys/bus/i2c/devices";
  FakeJetson() { std::filesystem::create_directories(devices / "0-0050"); write("0-0050/name", "eeprom"); }
  ~FakeJetson() { std::filesystem::remove_all(root); }
  void write(const std::string& file, const std::string& value) {
    std::filesystem::create_directories((devices / file).parent_path());
    std::ofstream(devices / file) << value << "\n";
  }
  /// L4T <= 32: rail N of the IIO monitor at 1-0040, in mW.
  void iio_rail(int n, const std::string& label, const std::string& milliwatts) {
    write("1-0040/iio:device0/rail_name_" + std::to_string(n), label);
    write("1-0040/iio:device0/in_power" + std::to_string(n) + "_input", milliwatts);
  }
  /// JetPack >= 5: channel N of the hwmon monitor at 1-0040, in mV and mA.
  void hwmon_channel(int n, const std::string& label, const std::string& millivolts, const std::string& milliamps) {
    write("1-0040/hwmon/hwmon3/in" + std::to_string(n) + "_label", label);
    write("1-0040/hwmon/hwmon3/in" + std::to_string(n) + "_input", millivolts);
    write("1-0040/hwmon/hwmon3/curr" + std::to_string(n) + "_input", milliamps);
  }
  JetsonInaOptions options(std::vector<std::string> rails = {}) const {
    JetsonInaOptions o;
    o.sysfs_root = root.string();
    o.rails = std::move(rails);
    o.sample_hz = 50;
    return o;
  }
};
}  // namespace

TEST_CASE("jetson-ina reads the input rail on the L4T IIO layout (mW)") {
  FakeJetson board;
  board.write("1-0040/name", "ina3221x");
  board.iio_rail(0, "POM_5V_IN", "5000");
  board.iio_rail(1, "POM_5V_GPU", "1500");
  board.write("1-0040/iio:device0/rail_name_2", "NC");
  MeterPtr meter = make_jetson_ina_meter(board.options());
  CHECK(meter->source() == MeterSource::JetsonIna);
  auto [joules, wall] = window(*meter, 0.5);
  CHECK(joules == doctest::Approx(5.0 * wall).epsilon(0.2));  // the input rail alone, not input + GPU
  std::tie(joules, wall) = window(*make_jetson_ina_meter(board.options({"POM_5V_GPU"})), 0.5);
  CHECK(joules == doctest::Approx(1.5 * wall).epsilon(0.2));
  CHECK_THROWS_WITH_AS(make_jetson_ina_meter(board.options({"VDD_CPU"})), doctest::Contains("no rail VDD_CPU on this board (rails: POM_5V_IN, POM_5V_GPU)"),
                       InputError);
}

TEST_CASE("jetson-ina reads the JetPack 5 hwmon layout (mV x mA), skipping NC and the sum of shunts") {
  FakeJetson board;
  board.write("1-0040/name", "ina3221");
  board.hwmon_channel(1, "VDD_IN", "5000", "1200");  // 5 V x 1.2 A = 6 W
  board.hwmon_channel(2, "VDD_CPU_GPU_CV", "5000", "400");
  board.hwmon_channel(3, "NC", "0", "0");
  board.hwmon_channel(7, "sum of shunt voltages", "80", "1600");
  MeterPtr meter = make_jetson_ina_meter(board.options());
  const auto [joules, wall] = window(*meter, 0.5);
  CHECK(joules == doctest::Approx(6.0 * wall).epsilon(0.2));
  // a rail that vanishes mid-window fails the window by name
  meter->begin();
  std::filesystem::remove(board.devices / "1-0040/hwmon/hwmon3/curr1_input");
  CHECK_THROWS_WITH_AS(meter->end(0.1), doctest::Contains("rail VDD_IN vanished"), InputError);
}

TEST_CASE("jetson-ina refuses a board without monitors or without an input rail, naming what it found") {
  FakeJetson board;
  CHECK_THROWS_WITH_AS(make_jetson_ina_meter(board.options()), doctest::Contains("no INA3221 power monitor"), InputError);
  board.write("1-0040/name", "ina3221x");
  board.iio_rail(0, "GPU", "1000");
  board.iio_rail(1, "CPU", "800");
  CHECK_THROWS_WITH_AS(make_jetson_ina_meter(board.options()), doctest::Contains("--rails (rails: GPU, CPU)"), InputError);
  const auto [joules, wall] = window(*make_jetson_ina_meter(board.options({"GPU", "CPU"})), 0.5);  // a board summed by hand
  CHECK(joules == doctest::Approx(1.8 * wall).epsilon(0.2));
}

namespace {
/// Scripts the fake libnvidia-ml.so.1 built in the test tree (tests/support/fake_nvml.cpp): our
/// code against NVML's documented entry points and return codes, not a GPU.
struct FakeNvml {
  std::filesystem::path script = std::filesystem::temp_directory_path() / ("ampere-nvml-" + std::to_string(::getpid()));
  explicit FakeNvml(const std::string& text) {
    std::ofstream(script) << text;
    ::setenv("AMPERE_FAKE_NVML", script.c_str(), 1);
  }
  ~FakeNvml() {
    ::unsetenv("AMPERE_FAKE_NVML");
    std::filesystem::remove(script);
  }
  static NvmlOptions options() {
    NvmlOptions o;
    o.library = AMPERE_FAKE_NVML_LIBRARY;
    o.sample_hz = 50;
    return o;
  }
};
}  // namespace

TEST_CASE("nvml reads the energy counter at both ends of a window, across a wrap") {
  {
    FakeNvml fake("energy_mj: 1000,1000,3500\n");  // the probe, begin, end
    MeterPtr meter = make_nvml_meter(FakeNvml::options());
    CHECK(meter->source() == MeterSource::Nvml);
    meter->begin();
    CHECK(meter->end(1.0) == doctest::Approx(2.5));
  }
  {
    FakeNvml fake("energy_mj: 18446744073709551000,18446744073709551000,400\n");  // 616 mJ to 2^64, then 400
    MeterPtr meter = make_nvml_meter(FakeNvml::options());
    meter->begin();
    CHECK(meter->end(1.0) == doctest::Approx(1.016));
  }
}

TEST_CASE("nvml integrates sampled power on a GPU without the counter") {
  FakeNvml fake("energy_mj: unsupported\npower_mw: 250000\n");  // NOT_SUPPORTED, 250 W
  MeterPtr meter = make_nvml_meter(FakeNvml::options());
  CHECK(meter->source() == MeterSource::Nvml);
  const auto [joules, wall] = window(*meter, 0.5);
  CHECK(joules == doctest::Approx(250.0 * wall).epsilon(0.2));
}

TEST_CASE("nvml without its library or its GPU is refused with the reason") {
  NvmlOptions missing;
  missing.library = "/nonexistent/libnvidia-ml.so.1";
  CHECK_THROWS_WITH_AS(make_nvml_meter(missing), doctest::Contains("cannot load /nonexistent/libnvidia-ml.so.1"), InputError);
  FakeNvml fake("energy_mj: 1\n");
  NvmlOptions second = FakeNvml::options();
  second.device_index = 1;
  CHECK_THROWS_WITH_AS(make_nvml_meter(second), doctest::Contains("no GPU at NVML index 1"), InputError);
}

TEST_CASE("nvml finds the trainer's GPU by its UUID, and refuses a UUID it does not have") {
  FakeNvml fake("energy_mj: 1000,1000,2000\nuuid: GPU-aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee\n");
  NvmlOptions by_uuid = FakeNvml::options();
  by_uuid.device_index = 7;  // ignored when a UUID is given (CUDA_VISIBLE_DEVICES renumbers GPUs)
  by_uuid.device_uuid = "GPU-aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee";
  MeterPtr meter = make_nvml_meter(by_uuid);
  meter->begin();
  CHECK(meter->end(1.0) == doctest::Approx(1.0));
  by_uuid.device_uuid = "GPU-ffffffff-0000-0000-0000-000000000000";
  CHECK_THROWS_WITH_AS(make_nvml_meter(by_uuid), doctest::Contains("no GPU with UUID GPU-ffffffff"), InputError);
}

TEST_CASE("nvml records each window's SM clock, temperature and throttle reasons, and leaves out what NVML cannot give") {
  {
    FakeNvml fake("energy_mj: 1000,1000,2000\nsm_mhz: 1410\ntemp_c: 61\nthrottle: 36\n");  // 0x4 | 0x20
    MeterPtr meter = make_nvml_meter(FakeNvml::options());
    CHECK_FALSE(meter->window_conditions().has_value());  // no window yet
    meter->begin();
    meter->end(1.0);
    const auto c = meter->window_conditions();
    REQUIRE(c.has_value());
    CHECK(c->sm_clock_mhz == doctest::Approx(1410));
    CHECK(c->temperature_c == doctest::Approx(61));
    CHECK(c->throttled());
    CHECK(throttle_reason_names(c->throttle_reasons) == "sw-power-cap,sw-thermal-slowdown");
  }
  FakeNvml fake("energy_mj: unsupported\npower_mw: 100000\nthrottle: 1\n");  // idle only; no clock or temperature
  MeterPtr meter = make_nvml_meter(FakeNvml::options());
  window(*meter, 0.1);
  const auto c = meter->window_conditions();
  REQUIRE(c.has_value());
  CHECK(std::isnan(c->sm_clock_mhz));
  CHECK(std::isnan(c->temperature_c));
  CHECK_FALSE(c->throttled());  // gpu-idle is not a slowdown
  CHECK_FALSE(make_time_surrogate_meter(1)->window_conditions().has_value());
}

TEST_CASE("auto takes nvml for a CUDA trainer, a phone's battery, a Jetson's rails, rapl, else the surrogate, saying why") {
  FakePowercap powercap;
  powercap.domain("intel-rapl:0", 1000, 1e9, "package-0");
  FakeJetson board;
  board.write("1-0040/name", "ina3221x");
  board.iio_rail(0, "VDD_IN", "5000");
  FakePhone phone;
  phone.battery(-400000, 3.8e6);
  MeterOptions options;
  options.surrogate_watts = 12;
  options.powercap_root = "/nonexistent/powercap";
  options.jetson = JetsonInaOptions{};
  options.jetson.sysfs_root = "/nonexistent";
  options.android = phone.options(CurrentSign::Auto);
  options.nvml = FakeNvml::options();
  {
    const MeterChoice nothing = choose_meter("auto", options);  // a CPU trainer, no meter readable
    CHECK(nothing.meter->source() == MeterSource::TimeSurrogate);
    CHECK(nothing.reason.rfind("auto: time-surrogate at 12 W, no meter readable here (passed over: jetson-ina: ", 0) == 0);
    CHECK(nothing.reason.find("; rapl: meter rapl: /nonexistent/powercap does not exist") != std::string::npos);
  }
  options.powercap_root = powercap.root.string();
  {
    const MeterChoice rapl = choose_meter("auto", options);
    CHECK(rapl.meter->source() == MeterSource::Rapl);
    CHECK(rapl.reason.rfind("auto: rapl, readable here: package-0 (passed over: jetson-ina:", 0) == 0);
  }
  options.jetson = board.options();
  CHECK(choose_meter("auto", options).meter->source() == MeterSource::JetsonIna);  // before rapl
  options.phone = true;
  {
    const MeterChoice battery = choose_meter("auto", options);
    CHECK(battery.meter->source() == MeterSource::AndroidBattery);
    CHECK(battery.reason == "auto: android-battery, this phone's fuel gauge");
  }
  options.phone = false;
  options.cuda_trainer = true;
  {
    FakeNvml fake("energy_mj: 1000,1000,3500\n");
    const MeterChoice gpu = choose_meter("auto", options);
    CHECK(gpu.meter->source() == MeterSource::Nvml);
    CHECK(gpu.reason == "auto: nvml, the GPU the trainer trains on");
  }
  {
    NvmlOptions missing;
    missing.library = "/nonexistent/libnvidia-ml.so.1";
    options.nvml = missing;  // a CUDA trainer whose NVML cannot be loaded: the next one, and why
    const MeterChoice fallback = choose_meter("auto", options);
    CHECK(fallback.meter->source() == MeterSource::JetsonIna);
    CHECK(fallback.reason.find("(passed over: nvml: ") != std::string::npos);
  }
  // a named meter is that meter or a refusal, never another
  CHECK(choose_meter("rapl", options).reason == "rapl: package-0");
  options.powercap_root = "/nonexistent/powercap";
  CHECK_THROWS_AS(choose_meter("rapl", options), InputError);
}

TEST_CASE("a composite meter reads every part over the same window and keeps each part's joules") {
  FakePowercap powercap;
  powercap.domain("intel-rapl:0", 1000, 1e9, "package-0");
  FakeJetson board;
  board.write("1-0040/name", "ina3221x");
  board.iio_rail(0, "VDD_IN", "5000");  // 5 W
  MeterOptions options;
  options.powercap_root = powercap.root.string();
  options.jetson = board.options();
  MeterChoice choice = choose_meter("rapl+jetson-ina", options);
  CHECK(choice.meter->source() == MeterSource::Composite);
  CHECK(choice.meter->part_sources() == std::vector<MeterSource>{MeterSource::Rapl, MeterSource::JetsonIna});
  CHECK(choice.reason.rfind("rapl+jetson-ina, summed over each window (rapl: package-0; jetson-ina)", 0) == 0);
  choice.meter->begin();
  powercap.domain("intel-rapl:0", 2001000, 1e9, "package-0");  // +2 J
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  const double joules = choice.meter->end(0.3);
  const std::vector<double> parts = choice.meter->last_part_joules();
  REQUIRE(parts.size() == 2);
  CHECK(parts[0] == doctest::Approx(2.0));
  CHECK(parts[1] == doctest::Approx(1.5).epsilon(0.3));  // 5 W over about 0.3 s, sampled
  CHECK(joules == doctest::Approx(parts[0] + parts[1]));
  // a composite is of physical meters, two or more, each once
  CHECK_THROWS_WITH_AS(choose_meter("rapl+time-surrogate", options), doctest::Contains("time-surrogate cannot be a part"), InputError);
  CHECK_THROWS_WITH_AS(choose_meter("rapl+rapl", options), doctest::Contains("rapl twice"), InputError);
  CHECK_THROWS_WITH_AS(choose_meter("rapl+", options), doctest::Contains("unknown label ''"), InputError);
  options.powercap_root = "/nonexistent";  // a part that cannot be read refuses the whole, naming it
  CHECK_THROWS_WITH_AS(choose_meter("rapl+jetson-ina", options), doctest::Contains("meter rapl"), InputError);
}

TEST_CASE("a composite's part joules become the measurement's parts: the last windows, per iteration, summing to the total") {
  Measurement m;
  m.iterations = 4;
  m.seconds_per_iteration = {0.1, 0.1};
  m.joules_per_iteration = {(3.0 + 1.0) / 4, (2.0 + 2.0) / 4};
  m.meter = MeterSource::Composite;
  const std::vector<MeterSource> parts = {MeterSource::Rapl, MeterSource::Nvml};
  attach_meter_parts(m, parts, {{9.0, 9.0}, {3.0, 1.0}, {2.0, 2.0}});  // an idle window first, passed over
  REQUIRE(m.meter_parts.size() == 2);
  CHECK(m.meter_parts[0].joules_per_iteration == std::vector<double>{0.75, 0.5});
  CHECK(m.meter_parts[1].joules_per_iteration == std::vector<double>{0.25, 0.5});
  validate_measurement(m);
  CHECK_THROWS_WITH_AS(attach_meter_parts(m, parts, {{1.0, 1.0}}), doctest::Contains("1 windows read for 2 repeats"), InputError);
  CHECK_THROWS_WITH_AS(attach_meter_parts(m, parts, {{3.0, 1.5}, {2.0, 2.0}}), doctest::Contains("parts sum to"), InputError);
  Measurement single;
  attach_meter_parts(single, {}, {});
  CHECK(single.meter_parts.empty());
}

TEST_CASE("composite labels name their parts, and a composite measurement must sum") {
  CHECK(parse_meter_label_text("rapl+nvml").str() == "rapl+nvml");
  CHECK(parse_meter_label_text("nvml").source == MeterSource::Nvml);
  CHECK_THROWS_WITH_AS(parse_meter_label_text("composite"), doctest::Contains("names no parts"), InputError);
  CHECK_THROWS_WITH_AS(parse_meter_label_text("simulated+rapl"), doctest::Contains("simulated cannot be a part"), InputError);
  Measurement m;
  m.seconds_per_iteration = {0.1};
  m.joules_per_iteration = {1.0};
  m.meter = MeterSource::Composite;
  m.meter_parts = {{MeterSource::Rapl, {0.5}}, {MeterSource::Nvml, {0.4}}};
  CHECK_THROWS_WITH_AS(validate_measurement(m), doctest::Contains("parts sum to 0.9 J, not its 1 J"), InputError);
  m.meter_parts[1].joules_per_iteration = {0.5, 0.5};
  CHECK_THROWS_WITH_AS(validate_measurement(m), doctest::Contains("has 2 repeats, the total 1"), InputError);
  m.meter_parts = {{MeterSource::Rapl, {1.0}}};
  CHECK_THROWS_WITH_AS(validate_measurement(m), doctest::Contains("needs two parts or more"), InputError);
  m.meter = MeterSource::Rapl;
  CHECK_THROWS_WITH_AS(validate_measurement(m), doctest::Contains("meter parts on a rapl reading"), InputError);
}
