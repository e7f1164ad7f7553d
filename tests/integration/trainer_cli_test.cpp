// ampere-trainer on its own, and the agent driving it: devices it refuses, a trainer that crashes; and
// start-up options the binaries refuse before touching anything.
#include <filesystem>

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include "common/model_spec.hpp"
#include "integration/process.hpp"

using ampere::testing::run_binary;
using ampere::testing::TempDir;

namespace {
std::string small_model(TempDir& dir, const std::string& name = "m") {
  ampere::ModelSpec m = ampere::sample_model(ampere::load_model_spec(std::string(AMPERE_MODELS_DIR) + "/lenet5.json"), 1);
  m.name = name;
  return dir.file(name + ".json", ampere::to_json(m).dump());
}
}  // namespace

TEST_CASE("ampere-trainer measure trains a model with a meter of its own") {
  TempDir dir;
  const auto r = run_binary("ampere-trainer", {"measure", "--model", small_model(dir), "--meter", "time-surrogate", "--watts", "7",
                                               "--iterations", "2", "--repeats", "2", "--warmup", "0"});
  REQUIRE_MESSAGE(r.exit_code == 0, r.err);
  const auto out = nlohmann::json::parse(r.out);
  CHECK(out.at("backend") == "torch");
  CHECK(out.at("device") == "cpu");
  CHECK(out.at("meter") == "time-surrogate");
  CHECK(out.at("repeats") == 2);
  CHECK(out.at("joules_per_iteration").at("value").get<double>() ==
        doctest::Approx(7 * out.at("seconds_per_iteration").at("value").get<double>()));
}

TEST_CASE("ampere-trainer measure counts the page faults a window takes: none once pinned, and glibc's defaults on request") {
  TempDir dir;
  auto measured = [&](const std::string& allocator) {
    // a cnn5 member: its activations churn glibc's heap when the thresholds are left to adapt
    const auto r = run_binary("ampere-trainer", {"measure", "--model", std::string(AMPERE_MODELS_DIR) + "/cnn5.json", "--sample", "1",
                                                 "--meter", "time-surrogate", "--min-window", "0.1", "--repeats", "3", "--warmup", "5",
                                                 "--allocator", allocator});
    REQUIRE_MESSAGE(r.exit_code == 0, r.err);
    return nlohmann::json::parse(r.out);
  };
  // pinned: a steady process touches no fresh page per iteration (docs/method.md §16)
  CHECK(measured("pinned").at("minor_faults_per_iteration").get<double>() == 0);
  // glibc's defaults: how many depends on glibc's adapting thresholds (0 to a few hundred here); the figure is reported
  CHECK(measured("glibc").at("minor_faults_per_iteration").is_number());
  const auto bogus = run_binary("ampere-trainer", {"measure", "--model", small_model(dir), "--allocator", "jemalloc"});
  CHECK(bogus.exit_code == 2);
  CHECK(bogus.err.find("--allocator") != std::string::npos);
}

TEST_CASE("unknown devices, meters and options are refused at start with the reason") {
  TempDir dir;
  const std::string model = small_model(dir);
  const auto tpu = run_binary("ampere-trainer", {"measure", "--model", model, "--device", "tpu"});
  CHECK(tpu.exit_code == 2);
  CHECK(tpu.err.find("unknown device 'tpu' (cpu, cuda, cuda:N)") != std::string::npos);
  const auto bogus = run_binary("ampere-trainer", {"measure", "--model", model, "--meter", "bogus"});
  CHECK(bogus.exit_code == 2);
  CHECK(bogus.err.find("unknown meter 'bogus'") != std::string::npos);
  const auto option = run_binary("ampere-trainer", {"measure", "--model", model, "--colour", "red"});
  CHECK(option.exit_code == 2);
  CHECK(option.err.find("--colour") != std::string::npos);
  // The agent starts its trainer first: a device the trainer refuses stops the agent, saying why.
  const auto agent = run_binary("ampere-agent", {"--device", "tpu", "measure", "--model", model});
  CHECK(agent.exit_code == 2);
  CHECK(agent.err.find("trainer refused to start: unknown device 'tpu'") != std::string::npos);
  const auto runner = run_binary("ampere-agent", {"--runner", "ssh", "measure", "--model", model});
  CHECK(runner.exit_code != 0);
  CHECK(runner.err.find("--runner") != std::string::npos);
}

TEST_CASE("on a machine without CUDA, --device cuda is refused with the reason, not run on the CPU") {
  TempDir dir;
  const auto r = run_binary("ampere-trainer", {"measure", "--model", small_model(dir), "--device", "cuda"});
  if (r.exit_code == 0) return;  // a GPU machine: gpu-check.sh covers it
  CHECK(r.exit_code == 2);
  CHECK(r.err.find("--device cuda: no CUDA here") != std::string::npos);
}

