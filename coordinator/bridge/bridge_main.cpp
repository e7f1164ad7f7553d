// ampere-bridge: the HTTP bridge as a process of its own, beside the coordinators (docs/operations.md,
// "High availability"). It reads its snapshot of fitted models from the store (PostgreSQL: woken by
// the leader's NOTIFY, polled as a fallback), answers reads itself, and forwards writes and live
// fleet state to the leader through the coordinators' client endpoints (a comma list: it asks the
// next one when one does not answer or stands by). It holds no state: run as many as the load
// needs, behind any HTTP load balancer.
#include <csignal>
#include <iostream>
#include <optional>
#include <thread>

#include <CLI/CLI.hpp>
#include <spdlog/spdlog.h>

#include "protocol.capnp.h"

#include "common/error.hpp"
#include "coordinator/http/http_bridge.hpp"
#include "coordinator/http/snapshot.hpp"
#include "program/command_line.hpp"
#include "program/log/logging.hpp"
#include "program/service_notifier.hpp"
#include "security/curve_client.hpp"

namespace {
std::atomic<bool> g_stop{false};
void on_signal(int) { g_stop = true; }
}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"ampere-bridge: the HTTP bridge (estimates, plans, campaigns) as its own process, for replicas beside the coordinators"};
  std::string store_url, store_password_file, coordinator = "tcp://127.0.0.1:5556", http = "127.0.0.1:8080";
  std::string token_file, read_token_file, key_file, coordinator_key_file;
  ampere::BridgeConfig config;
  int refresh_ms = 5000, timeout_ms = 10000;
  app.add_option("--store", store_url,
                 "where the fitted models are read: postgresql://USER@HOST:PORT/DB (the coordinators' store), or sqlite:PATH "
                 "on the coordinator's machine; required");
  app.add_option("--store-password-file", store_password_file, "file whose first line is the PostgreSQL password")
      ->check(CLI::ExistingFile);
  app.add_option("--coordinator", coordinator,
                 "the coordinators' client endpoints, a comma list (writes and live fleet state go to the one that leads)")
      ->capture_default_str();
  app.add_option("--key", key_file, "this bridge's secret certificate (CURVE; an operator's, for writes)");
  app.add_option("--coordinator-key", coordinator_key_file, "the coordinators' public certificate (CURVE)");
  app.add_option("--http", http, "serve on ADDR:PORT")->capture_default_str();
  app.add_option("--token-file", token_file, "file holding the bearer token for writes")->check(CLI::ExistingFile);
  app.add_option("--read-token-file", read_token_file,
                 "file holding a bearer token reads under /v1/ then need (the write token works too); without it reads are open")
      ->check(CLI::ExistingFile);
  app.add_option("--max-body", config.max_body_bytes, "largest request body in bytes")->capture_default_str();
  app.add_option("--threads", config.threads, "handler threads (a keep-alive client holds one)")
      ->capture_default_str()
      ->check(CLI::Range(std::size_t{1}, std::size_t{4096}));
  app.add_option("--refresh-ms", refresh_ms,
                 "check the store for new fitted models at least this often (PostgreSQL also wakes the bridge on every change)")
      ->capture_default_str()
      ->check(CLI::Range(200, 3600000));
  app.add_option("--timeout-ms", timeout_ms, "how long a forwarded request may wait for a leader to answer")
      ->capture_default_str()
      ->check(CLI::Range(100, 600000));
  std::string metrics_address;
  app.add_option("--metrics", metrics_address,
                 "serve Prometheus /metrics on ADDR:PORT (estimates answered, by status, and their latency; off unless given)");
  ampere::LogOptions log;
  ampere::add_log_options(app, log);
  const ampere::ParsedCommandLine parsed = ampere::parse_command_line(
      app, argc, argv,
      {"ampere-bridge", {{"wire protocol", std::to_string(ampere::wire::PROTOCOL_VERSION)}}, /*config_file=*/true,
       /*environment=*/true});
  if (parsed.exit_status) return *parsed.exit_status;
  if (parsed.source("store") == ampere::OptionSource::CommandLine && ampere::store_url_has_password(store_url)) {
    std::cerr << "error: --store: a password on the command line is visible to every user (ps); put it in "
                 "--store-password-file, or the URL in the config file or AMPERE_STORE\n";
    return 2;
  }
  ampere::start_logging(log);
  return ampere::run_reporting_errors([&] {
    AMPERE_REQUIRE(!store_url.empty(), "--store: required (postgresql://USER@HOST:PORT/DB, or sqlite:PATH)");
    if (!store_password_file.empty()) store_url = ampere::store_url_with_password_file(store_url, store_password_file);
    ampere::apply_bridge_options(config, http, token_file, read_token_file);
    const ampere::CoordinatorEndpoints endpoints(coordinator);  // refused here, by name, when malformed
    const std::optional<ampere::CurveClientKeys> keys = ampere::curve_client_keys(key_file, coordinator_key_file);
    std::signal(SIGINT, on_signal);
    std::signal(SIGTERM, on_signal);
    zmq::context_t context;
    ampere::StoreSnapshotRefresher snapshots(store_url, std::chrono::milliseconds(refresh_ms));
    auto client = [&context, coordinator, keys, timeout_ms] {
      return std::make_unique<ampere::CoordinatorClient>(context, coordinator, std::chrono::milliseconds(timeout_ms), keys);
    };
    ampere::CoordinatorMetrics metrics(ampere::CoordinatorMetrics::Component::Bridge);
    if (!metrics_address.empty()) {
      metrics.serve(metrics_address);
      spdlog::info("metrics on http://{}/metrics", metrics_address);
    }
    ampere::HttpBridge bridge(snapshots, client, config, &metrics);
    bridge.start();
    snapshots.start();
    spdlog::info("bridge serving http://{} from store {}; writes to {}", http, ampere::redact_store_url(store_url),
                 endpoints.describe());
    ampere::ServiceNotifier notifier;
    notifier.ready();
    notifier.status("serving http://" + http);
    while (!g_stop.load()) {
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
      notifier.keep_alive();
    }
    notifier.stopping();
    bridge.stop();
    snapshots.stop();
    spdlog::info("bridge stopped");
  });
}
