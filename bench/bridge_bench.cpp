// bench/bridge: estimates per second and latency percentiles of POST /v1/estimate on loopback with
// 1, 8 and 64 concurrent keep-alive clients: distinct models (every request a reply-cache miss),
// repeated models (64, cache hits), and batches of 32 distinct models per POST /v1/estimate:batch
// (estimates/s counts estimates; latency is per request). The bridge serves a store filled by a
// simulated cnn5 campaign run in-process (server profile, budget 20/kind), as ampere-coordinator
// --http would. Also prints the handler's own cost without HTTP. Prints what it measured; not a test.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <thread>
#include <vector>

#include <arpa/inet.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include "agent/simulated_device.hpp"
#include "bench/bench_support.hpp"
#include "common/layer_parser.hpp"
#include "common/layer_shapes.hpp"
#include "coordinator/planning/campaign.hpp"
#include "coordinator/http/http_bridge.hpp"
#include "coordinator/planning/kind_model.hpp"
#include "coordinator/store/store.hpp"
// After Eigen: glibc's <resolv.h> (pulled in by httplib) defines a `_res` macro Eigen uses as a name.
#include <httplib.h>

using namespace ampere;

namespace {

int free_loopback_port() {  // bind to 0, read it back, close
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  close(fd);
  return ntohs(addr.sin_port);
}

struct Load {
  double estimates_per_second = 0, p50 = 0, p99 = 0, max = 0;
  long errors = 0;
};

/// `clients` keep-alive clients, spread over `ports` in turn, posting `bodies` to `path` for
/// `seconds`; each request is `estimates_per_request` estimates. The first error is printed.
Load run_load(const std::vector<int>& ports, int clients, const std::vector<std::string>& bodies, double seconds,
              const char* path = "/v1/estimate", std::size_t estimates_per_request = 1) {
  std::atomic<bool> stop{false};
  std::vector<std::vector<double>> latencies(static_cast<std::size_t>(clients));
  std::atomic<long> errors{0};
  std::vector<std::thread> threads;
  const auto start = std::chrono::steady_clock::now();
  for (int c = 0; c < clients; ++c)
    threads.emplace_back([&, c] {
      httplib::Client client("127.0.0.1", ports[static_cast<std::size_t>(c) % ports.size()]);
      client.set_keep_alive(true);
      client.set_tcp_nodelay(true);
      std::size_t i = static_cast<std::size_t>(c) * (bodies.size() / static_cast<std::size_t>(clients));
      while (!stop.load()) {
        const auto t0 = std::chrono::steady_clock::now();
        auto r = client.Post(path, bodies[i++ % bodies.size()], "application/json");
        const double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
        if (!r || r->status != 200) {
          if (errors++ == 0)
            std::fprintf(stderr, "first error: %s\n", r ? (std::to_string(r->status) + " " + r->body.substr(0, 200)).c_str()
                                                         : httplib::to_string(r.error()).c_str());
        } else {
          latencies[static_cast<std::size_t>(c)].push_back(ms);
        }
      }
    });
  std::this_thread::sleep_for(std::chrono::duration<double>(seconds));
  stop = true;
  for (auto& t : threads) t.join();
  const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::vector<double> all;
  for (const auto& l : latencies) all.insert(all.end(), l.begin(), l.end());
  std::sort(all.begin(), all.end());
  auto pct = [&](double p) { return all.empty() ? 0.0 : all[std::min(all.size() - 1, static_cast<std::size_t>(p * all.size()))]; };
  return {static_cast<double>(all.size() * estimates_per_request) / elapsed, pct(0.5), pct(0.99), all.empty() ? 0.0 : all.back(),
          errors.load()};
}

/// `ampere-bridge` processes on the store, 1 then 2 (... up to `replicas`) side by side, under the
/// same load: what a second replica adds on this machine.
void replicas_run(const std::string& db, int replicas, const std::vector<std::string>& distinct, double seconds) {
  std::printf("\nampere-bridge replicas (own processes, store sqlite, distinct cnn5 models, keep-alive clients spread over the "
              "replicas in turn, %.0f s per level; this machine has %u cores shared by clients and replicas)\n",
              seconds, std::thread::hardware_concurrency());
  std::printf("%9s %8s %14s %10s %10s %8s\n", "replicas", "clients", "estimates/s", "p50_ms", "p99_ms", "errors");
  std::vector<pid_t> pids;
  std::vector<int> ports;
  for (int r = 1; r <= replicas; ++r) {
    const int port = free_loopback_port();
    const std::string binary = beside_this_binary("ampere-bridge");
    const std::string http = "127.0.0.1:" + std::to_string(port), store = "sqlite:" + db;
    const pid_t pid = fork();
    if (pid == 0) {
      const int null = ::open("/dev/null", O_WRONLY);
      dup2(null, 1);
      dup2(null, 2);
      execl(binary.c_str(), binary.c_str(), "--store", store.c_str(), "--http", http.c_str(), "--coordinator", "tcp://127.0.0.1:1",
            static_cast<char*>(nullptr));
      _exit(127);
    }
    pids.push_back(pid);
    ports.push_back(port);
    for (int i = 0; i < 200; ++i) {  // ready: its snapshot loaded
      httplib::Client probe("127.0.0.1", port);
      if (auto res = probe.Get("/readyz"); res && res->status == 200) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    for (int clients : {8, 64}) {
      const Load l = run_load(ports, clients, distinct, seconds);
      std::printf("%9d %8d %14.0f %10.3f %10.3f %8ld\n", r, clients, l.estimates_per_second, l.p50, l.p99, l.errors);
    }
  }
  for (const pid_t pid : pids) {
    kill(pid, SIGTERM);
    waitpid(pid, nullptr, 0);
  }
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> positional;
  int replicas = 0;
  for (int i = 1; i < argc; ++i) {
    if (std::string(argv[i]) == "--replicas" && i + 1 < argc) replicas = std::stoi(argv[++i]);
    else positional.push_back(argv[i]);
  }
  const double seconds_per_level = positional.size() > 0 ? std::stod(positional[0]) : 5.0;
  const std::size_t cache_entries = positional.size() > 1 ? std::stoul(positional[1]) : BridgeConfig{}.cache_entries;
  const std::string db = (std::filesystem::temp_directory_path() / ("ampere-bench-bridge-" + std::to_string(getpid()) + ".db")).string();
  const ModelSpec family = load_model_spec(std::string(AMPERE_SOURCE_DIR) + "/models/cnn5.json");
  {
    StorePtr store = open_store("sqlite:" + db);
    const std::uint64_t id = store->create_campaign({0, to_json(family).dump(), "sim-server", 20, "max-variance", CampaignState::Done});
    CampaignSettings settings;
    settings.budget_per_kind = 20;
    Campaign campaign(id, family, "sim-server", settings);
    const SimulatedDevice device(simulated_profile("server"));
    std::uint64_t seed = 0;
    while (!campaign.done())
      for (const PlannedJob& job : campaign.plan(1)) {
        JobRecord record;
        record.campaign_id = id;
        record.kind_key = job.kind.str();
        record.channels = job.channels;
        record.variant_json = to_json(job.variant).dump();
        const std::uint64_t job_id = store->create_jobs({record}).at(0);
        const Measurement m = device.measure(job.variant, 5, ++seed);
        store->store_result({job_id, "bench", m});
        campaign.add_result(job.kind, job.channels, m);
      }
    for (const auto& [key, model] : campaign.models()) store->save_kind_model(id, key.str(), kind_model_to_json(model).dump());
  }
  zmq::context_t context;
  BridgeConfig config;
  config.port = free_loopback_port();
  config.cache_entries = cache_entries;
  StoreSnapshotRefresher snapshots("sqlite:" + db, std::chrono::milliseconds(60000));
  snapshots.start();
  // estimates never touch the coordinator
  HttpBridge bridge(snapshots, [&context] {
    return std::make_unique<CoordinatorClient>(context, "tcp://127.0.0.1:1", std::chrono::milliseconds(5000));
  }, config);
  bridge.start();
  std::this_thread::sleep_for(std::chrono::milliseconds(500));

  // Distinct: more models than the bridge's reply cache holds (4096), each request a cache miss.
  // Repeated: 64 models asked again and again (a pipeline re-checking its architectures).
  std::vector<std::string> distinct, repeated;
  for (int i = 0; i < 20000; ++i)
    distinct.push_back(nlohmann::json{{"model", to_json(sample_model(family, 1000 + i))}, {"device_class", "sim-server"},
                                      {"iterations", 1000}}
                           .dump());
  repeated.assign(distinct.begin(), distinct.begin() + 64);
  // Batches: 32 distinct models per POST /v1/estimate:batch (a pipeline estimating a sweep).
  constexpr std::size_t kBatch = 32;
  std::vector<std::string> batches;
  for (std::size_t b = 0; b + kBatch <= distinct.size(); b += kBatch) {
    nlohmann::json requests = nlohmann::json::array();
    for (std::size_t i = b; i < b + kBatch; ++i) requests.push_back(nlohmann::json::parse(distinct[i]));
    batches.push_back(nlohmann::json{{"requests", requests}}.dump());
  }
  if (replicas > 0) {  // the replicas alone: one run, 1..N processes side by side
    bridge.stop();      // the in-process one takes no part
    replicas_run(db, replicas, distinct, seconds_per_level);
    for (const char* suffix : {"", "-wal", "-shm"}) std::filesystem::remove(db + suffix);
    std::printf("reproduce: build/bin/bench_bridge %g --replicas %d\n", seconds_per_level, replicas);
    return 0;
  }
  std::printf("bench/bridge: POST /v1/estimate (cnn5 models, 5 blocks each), keep-alive clients on loopback, %.0f s per "
              "level, reply cache %zu entries\n",
              seconds_per_level, cache_entries);
  {  // the handler's work without HTTP: parse the body and the spec, estimate, write the JSON
    StorePtr store = open_store("sqlite:" + db);
    const auto snapshot = load_snapshot(*store);
    double parse_s = 0, spec_s = 0, estimate_s = 0, dump_s = 0, blocks_s = 0, cost_s = 0, flops_seen = 0;
    std::size_t blocks_seen = 0;
    const std::size_t n = 5000;
    std::size_t bytes = 0;
    for (std::size_t i = 0; i < n; ++i) {
      const auto t0 = std::chrono::steady_clock::now();
      const nlohmann::json body = nlohmann::json::parse(distinct[i]);
      const auto t1 = std::chrono::steady_clock::now();
      const ModelSpec model = parse_model_spec(body.at("model"));
      const auto t2 = std::chrono::steady_clock::now();
      const nlohmann::json out = snapshot->catalog.estimator().estimate(model, "sim-server", 1000);
      const auto t3 = std::chrono::steady_clock::now();
      bytes += out.dump().size();
      const auto t4 = std::chrono::steady_clock::now();
      // the two model walks inside the estimate, timed again on their own
      blocks_seen += parse_blocks(model).size();
      const auto t5 = std::chrono::steady_clock::now();
      flops_seen += model_cost(model).training_flops_per_iteration;
      const auto t6 = std::chrono::steady_clock::now();
      blocks_s += std::chrono::duration<double>(t5 - t4).count();
      cost_s += std::chrono::duration<double>(t6 - t5).count();
      parse_s += std::chrono::duration<double>(t1 - t0).count();
      spec_s += std::chrono::duration<double>(t2 - t1).count();
      estimate_s += std::chrono::duration<double>(t3 - t2).count();
      dump_s += std::chrono::duration<double>(t4 - t3).count();
    }
    const double total = parse_s + spec_s + estimate_s + dump_s;
    std::printf("handler work without HTTP, one thread, %zu distinct models: %.0f estimates/s (per estimate: parse body "
                "%.1f us, spec %.1f us, estimate %.1f us (of which blocks and kind keys %.1f us, FLOPs %.1f us), reply "
                "JSON %.1f us; %zu bytes)\n",
                n, n / total, 1e6 * parse_s / n, 1e6 * spec_s / n, 1e6 * estimate_s / n, 1e6 * blocks_s / n,
                1e6 * cost_s / n, 1e6 * dump_s / n, bytes / n);
    if (blocks_seen != 5 * n || !(flops_seen > 0)) std::fprintf(stderr, "unexpected block count %zu\n", blocks_seen);
  }
  std::printf("%9s %8s %14s %10s %10s %10s %8s\n", "models", "clients", "estimates/s", "p50_ms", "p99_ms", "max_ms", "errors");
  struct Scenario {
    const char* label;
    const std::vector<std::string>* bodies;
    const char* path;
    std::size_t estimates_per_request;
  };
  for (const Scenario& scenario : {Scenario{"distinct", &distinct, "/v1/estimate", 1},
                                   Scenario{"repeated", &repeated, "/v1/estimate", 1},
                                   Scenario{"batch32", &batches, "/v1/estimate:batch", kBatch}})
  for (int clients : {1, 8, 64}) {
    const Load l = run_load({config.port}, clients, *scenario.bodies, seconds_per_level, scenario.path, scenario.estimates_per_request);
    std::printf("%9s %8d %14.0f %10.3f %10.3f %10.3f %8ld\n", scenario.label, clients, l.estimates_per_second, l.p50, l.p99, l.max,
                l.errors);
  }
  bridge.stop();
  for (const char* suffix : {"", "-wal", "-shm"}) std::filesystem::remove(db + suffix);
  std::printf("reproduce: build/bin/bench_bridge %g %zu\n", seconds_per_level, cache_entries);
  return 0;
}
