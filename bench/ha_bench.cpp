// bench_ha: the chaos soak of high availability (docs/operations.md, "High availability").
// PostgreSQL started here on loopback, two `ampere-coordinator --ha` on it, a simulated fleet
// writing its --tally-file, bridges (`ampere-bridge`) under read load; the leader is killed with
// SIGKILL every KILL_MIN..KILL_MAX seconds (and started again, to stand by), and PostgreSQL itself
// is restarted once halfway. Prints failovers, the time from each kill to the first job the new
// leader hands out (p50, max), results acknowledged against results stored (lost, acknowledged
// twice), campaigns finished, and bridge reads answered and failed. Exits 1 when a result was
// lost or acknowledged twice, a failover took longer than --max-failover-s, or no failover
// happened; so its short form (--short) is an integration test.
//   bench_ha [--agents 200] [--duration-s 300] [--kill-min-s 20] [--kill-max-s 40] [--pace-ms 200]
//            [--bridges 2] [--readers 4] [--max-failover-s 10] [--seed 1] [--curve] [--short] [--keep DIR]
#include <signal.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <httplib.h>
#include <nlohmann/json.hpp>
#include <pqxx/pqxx>
#include <zmq.hpp>

#include "bench/bench_keys.hpp"
#include "bench/bench_support.hpp"
#include "common/model_spec.hpp"
#include "coordinator/client/coordinator_client.hpp"
#include "coordinator/store/store.hpp"
#include "integration/postgres_server.hpp"
#include "integration/process.hpp"

namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;
const std::vector<std::string> kProfiles = {"oppo", "iphone", "xavier", "tx2", "server"};

struct Options {
  int agents = 200;
  int duration_s = 300;
  int kill_min_s = 20, kill_max_s = 40;
  int pace_ms = 200;
  int bridges = 2;
  int readers = 4;
  double max_failover_s = 10;
  unsigned seed = 1;
  bool curve = false;  ///< CURVE on every socket: both coordinators share one key pair
  std::string keep;  ///< keep logs here (else a temp dir, removed)
};

double since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

std::string slurp(const std::string& path) {
  std::ifstream in(path);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

/// The leadership row and how many jobs were ever handed out (the sum of attempts only grows, one
/// per hand-out, written by the leader in the turn it hands the job out).
struct Probe {
  std::uint64_t epoch = 0;
  int leader_pid = 0;
  std::uint64_t handed_out = 0;
};

std::optional<Probe> probe(const std::string& url) {
  try {
    pqxx::connection c(url + "?connect_timeout=2");
    pqxx::read_transaction r(c);
    Probe p;
    const pqxx::result l = r.exec("SELECT epoch, holder FROM leadership WHERE id = 1");
    if (!l.empty()) {
      p.epoch = l[0][0].as<std::uint64_t>();
      const std::string holder = l[0][1].as<std::string>();
      const auto at = holder.find(" pid ");
      if (at != std::string::npos) p.leader_pid = std::atoi(holder.c_str() + at + 5);
    }
    p.handed_out = r.exec("SELECT COALESCE(SUM(attempts), 0) FROM jobs")[0][0].as<std::uint64_t>();
    return p;
  } catch (const std::exception&) {
    return std::nullopt;  // the database is away (restarting)
  }
}

struct Coordinator {
  std::string agents, clients, metrics, log;
  std::vector<std::string> args;
  std::unique_ptr<ampere::testing::BackgroundProcess> process;
  void start() {
    process = std::make_unique<ampere::testing::BackgroundProcess>(ampere::beside_this_binary("ampere-coordinator"), args, log);
  }
};

struct Bridge {
  int port = 0;
  std::unique_ptr<ampere::testing::BackgroundProcess> process;
};

/// Readers: each thread asks the bridges in turn (GET /v1/campaigns, POST /v1/estimate once models
/// exist), counting answers (2xx, 4xx that are the request's own fault) and failures (5xx, no answer).
struct ReadLoad {
  std::atomic<std::uint64_t> answered{0}, failed{0};
  std::atomic<bool> stop{false};
  std::vector<std::thread> threads;
  std::string estimate_body;
  std::mutex mutex;
  std::map<std::string, int> failures;  ///< route and status (or "no answer") -> count
  std::map<std::string, double> slowest;  ///< route -> the longest a read took, seconds
  void run(const std::vector<int>& ports, int readers) {
    for (int t = 0; t < readers; ++t)
      threads.emplace_back([this, ports, t] {
        std::size_t i = static_cast<std::size_t>(t);
        while (!stop.load()) {
          httplib::Client client("127.0.0.1", ports[i++ % ports.size()]);
          client.set_connection_timeout(2, 0);
          client.set_read_timeout(15, 0);  // longer than a failover: a read the leader answers waits it out
          const auto asked = Clock::now();
          const auto res = (i % 2 == 0) ? client.Get("/v1/campaigns") : client.Post("/v1/estimate", estimate_body, "application/json");
          // 404/422: the class or its kinds are not profiled yet (the reader's question, answered)
          {
            const std::lock_guard<std::mutex> lock(mutex);
            double& worst = slowest[i % 2 == 0 ? "GET /v1/campaigns" : "POST /v1/estimate"];
            worst = std::max(worst, since(asked));
          }
          if (res && (res->status < 500)) {
            ++answered;
          } else {
            ++failed;
            const std::lock_guard<std::mutex> lock(mutex);
            ++failures[std::string(i % 2 == 0 ? "GET /v1/campaigns" : "POST /v1/estimate") + " " +
                       (res ? std::to_string(res->status) : "no answer")];
          }
          std::this_thread::sleep_for(20ms);
        }
      });
  }
  void join() {
    stop = true;
    for (std::thread& t : threads) t.join();
  }
};

/// A family's largest member: every {"min", "max"} range replaced by its max.
nlohmann::json largest_member(const nlohmann::json& j) {
  if (j.is_object() && j.size() == 2 && j.contains("min") && j.contains("max")) return j.at("max");
  nlohmann::json out = j;
  if (j.is_object() || j.is_array())
    for (auto it = out.begin(); it != out.end(); ++it) *it = largest_member(*it);
  return out;
}

double quantile(std::vector<double> v, double q) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v[static_cast<std::size_t>(q * static_cast<double>(v.size() - 1) + 0.5)];
}

