// bench_fleet: one coordinator on the default SQLite store and a simulated fleet in one agent
// process, on loopback. Prints results/s, coordinator CPU, p99 job round trip and lost results
// while a 1,000-agent fleet is held, then the batch-acquisition speed-up with 1, 4 and 16 agents
// per class. Not a test: run it by hand (docs/operations.md, "Fleet capacity").
//   bench_fleet [--agents 1000] [--pace-ms 100] [--hold-s 300] [--campaigns-per-class 4] [--load-budget 30]
//               [--speedup-only] [--load-only] [--speedup-budget 30] [--speedup-pace-ms 100]
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>
#include <zmq.hpp>

#include "bench/bench_keys.hpp"
#include "bench/bench_support.hpp"
#include "coordinator/client/coordinator_client.hpp"
#include "coordinator/store/store.hpp"
#include "security/curve_client.hpp"

namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;
const std::vector<std::string> kProfiles = {"oppo", "iphone", "xavier", "tx2", "server"};

int free_port() {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  socklen_t len = sizeof addr;
  getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  close(fd);
  return ntohs(addr.sin_port);
}

/// A child process, its output to `log`; SIGTERM then SIGKILL when stopped or destroyed.
struct Child {
  pid_t pid = -1;
  Child(const std::string& binary, const std::vector<std::string>& args, const std::string& log) {
    pid = fork();
    if (pid == 0) {
      prctl(PR_SET_PDEATHSIG, SIGTERM);  // a bench stopped by a signal takes its servers with it
      const int fd = open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
      dup2(fd, 1);
      dup2(fd, 2);
      std::vector<char*> argv{const_cast<char*>(binary.c_str())};
      for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
      argv.push_back(nullptr);
      execv(binary.c_str(), argv.data());
      _exit(127);
    }
  }
  void stop() {
    if (pid <= 0) return;
    kill(pid, SIGTERM);
    for (int i = 0; i < 300 && waitpid(pid, nullptr, WNOHANG) == 0; ++i) std::this_thread::sleep_for(100ms);
    if (kill(pid, 0) == 0) {
      kill(pid, SIGKILL);
      waitpid(pid, nullptr, 0);
    }
    pid = -1;
  }
  ~Child() { stop(); }
  /// utime + stime in seconds (/proc/PID/stat fields 14 and 15).
  double cpu_seconds() const {
    std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
    std::string text((std::istreambuf_iterator<char>(in)), {});
    std::istringstream rest(text.substr(text.rfind(')') + 2));
    std::string field;
    double utime = 0, stime = 0;
    for (int i = 3; i <= 15 && rest >> field; ++i) {
      if (i == 14) utime = std::stod(field);
      if (i == 15) stime = std::stod(field);
    }
    return (utime + stime) / static_cast<double>(sysconf(_SC_CLK_TCK));
  }
  double resident_mb() const {
    std::ifstream in("/proc/" + std::to_string(pid) + "/status");
    for (std::string line; std::getline(in, line);)
      if (line.rfind("VmRSS:", 0) == 0) return std::stod(line.substr(6)) / 1024.0;
    return 0;
  }
};

std::string slurp(const std::string& file) {
  std::ifstream in(file);
  return std::string((std::istreambuf_iterator<char>(in)), {});
}

struct Setup {
  std::filesystem::path dir;
  std::string agents, clients;
  std::unique_ptr<Child> coordinator, fleet;
  std::optional<ampere::CurveClientKeys> operator_keys;  ///< with CURVE: the bench's own client keys
  std::string db() const { return (dir / "ampere.db").string(); }
};

/// With CURVE on (bench/bench_keys.hpp): the coordinator's and fleet's arguments grow by what they need.
void add_curve(Setup& s, std::vector<std::string>& coordinator_args, std::vector<std::string>& fleet_args) {
  const ampere::BenchKeys keys = ampere::write_bench_keys(s.dir / "keys");
  coordinator_args.insert(coordinator_args.end(), keys.coordinator_args.begin(), keys.coordinator_args.end());
  fleet_args.insert(fleet_args.end(), keys.fleet_args.begin(), keys.fleet_args.end());
  s.operator_keys = keys.operator_keys;
}

