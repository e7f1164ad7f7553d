// The phone host mode (--runner adb) against a fake adb (tests/support/fake_adb: push, shell and
// getprop on a temp directory standing for the phone) and the fake trainer: our host mode against
// adb's documented behaviour, not a phone.
#include <cstdlib>
#include <filesystem>
#include <fstream>

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include "common/model_spec.hpp"
#include "integration/process.hpp"

using ampere::testing::run_binary;
using ampere::testing::TempDir;

namespace {

/// A phone: battery files (discharging, 0.5 A at 4 V: 2 W), a USB supply offline, its model name.
struct FakePhone {
  TempDir dir;
  std::filesystem::path root = std::filesystem::path(dir.path()) / "phone";
  explicit FakePhone(const std::string& status = "Discharging") {
    const auto battery = root / "sys/class/power_supply/battery";
    const auto usb = root / "sys/class/power_supply/usb";
    std::filesystem::create_directories(battery);
    std::filesystem::create_directories(usb);
    std::filesystem::create_directories(root / "props");
    std::ofstream(battery / "status") << status << "\n";
    std::ofstream(battery / "type") << "Battery\n";
    std::ofstream(battery / "current_now") << "-500000\n";
    std::ofstream(battery / "voltage_now") << "4000000\n";
    std::ofstream(usb / "type") << "USB\n";
    std::ofstream(usb / "online") << "0\n";
    std::ofstream(root / "props/ro.product.model") << "CPH2211\n";
    ::setenv("FAKE_ADB_ROOT", root.c_str(), 1);
    ::setenv("FAKE_ADB_SERIAL", "PHONE1", 1);
  }
  ~FakePhone() {
    ::unsetenv("FAKE_ADB_ROOT");
    ::unsetenv("FAKE_ADB_SERIAL");
  }
  std::string model(const std::string& name) {
    ampere::ModelSpec m = ampere::sample_model(ampere::load_model_spec(std::string(AMPERE_MODELS_DIR) + "/lenet5.json"), 1);
    m.name = name;
    return dir.file(name + ".json", ampere::to_json(m).dump());
  }
};

std::vector<std::string> adb_agent(const std::string& serial) {
  return {"--runner", "adb", "--serial", serial, "--adb", AMPERE_FAKE_ADB, "--trainer", AMPERE_FAKE_TRAINER,
          "--meter", "android-battery", "--idle-seconds", "0"};
}

}  // namespace

TEST_CASE("the phone host mode pushes the trainer, runs it over adb shell and reads the battery over adb") {
  FakePhone phone;
  auto args = adb_agent("PHONE1");
  args.insert(args.end(), {"measure", "--model", phone.model("on-phone"), "--repeats", "2"});
  const auto r = run_binary("ampere-agent", args);
  REQUIRE_MESSAGE(r.exit_code == 0, r.err);
  CHECK(std::filesystem::exists(phone.root / "data/local/tmp/ampere-trainer"));  // pushed
  const auto out = nlohmann::json::parse(r.out);
  CHECK(out.at("meter") == "android-battery");
  CHECK(out.at("device_class") == "android-cph2211");  // from ro.product.model
  CHECK(out.at("repeats") == 2);
  // 2 W over each window: the window is the trainer's 20 ms plus the pipe's and adb's round trips
  const double joules = out.at("joules_per_iteration").at("value").get<double>();
  CHECK(joules >= 2.0 * 0.02 * 0.9);
  CHECK(joules < 2.0 * 1.0);
}

TEST_CASE("the phone host mode refuses a phone that is charging, and a serial adb does not know, with the reason") {
  {
    FakePhone phone("Charging");
    auto args = adb_agent("PHONE1");
    args.insert(args.end(), {"measure", "--model", phone.model("charging"), "--repeats", "1"});
    const auto r = run_binary("ampere-agent", args);
    CHECK(r.exit_code != 0);
    CHECK(r.err.find("PHONE1:/sys/class/power_supply/battery/status reads Charging") != std::string::npos);
  }
  FakePhone phone;
  auto args = adb_agent("NOSUCHPHONE");
  args.insert(args.end(), {"measure", "--model", phone.model("absent"), "--repeats", "1"});
  const auto r = run_binary("ampere-agent", args);
  CHECK(r.exit_code == 2);
  CHECK(r.err.find("phone NOSUCHPHONE is not ready: error: device 'NOSUCHPHONE' not found") != std::string::npos);
}
