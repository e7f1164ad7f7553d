// ampere-agent: measures variant networks for a coordinator, or one model here (`measure`).
#include <unistd.h>

#include <csignal>
#include <fstream>
#include <iostream>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include "agent/agent_runner.hpp"
#include "agent/allocator.hpp"
#include "agent/simulated_trainer.hpp"
#include "agent/torch_trainer.hpp"
#include "common/error.hpp"

namespace {

std::atomic<bool> g_stop{false};
void on_signal(int) { g_stop = true; }

nlohmann::json figures(const std::vector<double>& repeats) {
  nlohmann::json out;
  const ampere::RepeatSummary min = ampere::summarize_repeats(repeats, ampere::RepeatStatistic::Minimum);
  out["value"] = min.value;
  out["statistic"] = "minimum";
  out["median"] = ampere::summarize_repeats(repeats, ampere::RepeatStatistic::Median).value;
  out["per_repeat"] = repeats;
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"ampere-agent: trains variant networks and reports their time and energy"};
  ampere::AgentConfig config;
  std::string backend = "torch", profile, meter_label = "auto";
  double watts = 10.0;
  int pace_ms = 0;
  app.add_option("--coordinator", config.coordinator, "the coordinator's agent endpoint")->capture_default_str();
  app.add_option("--threads", config.threads, "torch intra-op threads")->capture_default_str()->check(CLI::Range(1, 1024));
  app.add_option("--backend", backend, "torch | simulated")->capture_default_str()->check(CLI::IsMember({"torch", "simulated"}));
  app.add_option("--profile", profile, "simulated device profile: oppo, iphone, xavier, tx2, server");
  app.add_option("--meter", meter_label, "auto | rapl | time-surrogate | simulated")->capture_default_str();
  app.add_option("--watts", watts, "watts for the time-surrogate meter")->capture_default_str();
  app.add_option("--pace-ms", pace_ms, "simulated backend: wall time each job takes")->capture_default_str();
  app.add_option("--agent-id", config.agent_id, "default: HOSTNAME-PID");
  app.add_option("--device-class", config.device_class, "default: local-cpu-<threads>t, or sim-<profile>");
  app.add_option("--min-window", config.min_window_seconds, "seconds per measured repeat when the job leaves it open")
      ->capture_default_str();

  CLI::App* measure = app.add_subcommand("measure", "train one model here and print its figures as JSON");
  std::string model_file;
  ampere::JobSettings settings;
  measure->add_option("--model", model_file, "model JSON")->required()->check(CLI::ExistingFile);
  measure->add_option("--iterations", settings.iterations, "iterations per repeat (0: >= --min-window)")->capture_default_str();
  measure->add_option("--repeats", settings.repeats, "repeats")->capture_default_str()->check(CLI::Range(1, 1000));
  measure->add_option("--warmup", settings.warmup, "warm-up iterations")->capture_default_str();
  CLI11_PARSE(app, argc, argv);
  spdlog::set_default_logger(spdlog::stderr_color_mt("ampere"));  // stdout is for results

  return ampere::run_reporting_errors([&] {
    if (!ampere::pin_allocator()) spdlog::warn("could not pin the allocator's thresholds; timings may drift");
    ampere::TrainerPtr trainer;
    if (backend == "simulated") {
      AMPERE_REQUIRE(!profile.empty(), "--backend simulated needs --profile (", [] {
        std::string names;
        for (const auto& n : ampere::simulated_profile_names()) names += (names.empty() ? "" : ", ") + n;
        return names;
      }(), ")");
      AMPERE_REQUIRE(meter_label == "auto" || meter_label == "simulated", "--meter ", meter_label,
                     ": the simulated backend reports simulated energy only (--meter simulated)");
      trainer = ampere::make_simulated_trainer(ampere::simulated_profile(profile), pace_ms);
      if (config.device_class.empty()) config.device_class = "sim-" + profile;
    } else {
      AMPERE_REQUIRE(profile.empty(), "--profile applies to --backend simulated only");
      ampere::MeterPtr meter = ampere::make_meter(meter_label, watts);
      if (meter->source() == ampere::MeterSource::TimeSurrogate)
        spdlog::info("energy: time-surrogate at {} W (seconds x watts; not a measured joule)", watts);
      trainer = ampere::make_torch_trainer(config.threads, std::move(meter));
      if (config.device_class.empty()) config.device_class = "local-cpu-" + std::to_string(config.threads) + "t";
    }
    if (measure->parsed()) {
      settings.min_window_seconds = config.min_window_seconds;
      const ampere::ModelSpec model = ampere::load_model_spec(model_file);
      const ampere::Measurement m = trainer->measure(model, settings);
      nlohmann::json out = {{"model", model.name},
                            {"backend", trainer->backend()},
                            {"meter", ampere::meter_label(m.meter)},
                            {"threads", m.threads},
                            {"iterations_per_repeat", m.iterations},
                            {"repeats", m.seconds_per_iteration.size()},
                            {"seconds_per_iteration", figures(m.seconds_per_iteration)},
                            {"joules_per_iteration", m.joules_per_iteration.empty() ? nlohmann::json(nullptr)
                                                                                     : figures(m.joules_per_iteration)}};
      std::cout << out.dump(2) << "\n";
      return;
    }
    if (config.agent_id.empty()) {
      char host[256] = {0};
      gethostname(host, sizeof host - 1);
      config.agent_id = std::string(host) + "-" + std::to_string(getpid());
    }
    std::signal(SIGINT, on_signal);
    std::signal(SIGTERM, on_signal);
    zmq::context_t context;
    ampere::AgentRunner runner(context, *trainer, config);
    runner.run(g_stop);
  });
}
