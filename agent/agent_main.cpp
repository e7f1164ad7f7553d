// ampere-agent: measures variant networks for a coordinator, or one model here (`measure`).
#include <unistd.h>

#include <algorithm>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "protocol.capnp.h"

#include "agent/adb_device.hpp"
#include "agent/agent_runner.hpp"
#include "agent/run_command.hpp"
#include "agent/device_class.hpp"
#include "agent/reference_network.hpp"
#include "agent/simulated_device.hpp"
#include "agent/simulated_trainer.hpp"
#include "agent/trainer_link/messages.hpp"
#include "agent/trainer_process.hpp"
#include "common/comma_list.hpp"
#include "common/json_text.hpp"
#include "common/error.hpp"
#include "program/command_line.hpp"
#include "program/service_notifier.hpp"
#include "program/log/logging.hpp"

namespace {

std::atomic<bool> g_stop{false};
void on_signal(int) { g_stop = true; }

/// ampere-trainer beside this binary (they are built and installed side by side).
std::string trainer_beside_this_binary() {
  char self[4096];
  const ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
  if (n <= 0) return "ampere-trainer";
  std::string path(self, static_cast<std::size_t>(n));
  return path.substr(0, path.rfind('/') + 1) + "ampere-trainer";
}

/// `getprop ro.product.model` on a phone (the agent running on it); empty elsewhere.
std::string android_product_model() {
  auto [status, model] = ampere::run_command({"getprop", "ro.product.model"}, /*with_stderr=*/false);
  if (status != 0) return "";
  while (!model.empty() && (model.back() == '\n' || model.back() == '\r')) model.pop_back();
  return model;
}

/// Runs this binary again with `args` (a fresh process: its own allocator, caches and thread pool)
/// and returns what it printed on stdout; its stderr passes through. Throws on a failed run.
std::string run_fresh_process(std::vector<std::string> args) {
  args.front() = "/proc/self/exe";  // this very binary, whatever argv[0] says
  const auto [status, text] = ampere::run_command(args, /*with_stderr=*/false, std::chrono::hours(6));  // a long measurement
  AMPERE_REQUIRE(status == 0, "measure --processes: a measuring process failed (",
                 status > 128 ? "killed by signal " + std::to_string(status - 128) : "exit " + std::to_string(status), ")");
  return text;
}

/// (max − min) / median of the processes' figures: how far fresh processes disagree.
double relative_spread(const std::vector<double>& values) {
  return (*std::max_element(values.begin(), values.end()) - *std::min_element(values.begin(), values.end())) /
         ampere::summarize_repeats(values, ampere::RepeatStatistic::Median).value;
}

/// `measure --processes K`: the same measurement in K fresh processes, one after another. The same
/// model differs by a few percent between processes (allocator, thread pool, cache and frequency
/// state), far more than between repeats inside one; the median over processes of each process's
/// figure is what `value` then reports (docs/method.md §5).
nlohmann::json measure_in_processes(int argc, char** argv, int processes) {
  std::vector<std::string> args;
  for (int i = 0; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--processes") {
      ++i;  // and its value
      continue;
    }
    if (a.rfind("--processes=", 0) == 0) continue;
    args.push_back(a);
  }
  std::vector<nlohmann::json> runs;
  for (int k = 0; k < processes; ++k) runs.push_back(ampere::parse_json(run_fresh_process(args), "measure process output"));
  nlohmann::json out = runs.front();
  out["processes"] = processes;
  if (out.contains("reference")) {  // --reference: each process's reading and its own ratio
    std::vector<double> readings, ratios;
    for (const nlohmann::json& run : runs) {
      readings.push_back(run.at("reference").at("seconds_per_iteration").get<double>());
      ratios.push_back(run.at("seconds_over_reference").get<double>());
    }
    out["reference"] = {{"seconds_per_iteration", ampere::summarize_repeats(readings, ampere::RepeatStatistic::Median).value},
                        {"statistic", "median over processes of each process's reading"},
                        {"per_process", readings}};
    out["seconds_over_reference"] = ampere::summarize_repeats(ratios, ampere::RepeatStatistic::Median).value;
    out["seconds_over_reference_per_process"] = ratios;
    out["seconds_over_reference_spread"] = relative_spread(ratios);
  }
  for (const char* quantity : {"seconds_per_iteration", "joules_per_iteration"}) {
    if (out.at(quantity).is_null()) continue;
    std::vector<double> values;
    nlohmann::json per_process = nlohmann::json::array();
    for (const nlohmann::json& run : runs) {
      values.push_back(run.at(quantity).at("value").get<double>());
      per_process.push_back(run.at(quantity));
    }
    const double mid = ampere::summarize_repeats(values, ampere::RepeatStatistic::Median).value;
    out[quantity] = {{"value", mid},
                     {"statistic", "median over processes of each process's minimum"},
                     {"per_process", values},
                     {"spread", relative_spread(values)},
                     {"processes", per_process}};
  }
  return out;
}

