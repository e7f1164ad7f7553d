// ampere-coordinator: owns campaigns, GPs and the store; agents and clients talk to it over ZeroMQ.
#include <unistd.h>

#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <optional>
#include <thread>

#include <CLI/CLI.hpp>
#include <spdlog/spdlog.h>

#include "protocol.capnp.h"

#include "common/clock.hpp"
#include "common/error.hpp"
#include "coordinator/http/http_bridge.hpp"
#include "coordinator/http/openapi.hpp"
#include "coordinator/http/snapshot.hpp"
#include "coordinator/server/coordinator_server.hpp"
#include "coordinator/server/leadership_loop.hpp"
#include "coordinator/server/zmq_transport.hpp"
#include "coordinator/store/result_spool.hpp"
#include "program/command_line.hpp"
#include "program/service_notifier.hpp"
#include "program/log/logging.hpp"
#include "security/allow_list.hpp"
#include "security/certificate.hpp"
#include "security/curve_client.hpp"
#include "security/zap_handler.hpp"

namespace {
std::atomic<bool> g_stop{false};
std::atomic<bool> g_reload{false};
void on_signal(int) { g_stop = true; }
void on_hangup(int) { g_reload = true; }
}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"ampere-coordinator: profiling campaigns and estimates for a fleet of agents"};
  std::string store_url, data_dir;
  std::string agents_endpoint = "tcp://127.0.0.1:5555", clients_endpoint = "tcp://127.0.0.1:5556";
  std::string spool_path;
  std::size_t spool_capacity = 10000;
  ampere::CoordinatorConfig config;
  int heartbeat_ms = static_cast<int>(config.heartbeat_timeout.count());
  app.add_option("--store", store_url,
                 "sqlite:PATH or postgresql://USER@HOST:PORT/DB (default: sqlite:DATA_DIR/ampere.db); a password goes "
                 "in --store-password-file, never on the command line");
  std::string store_password_file;
  app.add_option("--store-password-file", store_password_file,
                 "file whose first line is the PostgreSQL password (e.g. a systemd credential: %d/NAME)")
      ->check(CLI::ExistingFile);
  app.add_option("--data-dir", data_dir, "where the default store lives (default: ./ampere-data)");
  app.add_option("--agents", agents_endpoint, "ZeroMQ endpoint for agents")->capture_default_str();
  app.add_option("--clients", clients_endpoint, "ZeroMQ endpoint for the ampere CLI")->capture_default_str();
  app.add_option("--warmup", config.warmup_iterations, "warm-up iterations per job")->capture_default_str();
  app.add_option("--repeats", config.repeats, "measured repeats per job (the fewest, with --repeat-cap)")
      ->capture_default_str()
      ->check(CLI::Range(1, 100));
  app.add_option("--repeat-cap", config.repeat_cap,
                 "repeat until the repeats agree (--agreement) or this many; <= --repeats: exactly --repeats (the paper's)")
      ->capture_default_str()
      ->check(CLI::Range(1, 1000));
  app.add_option("--agreement", config.agreement,
                 "repeats agree when the 90% bootstrap half-width of their minimum is within this share of it")
      ->capture_default_str()
      ->check(CLI::Range(1e-6, 0.99));
  app.add_option("--window", config.window_seconds, "seconds per repeat (0: the agent's meter default)")
      ->capture_default_str()
      ->check(CLI::Range(0.0, 3600.0));
  app.add_option("--iterations", config.iterations, "iterations per repeat (0: the agent picks one window's worth)")->capture_default_str();
  app.add_option("--heartbeat-timeout-ms", heartbeat_ms, "an agent silent this long is lost")->capture_default_str();
  int job_deadline_minutes = static_cast<int>(config.job_deadline.count());
  app.add_option("--job-deadline", job_deadline_minutes,
                 "minutes a job may run from when it is handed out; past it (and a grace) it is re-queued as a failed "
                 "attempt, and the agent stops its trainer")
      ->capture_default_str()
      ->check(CLI::Range(1, 7 * 24 * 60));
  app.add_option("--seed", config.seed, "seed of the GP restarts")->capture_default_str();
  app.add_option("--spool", spool_path,
                 "file for results that arrive while the store is unreachable (default: beside the SQLite file, else DATA_DIR/result-spool.jsonl)");
  app.add_option("--spool-capacity", spool_capacity, "results the spool holds at most")
      ->capture_default_str()
      ->check(CLI::Range(std::size_t{1}, std::size_t{10000000}));
  app.add_option("--holdout", config.holdout_models,
                 "concrete models per campaign measured whole to score live estimates (ampere_heldout_mape_ratio)")
      ->capture_default_str();
  app.add_flag("--calibration-correction", config.calibration_correction,
               "serve subtractive fits multiplied by the factor their calibration models show (docs/method.md §11; "
               "measured worse on the simulated profiles, so off)");
  std::string channel_steps = ampere::channel_step_search_name(config.channel_steps);
  app.add_option("--channel-steps", channel_steps,
                 "look for each kind's channel quantization: probe points beside step edges, and the GP reads channels "
                 "through the steps of highest likelihood (docs/method.md §14)")
      ->capture_default_str()
      ->check(CLI::IsMember({"off", "probe"}));
  double max_job_memory_gb = 0;
  app.add_option("--max-job-memory", max_job_memory_gb,
                 "GB (1e9 bytes) a variant network may need to train (weights, gradients, kept activations, from its "
                 "shapes); a family with a larger one is refused at start, naming the kind and the bytes (0: no limit)")
      ->capture_default_str()
      ->check(CLI::Range(0.0, 1e6));
  std::string http, token_file, metrics_address;
  app.add_option("--metrics", metrics_address, "serve Prometheus /metrics on ADDR:PORT (off unless given)");
  std::size_t max_body = 1 << 20;
  app.add_option("--http", http, "serve the HTTP bridge on ADDR:PORT (off unless given)");
  app.add_option("--token-file", token_file, "file holding the bearer token for HTTP writes")->check(CLI::ExistingFile);
  std::string read_token_file;
  app.add_option("--read-token-file", read_token_file,
                 "file holding a bearer token HTTP reads under /v1/ then need (the write token works too); without it reads are open")
      ->check(CLI::ExistingFile);
  app.add_option("--max-body", max_body, "largest HTTP request body in bytes")->capture_default_str();
  std::string curve_secret_key, authorized_agents, authorized_clients;
  app.add_option("--curve-secret-key", curve_secret_key,
                 "the coordinator's secret certificate (ampere keys generate): both sockets use CURVE, and only keys "
                 "listed by --authorized-agents and --authorized-clients connect (docs/security.md); without it only "
                 "loopback endpoints are bound")
      ->check(CLI::ExistingFile);
  app.add_option("--authorized-agents", authorized_agents, "directory of agents' public certificates (re-read on SIGHUP)")
      ->check(CLI::ExistingDirectory);
  app.add_option("--authorized-clients", authorized_clients,
                 "directory of clients' public certificates, each with its role (reader, operator; re-read on SIGHUP)")
      ->check(CLI::ExistingDirectory);
  bool ha = false;
  app.add_flag("--ha", ha,
               "high availability: run beside other coordinators on the same PostgreSQL store, one leading at a time "
               "(a lease; the others stand by and answer \"not the leader\"); agents and clients list every "
               "coordinator's endpoint (docs/operations.md)");
  bool print_openapi = false;
  app.add_flag("--print-openapi", print_openapi, "print the HTTP bridge's OpenAPI 3.0 document and exit (generate clients from it)");
  ampere::LogOptions log;
  ampere::add_log_options(app, log);
  const ampere::ParsedCommandLine parsed = ampere::parse_command_line(
      app, argc, argv,
      {"ampere-coordinator", {{"wire protocol", std::to_string(ampere::wire::PROTOCOL_VERSION)}}, /*config_file=*/true,
       /*environment=*/true});
  if (parsed.exit_status) return *parsed.exit_status;
  if (print_openapi) {
    std::cout << ampere::openapi_document() << "\n";
    return 0;
  }
  // Secrets never on a command line (ps shows it to every user): a file, the environment or a credential.
  if (parsed.source("store") == ampere::OptionSource::CommandLine && ampere::store_url_has_password(store_url)) {
    std::cerr << "error: --store: a password on the command line is visible to every user (ps); put it in "
                 "--store-password-file, or the URL in the config file or AMPERE_STORE\n";
    return 2;
  }
  config.max_job_memory_bytes = max_job_memory_gb * 1e9;
  config.channel_steps = ampere::parse_channel_step_search(channel_steps);
  ampere::start_logging(log);
  if (!parsed.config_file.empty()) spdlog::info("options from {} (the environment and the command line override it)", parsed.config_file);
  config.heartbeat_timeout = std::chrono::milliseconds(heartbeat_ms);
  config.job_deadline = std::chrono::minutes(job_deadline_minutes);
  return ampere::run_reporting_errors([&] {
    if (!store_password_file.empty()) store_url = ampere::store_url_with_password_file(store_url, store_password_file);
    if (ha) {  // several coordinators share one store: only PostgreSQL can arbitrate, and no result waits in a local spool
      AMPERE_REQUIRE(store_url.rfind("postgresql://", 0) == 0 || store_url.rfind("postgres://", 0) == 0,
                     "--ha: needs a PostgreSQL store (--store postgresql://...): the lease and the fencing live in "
                     "PostgreSQL, and an SQLite file belongs to one machine");
      AMPERE_REQUIRE(spool_path.empty(), "--ha: --spool cannot be used: a result spooled on one coordinator's disk "
                                         "would wait for that machine; with --ha a result is acknowledged only once "
                                         "committed, and agents send it again meanwhile");
    }
    if (data_dir.empty()) data_dir = "ampere-data";
    if (store_url.empty()) {
      std::filesystem::create_directories(data_dir);
      store_url = "sqlite:" + (std::filesystem::path(data_dir) / "ampere.db").string();
    }
    if (!ha && spool_path.empty()) {  // beside an SQLite file, else in the data dir
      if (store_url.rfind("sqlite:", 0) == 0) {
        spool_path = store_url.substr(7) + ".spool.jsonl";
      } else {
        std::filesystem::create_directories(data_dir);
        spool_path = (std::filesystem::path(data_dir) / "result-spool.jsonl").string();
      }
    }
    // Everything with authority is made here and handed down: metrics, clock, sockets, store.
    ampere::CoordinatorMetrics metrics;
    if (!metrics_address.empty()) {
      metrics.serve(metrics_address);
      spdlog::info("metrics on http://{}/metrics", metrics_address);
    }
    std::signal(SIGINT, on_signal);
    std::signal(SIGTERM, on_signal);
    const ampere::SystemClock clock;
    zmq::context_t context;
    // CURVE: the allow-lists and the ZAP handler come first (libzmq admits everyone while no
    // handler answers), then the sockets bind.
    std::unique_ptr<ampere::AuthorizedPeers> peers;
    std::unique_ptr<ampere::ZapHandler> zap;
    ampere::Certificate own;
    if (!curve_secret_key.empty()) {
      own = ampere::load_certificate(curve_secret_key);
      AMPERE_REQUIRE(own.has_secret(), "--curve-secret-key ", curve_secret_key, ": needs a secret certificate (NAME.key_secret)");
      AMPERE_REQUIRE(!authorized_agents.empty() || !authorized_clients.empty(),
                     "--curve-secret-key needs --authorized-agents and/or --authorized-clients (nobody could connect)");
      peers = std::make_unique<ampere::AuthorizedPeers>(authorized_agents, authorized_clients);
      zap = std::make_unique<ampere::ZapHandler>(context, *peers);
      std::signal(SIGHUP, on_hangup);
      spdlog::info("CURVE on: {} authorized agent key(s), {} client key(s)", peers->agents(), peers->clients());
    } else {
      AMPERE_REQUIRE(authorized_agents.empty() && authorized_clients.empty(),
                     "--authorized-agents and --authorized-clients need --curve-secret-key");
    }
    ampere::ZmqTransport transport(context, agents_endpoint, clients_endpoint, own.secret_key, zap.get());
    ampere::StorePtr store = ampere::open_store(store_url);  // migrated; with --ha each term opens its own, fenced
    spdlog::info("store {}", ampere::redact_store_url(store_url));
    std::unique_ptr<ampere::CoordinatorServer> server;
    std::atomic<bool> leading{!ha};
    if (!ha) {
      server = std::make_unique<ampere::CoordinatorServer>(
          transport, *store, clock, std::make_unique<ampere::ResultSpool>(spool_path, spool_capacity), config, metrics);
      if (peers) server->require_keys(*peers);
    } else {
      store.reset();
    }
    std::thread reloader;  // SIGHUP: the allow-lists re-read (a bad directory keeps the old lists)
    if (peers)
      reloader = std::thread([&peers] {
        while (!g_stop.load()) {
          std::this_thread::sleep_for(std::chrono::milliseconds(200));
          if (!g_reload.exchange(false)) continue;
          try {
            peers->reload();
            spdlog::info("SIGHUP: allow-lists re-read: {} agent key(s), {} client key(s)", peers->agents(), peers->clients());
          } catch (const std::exception& e) {
            spdlog::error("SIGHUP: allow-lists not re-read, the old ones stay: {}", e.what());
          }
        }
      });
    std::unique_ptr<ampere::StoreSnapshotRefresher> snapshots;
    std::unique_ptr<ampere::HttpBridge> bridge;
    if (!http.empty()) {
      ampere::BridgeConfig b;
      b.max_body_bytes = max_body;
      ampere::apply_bridge_options(b, http, token_file, read_token_file);
      // The bridge reads its own store handle (off the loop) and writes through the client socket.
      snapshots = std::make_unique<ampere::StoreSnapshotRefresher>(store_url, std::chrono::milliseconds(1000));
      // With CURVE the bridge connects with its own operator key, made now and known only here.
      std::optional<ampere::CurveClientKeys> bridge_keys;
      if (peers) {
        const ampere::Certificate bridge_certificate = ampere::generate_certificate();
        peers->add_client(bridge_certificate.public_key, ampere::PeerRole::Operator);
        bridge_keys = ampere::CurveClientKeys{bridge_certificate.public_key, bridge_certificate.secret_key, own.public_key};
      }
      auto client = [&context, clients_endpoint, bridge_keys] {
        return std::make_unique<ampere::CoordinatorClient>(context, clients_endpoint, std::chrono::milliseconds(5000),
                                                           bridge_keys);
      };
      if (ha) b.standby = [&leading] { return !leading.load(); };
      bridge = std::make_unique<ampere::HttpBridge>(*snapshots, client, b, &metrics);
      bridge->start();
      snapshots->start();
    }
    spdlog::info("coordinator serving agents on {} and clients on {}", agents_endpoint, clients_endpoint);
    // systemd (Type=notify): ready once every socket is bound; the watchdog is fed by the loop itself.
    ampere::ServiceNotifier notifier;
    notifier.ready();
    notifier.status("serving agents on " + agents_endpoint + " and clients on " + clients_endpoint);
    if (server) {
      server->run(g_stop, [&notifier] { notifier.keep_alive(); });
    } else {
      char host[256] = {0};
      gethostname(host, sizeof host - 1);
      ampere::LeadershipSettings lease{store_url, std::string(host) + " pid " + std::to_string(getpid()) + " agents " + agents_endpoint};
      ampere::run_with_lease(transport, clock, config, metrics, lease, g_stop, &leading, [&notifier] { notifier.keep_alive(); },
                             [&peers](ampere::CoordinatorServer& s) {
                               if (peers) s.require_keys(*peers);
                             });
    }
    notifier.stopping();
    g_stop = true;
    if (reloader.joinable()) reloader.join();
    if (bridge) bridge->stop();
    if (snapshots) snapshots->stop();
  });
}