/// A coordinator and a fleet of `agents` simulated agents spread over the five profiles.
Setup start(const std::string& name, int agents, int pace_ms, const std::vector<std::string>& coordinator_args = {},
            bool curve = false) {
  Setup s;
  s.dir = std::filesystem::temp_directory_path() / ("bench-fleet-" + name + "-" + std::to_string(getpid()));
  std::filesystem::remove_all(s.dir);
  std::filesystem::create_directories(s.dir);
  s.agents = "tcp://127.0.0.1:" + std::to_string(free_port());
  s.clients = "tcp://127.0.0.1:" + std::to_string(free_port());
  std::vector<std::string> args = {"--store", "sqlite:" + s.db(), "--data-dir", s.dir.string(), "--agents", s.agents,
                                   "--clients", s.clients, "--holdout", "0", "--heartbeat-timeout-ms", "20000"};
  args.insert(args.end(), coordinator_args.begin(), coordinator_args.end());
  std::string profiles;
  for (const auto& p : kProfiles) profiles += (profiles.empty() ? "" : ",") + p;
  std::vector<std::string> fleet_args = {"--coordinator", s.agents, "--backend", "simulated", "--profile", profiles,
                                         "--fleet", std::to_string(agents), "--pace-ms", std::to_string(pace_ms),
                                         "--agent-id", "bench", "--tally-file", (s.dir / "tally.json").string()};
  if (curve) add_curve(s, args, fleet_args);
  s.coordinator = std::make_unique<Child>(ampere::beside_this_binary("ampere-coordinator"), args, (s.dir / "coordinator.log").string());
  s.fleet = std::make_unique<Child>(ampere::beside_this_binary("ampere-agent"), fleet_args, (s.dir / "fleet.log").string());
  return s;
}

/// Agents connected per class, summed.
int connected(ampere::CoordinatorClient& client) {
  int n = 0;
  for (const auto& c : client.device_classes()) n += c.value("agents", 0);
  return n;
}

std::string family_json(const std::string& name) {
  return slurp(std::string(AMPERE_SOURCE_DIR) + "/models/" + name + ".json");
}

/// Results in the store, over every campaign (read after the coordinator stopped).
std::uint64_t stored_results(const Setup& s) {
  auto store = ampere::open_store("sqlite:" + s.db());
  std::uint64_t n = 0;
  for (const auto& c : store->campaigns()) n += store->results(c.id).size();
  return n;
}