int soak(const Options& o) {
  namespace fs = std::filesystem;
  const fs::path dir = o.keep.empty() ? fs::temp_directory_path() / ("bench-ha-" + std::to_string(getpid())) : fs::path(o.keep);
  fs::remove_all(dir);
  fs::create_directories(dir);
  std::printf("== bench_ha: %d simulated agents (%d ms per job), 2 coordinators --ha, %d bridge(s) with %d reader(s); "
              "the leader SIGKILLed every %d-%d s for %d s; PostgreSQL restarted once halfway; CURVE %s\n   logs: %s\n",
              o.agents, o.pace_ms, o.bridges, o.readers, o.kill_min_s, o.kill_max_s, o.duration_s,
              o.curve ? "on (both coordinators share one key pair)" : "off", dir.c_str());
  std::fflush(stdout);
  ampere::testing::PostgresServer pg;
  const std::string url = pg.create_database();
  ampere::open_store(url);  // migrated before anyone starts
  // With CURVE: one key pair for both coordinators, one key for the whole fleet, an operator for
  // the bench and the bridges.
  std::vector<std::string> curve_coordinator, curve_fleet, curve_client;
  std::optional<ampere::CurveClientKeys> operator_keys;
  if (o.curve) {
    const ampere::BenchKeys keys = ampere::write_bench_keys(dir / "keys");
    curve_coordinator = keys.coordinator_args;
    curve_fleet = keys.fleet_args;
    curve_client = keys.operator_args;
    operator_keys = keys.operator_keys;
  }
  std::vector<Coordinator> coordinators(2);
  std::string agent_list, client_list;
  for (std::size_t i = 0; i < coordinators.size(); ++i) {
    Coordinator& c = coordinators[i];
    c.agents = "tcp://127.0.0.1:" + std::to_string(ampere::testing::free_port());
    c.clients = "tcp://127.0.0.1:" + std::to_string(ampere::testing::free_port());
    c.metrics = "127.0.0.1:" + std::to_string(ampere::testing::free_port());
    c.log = (dir / ("coordinator-" + std::to_string(i) + ".log")).string();
    c.args = {"--ha", "--store", url, "--agents", c.agents, "--clients", c.clients, "--metrics", c.metrics,
              "--data-dir", (dir / ("c" + std::to_string(i))).string(), "--holdout", "1"};
    c.args.insert(c.args.end(), curve_coordinator.begin(), curve_coordinator.end());
    agent_list += (agent_list.empty() ? "" : ",") + c.agents;
    client_list += (client_list.empty() ? "" : ",") + c.clients;
    c.start();
  }
  std::vector<Bridge> bridges(static_cast<std::size_t>(o.bridges));
  std::vector<int> bridge_ports;
  for (std::size_t i = 0; i < bridges.size(); ++i) {
    bridges[i].port = ampere::testing::free_port();
    bridge_ports.push_back(bridges[i].port);
    std::vector<std::string> args{"--store", url, "--coordinator", client_list, "--http", "127.0.0.1:" + std::to_string(bridges[i].port)};
    args.insert(args.end(), curve_client.begin(), curve_client.end());
    bridges[i].process = std::make_unique<ampere::testing::BackgroundProcess>(ampere::beside_this_binary("ampere-bridge"), args,
                                                                                (dir / ("bridge-" + std::to_string(i) + ".log")).string());
  }
  std::string profiles;
  for (const auto& p : kProfiles) profiles += (profiles.empty() ? "" : ",") + p;
  const std::string tally = (dir / "tally.json").string();
  std::vector<std::string> fleet_args{"--coordinator", agent_list, "--backend", "simulated", "--profile", profiles,
                                      "--fleet", std::to_string(o.agents), "--pace-ms", std::to_string(o.pace_ms),
                                      "--agent-id", "soak", "--tally-file", tally};
  fleet_args.insert(fleet_args.end(), curve_fleet.begin(), curve_fleet.end());
  ampere::testing::BackgroundProcess fleet(ampere::beside_this_binary("ampere-agent"), fleet_args, (dir / "fleet.log").string());
  zmq::context_t context;
  ampere::CoordinatorClient client(context, client_list, 20s, operator_keys);
  const auto t0 = Clock::now();
  int connected = 0;
  while (since(t0) < 120) {
    try {
      connected = 0;
      for (const auto& c : client.device_classes()) connected += c.value("agents", 0);
      if (connected >= o.agents) break;
    } catch (const std::exception&) {
    }
    std::this_thread::sleep_for(500ms);
  }
  std::printf("   registered: %d of %d agents in %.1f s\n", connected, o.agents, since(t0));
  // Work all the time: two campaigns running per class, a new one started as one ends.
  const std::vector<std::string> families = {"cnn5", "lenet5", "har", "lstm"};
  std::map<std::string, std::vector<std::uint64_t>> running;
  std::size_t started = 0;
  std::uint64_t top_up_failures = 0;
  const auto top_up = [&] {
    try {
      std::map<std::uint64_t, std::string> states;
      for (const auto& c : client.campaign_status(0)) states[c.at("id").get<std::uint64_t>()] = c.at("state").get<std::string>();
      for (const auto& p : kProfiles) {
        auto& ids = running["sim-" + p];
        ids.erase(std::remove_if(ids.begin(), ids.end(), [&](std::uint64_t id) { return states[id] != "running"; }), ids.end());
        while (ids.size() < 2) {
          const std::string family = slurp(std::string(AMPERE_SOURCE_DIR) + "/models/" + families[started++ % families.size()] + ".json");
          ids.push_back(client.start_campaign(family, "sim-" + p, 8, "max-variance").at("id").get<std::uint64_t>());
        }
      }
    } catch (const std::exception& e) {  // mid-failover: next time
      ++top_up_failures;
    }
  };
  top_up();
  ReadLoad reads;
  reads.estimate_body = nlohmann::json{{"device_class", "sim-tx2"},
                                       {"model", largest_member(nlohmann::json::parse(slurp(std::string(AMPERE_SOURCE_DIR) + "/models/lenet5.json")))}}
                            .dump();
  if (!bridge_ports.empty()) reads.run(bridge_ports, o.readers);

  std::mt19937 random(o.seed);
  std::uniform_int_distribution<int> gap(o.kill_min_s, o.kill_max_s);
  std::vector<double> failovers;
  int failed_failovers = 0;
  double pg_recovery = -1;
  bool pg_restarted = false;
  const auto soak_start = Clock::now();
  auto next_kill = soak_start + std::chrono::seconds(gap(random));
  auto last_top_up = Clock::now();
  // Waits until a job is handed out after `before` (a leader serving again); seconds, or -1.
  const auto first_job_after = [&](std::uint64_t before, Clock::time_point from) {
    while (since(from) < 60) {
      if (const auto p = probe(url); p && p->handed_out > before) return since(from);
      std::this_thread::sleep_for(50ms);
    }
    return -1.0;
  };
  while (since(soak_start) < o.duration_s) {
    std::this_thread::sleep_for(100ms);
    if (Clock::now() - last_top_up > 2s) {
      top_up();
      last_top_up = Clock::now();
    }
    if (!pg_restarted && since(soak_start) > o.duration_s / 2.0 && next_kill - Clock::now() > 8s) {
      const auto before = probe(url);
      const auto down = Clock::now();
      pg.stop();
      std::this_thread::sleep_for(2s);
      pg.start();
      pg_recovery = before ? first_job_after(before->handed_out, down) : -1;
      std::printf("   %5.1f s: PostgreSQL restarted (down 2 s): jobs handed out again %.2f s after it went down\n",
                  since(soak_start), pg_recovery);
      std::fflush(stdout);
      pg_restarted = true;
      continue;
    }
    if (Clock::now() < next_kill) continue;
    next_kill = Clock::now() + std::chrono::seconds(gap(random));
    const auto before = probe(url);
    if (!before || before->leader_pid == 0) continue;
    Coordinator* leader = nullptr;
    for (Coordinator& c : coordinators)
      if (c.process && c.process->pid() == before->leader_pid) leader = &c;
    if (leader == nullptr) continue;
    const auto killed = Clock::now();
    leader->process->kill_hard();
    const auto after = probe(url);  // what the dead leader had handed out, all of it
    const double took = first_job_after(after ? after->handed_out : before->handed_out, killed);
    if (took < 0) ++failed_failovers;
    else failovers.push_back(took);
    const auto now = probe(url);
    std::printf("   %5.1f s: leader (epoch %llu, pid %d) killed: the new leader (epoch %llu) handed out its first job %.2f s later\n",
                since(soak_start), static_cast<unsigned long long>(before->epoch), before->leader_pid,
                static_cast<unsigned long long>(now ? now->epoch : 0), took);
    std::fflush(stdout);
    leader->start();  // back, to stand by
  }
  std::printf("   chaos over after %.0f s; settling 10 s\n", since(soak_start));
  std::this_thread::sleep_for(10s);
  reads.join();
  fleet.stop(30000);  // the fleet writes its tally as it exits
  // Leaders at the end, by their own /metrics: exactly one.
  int leaders = 0;
  for (Coordinator& c : coordinators) {
    const auto colon = c.metrics.rfind(':');
    httplib::Client m(c.metrics.substr(0, colon), std::stoi(c.metrics.substr(colon + 1)));
    if (const auto res = m.Get("/metrics"); res && res->body.find("\nampere_coordinator_leader 1") != std::string::npos) ++leaders;
  }
  for (Bridge& b : bridges) b.process->stop();
  for (Coordinator& c : coordinators) c.process->stop(15000);

  const nlohmann::json t = nlohmann::json::parse(slurp(tally));
  std::map<std::uint64_t, int> acked;
  for (const auto& id : t.at("stored_job_ids")) ++acked[id.get<std::uint64_t>()];
  std::set<std::uint64_t> stored;
  std::uint64_t campaigns_done = 0;
  {
    pqxx::connection c(url);
    pqxx::read_transaction r(c);
    for (const auto& row : r.exec("SELECT job_id FROM results")) stored.insert(row[0].as<std::uint64_t>());
    campaigns_done = r.exec("SELECT COUNT(*) FROM campaigns WHERE state = 'done'")[0][0].as<std::uint64_t>();
  }
  std::uint64_t lost = 0, twice = 0;
  for (const auto& [job, times] : acked) {
    if (stored.count(job) == 0) ++lost;
    if (times > 1) ++twice;
  }
  const double p50 = quantile(failovers, 0.5), worst = failovers.empty() ? 0 : *std::max_element(failovers.begin(), failovers.end());
  std::printf("\n   failovers: %zu measured (%d never served again within 60 s); kill -> first job handed out by the new "
              "leader: p50 %.2f s, max %.2f s\n",
              failovers.size(), failed_failovers, p50, worst);
  std::printf("   PostgreSQL restart: jobs handed out again %.2f s after it went down\n", pg_recovery);
  std::printf("   results acknowledged as stored: %zu (refused: %llu); in the store: %zu; lost: %llu; acknowledged twice: %llu\n",
              acked.size(), static_cast<unsigned long long>(t.at("results_acknowledged_refused").get<std::uint64_t>()),
              stored.size(), static_cast<unsigned long long>(lost), static_cast<unsigned long long>(twice));
  std::printf("   campaigns finished: %llu; campaign starts that failed mid-failover (tried again): %llu\n",
              static_cast<unsigned long long>(campaigns_done), static_cast<unsigned long long>(top_up_failures));
  std::printf("   bridge reads: %llu answered, %llu failed", static_cast<unsigned long long>(reads.answered.load()),
              static_cast<unsigned long long>(reads.failed.load()));
  for (const auto& [what, n] : reads.failures) std::printf("; %s: %d", what.c_str(), n);
  std::printf("\n   slowest read:");
  for (const auto& [what, seconds] : reads.slowest) std::printf(" %s %.2f s;", what.c_str(), seconds);
  std::printf(" (GET /v1/campaigns is live fleet state from the leader; estimates come from the bridge's snapshot)\n");
  std::printf("   leaders at the end (by /metrics): %d\n", leaders);
  if (!o.keep.empty()) {  // what the run stored, for a look afterwards (pg_ctl -D DIR/pgdata start)
    pg.stop();
    std::system(("cp -a " + pg.data_directory() + " " + (dir / "pgdata").string()).c_str());
    std::printf("   the store's cluster is kept in %s (port %d, user ampere, database %s)\n", (dir / "pgdata").c_str(), pg.port(),
                url.substr(url.rfind('/') + 1).c_str());
  }
  const bool ok = lost == 0 && twice == 0 && failed_failovers == 0 && !failovers.empty() && worst <= o.max_failover_s &&
                  leaders == 1 && !acked.empty();
  std::printf("   %s\n", ok ? "PASS" : "FAIL");
  if (o.keep.empty() && ok) fs::remove_all(dir);
  return ok ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    const auto next = [&]() -> std::string {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "bench_ha: %s needs a value\n", a.c_str());
        std::exit(2);
      }
      return argv[++i];
    };
    if (a == "--agents") o.agents = std::stoi(next());
    else if (a == "--duration-s") o.duration_s = std::stoi(next());
    else if (a == "--kill-min-s") o.kill_min_s = std::stoi(next());
    else if (a == "--kill-max-s") o.kill_max_s = std::stoi(next());
    else if (a == "--pace-ms") o.pace_ms = std::stoi(next());
    else if (a == "--bridges") o.bridges = std::stoi(next());
    else if (a == "--readers") o.readers = std::stoi(next());
    else if (a == "--max-failover-s") o.max_failover_s = std::stod(next());
    else if (a == "--seed") o.seed = static_cast<unsigned>(std::stoul(next()));
    else if (a == "--keep") o.keep = next();
    else if (a == "--curve") o.curve = true;
    else if (a == "--short") {  // the integration test's form: about 70 s
      o.agents = 30;
      o.duration_s = 45;
      o.kill_min_s = 10;
      o.kill_max_s = 14;
      o.readers = 2;
    } else {
      std::fprintf(stderr, "bench_ha: unknown option %s\n", a.c_str());
      return 2;
    }
  }
  if (o.kill_min_s < 1 || o.kill_max_s < o.kill_min_s || o.agents < 1 || o.duration_s < 1) {
    std::fprintf(stderr, "bench_ha: bad options\n");
    return 2;
  }
  try {
    return soak(o);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "bench_ha: %s\n", e.what());
    return 1;
  }
}
