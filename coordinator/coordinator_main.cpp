// ampere-coordinator: owns campaigns, GPs and the store; agents and clients talk to it over ZeroMQ.
#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <iostream>

#include <CLI/CLI.hpp>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include "common/error.hpp"
#include "coordinator/coordinator_server.hpp"

namespace {
std::atomic<bool> g_stop{false};
void on_signal(int) { g_stop = true; }
}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"ampere-coordinator: profiling campaigns and estimates for a fleet of agents"};
  std::string store_url, data_dir;
  ampere::CoordinatorConfig config;
  int heartbeat_ms = static_cast<int>(config.heartbeat_timeout.count());
  app.add_option("--store", store_url, "sqlite:PATH (default: sqlite:DATA_DIR/ampere.db)");
  app.add_option("--data-dir", data_dir, "where the default store lives (default: ./ampere-data)");
  app.add_option("--agents", config.agents_endpoint, "ZeroMQ endpoint for agents")->capture_default_str();
  app.add_option("--clients", config.clients_endpoint, "ZeroMQ endpoint for the ampere CLI")->capture_default_str();
  app.add_option("--warmup", config.warmup_iterations, "warm-up iterations per job")->capture_default_str();
  app.add_option("--repeats", config.repeats, "measured repeats per job")->capture_default_str()->check(CLI::Range(1, 100));
  app.add_option("--iterations", config.iterations, "iterations per repeat (0: the agent picks >= 0.2 s)")->capture_default_str();
  app.add_option("--heartbeat-timeout-ms", heartbeat_ms, "an agent silent this long is lost")->capture_default_str();
  app.add_option("--seed", config.seed, "seed of the GP restarts")->capture_default_str();
  CLI11_PARSE(app, argc, argv);
  spdlog::set_default_logger(spdlog::stderr_color_mt("ampere"));  // stdout is for results
  config.heartbeat_timeout = std::chrono::milliseconds(heartbeat_ms);
  return ampere::run_reporting_errors([&] {
    if (store_url.empty()) {
      if (data_dir.empty()) data_dir = "ampere-data";
      std::filesystem::create_directories(data_dir);
      store_url = "sqlite:" + (std::filesystem::path(data_dir) / "ampere.db").string();
    }
    std::signal(SIGINT, on_signal);
    std::signal(SIGTERM, on_signal);
    zmq::context_t context;
    ampere::StorePtr store = ampere::open_store(store_url);
    spdlog::info("store {}", store_url);
    ampere::CoordinatorServer server(context, *store, config);
    server.run(g_stop);
  });
}