TEST_CASE("the agent's measure goes through the trainer process: a crash there is an error naming the signal") {
  TempDir dir;
  const auto crash = run_binary("ampere-agent", {"--trainer", AMPERE_FAKE_TRAINER, "--meter", "time-surrogate", "measure", "--model",
                                                 small_model(dir, "fake-crash"), "--repeats", "1"});
  CHECK(crash.exit_code != 0);
  CHECK(crash.err.find("killed by signal 11") != std::string::npos);
  const auto fine = run_binary("ampere-agent", {"--trainer", AMPERE_FAKE_TRAINER, "--meter", "time-surrogate", "measure", "--model",
                                                small_model(dir, "fine"), "--repeats", "2"});
  REQUIRE_MESSAGE(fine.exit_code == 0, fine.err);
  CHECK(nlohmann::json::parse(fine.out).at("repeats") == 2);
}

TEST_CASE("the trainer trains spec version 2's layers: relu6, hardsigmoid, hardswish, global_avgpool") {
  TempDir dir;
  const std::string model = dir.file("v2.json", R"({"spec_version": 2, "name": "mobile-ish", "input": {"shape": [3, 16, 16]},
    "batch_size": 4, "classes": 5,
    "layers": [{"type": "conv2d", "out_channels": 8, "kernel": 3, "padding": 1}, {"type": "relu6"},
               {"type": "conv2d", "out_channels": 8, "kernel": 3, "padding": 1, "groups": 8}, {"type": "hardswish"},
               {"type": "conv2d", "out_channels": 8, "kernel": 1}, {"type": "hardsigmoid"},
               {"type": "global_avgpool"}, {"type": "linear", "out_features": 5}]})");
  const auto r = run_binary("ampere-trainer", {"measure", "--model", model, "--meter", "time-surrogate", "--iterations", "2",
                                               "--repeats", "1", "--warmup", "0"});
  REQUIRE_MESSAGE(r.exit_code == 0, r.err);
  CHECK(nlohmann::json::parse(r.out).at("seconds_per_iteration").at("value").get<double>() > 0);
}

TEST_CASE("the coordinator refuses an unknown --channel-steps at start, naming the option, before it opens a store") {
  TempDir dir;
  const std::string store = dir.path() + "/never.db";
  const auto r = run_binary("ampere-coordinator", {"--channel-steps", "sometimes", "--store", "sqlite:" + store});
  CHECK(r.exit_code != 0);
  CHECK(r.err.find("--channel-steps") != std::string::npos);
  CHECK(r.err.find("sometimes") != std::string::npos);
  CHECK_FALSE(std::filesystem::exists(store));  // nothing created, nothing stored
}

TEST_CASE("ampere-trainer measure with a composite meter reports the sum, each part's joules labeled (fake sysfs)") {
  TempDir dir;
  // a fake sysfs: a RAPL package whose counter does not move (a fake tree: nothing advances it),
  // and a Jetson INA3221 input rail reading a steady 4 W
  const std::string root = dir.path() + "/root";
  auto write = [&](const std::string& file, const std::string& value) {
    std::filesystem::create_directories(std::filesystem::path(root + "/" + file).parent_path());
    dir.file("root/" + file, value + "\n");
  };
  write("sys/class/powercap/intel-rapl:0/name", "package-0");
  write("sys/class/powercap/intel-rapl:0/energy_uj", "1000");
  write("sys/class/powercap/intel-rapl:0/max_energy_range_uj", "1000000000");
  write("sys/bus/i2c/devices/1-0040/name", "ina3221x");
  write("sys/bus/i2c/devices/1-0040/iio:device0/rail_name_0", "VDD_IN");
  write("sys/bus/i2c/devices/1-0040/iio:device0/in_power0_input", "4000");
  const auto r = run_binary("ampere-trainer", {"measure", "--model", small_model(dir), "--meter", "rapl+jetson-ina", "--sysfs-root",
                                               root, "--iterations", "3", "--repeats", "2", "--warmup", "0", "--idle-seconds", "0",
                                               "--min-window", "0.2"});
  REQUIRE_MESSAGE(r.exit_code == 0, r.err);
  CHECK(r.err.find("energy meter: rapl+jetson-ina, summed over each window (rapl: package-0; jetson-ina)") != std::string::npos);
  const auto out = nlohmann::json::parse(r.out);
  CHECK(out.at("meter") == "rapl+jetson-ina");
  REQUIRE(out.at("meter_parts").size() == 2);
  CHECK(out.at("meter_parts").at(0).at("meter") == "rapl");
  CHECK(out.at("meter_parts").at(1).at("meter") == "jetson-ina");
  CHECK(out.at("meter_parts").at(0).at("joules_per_iteration").at("value").get<double>() == 0.0);
  const double rail = out.at("meter_parts").at(1).at("joules_per_iteration").at("value").get<double>();
  CHECK(rail > 0);
  CHECK(out.at("joules_per_iteration").at("value").get<double>() == doctest::Approx(rail));
}