void load(int agents, int pace_ms, int hold_s, int per_class, unsigned budget, bool curve) {
  std::printf("\n== load: %d simulated agents in one process over %zu profiles, %d ms per job, held %d s; default SQLite store;\n"
              "   %d campaigns running per class at all times (budget %u per kind, the shipped families in turn); CURVE %s\n",
              agents, kProfiles.size(), pace_ms, hold_s, per_class, budget,
              curve ? "on (every message encrypted and authenticated, keys checked)" : "off (loopback)");
  Setup s = start(curve ? "load-curve" : "load", agents, pace_ms, {}, curve);
  zmq::context_t context;
  ampere::CoordinatorClient client(context, s.clients, 30s, s.operator_keys);
  const auto t0 = Clock::now();
  int seen = 0;
  while ((seen = connected(client)) < agents && Clock::now() - t0 < 120s) std::this_thread::sleep_for(500ms);
  std::printf("   registered: %d of %d in %.1f s; fleet process %.0f MB resident\n", seen, agents,
              std::chrono::duration<double>(Clock::now() - t0).count(), s.fleet->resident_mb());
  // Work for every class for the whole hold: `per_class` campaigns running on each class at all
  // times (the shipped families in turn, `budget` points per kind), a new one started as one ends.
  const std::vector<std::string> families = {"cnn5", "lenet5", "resnet", "har", "lstm", "transformer"};
  std::map<std::string, std::vector<std::uint64_t>> running;  // class -> campaign ids
  std::size_t started = 0;
  auto top_up = [&] {
    for (const auto& p : kProfiles) {
      auto& ids = running["sim-" + p];
      std::vector<std::uint64_t> still;
      for (const auto id : ids)
        if (client.campaign_status(id).at(0).at("state") == "running") still.push_back(id);
      ids = still;
      while (ids.size() < static_cast<std::size_t>(per_class)) {
        const std::string& f = families[started++ % families.size()];
        ids.push_back(client.start_campaign(family_json(f), "sim-" + p, budget, "max-variance").at("id"));
      }
    }
  };
  top_up();
  const double cpu0 = s.coordinator->cpu_seconds();
  auto points = [&] {
    std::uint64_t n = 0;
    for (const auto& c : client.campaign_status(0)) n += c.value("points", 0ull);
    return n;
  };
  const auto start_hold = Clock::now();
  const std::uint64_t points0 = points();
  std::printf("   %6s %10s %10s %12s %8s %10s\n", "t s", "results", "per s", "coord CPU %", "agents", "campaigns");
  std::uint64_t last = points0;
  double last_cpu = cpu0;
  auto last_t = start_hold, last_print = start_hold;
  while (Clock::now() - start_hold < std::chrono::seconds(hold_s)) {
    std::this_thread::sleep_for(1s);
    top_up();
    const auto now = Clock::now();
    if (now - last_print < 15s) continue;
    last_print = now;
    const std::uint64_t p = points();
    const double cpu = s.coordinator->cpu_seconds();
    const double dt = std::chrono::duration<double>(now - last_t).count();
    std::printf("   %6.0f %10llu %10.0f %12.0f %8d %10zu\n", std::chrono::duration<double>(now - start_hold).count(),
                static_cast<unsigned long long>(p - points0), static_cast<double>(p - last) / dt, 100 * (cpu - last_cpu) / dt,
                connected(client), started);
    std::fflush(stdout);
    last = p;
    last_cpu = cpu;
    last_t = now;
  }
  const double held = std::chrono::duration<double>(Clock::now() - start_hold).count();
  const std::uint64_t done = points() - points0;
  const double cpu = s.coordinator->cpu_seconds() - cpu0;
  const int still = connected(client);
  s.fleet->stop();  // writes the tally: what the agents saw acknowledged
  s.coordinator->stop();
  const nlohmann::json tally = nlohmann::json::parse(slurp((s.dir / "tally.json").string()));
  const std::uint64_t acked = tally.at("results_acknowledged_stored").get<std::uint64_t>();
  const std::uint64_t in_store = stored_results(s);
  std::printf("   held %.0f s: %d agents connected at the end; %llu results, %.0f results/s; coordinator CPU %.0f%% of a core\n",
              held, still, static_cast<unsigned long long>(done), static_cast<double>(done) / held, 100 * cpu / held);
  std::printf("   job round trip (work request -> result acknowledged, %d ms of it the simulated job): p50 %.1f ms, p99 %.1f ms, max %.1f ms\n",
              pace_ms, tally["round_trip_ms"]["p50"].get<double>(), tally["round_trip_ms"]["p99"].get<double>(),
              tally["round_trip_ms"]["max"].get<double>());
  std::printf("   acknowledged as stored %llu, in the store %llu: lost %lld (acknowledged but not stored); refused %llu\n",
              static_cast<unsigned long long>(acked), static_cast<unsigned long long>(in_store),
              static_cast<long long>(acked > in_store ? acked - in_store : 0),
              static_cast<unsigned long long>(tally.at("results_acknowledged_refused").get<std::uint64_t>()));
  std::filesystem::remove_all(s.dir);
}