/// HOSTNAME-PID.
std::string default_agent_id() {
  char host[256] = {0};
  gethostname(host, sizeof host - 1);
  return std::string(host) + "-" + std::to_string(getpid());
}

/// What a simulated agent of `profile` registers as: its class (unless one is given) and its memory.
void simulate(ampere::AgentConfig& config, const ampere::DeviceProfile& profile) {
  if (config.device_class.empty()) config.device_class = "sim-" + profile.name;
  config.memory_bytes = static_cast<std::uint64_t>(profile.memory_bytes);
}

/// `--fleet N`: N simulated agents in this process, each with its own identity, sockets, heartbeat
/// and jobs (one thread each, plus its heartbeat thread), the i-th on profiles[i mod P].
void run_simulated_fleet(ampere::AgentConfig base, const std::vector<std::string>& profiles, int fleet, int pace_ms,
                         std::int64_t reference_seconds, const std::string& tally_file) {
  ampere::AgentTally tally;
  if (!tally_file.empty()) base.tally = &tally;
  AMPERE_REQUIRE(!profiles.empty(), "--fleet needs --profile (a comma list of simulated profiles)");
  for (const std::string& p : profiles) ampere::simulated_profile(p);  // throws, naming an unknown one
  if (base.agent_id.empty()) base.agent_id = default_agent_id();
  base.reference_every = std::chrono::seconds(reference_seconds);
  std::signal(SIGINT, on_signal);
  std::signal(SIGTERM, on_signal);
  zmq::context_t context;
  context.set(zmq::ctxopt::max_sockets, 4 * fleet + 64);  // a job socket and a heartbeat socket per agent, twice while failing over
  std::vector<ampere::TrainerPtr> trainers;
  std::vector<std::unique_ptr<ampere::AgentRunner>> runners;
  for (int i = 0; i < fleet; ++i) {
    const ampere::DeviceProfile& profile = ampere::simulated_profile(profiles[static_cast<std::size_t>(i) % profiles.size()]);
    ampere::AgentConfig config = base;
    config.agent_id = base.agent_id + "-" + std::to_string(i);
    simulate(config, profile);
    trainers.push_back(ampere::make_simulated_trainer(profile, pace_ms));
    runners.push_back(std::make_unique<ampere::AgentRunner>(context, *trainers.back(), config));
  }
  spdlog::info("fleet of {} simulated agents over {} profile(s)", fleet, profiles.size());
  std::vector<std::thread> threads;
  for (auto& runner : runners) threads.emplace_back([&runner] { runner->run(g_stop); });
  for (std::thread& t : threads) t.join();
  if (tally_file.empty()) return;
  // What the fleet saw acknowledged, for bench/fleet to hold against what the store holds.
  std::vector<double> trips = tally.round_trips_ms();
  std::sort(trips.begin(), trips.end());
  auto quantile = [&](double q) { return trips.empty() ? 0.0 : trips[static_cast<std::size_t>(q * static_cast<double>(trips.size() - 1))]; };
  std::ofstream(tally_file) << nlohmann::json{{"agents", fleet},
                                              {"results_acknowledged_stored", tally.stored()},
                                              {"results_acknowledged_refused", tally.refused()},
                                              {"stored_job_ids", tally.stored_job_ids()},
                                              {"round_trip_ms", {{"p50", quantile(0.5)}, {"p99", quantile(0.99)}, {"max", quantile(1.0)}}}}
                                   .dump(2)
                            << "\n";
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"ampere-agent: trains variant networks and reports their time and energy"};
  ampere::AgentConfig config;
  std::string backend = "torch", profile, meter_label = "auto";
  double watts = 10.0;
  int pace_ms = 0;
  app.add_option("--coordinator", config.coordinator,
                 "the coordinator's agent endpoint, or a comma list of every coordinator's (--ha: the agent moves on "
                 "from one that does not answer or stands by)")
      ->capture_default_str();
  std::string key_file, coordinator_key_file;
  app.add_option("--key", key_file, "this agent's secret certificate (CURVE; default: $AMPERE_KEY)");
  app.add_option("--coordinator-key", coordinator_key_file,
                 "the coordinator's public certificate (CURVE; default: $AMPERE_COORDINATOR_KEY)");
  app.add_option("--threads", config.threads, "torch intra-op threads")->capture_default_str()->check(CLI::Range(1, 1024));
  app.add_option("--backend", backend, "torch | simulated")->capture_default_str()->check(CLI::IsMember({"torch", "simulated"}));
  const std::string profile_names = [] {
    std::string names;
    for (const auto& n : ampere::simulated_profile_names()) names += (names.empty() ? "" : ", ") + n;
    return names;
  }();
  app.add_option("--profile", profile,
                 "simulated device profile: " + profile_names + " (with --fleet, a comma list the agents are spread over)");
  int fleet = 1;
  app.add_option("--fleet", fleet,
                 "simulated backend: run this many agents in this one process, each its own identity (ID-0, ID-1, ...), "
                 "heartbeats and jobs, the i-th on the (i mod P)-th --profile")
      ->capture_default_str()
      ->check(CLI::Range(1, 100000));
  app.add_option("--meter", meter_label,
                 "auto | rapl | nvml | jetson-ina | android-battery | time-surrogate | simulated, or physical meters "
                 "joined by '+' for a whole node (rapl+nvml: summed over each window, each part kept)")
      ->capture_default_str();
  std::string device = "cpu", trainer_path = trainer_beside_this_binary(), runner = "local";
  app.add_option("--device", device, "torch backend: where ampere-trainer trains: cpu | cuda | cuda:N")->capture_default_str();
  app.add_option("--trainer", trainer_path, "torch backend: the ampere-trainer binary to start")->capture_default_str();
  app.add_option("--runner", runner,
                 "local: the trainer runs on this machine; adb: on the phone --serial, driven from this host (the trainer "
                 "built for the phone is pushed, the battery read over adb)")
      ->capture_default_str()
      ->check(CLI::IsMember({"local", "adb"}));
  std::string serial, adb = "adb";
  app.add_option("--serial", serial, "--runner adb: the phone's serial, as `adb devices` lists it");
  app.add_option("--adb", adb, "--runner adb: the adb binary")->capture_default_str();
  ampere::TrainerProcessConfig supervision;
  double slack_mb = static_cast<double>(supervision.memory_slack_bytes) / (1 << 20);
  app.add_option("--memory-factor", supervision.memory_factor,
                 "a job's memory ceiling: the trainer's memory at its start + this x the job's estimated training memory + "
                 "--memory-slack-mb")
      ->capture_default_str()
      ->check(CLI::Range(0.1, 1000.0));
  app.add_option("--memory-slack-mb", slack_mb, "see --memory-factor")->capture_default_str()->check(CLI::Range(0.0, 1e7));
  std::int64_t idle_every_s = supervision.idle_every.count();
  app.add_option("--idle-seconds", supervision.idle_seconds,
                 "idle baseline: read the meter this long with nothing training, at start and every --idle-every-s "
                 "(meters that read energy live; 0: never)")
      ->capture_default_str()
      ->check(CLI::Range(0.0, 600.0));
  app.add_option("--idle-every-s", idle_every_s, "see --idle-seconds")->capture_default_str()->check(CLI::Range(1, 86400));
  ampere::AndroidBatteryOptions android;
  std::string current_sign = "auto";
  app.add_option("--sysfs-root", android.sysfs_root, "where sysfs is mounted (a fake tree in tests)")->capture_default_str();
  app.add_option("--current-sign", current_sign,
                 "android-battery: which sign of current_now is discharge: auto | discharge-negative | discharge-positive")
      ->capture_default_str();
  ampere::JetsonInaOptions jetson;
  std::string rails;
  app.add_option("--rails", rails, "jetson-ina: comma list of INA3221 rails to sum (default: the board's input rail)");
  app.add_flag("--allow-charging", android.allow_charging,
               "android-battery: measure while on USB/AC power (it confounds the reading; refused otherwise)");
  app.add_option("--watts", watts, "watts for the time-surrogate meter")->capture_default_str();
  app.add_option("--pace-ms", pace_ms, "simulated backend: wall time each job takes")->capture_default_str();
  std::string tally_file;
  app.add_option("--tally-file", tally_file,
                 "--fleet: on exit, write what the fleet saw acknowledged (results stored and refused, the job ids stored, round "
                 "trips) as JSON here");
  app.add_option("--agent-id", config.agent_id, "default: HOSTNAME-PID");
  app.add_option("--device-class", config.device_class,
                 "default: local-cpu-<threads>t, cuda-<gpu name>, jetson-<model>-<nvpmodel mode>, android-<ro.product.model>, "
                 "or sim-<profile>");
  app.add_option("--min-window", config.min_window_seconds,
                 "seconds per measured repeat when the job leaves it open; 0: the meter's default "
                 "(0.1 s time and rapl, 1 s nvml and jetson-ina, 5 s android-battery)")
      ->capture_default_str()
      ->check(CLI::Range(0.0, 3600.0));

  std::int64_t reference_seconds = config.reference_every.count();
  app.add_option("--reference-every-jobs", config.reference_every_jobs,
                 "time the reference network before the first job and then every N jobs (0: never; results go without)")
      ->capture_default_str();
  app.add_option("--reference-every-s", reference_seconds, "... or every this many seconds, whichever comes first")
      ->capture_default_str()
      ->check(CLI::Range(1, 86400));

  CLI::App* measure = app.add_subcommand("measure", "train one model here and print its figures as JSON");
  std::string model_file;
  ampere::JobSettings settings;
  measure->add_option("--model", model_file, "model JSON")->required()->check(CLI::ExistingFile);
  measure->add_option("--iterations", settings.iterations, "iterations per repeat (0: >= --min-window)")->capture_default_str();
  std::uint32_t repeats = 5, repeat_cap = 0;
  double agreement = 0.01;
  measure->add_option("--repeats", repeats, "repeats (with --repeat-cap: the fewest)")->capture_default_str()->check(CLI::Range(1, 1000));
  measure->add_option("--repeat-cap", repeat_cap,
                      "repeat until the repeats agree (--agreement) or this many; 0: exactly --repeats")
      ->capture_default_str()
      ->check(CLI::Range(0, 1000));
  measure->add_option("--agreement", agreement,
                      "with --repeat-cap: stop when the 90% bootstrap half-width of the minimum is within this share of it")
      ->capture_default_str()
      ->check(CLI::Range(0.0, 0.99));
  measure->add_option("--warmup", settings.warmup, "warm-up iterations")->capture_default_str();
  bool with_reference = false;
  measure->add_flag("--reference", with_reference,
                    "also time the reference network in the same process, right before the model (as an agent does "
                    "before its jobs), and report the model's seconds over the reading");
  int processes = 1;
  measure->add_option("--processes", processes, "fresh processes to measure in, one after another; value = their median")
      ->capture_default_str()
      ->check(CLI::Range(1, 100));
  ampere::LogOptions log;
  ampere::add_log_options(app, log);
  const ampere::ParsedCommandLine parsed = ampere::parse_command_line(
      app, argc, argv,
      {"ampere-agent",
       {{"wire protocol", std::to_string(ampere::wire::PROTOCOL_VERSION)},
        {"trainer pipe protocol", std::to_string(ampere::kTrainerProtocolVersion)}},
       /*config_file=*/true,
       /*environment=*/true});
  if (parsed.exit_status) return *parsed.exit_status;
  ampere::start_logging(log);
  if (!parsed.config_file.empty()) spdlog::info("options from {} (the environment and the command line override it)", parsed.config_file);

  return ampere::run_reporting_errors([&] {
    if (measure->parsed() && processes > 1) {  // the parent only runs and collects the children
      std::cout << measure_in_processes(argc, argv, processes).dump(2) << "\n";
      return;
    }
    config.curve = ampere::curve_client_keys(key_file, coordinator_key_file);
    const std::vector<std::string> profiles = ampere::split_comma_list(profile);
    if (fleet > 1 || profiles.size() > 1) {
      AMPERE_REQUIRE(backend == "simulated", "--fleet and a list of profiles need --backend simulated (one LibTorch agent per process)");
      AMPERE_REQUIRE(!measure->parsed(), "measure takes one --profile, not a fleet");
      run_simulated_fleet(config, profiles, fleet, pace_ms, reference_seconds, tally_file);
      return;
    }
    ampere::TrainerPtr trainer;
    if (backend == "simulated") {
      AMPERE_REQUIRE(!profile.empty(), "--backend simulated needs --profile (", profile_names, ")");
      AMPERE_REQUIRE(meter_label == "auto" || meter_label == "simulated", "--meter ", meter_label,
                     ": the simulated backend reports simulated energy only (--meter simulated)");
      trainer = ampere::make_simulated_trainer(ampere::simulated_profile(profile), pace_ms);
      simulate(config, ampere::simulated_profile(profile));
    } else {
      AMPERE_REQUIRE(profile.empty(), "--profile applies to --backend simulated only");
      ampere::MeterOptions meters;
      meters.surrogate_watts = watts;
      meters.android = android;
      meters.android.sign = ampere::parse_current_sign(current_sign);
      meters.jetson = jetson;
      meters.jetson.sysfs_root = android.sysfs_root;
      meters.jetson.rails = ampere::split_comma_list(rails);
      const std::vector<std::string> serve = {"serve", "--device", device, "--threads", std::to_string(config.threads)};
      supervision.command = {trainer_path};
      supervision.command.insert(supervision.command.end(), serve.begin(), serve.end());
      std::shared_ptr<ampere::AdbDevice> phone;
      if (runner == "adb") {  // the trainer on the phone, its battery read from here
        AMPERE_REQUIRE(meter_label == "auto" || meter_label == "android-battery" || meter_label == "time-surrogate",
                       "--runner adb reads the phone's battery (--meter android-battery) or the time surrogate, not ", meter_label);
        if (meter_label == "auto") meter_label = "android-battery";
        phone = std::make_shared<ampere::AdbDevice>(adb, serial);
        phone->push_trainer(trainer_path);
        spdlog::info("trainer pushed to {}:{}", serial, ampere::AdbDevice::kTrainerPath);
        supervision.command = phone->trainer_command(serve);
        supervision.memory_of = [phone](pid_t, long trainer_pid) { return phone->resident_bytes(trainer_pid); };
        supervision.memory_check_every = std::chrono::milliseconds(1000);  // one adb round trip each
        supervision.before_kill = [phone](long trainer_pid) { phone->kill(trainer_pid); };
        meters.android.files = phone->sysfs();
      } else {
        AMPERE_REQUIRE(serial.empty(), "--serial applies to --runner adb only");
      }
      supervision.memory_slack_bytes = static_cast<std::uint64_t>(slack_mb * (1 << 20));
      supervision.idle_every = std::chrono::seconds(idle_every_s);
      // The trainer starts first: it says which GPU it got, and the nvml meter reads that one.
      meters.powercap_root = (std::filesystem::path(android.sysfs_root) / "sys/class/powercap").string();
      auto process = std::make_unique<ampere::TrainerProcess>(supervision, [&](const ampere::TrainerInfo& info) {
        meters.nvml.device_uuid = info.device_uuid;
        meters.cuda_trainer = info.device != "cpu";
        meters.phone = !phone && !android_product_model().empty();  // this agent runs on a phone
        ampere::MeterChoice choice = ampere::choose_meter(meter_label, meters);
        spdlog::info("energy meter: {}", choice.reason);
        if (choice.meter->source() == ampere::MeterSource::TimeSurrogate)
          spdlog::info("energy: time-surrogate at {} W (seconds x watts; not a measured joule)", watts);
        return std::move(choice.meter);
      });
      const ampere::TrainerInfo& info = process->info();
      spdlog::info("trainer pid {} on {}{}", info.pid, info.device, info.device_name.empty() ? "" : " (" + info.device_name + ")");
      if (config.device_class.empty()) {
        // the meter, or one of a composite's parts, says what the device is
        const std::vector<ampere::MeterSource> parts = process->meter_part_sources();
        auto reads = [&](ampere::MeterSource s) {
          return process->meter_source() == s || std::find(parts.begin(), parts.end(), s) != parts.end();
        };
        if (info.device != "cpu") config.device_class = ampere::cuda_device_class(info.device_name);
        else if (reads(ampere::MeterSource::JetsonIna))
          config.device_class = ampere::jetson_device_class(ampere::read_jetson_facts(meters.jetson.sysfs_root));
        else if (phone) config.device_class = ampere::android_device_class(phone->property("ro.product.model"));
        else if (reads(ampere::MeterSource::AndroidBattery))
          config.device_class = ampere::android_device_class(android_product_model());
        else config.device_class = ampere::cpu_device_class(config.threads);
      }
      trainer = std::move(process);
    }
    if (measure->parsed()) {
      settings.window_seconds = config.min_window_seconds;
      settings.repeats = ampere::RepeatRule::fixed(repeats);
      if (repeat_cap > 0) {
        AMPERE_REQUIRE(repeat_cap >= repeats, "--repeat-cap ", repeat_cap, " is below --repeats ", repeats);
        settings.repeats.max_repeats = repeat_cap;
        settings.repeats.relative_half_width = agreement;
      }
      const ampere::ModelSpec model = ampere::load_model_spec(model_file);
      double reference_seconds = 0;
      if (with_reference) {  // the agent's reading: the job's settings, on the fixed reference network
        ampere::JobSettings r = settings;
        r.iterations = 0;
        r.seed = 1;
        const ampere::Measurement reading = trainer->measure(ampere::reference_network(), r);
        reference_seconds = ampere::summarize_repeats(reading.seconds_per_iteration, ampere::RepeatStatistic::Minimum).value;
        AMPERE_REQUIRE(reference_seconds > 0, "measure --reference: the reference reading is not positive (", reference_seconds, ")");
      }
      nlohmann::json out = ampere::measurement_report(model.name, trainer->backend(), trainer->measure(model, settings));
      out["device_class"] = config.device_class;
      if (with_reference) {
        out["reference"] = {{"seconds_per_iteration", reference_seconds}, {"statistic", "minimum"}};
        out["seconds_over_reference"] = out["seconds_per_iteration"]["value"].get<double>() / reference_seconds;
      }
      std::cout << out.dump(2) << "\n";
      return;
    }
    if (config.agent_id.empty()) config.agent_id = default_agent_id();
    std::signal(SIGINT, on_signal);
    std::signal(SIGTERM, on_signal);
    config.reference_every = std::chrono::seconds(reference_seconds);
    zmq::context_t context;
    // systemd (Type=notify): ready with its trainer started; the watchdog is fed by the heartbeat
    // and registration loops (an agent waiting for its coordinator is alive).
    ampere::ServiceNotifier notifier;
    config.alive = [&notifier] { notifier.keep_alive(); };
    ampere::AgentRunner runner(context, *trainer, config);
    notifier.ready();
    notifier.status("agent " + config.agent_id + " (" + config.device_class + ") for " + config.coordinator);
    runner.run(g_stop);
    notifier.stopping();
  });
}