/// Wall and points for campaigns on every class with `per_class` agents each.
std::pair<double, std::uint64_t> campaign_wall(int per_class, int pace_ms, unsigned budget, const std::string& family) {
  Setup s = start("speedup-" + std::to_string(per_class), per_class * static_cast<int>(kProfiles.size()), pace_ms);
  zmq::context_t context;
  ampere::CoordinatorClient client(context, s.clients, 30s);
  const int agents = per_class * static_cast<int>(kProfiles.size());
  for (const auto t0 = Clock::now(); connected(client) < agents && Clock::now() - t0 < 60s;) std::this_thread::sleep_for(200ms);
  std::vector<std::uint64_t> ids;
  const auto t0 = Clock::now();
  for (const auto& p : kProfiles) ids.push_back(client.start_campaign(family_json(family), "sim-" + p, budget, "max-variance").at("id"));
  std::uint64_t points = 0;
  while (true) {
    std::this_thread::sleep_for(100ms);
    bool all_done = true;
    points = 0;
    for (const auto id : ids) {
      const auto st = client.campaign_status(id).at(0);
      all_done = all_done && st.at("state") != "running";
      points += st.value("points", 0ull);
    }
    if (all_done || Clock::now() - t0 > 1800s) break;
  }
  const double wall = std::chrono::duration<double>(Clock::now() - t0).count();
  s.fleet->stop();
  s.coordinator->stop();
  std::filesystem::remove_all(s.dir);
  return {wall, points};
}

void speedup(int pace_ms, unsigned budget) {
  const std::string family = "cnn5";
  std::printf("\n== batch acquisition: %s on all five classes, budget %u per kind, %d ms per job; agents per class 1, 4, 16\n",
              family.c_str(), budget, pace_ms);
  std::printf("   %10s %10s %10s %12s %12s\n", "per class", "wall s", "points", "wall / 1's", "points / 1's");
  double wall1 = 0;
  std::uint64_t points1 = 0;
  for (const int k : {1, 4, 16}) {
    const auto [wall, points] = campaign_wall(k, pace_ms, budget, family);
    if (k == 1) {
      wall1 = wall;
      points1 = points;
    }
    std::printf("   %10d %10.1f %10llu %12.3f %12.3f\n", k, wall, static_cast<unsigned long long>(points), wall / wall1,
                static_cast<double>(points) / static_cast<double>(points1));
    std::fflush(stdout);
  }
  std::printf("   goals: 4 per class <= 0.35x the wall of 1; 16 per class <= 0.12x with <= 1.3x the points\n");
}

}  // namespace

int main(int argc, char** argv) {
  int agents = 1000, pace_ms = 100, hold_s = 300, speedup_pace_ms = 100, per_class = 4;
  unsigned speedup_budget = 30, load_budget = 30;
  bool do_load = true, do_speedup = true;
  std::string curve = "off";
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto next = [&] { return i + 1 < argc ? std::string(argv[++i]) : std::string("0"); };
    if (a == "--agents") agents = std::stoi(next());
    else if (a == "--pace-ms") pace_ms = std::stoi(next());
    else if (a == "--hold-s") hold_s = std::stoi(next());
    else if (a == "--campaigns-per-class") per_class = std::stoi(next());
    else if (a == "--load-budget") load_budget = static_cast<unsigned>(std::stoul(next()));
    else if (a == "--speedup-budget") speedup_budget = static_cast<unsigned>(std::stoul(next()));
    else if (a == "--speedup-pace-ms") speedup_pace_ms = std::stoi(next());
    else if (a == "--speedup-only") do_load = false;
    else if (a == "--load-only") do_speedup = false;
    else if (a == "--curve") curve = next();  // off | on | both (the load twice, off then on)
    else {
      std::fprintf(stderr, "unknown option %s\n", a.c_str());
      return 2;
    }
  }
  std::printf("bench_fleet: %s\n", [&] {
    std::string line;
    for (int i = 0; i < argc; ++i) line += std::string(i ? " " : "") + argv[i];
    return line;
  }().c_str());
  if (curve != "off" && curve != "on" && curve != "both") {
    std::fprintf(stderr, "--curve: off, on or both, got %s\n", curve.c_str());
    return 2;
  }
  if (do_load && curve != "on") load(agents, pace_ms, hold_s, per_class, load_budget, false);
  if (do_load && curve != "off") load(agents, pace_ms, hold_s, per_class, load_budget, true);
  if (do_speedup) speedup(speedup_pace_ms, speedup_budget);
}
