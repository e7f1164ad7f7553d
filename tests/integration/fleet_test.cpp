// The AMPERE loop with real processes on loopback: coordinator, agents, the ampere CLI's client.
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <fstream>
#include <optional>
#include <regex>
#include <set>
#include <sstream>
#include <thread>

#include <doctest/doctest.h>
#include <httplib.h>
#include <nlohmann/json.hpp>
#include <pqxx/pqxx>

#include "agent/simulated_device.hpp"
#include "common/error.hpp"
#include "protocol.capnp.h"
#include "wire_convert.hpp"
#include "common/layer_parser.hpp"
#include "common/layer_shapes.hpp"
#include "common/model_family.hpp"
#include "coordinator/client/coordinator_client.hpp"
#include "coordinator/store/result_spool.hpp"
#include "coordinator/store/store.hpp"
#include "integration/postgres_server.hpp"
#include "integration/process.hpp"

using ampere::testing::BackgroundProcess;
using ampere::testing::TempDir;
using namespace std::chrono_literals;

namespace {

std::string models(const std::string& name) { return std::string(AMPERE_MODELS_DIR) + "/" + name + ".json"; }

std::string slurp(const std::string& file) { return ampere::testing::slurp_file(file); }

/// A coordinator on free loopback ports with its store in `dir`.
struct Coordinator {
  Coordinator(const TempDir& dir, std::vector<std::string> extra = {}, const std::string& log = "coordinator.log",
              const std::string& store_url = "")
      : agents("tcp://127.0.0.1:" + std::to_string(ampere::testing::free_port())),
        clients("tcp://127.0.0.1:" + std::to_string(ampere::testing::free_port())),
        store(store_url.empty() ? "sqlite:" + dir.path() + "/store.db" : store_url) {
    start(dir, std::move(extra), log);
  }
  void start(const TempDir& dir, std::vector<std::string> extra, const std::string& log) {
    std::vector<std::string> args = {"--store", store, "--agents", agents, "--clients", clients, "--data-dir", dir.path()};
    args.insert(args.end(), extra.begin(), extra.end());
    process = std::make_unique<BackgroundProcess>("ampere-coordinator", args, dir.path() + "/" + log);
    // readiness probe: the client socket answers
    ampere::CoordinatorClient client(context, clients, 500ms);
    for (int i = 0; i < 100; ++i) {
      try {
        client.device_classes();
        return;
      } catch (const ampere::InputError&) {
        std::this_thread::sleep_for(50ms);
      }
    }
    FAIL("coordinator did not come up; log:\n" << slurp(dir.path() + "/" + log));
  }
  ampere::CoordinatorClient client(std::chrono::milliseconds timeout = 10000ms) {
    return ampere::CoordinatorClient(context, clients, timeout);
  }
  void wait_for_agents(const std::string& device_class, unsigned count) {
    auto c = client();
    for (int i = 0; i < 200; ++i) {
      for (const auto& d : c.device_classes())
        if (d.at("name") == device_class && d.at("agents").get<unsigned>() >= count) return;
      std::this_thread::sleep_for(50ms);
    }
    FAIL("agents of " << device_class << " did not register");
  }
  nlohmann::json wait_done(std::uint64_t id, std::chrono::seconds limit) {
    auto c = client();
    const auto deadline = std::chrono::steady_clock::now() + limit;
    nlohmann::json status;
    while (std::chrono::steady_clock::now() < deadline) {
      status = c.campaign_status(id).at(0);
      if (status.at("state") == "done") return status;
      std::this_thread::sleep_for(100ms);
    }
    FAIL("campaign " << id << " not done in time: " << status.dump());
    return status;
  }
  zmq::context_t context;
  std::string agents, clients, store;
  std::unique_ptr<BackgroundProcess> process;
};

double relative_error(double estimate, double truth) { return std::abs(estimate - truth) / truth; }

}  // namespace

TEST_CASE("a simulated campaign completes and its estimates are within 5% of the simulated truth") {
  TempDir dir;
  Coordinator coordinator(dir);
  BackgroundProcess agent("ampere-agent", {"--coordinator", coordinator.agents, "--backend", "simulated", "--profile", "xavier"},
                          dir.path() + "/agent.log");
  coordinator.wait_for_agents("sim-xavier", 1);
  auto client = coordinator.client();
  const auto started = client.start_campaign(slurp(models("cnn5")), "sim-xavier", 40, "max-variance");
  const auto status = coordinator.wait_done(started.at("id").get<std::uint64_t>(), 60s);
  CHECK(status.at("points").get<int>() > 0);

  const ampere::SimulatedDevice truth(ampere::simulated_profile("xavier"));
  const ampere::ModelSpec family = ampere::load_model_spec(models("cnn5"));
  // The default estimator is joint: its fit runs on a worker once the kinds are done (estimates
  // meanwhile come from the subtractive fit, and say so); the loop keeps answering while it runs.
  const std::string probe = ampere::to_json(ampere::sample_model(family, 49999)).dump();
  std::string fit = client.estimate(probe, "sim-xavier", 1).at("estimator");
  CHECK((fit == "subtractive" || fit == "joint"));
  // The fit ends installed, or kept out by the calibration check (the subtractive models stay);
  // the log says which, and estimates then say the same.
  std::string log;
  for (int i = 0; i < 600 && log.find("measurements installed") == std::string::npos &&
                  log.find("measurements not installed") == std::string::npos;
       ++i) {
    std::this_thread::sleep_for(50ms);
    log = slurp(dir.path() + "/coordinator.log");
  }
  const bool installed = log.find("measurements installed") != std::string::npos;
  REQUIRE((installed || log.find("measurements not installed") != std::string::npos));
  CHECK(client.estimate(probe, "sim-xavier", 1).at("estimator") == (installed ? "joint" : "subtractive"));
  double seconds_ape = 0, joules_ape = 0, worst = 0;
  const int n = 30;
  for (int seed = 0; seed < n; ++seed) {
    const ampere::ModelSpec model = ampere::sample_model(family, 50000 + seed);
    const auto e = client.estimate(ampere::to_json(model).dump(), "sim-xavier", 1);
    CHECK(e.at("meter") == "simulated");
    const ampere::SimulatedCost t = truth.truth(model);
    const double es = relative_error(e.at("seconds_per_iteration").at("mean").get<double>(), t.seconds);
    const double ej = relative_error(e.at("joules_per_iteration").at("mean").get<double>(), t.joules);
    seconds_ape += es;
    joules_ape += ej;
    worst = std::max({worst, es, ej});
  }
  MESSAGE("simulated xavier, cnn5: time MAPE " << 100 * seconds_ape / n << "%, energy MAPE " << 100 * joules_ape / n
                                             << "%, worst " << 100 * worst << "%");
  CHECK(seconds_ape / n < 0.05);
  CHECK(joules_ape / n < 0.05);
  CHECK(worst < 0.15);
  // a model whose kinds this campaign never profiled: an error listing them
  const auto lenet = ampere::sample_model(ampere::load_model_spec(models("lenet5")), 2);
  CHECK_THROWS_WITH_AS(client.estimate(ampere::to_json(lenet).dump(), "sim-xavier", 1), doctest::Contains("never profiled"),
                       ampere::InputError);
}

TEST_CASE("bad client requests get clear errors and the coordinator keeps serving") {
  TempDir dir;
  Coordinator coordinator(dir);
  auto client = coordinator.client();
  CHECK_THROWS_WITH_AS(client.start_campaign(slurp(models("cnn5")), "no-such-class", 10, "max-variance"),
                       doctest::Contains("device class 'no-such-class' has no registered agents"), ampere::InputError);
  BackgroundProcess agent("ampere-agent", {"--coordinator", coordinator.agents, "--backend", "simulated", "--profile", "tx2"},
                          dir.path() + "/agent.log");
  coordinator.wait_for_agents("sim-tx2", 1);
  nlohmann::json fixed = ampere::to_json(ampere::sample_model(ampere::load_model_spec(models("cnn5")), 1));
  CHECK_THROWS_WITH_AS(client.start_campaign(fixed.dump(), "sim-tx2", 10, "max-variance"),
                       doctest::Contains("no channel ranges"), ampere::InputError);
  CHECK_THROWS_WITH_AS(client.start_campaign("{not json", "sim-tx2", 10, "max-variance"),
                       doctest::Contains("not valid JSON"), ampere::InputError);
  // a budget outside 1..10000 is refused over ZeroMQ as over HTTP and the CLI (0 is not "the default")
  for (const std::uint32_t budget : {0u, 10001u, 4294967295u})
    CHECK_THROWS_WITH_AS(client.start_campaign(slurp(models("cnn5")), "sim-tx2", budget, "max-variance"),
                         doctest::Contains(("budget: points per kind must be 1..10000, got " + std::to_string(budget)).c_str()),
                         ampere::InputError);
  CHECK_THROWS_WITH_AS(client.estimate(fixed.dump(), "sim-tx2", 1), doctest::Contains("has no profiled kinds"),
                       ampere::InputError);  // nothing profiled on this class yet
  CHECK_THROWS_WITH_AS(client.estimate(fixed.dump(), "unknown-class", 1), doctest::Contains("device class 'unknown-class'"),
                       ampere::InputError);
  // garbage bytes on the client socket get an Error reply; the agent socket drops them
  CHECK_THROWS_WITH_AS(client.request(std::string("\x01\x02\x03\x04\x05\x06\x07\x08", 8)),
                       doctest::Contains("not a valid Envelope"), ampere::InputError);
  zmq::socket_t raw(coordinator.context, zmq::socket_type::dealer);
  raw.set(zmq::sockopt::linger, 0);
  raw.connect(coordinator.agents);
  raw.send(zmq::str_buffer("garbage"), zmq::send_flags::none);
  // a result for an unknown job is refused, not stored
  raw.send(zmq::buffer(ampere::make_frame([](ampere::wire::Envelope::Body::Builder b) {
             auto r = b.initResult();
             r.setJobId(987654);
             r.setAgentId("intruder");
             r.initSecondsPerIteration(1).set(0, 0.1);
           })),
           zmq::send_flags::none);
  std::this_thread::sleep_for(300ms);
  CHECK(coordinator.process->running());
  CHECK(client.device_classes().size() >= 1);
  const std::string log = slurp(dir.path() + "/coordinator.log");
  CHECK(log.find("result for job 987654 from") != std::string::npos);
  CHECK(log.find("refused (unregistered): agent 'intruder' is not registered") != std::string::npos);
}

TEST_CASE("a campaign with two real LibTorch agents on a tiny family completes") {
  TempDir dir;
  // Jobs long enough (~0.1 s) that both agents are asked for work while the other is busy.
  Coordinator coordinator(dir, {"--warmup", "1", "--repeats", "2", "--iterations", "150"});
  const std::vector<std::string> common = {"--coordinator", coordinator.agents, "--threads", "1", "--device-class", "tiny-cpu",
                                           "--meter", "time-surrogate", "--watts", "12"};
  auto with_id = [&](const std::string& id) {
    auto args = common;
    args.insert(args.end(), {"--agent-id", id});
    return args;
  };
  BackgroundProcess a("ampere-agent", with_id("torch-a"), dir.path() + "/a.log");
  BackgroundProcess b("ampere-agent", with_id("torch-b"), dir.path() + "/b.log");
  coordinator.wait_for_agents("tiny-cpu", 2);
  const std::string family = R"({"name": "tiny", "input": {"shape": [1, 8, 8]}, "batch_size": 4, "classes": 2,
    "layers": [{"type": "conv2d", "out_channels": {"min": 1, "max": 4}, "kernel": 3, "padding": 1}, {"type": "relu"},
               {"type": "conv2d", "out_channels": {"min": 1, "max": 4}, "kernel": 3, "padding": 1}, {"type": "relu"},
               {"type": "flatten"}, {"type": "linear", "out_features": 2}]})";
  auto client = coordinator.client();
  const auto id = client.start_campaign(family, "tiny-cpu", 6, "max-variance").at("id").get<std::uint64_t>();
  coordinator.wait_done(id, 120s);
  const auto store = ampere::open_store(coordinator.store);
  std::set<std::string> agents;
  for (const auto& job : store->jobs(id)) agents.insert(job.agent_id);
  CHECK(agents.count("torch-a") == 1);
  CHECK(agents.count("torch-b") == 1);
  for (const auto& r : store->results(id)) CHECK(r.measurement.meter == ampere::MeterSource::TimeSurrogate);
  const auto model = ampere::sample_model(ampere::parse_model_spec(nlohmann::json::parse(family)), 3);
  const auto e = client.estimate(ampere::to_json(model).dump(), "tiny-cpu", 100);
  CHECK(e.at("meter") == "time-surrogate");
  CHECK(e.at("seconds_per_iteration").at("mean").get<double>() > 0);
  CHECK(e.at("total").at("seconds").at("mean").get<double>() ==
        doctest::Approx(100 * e.at("seconds_per_iteration").at("mean").get<double>()));
  CHECK(e.at("blocks").size() == 3);
  CHECK(e.at("flops_baseline").at("seconds_per_iteration").is_object());
}

TEST_CASE("one process holds a fleet of simulated agents, each its own identity, spread over the profiles") {
  TempDir dir;
  Coordinator coordinator(dir);
  BackgroundProcess fleet("ampere-agent", {"--coordinator", coordinator.agents, "--backend", "simulated", "--profile",
                                           "tx2,oppo", "--fleet", "6", "--agent-id", "f"},
                          dir.path() + "/fleet.log");
  coordinator.wait_for_agents("sim-tx2", 3);
  coordinator.wait_for_agents("sim-oppo", 3);
  auto client = coordinator.client();
  const auto id = client.start_campaign(slurp(models("lenet5")), "sim-oppo", 8, "max-variance").at("id").get<std::uint64_t>();
  coordinator.wait_done(id, 60s);
  std::set<std::string> agents;  // the jobs went to the fleet's oppo agents (f-1, f-3, f-5), more than one of them
  for (const auto& job : ampere::open_store(coordinator.store)->jobs(id)) agents.insert(job.agent_id);
  for (const std::string& a : agents) CHECK((a == "f-1" || a == "f-3" || a == "f-5"));
  CHECK(agents.size() >= 2);
  // a fleet is simulated only, and its profiles are checked by name
  const auto torch = ampere::testing::run_binary("ampere-agent", {"--fleet", "2"});
  CHECK(torch.exit_code != 0);
  CHECK(torch.err.find("--backend simulated") != std::string::npos);
  const auto unknown = ampere::testing::run_binary("ampere-agent", {"--backend", "simulated", "--profile", "tx2,pixel", "--fleet", "2"});
  CHECK(unknown.exit_code != 0);
  CHECK(unknown.err.find("pixel") != std::string::npos);
}

TEST_CASE("killing an agent mid-job re-queues its job") {
  TempDir dir;
  Coordinator coordinator(dir, {"--heartbeat-timeout-ms", "1500", "--warmup", "0", "--repeats", "1"});
  BackgroundProcess slow("ampere-agent", {"--coordinator", coordinator.agents, "--backend", "simulated", "--profile", "oppo",
                                          "--agent-id", "slow", "--pace-ms", "60000"},
                         dir.path() + "/slow.log");
  coordinator.wait_for_agents("sim-oppo", 1);
  auto client = coordinator.client();
  const auto id = client.start_campaign(slurp(models("lenet5")), "sim-oppo", 8, "max-variance").at("id").get<std::uint64_t>();
  for (int i = 0; i < 100 && client.campaign_status(id).at(0).at("jobs_running") == 0; ++i) std::this_thread::sleep_for(50ms);
  REQUIRE(client.campaign_status(id).at(0).at("jobs_running") == 1);
  slow.kill_hard();
  BackgroundProcess fast("ampere-agent", {"--coordinator", coordinator.agents, "--backend", "simulated", "--profile", "oppo",
                                          "--agent-id", "fast"},
                         dir.path() + "/fast.log");
  coordinator.wait_done(id, 60s);
  const auto store = ampere::open_store(coordinator.store);
  bool requeued_and_done = false;
  for (const auto& job : store->jobs(id))
    requeued_and_done = requeued_and_done || (job.attempts >= 2 && job.state == ampere::JobState::Done && job.agent_id == "fast");
  CHECK(requeued_and_done);
  CHECK(slurp(dir.path() + "/coordinator.log").find("agent slow lost") != std::string::npos);
}

TEST_CASE("restarting the coordinator mid-campaign loses no stored result and the campaign finishes") {
  TempDir dir;
  auto coordinator = std::make_unique<Coordinator>(dir);
  BackgroundProcess agent("ampere-agent", {"--coordinator", coordinator->agents, "--backend", "simulated", "--profile", "iphone",
                                           "--pace-ms", "20"},
                          dir.path() + "/agent.log");
  coordinator->wait_for_agents("sim-iphone", 1);
  const auto id = coordinator->client().start_campaign(slurp(models("cnn5")), "sim-iphone", 16, "max-variance").at("id").get<std::uint64_t>();
  std::map<std::uint64_t, std::vector<double>> before;
  // at least one kind done (its fitted model stored) and 30 results in before the crash
  auto a_kind_done = [&] {
    const nlohmann::json status = coordinator->client().campaign_status(id);
    for (const auto& kind : status.at(0).at("kinds"))
      if (kind.at("state") != "waiting" && kind.at("state") != "profiling") return true;
    return false;
  };
  for (int i = 0; i < 400 && (before.size() < 30 || !a_kind_done()); ++i) {
    std::this_thread::sleep_for(50ms);
    before.clear();
    for (const auto& r : ampere::open_store(coordinator->store)->results(id)) before[r.job_id] = r.measurement.seconds_per_iteration;
  }
  REQUIRE(before.size() >= 30);
  REQUIRE(a_kind_done());
  coordinator->process->kill_hard();  // a crash, not a clean stop
  REQUIRE(ampere::open_store(coordinator->store)->campaigns().at(0).state == ampere::CampaignState::Running);
  coordinator->start(dir, {}, "coordinator-2.log");
  const auto status = coordinator->wait_done(id, 90s);
  std::map<std::uint64_t, std::vector<double>> after;
  for (const auto& r : ampere::open_store(coordinator->store)->results(id)) after[r.job_id] = r.measurement.seconds_per_iteration;
  for (const auto& [job, seconds] : before) {
    REQUIRE(after.count(job) == 1);
    CHECK(after.at(job) == seconds);
  }
  CHECK(after.size() > before.size());
  const std::string log = slurp(dir.path() + "/coordinator-2.log");
  CHECK(log.find("reloaded campaign") != std::string::npos);
  CHECK(log.find(", 0 fitted kind models restored") == std::string::npos);  // finished kinds come back without a refit
}

TEST_CASE("held-out models a finished campaign had not measured yet are measured after a restart") {
  TempDir dir;
  const std::string store_url = "sqlite:" + dir.path() + "/store.db";
  const ampere::ModelSpec family = ampere::load_model_spec(models("lstm"));
  std::uint64_t campaign = 0, holdout = 0;
  {
    ampere::StorePtr store = ampere::open_store(store_url);
    campaign = store->create_campaign({0, ampere::to_json(family).dump(), "sim-server", 4, "max-variance", ampere::CampaignState::Done});
    ampere::JobRecord job;
    job.campaign_id = campaign;
    job.kind_key = ampere::kHoldoutKind;
    job.variant_json = ampere::to_json(ampere::sample_model(family, 77)).dump();
    holdout = store->create_jobs({job}).at(0);
  }
  Coordinator coordinator(dir, {}, "coordinator.log", store_url);
  BackgroundProcess agent("ampere-agent", {"--coordinator", coordinator.agents, "--backend", "simulated", "--profile", "server"},
                          dir.path() + "/agent.log");
  bool measured = false;
  for (int i = 0; i < 200 && !measured; ++i) {
    std::this_thread::sleep_for(50ms);
    for (const auto& r : ampere::open_store(store_url)->results(campaign)) measured = measured || r.job_id == holdout;
  }
  CHECK(measured);
  CHECK(ampere::open_store(store_url)->campaigns().at(0).state == ampere::CampaignState::Done);  // still done: no profiling restarted
}

/// A coordinator on a fresh PostgreSQL database with one simulated agent (sim-server), and an lstm
/// campaign (budget 10) it has finished.
struct FinishedOnPostgres {
  ampere::testing::PostgresServer postgres;
  const std::string url = postgres.create_database();
  TempDir dir;
  std::unique_ptr<Coordinator> coordinator = std::make_unique<Coordinator>(dir, std::vector<std::string>{}, "coordinator.log", url);
  BackgroundProcess agent{"ampere-agent",
                          {"--coordinator", coordinator->agents, "--backend", "simulated", "--profile", "server"},
                          dir.path() + "/agent.log"};
  std::uint64_t id = 0;
  FinishedOnPostgres() {
    coordinator->wait_for_agents("sim-server", 1);
    id = coordinator->client().start_campaign(slurp(models("lstm")), "sim-server", 10, "max-variance").at("id").get<std::uint64_t>();
    coordinator->wait_done(id, 60s);
  }
};

TEST_CASE("a coordinator on PostgreSQL runs a campaign and a restart reloads it from there") {
  FinishedOnPostgres run;
  const std::string& url = run.url;
  TempDir& dir = run.dir;
  std::unique_ptr<Coordinator>& coordinator = run.coordinator;
  const std::uint64_t id = run.id;
  const std::size_t results = ampere::open_store(url)->results(id).size();
  CHECK(results > 0);
  coordinator->process->stop();
  coordinator->start(dir, {}, "coordinator-2.log");
  const auto model = ampere::sample_model(ampere::load_model_spec(models("lstm")), 4);
  const auto e = coordinator->client().estimate(ampere::to_json(model).dump(), "sim-server", 1);
  CHECK(e.at("meter") == "simulated");
  CHECK(ampere::open_store(url)->results(id).size() == results);
}

/// One sample's value from a Prometheus text exposition (the first line starting with `series`).
std::optional<double> metric_value(const std::string& text, const std::string& series) {
  std::istringstream lines(text);
  for (std::string line; std::getline(lines, line);)
    if (line.rfind(series, 0) == 0 && line.size() > series.size() && (line[series.size()] == ' ' || series.back() == '}'))
      return std::stod(line.substr(line.rfind(' ') + 1));
  return std::nullopt;
}

/// Store errors over every operation label.
double store_errors(const std::string& text) {
  double total = 0;
  std::istringstream lines(text);
  for (std::string line; std::getline(lines, line);)
    if (line.rfind("ampere_store_errors_total{", 0) == 0) total += std::stod(line.substr(line.rfind(' ') + 1));
  return total;
}

TEST_CASE("PostgreSQL going away mid-campaign loses nothing: results spool to disk, replay when it is back") {
  ampere::testing::PostgresServer postgres;
  const std::string url = postgres.create_database();
  TempDir dir;
  const int metrics_port = ampere::testing::free_port();
  const std::string spool = dir.path() + "/spool.jsonl";
  auto coordinator = std::make_unique<Coordinator>(
      dir, std::vector<std::string>{"--metrics", "127.0.0.1:" + std::to_string(metrics_port), "--spool", spool}, "coordinator.log",
      url);
  BackgroundProcess agent("ampere-agent", {"--coordinator", coordinator->agents, "--backend", "simulated", "--profile", "tx2",
                                           "--pace-ms", "40"},
                          dir.path() + "/agent.log");
  coordinator->wait_for_agents("sim-tx2", 1);
  const auto id = coordinator->client().start_campaign(slurp(models("cnn5")), "sim-tx2", 12, "max-variance").at("id").get<std::uint64_t>();
  httplib::Client scrape("127.0.0.1", metrics_port);
  auto metrics = [&] {
    auto r = scrape.Get("/metrics");
    REQUIRE(r);
    REQUIRE(r->status == 200);
    return r->body;
  };
  auto stored = [&] { return metric_value(metrics(), "ampere_results_stored_total{device_class=\"sim-tx2\",meter=\"simulated\"}").value_or(0); };
  for (int i = 0; i < 200 && stored() < 5; ++i) std::this_thread::sleep_for(50ms);
  REQUIRE(stored() >= 5);

  postgres.stop();  // the database goes away mid-campaign
  // Jobs already queued run and their results spool; no new job is planned while job ids cannot be
  // assigned, so the queue runs dry.
  double spooled = 0, unfinished = 1;
  for (int i = 0; i < 300 && (spooled < 1 || unfinished > 0); ++i) {
    std::this_thread::sleep_for(50ms);
    const std::string text = metrics();
    spooled = metric_value(text, "ampere_spool_results").value_or(0);
    unfinished = metric_value(text, "ampere_jobs{device_class=\"sim-tx2\",state=\"queued\"}").value_or(1) +
                 metric_value(text, "ampere_jobs{device_class=\"sim-tx2\",state=\"running\"}").value_or(1);
  }
  REQUIRE(spooled >= 1);  // acknowledged and on disk
  CHECK(unfinished == 0);
  const std::string down = metrics();
  CHECK(metric_value(down, "ampere_store_up").value_or(1) == 0);
  // The outage is counted under the first operation that met it: a result's store, or a job's
  // state change when that came first (then results go straight to the spool until the next probe).
  CHECK(store_errors(down) >= 1);
  CHECK(static_cast<double>(ampere::read_spool_records(spool).size()) == spooled);
  // While it is away the store is probed with back-off, not on every agent request (each try can
  // hold the loop for the connect timeout): a few seconds of outage cost a handful of tries.
  std::this_thread::sleep_for(3s);
  const double tries = store_errors(metrics());
  MESSAGE("store tries during the outage: " << tries);
  CHECK(tries >= 1);
  CHECK(tries <= 10);  // 3 here with the back-off, 17 without

  postgres.start();  // back: the spool drains and the campaign finishes
  const auto status = coordinator->wait_done(id, 120s);
  for (int i = 0; i < 100 && metric_value(metrics(), "ampere_spool_results").value_or(1) > 0; ++i) std::this_thread::sleep_for(50ms);
  const std::string up = metrics();
  CHECK(metric_value(up, "ampere_spool_results").value_or(1) == 0);
  CHECK(metric_value(up, "ampere_store_up").value_or(0) == 1);
  CHECK(metric_value(up, "ampere_spool_replayed_total").value_or(0) >= spooled);

  // every acknowledged result is in PostgreSQL: the campaign's points plus its whole models (3 held-out,
  // 3 calibration: the default estimator is joint)
  const auto results = ampere::open_store(url)->results(id);
  const double acknowledged = stored();
  CHECK(static_cast<double>(results.size()) == acknowledged);
  CHECK(results.size() == status.at("points").get<std::size_t>() + 6);
  std::set<std::uint64_t> jobs;
  for (const auto& r : results) jobs.insert(r.job_id);
  CHECK(jobs.size() == results.size());
  CHECK_FALSE(std::filesystem::exists(spool + ".rejected"));
  const std::string log = slurp(dir.path() + "/coordinator.log");
  CHECK(log.find("store unreachable") != std::string::npos);
  CHECK(log.find("spooled to") != std::string::npos);
  CHECK(log.find("store reachable again") != std::string::npos);
  // a restart finds the same results (the campaign reloads from PostgreSQL alone)
  coordinator->process->stop();
  coordinator->start(dir, {"--spool", spool}, "coordinator-2.log");
  CHECK(coordinator->client().campaign_status(id).at(0).at("points") == status.at("points"));
}

TEST_CASE("a coordinator killed while results wait in its spool writes them to the store when it starts again") {
  ampere::testing::PostgresServer postgres;
  const std::string url = postgres.create_database();
  TempDir dir;
  const std::string spool = dir.path() + "/spool.jsonl";
  auto coordinator = std::make_unique<Coordinator>(dir, std::vector<std::string>{"--spool", spool}, "coordinator.log", url);
  BackgroundProcess agent("ampere-agent", {"--coordinator", coordinator->agents, "--backend", "simulated", "--profile", "oppo",
                                           "--pace-ms", "40"},
                          dir.path() + "/agent.log");
  coordinator->wait_for_agents("sim-oppo", 1);
  const auto id = coordinator->client().start_campaign(slurp(models("lstm")), "sim-oppo", 8, "max-variance").at("id").get<std::uint64_t>();
  for (int i = 0; i < 200 && ampere::open_store(url)->results(id).size() < 2; ++i) std::this_thread::sleep_for(50ms);
  postgres.stop();
  std::size_t spooled = 0;
  for (int i = 0; i < 200 && spooled < 2; ++i) {
    std::this_thread::sleep_for(50ms);
    spooled = ampere::read_spool_records(spool).size();
  }
  REQUIRE(spooled >= 1);
  coordinator->process->kill_hard();  // a crash with acknowledged results only on disk
  spooled = ampere::read_spool_records(spool).size();
  std::set<std::uint64_t> waiting;
  {
    for (const ampere::ResultRecord& r : ampere::read_spool_records(spool)) waiting.insert(r.job_id);
  }
  REQUIRE(waiting.size() == spooled);
  postgres.start();
  coordinator->start(dir, {"--spool", spool}, "coordinator-2.log");
  std::set<std::uint64_t> stored;
  for (const auto& r : ampere::open_store(url)->results(id)) stored.insert(r.job_id);
  for (std::uint64_t job : waiting) CHECK(stored.count(job) == 1);  // written before the coordinator served anything
  CHECK_FALSE(std::filesystem::exists(spool));
  CHECK(slurp(dir.path() + "/coordinator-2.log").find("writing them to the store first") != std::string::npos);
  coordinator->wait_done(id, 90s);
}

TEST_CASE("the HTTP bridge serves every documented route, answers bad input with problem documents, and every reply matches its OpenAPI schema") {
  TempDir dir;
  const std::string token = dir.file("token", "s3cret\n");
  const int http_port = ampere::testing::free_port();
  Coordinator coordinator(dir, {"--http", "127.0.0.1:" + std::to_string(http_port), "--token-file", token, "--max-body",
                                "200000"});
  BackgroundProcess agent("ampere-agent", {"--coordinator", coordinator.agents, "--backend", "simulated", "--profile", "server"},
                          dir.path() + "/agent.log");
  coordinator.wait_for_agents("sim-server", 1);
  httplib::Client http("127.0.0.1", http_port);
  const httplib::Headers auth = {{"Authorization", "Bearer s3cret"}};
  // Every reply is kept (method, path as the document writes it, status, content type, body) and
  // validated against the OpenAPI document at the end, by a standard validator.
  nlohmann::json replies = nlohmann::json::array();
  auto record = [&](const std::string& method, const std::string& path, const httplib::Result& r) {
    if (!r) return;
    std::string templated = std::regex_replace(path, std::regex(R"(^/v1/campaigns/\d+)"), "/v1/campaigns/{id}");
    templated = std::regex_replace(templated, std::regex(R"(^/v1/device-classes/[^/]+/accuracy$)"), "/v1/device-classes/{name}/accuracy");
    const std::string type = r->get_header_value("Content-Type");
    const bool json_body = type.find("json") != std::string::npos && !r->body.empty();
    replies.push_back({{"method", method}, {"path", templated}, {"status", r->status}, {"content_type", type},
                       {"body", json_body ? nlohmann::json::parse(r->body) : nlohmann::json(nullptr)}});
  };
  auto post = [&](const std::string& path, const std::string& body, const httplib::Headers& headers = {},
                  const char* type = "application/json") {
    auto r = http.Post(path.c_str(), headers, body, type);
    record("post", path, r);
    return r;
  };
  auto fetch = [&](const std::string& path) {
    auto r = http.Get(path.c_str());
    record("get", path, r);
    return r;
  };

  // start a campaign over HTTP (token required), wait for it, then estimate
  CHECK(post("/v1/campaigns", "{}")->status == 401);
  CHECK(post("/v1/campaigns", "{}", {{"Authorization", "Bearer wrong"}})->status == 401);
  const nlohmann::json start = {{"family", nlohmann::json::parse(slurp(models("lstm")))}, {"device_class", "sim-server"}, {"budget", 8}};
  auto started = post("/v1/campaigns", start.dump(), auth);
  REQUIRE(started->status == 201);
  const auto id = nlohmann::json::parse(started->body).at("id").get<std::uint64_t>();
  CHECK(post("/v1/campaigns", nlohmann::json{{"family", start["family"]}, {"device_class", "nope"}}.dump(), auth)->status == 404);
  nlohmann::json fixed_family = start;
  fixed_family["family"] = ampere::to_json(ampere::sample_model(ampere::load_model_spec(models("lstm")), 1));
  CHECK(post("/v1/campaigns", fixed_family.dump(), auth)->status == 422);
  // bad budgets are refused by name and nothing is stored (today's campaigns: just the one above)
  for (const nlohmann::json& budget : {nlohmann::json(-1), nlohmann::json(0), nlohmann::json(10001), nlohmann::json("8"),
                                       nlohmann::json(2.5)}) {
    nlohmann::json bad = start;
    bad["budget"] = budget;
    const auto refused = post("/v1/campaigns", bad.dump(), auth);
    CAPTURE(budget.dump());
    CHECK(refused->status == 422);
    CHECK(refused->body.find("budget") != std::string::npos);
  }
  // a family no sim-server agent (64 GB declared) could train: refused with the bytes, nothing stored
  nlohmann::json wide = start;
  wide["family"]["layers"][0]["hidden_size"]["max"] = 65536;  // the most a spec may hold
  const auto too_big = post("/v1/campaigns", wide.dump(), auth);
  CHECK(too_big->status == 422);
  CHECK(too_big->body.find("bytes) to train, over the job memory limit of 32000 MB") != std::string::npos);
  CHECK(nlohmann::json::parse(fetch("/v1/campaigns")->body).size() == 1);
  coordinator.wait_done(id, 60s);
  std::this_thread::sleep_for(1500ms);  // the bridge's snapshot refreshes every second

  const auto model = ampere::to_json(ampere::sample_model(ampere::load_model_spec(models("lstm")), 9));
  auto ok = post("/v1/estimate", nlohmann::json{{"model", model}, {"device_class", "sim-server"}, {"iterations", 50}}.dump());
  REQUIRE(ok->status == 200);
  const auto e = nlohmann::json::parse(ok->body);
  for (const char* key : {"seconds_per_iteration", "joules_per_iteration", "meter", "blocks", "flops_baseline", "total"})
    CHECK(e.contains(key));
  CHECK(e.at("meter") == "simulated");
  CHECK(e.at("flops_baseline").at("seconds_per_iteration").contains("mean"));

  // a repeated request is answered from the reply cache, byte for byte the same; another is not
  const std::string same = nlohmann::json{{"model", model}, {"device_class", "sim-server"}, {"iterations", 50}}.dump();
  CHECK(ok->get_header_value("X-Ampere-Cache") == "miss");
  auto again = post("/v1/estimate", same);
  CHECK(again->get_header_value("X-Ampere-Cache") == "hit");
  CHECK(again->body == ok->body);
  CHECK(post("/v1/estimate", nlohmann::json{{"model", model}, {"device_class", "sim-server"}, {"iterations", 51}}.dump())
            ->get_header_value("X-Ampere-Cache") == "miss");

  // the same answer as the CLI's path through the coordinator
  const auto via_cli = coordinator.client().estimate(model.dump(), "sim-server", 50);
  CHECK(via_cli.at("seconds_per_iteration").at("mean").get<double>() ==
        doctest::Approx(e.at("seconds_per_iteration").at("mean").get<double>()));

  auto batch = post("/v1/estimate:batch", nlohmann::json{{"requests", {{{"model", model}, {"device_class", "sim-server"}},
                                                                       {{"model", model}, {"device_class", "nope"}}}}}.dump());
  REQUIRE(batch->status == 200);
  CHECK(nlohmann::json::parse(batch->body).at("results").at(0).at("status") == 200);
  CHECK(nlohmann::json::parse(batch->body).at("results").at(1).at("status") == 404);

  // bad input: each its 4xx with a JSON message naming the problem
  auto expect = [](const httplib::Result& r, int status, const std::string& words) {
    REQUIRE(r);
    CHECK(r->status == status);
    const auto body = nlohmann::json::parse(r->body);
    CHECK(body.at("error").get<std::string>().find(words) != std::string::npos);
  };
  expect(post("/v1/estimate", "{not json"), 400, "not valid JSON");
  expect(post("/v1/estimate", "{}", {}, "text/plain"), 415, "Content-Type");
  expect(post("/v1/estimate", nlohmann::json{{"model", model}, {"device_class", "sim-server"}, {"color", 1}}.dump()), 400,
         "unknown field 'color'");
  expect(post("/v1/estimate", nlohmann::json{{"model", model}, {"device_class", "nope"}}.dump()), 404, "device class 'nope'");
  const auto lenet = ampere::to_json(ampere::sample_model(ampere::load_model_spec(models("lenet5")), 1));
  auto missing = post("/v1/estimate", nlohmann::json{{"model", lenet}, {"device_class", "sim-server"}}.dump());
  expect(missing, 422, "never profiled");
  CHECK(nlohmann::json::parse(missing->body).at("missing_kinds").size() >= 1);
  nlohmann::json bad_model = model;
  bad_model["layers"][0]["hidden_size"] = -1;
  expect(post("/v1/estimate", nlohmann::json{{"model", bad_model}, {"device_class", "sim-server"}}.dump()), 400,
         "layers[0].hidden_size");
  expect(post("/v1/estimate", std::string(300000, ' ')), 413, "too large");
  expect(fetch("/v1/campaigns/999"), 404, "no campaign 999");
  expect(fetch("/v1/nothing"), 404, "no such route");

  auto list = fetch("/v1/campaigns");
  REQUIRE(list->status == 200);
  CHECK(nlohmann::json::parse(list->body).at(0).at("state") == "done");
  auto one = fetch("/v1/campaigns/" + std::to_string(id));
  REQUIRE(one->status == 200);
  CHECK(nlohmann::json::parse(one->body).at("kinds").size() >= 3);
  auto classes = fetch("/v1/device-classes");
  REQUIRE(classes->status == 200);
  CHECK(nlohmann::json::parse(classes->body).at(0).at("name") == "sim-server");
  CHECK(fetch("/healthz")->status == 200);
  CHECK(fetch("/readyz")->status == 200);

  // measured vs estimated: the campaign's held-out models (3 by default) and its variant networks
  auto accuracy = fetch("/v1/device-classes/sim-server/accuracy");
  REQUIRE(accuracy->status == 200);
  const auto acc = nlohmann::json::parse(accuracy->body);
  CHECK(acc.at("heldout_models") == 3);
  CHECK(acc.at("points").size() > 3);
  CHECK(acc.at("heldout_mape_seconds").get<double>() < 0.2);
  CHECK(acc.at("heldout_mape_seconds").get<double>() < acc.at("heldout_flops_mape_seconds").get<double>());
  expect(fetch("/v1/device-classes/nope/accuracy"), 404, "device class 'nope'");
  // the convergence page is self-contained: nothing loads from elsewhere
  auto page = fetch("/");
  REQUIRE(page->status == 200);
  CHECK(page->get_header_value("Content-Type").rfind("text/html", 0) == 0);
  CHECK(page->body.find("<svg") != std::string::npos);
  for (const char* external : {"src=\"http", "href=\"http", "src='http", "href='http", "@import", "url(http"})
    CHECK(page->body.find(external) == std::string::npos);

  // OpenAPI lists exactly what is served: every documented route answers (not "no such route")
  auto doc = fetch("/openapi.json");
  REQUIRE(doc->status == 200);
  const auto openapi = nlohmann::json::parse(doc->body);
  CHECK(openapi.at("openapi").get<std::string>().rfind("3.", 0) == 0);
  int documented = 0;
  for (const auto& [path, methods] : openapi.at("paths").items()) {
    std::string concrete = path;
    if (const auto brace = concrete.find("{id}"); brace != std::string::npos) concrete.replace(brace, 4, std::to_string(id));
    if (const auto brace = concrete.find("{name}"); brace != std::string::npos) concrete.replace(brace, 6, "sim-server");
    for (const auto& [method, op] : methods.items()) {
      (void)op;
      CAPTURE(path);
      auto r = method == "get" ? fetch(concrete) : post(concrete, "{}", auth);
      REQUIRE(r);
      const bool unrouted = r->status == 404 && r->body.find("no such route") != std::string::npos;
      CHECK_FALSE(unrouted);
      ++documented;
    }
  }
  CHECK(documented == 14);

  // the store changes (a new campaign): cached replies are dropped with the old snapshot
  CHECK(post("/v1/estimate", same)->get_header_value("X-Ampere-Cache") == "hit");
  REQUIRE(post("/v1/campaigns", nlohmann::json{{"family", start["family"]}, {"device_class", "sim-server"}, {"budget", 4}}.dump(),
               auth)->status == 201);
  std::this_thread::sleep_for(1500ms);
  CHECK(post("/v1/estimate", same)->get_header_value("X-Ampere-Cache") == "miss");
  CHECK(coordinator.process->running());

  // errors are problem documents, a 201 names what it created
  auto missing_token = post("/v1/campaigns", "{}");
  CHECK(missing_token->get_header_value("Content-Type") == "application/problem+json");
  const auto problem = nlohmann::json::parse(missing_token->body);
  CHECK(problem.at("status") == 401);
  CHECK(problem.at("code") == "unauthorized");
  CHECK(problem.at("type") == "urn:ampere:problem:unauthorized");
  CHECK(started->get_header_value("Location") == "/v1/campaigns/" + std::to_string(id));
  CHECK(post("/v1/campaigns/" + std::to_string(id) + ":stop", "", auth)->status == 200);  // done: answered as it is
  CHECK(post("/v1/campaigns/999:stop", "", auth)->status == 404);

  // every reply against the document (tests/openapi/validate.cjs: swagger-parser, then Ajv)
  const std::string doc_file = dir.file("openapi.json", fetch("/openapi.json")->body);
  nlohmann::json documented_replies = nlohmann::json::array();
  for (const auto& r : replies)
    if (openapi.at("paths").contains(r.at("path").get<std::string>())) documented_replies.push_back(r);
  const std::string replies_file = dir.file("replies.json", documented_replies.dump());
  const std::string log = dir.path() + "/validate.log";
  const int rc = std::system(("NODE_PATH='" + std::string(AMPERE_TEST_TOOLS_DIR) + "' node '" + std::string(AMPERE_SOURCE_DIR) +
                              "/tests/openapi/validate.cjs' '" + doc_file + "' '" + replies_file + "' > '" + log + "' 2>&1")
                                 .c_str());
  CHECK_MESSAGE(rc == 0, slurp(log));
  CHECK(documented_replies.size() > 40);
}

TEST_CASE("the pruning planner end to end on a simulated class: CLI over ZeroMQ and HTTP, feasible and infeasible budgets") {
  TempDir dir;
  // a small residual network in tied form, its family from the CLI, profiled on a simulated tx2
  const std::string model_file = std::string(AMPERE_TEST_DATA_DIR) + "/models/mini-resnet.json";
  const auto family = ampere::testing::run_binary("ampere", {"model", "family", "--model", model_file});
  REQUIRE_MESSAGE(family.exit_code == 0, family.err);
  const int http_port = ampere::testing::free_port();
  Coordinator coordinator(dir, {"--http", "127.0.0.1:" + std::to_string(http_port)});
  BackgroundProcess agent("ampere-agent", {"--coordinator", coordinator.agents, "--backend", "simulated", "--profile", "tx2"},
                          dir.path() + "/agent.log");
  coordinator.wait_for_agents("sim-tx2", 1);
  httplib::Client http("127.0.0.1", http_port);
  CHECK(http.Get("/v1/plans/latest")->status == 204);  // no plan yet
  const auto started = coordinator.client().start_campaign(family.out, "sim-tx2", 12, "max-variance");
  coordinator.wait_done(started.at("id").get<std::uint64_t>(), 90s);
  std::this_thread::sleep_for(1500ms);  // the bridge's snapshot refreshes every second

  // the CLI asks the coordinator over ZeroMQ
  const auto cli = ampere::testing::run_binary("ampere", {"--coordinator", coordinator.clients, "plan", "prune", "--model", model_file,
                                                          "--device-class", "sim-tx2", "--budget-fraction", "0.5", "--json"});
  REQUIRE_MESSAGE(cli.exit_code == 0, cli.err);
  const auto plan = nlohmann::json::parse(cli.out);
  const double budget = plan.at("budget").at("joules").get<double>();
  const std::string chosen = plan.at("chosen");
  const auto& best = plan.at("plans").at(chosen);
  CHECK(best.at("estimate").at("bound").get<double>() <= budget);
  CHECK(plan.at("meter") == "simulated");
  // against the simulated device's truth: the plan lands near the budget, and the original near its estimate
  const ampere::SimulatedDevice truth(ampere::simulated_profile("tx2"));
  const double planned = truth.truth(ampere::parse_model_spec(best.at("model"))).joules;
  const double flops_planned = truth.truth(ampere::parse_model_spec(plan.at("flops_proportional").at("model"))).joules;
  MESSAGE("mini on sim-tx2, half-energy budget: planned (" << chosen << ") lands " << 100 * (planned / budget - 1)
                                                          << "% from it, FLOPs-proportional " << 100 * (flops_planned / budget - 1) << "%");
  CHECK(std::abs(planned / budget - 1) < 0.10);
  const auto human = ampere::testing::run_binary("ampere", {"--coordinator", coordinator.clients, "plan", "prune", "--model", model_file,
                                                            "--device-class", "sim-tx2", "--budget-fraction", "0.5", "--confidence", "0.9"});
  REQUIRE_MESSAGE(human.exit_code == 0, human.err);
  CHECK(doctest::String(human.out.c_str()) == doctest::Contains("FLOPs-proportional pruning"));
  CHECK(doctest::String(human.out.c_str()) == doctest::Contains("synthetic device, not a measurement"));
  CHECK(doctest::String(human.out.c_str()) == doctest::Contains("one-sided 0.9 upper bound"));

  // HTTP: the same request, from the bridge's snapshot; the latest plan is kept for the convergence page
  const nlohmann::json request = {{"model", nlohmann::json::parse(slurp(model_file))}, {"device_class", "sim-tx2"},
                                  {"budget", {{"fraction", 0.5}}}, {"by", "energy"}};
  auto over_http = http.Post("/v1/plan:prune", request.dump(), "application/json");
  REQUIRE(over_http->status == 200);
  const auto http_plan = nlohmann::json::parse(over_http->body);
  CHECK(http_plan.at("plans").at("greedy").at("estimate").at("bound").get<double>() <= http_plan.at("budget").at("joules").get<double>());
  auto latest = http.Get("/v1/plans/latest");
  REQUIRE(latest->status == 200);
  CHECK(nlohmann::json::parse(latest->body).at("curve").size() == 13);

  // infeasible: refused with the narrowest member's cost, over both paths
  const auto tight = ampere::testing::run_binary("ampere", {"--coordinator", coordinator.clients, "plan", "prune", "--model", model_file,
                                                            "--device-class", "sim-tx2", "--budget-fraction", "0.02"});
  CHECK(tight.exit_code != 0);
  CHECK(doctest::String(tight.err.c_str()) == doctest::Contains("is below what the narrowest model of the family costs"));
  nlohmann::json too_tight = request;
  too_tight["budget"] = {{"fraction", 0.02}};
  auto refused = http.Post("/v1/plan:prune", too_tight.dump(), "application/json");
  CHECK(refused->status == 422);
  CHECK(refused->body.find("narrowest") != std::string::npos);
  too_tight["budget"] = {{"watts", 3}};
  CHECK(http.Post("/v1/plan:prune", too_tight.dump(), "application/json")->status == 400);
}

TEST_CASE("profile on demand: an estimate of unprofiled kinds starts a campaign for exactly them, over HTTP and the CLI") {
  TempDir dir;
  const std::string token = dir.file("token", "s3cret\n");
  const int http_port = ampere::testing::free_port();
  Coordinator coordinator(dir, {"--http", "127.0.0.1:" + std::to_string(http_port), "--token-file", token});
  BackgroundProcess agent("ampere-agent", {"--coordinator", coordinator.agents, "--backend", "simulated", "--profile", "xavier"},
                          dir.path() + "/agent.log");
  coordinator.wait_for_agents("sim-xavier", 1);
  const std::string layers_head = R"({"spec_version": 2, "name": "NAME", "input": {"shape": [3, 16, 16]}, "batch_size": 4,
    "classes": 10, "layers": [
      {"type": "conv2d", "out_channels": 16, "kernel": 3, "padding": 1, "bias": false}, {"type": "batchnorm2d"}, {"type": "relu"},
      {"type": "residual", "layers": [{"type": "conv2d", "kernel": 3, "padding": 1, "bias": false}, {"type": "batchnorm2d"}]},
      {"type": "relu"}, {"type": "conv2d", "out_channels": 24, "kernel": 1}, {"type": "relu"},)";
  const std::string first = dir.file("first.json", std::regex_replace(layers_head, std::regex("NAME"), "first") +
                                                       R"( {"type": "global_avgpool"}, {"type": "linear", "out_features": 10}]})");
  // the same network with one block more: one kind the first never had
  const std::string second = dir.file("second.json", std::regex_replace(layers_head, std::regex("NAME"), "second") +
                                                         R"( {"type": "conv2d", "out_channels": 20, "kernel": 3, "padding": 1}, {"type": "relu"},
      {"type": "global_avgpool"}, {"type": "linear", "out_features": 10}]})");
  auto ampere_cli = [&](std::vector<std::string> args) {
    args.insert(args.begin(), {"--coordinator", coordinator.clients});
    return ampere::testing::run_binary("ampere", args);
  };
  // without the flag: 422 listing the kinds, nothing started
  const auto refused = ampere_cli({"estimate", "--model", first, "--device-class", "sim-xavier"});
  CHECK(refused.exit_code != 0);
  CHECK(doctest::String(refused.err.c_str()) == doctest::Contains("has no profiled kinds"));
  CHECK(coordinator.client().campaign_status(0).empty());

  // a model whose kinds no sim-xavier agent could train: refused with the bytes, nothing started
  const std::string huge = dir.file("huge.json", R"({"name": "huge", "input": {"shape": [3, 512, 512]}, "batch_size": 64, "classes": 10,
    "layers": [{"type": "conv2d", "out_channels": 512, "kernel": 3, "padding": 1}, {"type": "relu"},
               {"type": "conv2d", "out_channels": 512, "kernel": 3, "padding": 1}, {"type": "global_avgpool"},
               {"type": "linear", "out_features": 10}], "spec_version": 2})");
  const auto too_big = ampere_cli({"estimate", "--model", huge, "--device-class", "sim-xavier", "--profile-missing"});
  CHECK(too_big.exit_code != 0);
  CHECK(doctest::String(too_big.err.c_str()) == doctest::Contains("bytes) to train, over the job memory limit"));
  CHECK(coordinator.client().campaign_status(0).empty());

  // HTTP: a write, so the token; 202 with the campaign, the same id while it runs
  httplib::Client http("127.0.0.1", http_port);
  const httplib::Headers auth = {{"Authorization", "Bearer s3cret"}};
  const nlohmann::json ask = {{"model", nlohmann::json::parse(slurp(first))}, {"device_class", "sim-xavier"}, {"profile", true},
                              {"budget", 6}};
  CHECK(http.Post("/v1/estimate", ask.dump(), "application/json")->status == 401);
  auto accepted = http.Post("/v1/estimate", auth, ask.dump(), "application/json");
  REQUIRE(accepted->status == 202);
  const auto started = nlohmann::json::parse(accepted->body);
  const auto id = started.at("campaign_id").get<std::uint64_t>();
  CHECK(started.at("missing_kinds").size() == 4);  // input conv, identity residual, 1×1 conv, classifier
  auto again = http.Post("/v1/estimate", auth, ask.dump(), "application/json");
  REQUIRE(again->status == 202);
  CHECK(nlohmann::json::parse(again->body).at("campaign_id") == id);
  coordinator.wait_done(id, 60s);
  std::this_thread::sleep_for(1500ms);  // the bridge's snapshot refreshes every second
  auto done = http.Post("/v1/estimate", auth, ask.dump(), "application/json");
  REQUIRE(done->status == 200);
  CHECK(nlohmann::json::parse(done->body).at("meter") == "simulated");

  // the CLI: the second model lacks one kind; --wait shows progress, then the estimate
  const auto waited = ampere_cli({"estimate", "--model", second, "--device-class", "sim-xavier", "--profile-missing", "--wait",
                                  "--budget", "6", "--json"});
  REQUIRE_MESSAGE(waited.exit_code == 0, waited.err);
  CHECK(doctest::String(waited.err.c_str()) == doctest::Contains("1 kind(s) never profiled on sim-xavier: campaign"));
  CHECK(doctest::String(waited.err.c_str()) == doctest::Contains("points, at most"));
  const auto estimate = nlohmann::json::parse(waited.out);
  CHECK(estimate.at("model") == "second");
  CHECK(estimate.at("seconds_per_iteration").at("mean").get<double>() > 0);
  // exactly that kind (with the helpers it subtracts), not the whole family's plan
  const auto campaigns = coordinator.client().campaign_status(0);
  REQUIRE(campaigns.size() == 2);
  const auto& second_campaign = campaigns.at(1);
  const std::size_t whole_plan =
      ampere::derive_profile_kinds(ampere::free_widths_family(ampere::load_model_spec(second), 0.5, 2.0)).size();
  CHECK(second_campaign.at("kinds").size() < whole_plan);
  CHECK(second_campaign.at("kinds").size() <= 3);  // the kind, its input helper, its output helper
}

TEST_CASE("a PostgreSQL table locked for 30 s neither freezes the loop nor loses an agent or a result") {
  ampere::testing::PostgresServer postgres;
  const std::string url = postgres.create_database();
  TempDir dir;
  const int metrics_port = ampere::testing::free_port();
  auto coordinator = std::make_unique<Coordinator>(
      dir, std::vector<std::string>{"--metrics", "127.0.0.1:" + std::to_string(metrics_port), "--spool", dir.path() + "/spool.jsonl"},
      "coordinator.log", url);
  BackgroundProcess agent("ampere-agent", {"--coordinator", coordinator->agents, "--backend", "simulated", "--profile", "tx2",
                                           "--pace-ms", "40"},
                          dir.path() + "/agent.log");
  coordinator->wait_for_agents("sim-tx2", 1);
  const auto id = coordinator->client().start_campaign(slurp(models("cnn5")), "sim-tx2", 12, "max-variance").at("id").get<std::uint64_t>();
  httplib::Client scrape("127.0.0.1", metrics_port);
  auto metric = [&](const std::string& series) {
    auto r = scrape.Get("/metrics");
    REQUIRE(r);
    return metric_value(r->body, series);
  };
  for (int i = 0; i < 200 && metric("ampere_results_stored_total{device_class=\"sim-tx2\",meter=\"simulated\"}").value_or(0) < 3; ++i)
    std::this_thread::sleep_for(50ms);
  // an operator's psql session takes the tables and sits on them. Taking two tables while the
  // coordinator writes both can close a cycle; the server then rolls back one side. Where that is
  // the operator's statement, the operator runs it again (the coordinator's side spools and retries).
  std::atomic<int> locked{0};  // 1: held, -1: the holder gave up
  std::string holder_error;
  std::thread holder([&] {
    try {
      pqxx::connection c(url);
      for (int attempt = 0;; ++attempt) {
        try {
          pqxx::work w(c);
          w.exec("LOCK TABLE results, jobs IN ACCESS EXCLUSIVE MODE");
          locked = 1;
          std::this_thread::sleep_for(30s);
          w.commit();
          return;
        } catch (const pqxx::transaction_rollback&) {
          if (attempt == 4) throw;  // deadlock or serialization: taken again
        }
      }
    } catch (const std::exception& e) {
      holder_error = e.what();
      locked = -1;
    }
  });
  while (locked == 0) std::this_thread::sleep_for(10ms);
  if (locked < 0) holder.join();
  REQUIRE_MESSAGE(locked == 1, holder_error);
  auto client = coordinator->client(3000ms);
  int answered = 0, checks = 0;
  double fewest_agents = 1;
  for (const auto until = std::chrono::steady_clock::now() + 28s; std::chrono::steady_clock::now() < until;) {
    std::this_thread::sleep_for(2s);
    ++checks;
    try {
      client.device_classes();  // the loop answers
      ++answered;
    } catch (const ampere::InputError&) {
    }
    fewest_agents = std::min(fewest_agents, metric("ampere_agents_connected{device_class=\"sim-tx2\"}").value_or(0));
  }
  holder.join();
  MESSAGE("answered " << answered << " of " << checks << " checks during the 30 s lock");
  CHECK(answered >= checks - 1);  // a turn may wait out one statement timeout (5 s) now and then
  CHECK(fewest_agents == 1);      // heartbeats were read throughout: the agent was never lost
  CHECK(metric("ampere_agents_lost_total{device_class=\"sim-tx2\"}").value_or(0) == 0);
  const auto status = coordinator->wait_done(id, 120s);  // the spooled results land, the campaign finishes
  CHECK(status.at("state") == "done");
  const std::string log = slurp(dir.path() + "/coordinator.log");
  CHECK((log.find("lock timeout") != std::string::npos || log.find("statement timeout") != std::string::npos));
}

TEST_CASE("hostile: rows no coordinator would write, stored in PostgreSQL, are set aside at restart and the rest restored") {
  FinishedOnPostgres run;
  const std::string& url = run.url;
  TempDir& dir = run.dir;
  std::unique_ptr<Coordinator>& coordinator = run.coordinator;
  coordinator->process->stop();
  {  // as a forger with database access would: an infinite time, a column that is not JSON, a family that does not parse
    pqxx::connection c(url);
    pqxx::work w(c);
    const auto first = w.exec("SELECT job_id FROM results ORDER BY job_id LIMIT 2");
    REQUIRE(first.size() == 2);
    w.exec_params("UPDATE results SET seconds_json = '[1.7e308, 1e-9]' WHERE job_id = $1", first[0][0].as<std::int64_t>());
    w.exec_params("UPDATE results SET joules_json = '[[[[' WHERE job_id = $1", first[1][0].as<std::int64_t>());
    w.exec("INSERT INTO campaigns (family_json, device_class, budget_per_kind, acquisition, state, estimator, only_kinds_json) "
           "VALUES ('{\"name\": [', 'sim-server', 4, 'max-variance', 'running', 'joint', '')");
    w.commit();
  }
  coordinator->start(dir, {}, "coordinator-2.log");  // it starts: nothing stored stops it
  const auto all = coordinator->client().campaign_status(0);
  REQUIRE(all.size() == 2);
  std::size_t rows = 0;
  bool whole = false;
  for (const auto& c : all) {
    rows += c.at("quarantined").size();
    whole = whole || c.at("state") == "quarantined";
  }
  CHECK(rows == 3);  // two results, one campaign
  CHECK(whole);
  const auto model = ampere::sample_model(ampere::load_model_spec(models("lstm")), 4);
  CHECK(coordinator->client().estimate(ampere::to_json(model).dump(), "sim-server", 1).at("meter") == "simulated");
  const std::string log = slurp(dir.path() + "/coordinator-2.log");
  CHECK(log.find("stored row set aside") != std::string::npos);
}

TEST_CASE("--ha: of two coordinators one leads, the other stands by (not-leader, /readyz standby) and takes over when the leader stops") {
  ampere::testing::PostgresServer postgres;
  const std::string url = postgres.create_database();
  TempDir dir;
  struct Instance {
    std::string agents, clients;
    int http = 0;
    std::unique_ptr<BackgroundProcess> process;
  };
  const auto start = [&](const std::string& name) {
    Instance i{"tcp://127.0.0.1:" + std::to_string(ampere::testing::free_port()),
               "tcp://127.0.0.1:" + std::to_string(ampere::testing::free_port()), ampere::testing::free_port(), nullptr};
    i.process = std::make_unique<BackgroundProcess>(
        "ampere-coordinator",
        std::vector<std::string>{"--ha", "--store", url, "--agents", i.agents, "--clients", i.clients, "--http",
                                 "127.0.0.1:" + std::to_string(i.http), "--data-dir", dir.path() + "/" + name},
        dir.path() + "/" + name + ".log");
    return i;
  };
  zmq::context_t context;
  const auto leads = [&](const Instance& i) {  // its own client socket answers a request
    try {
      ampere::CoordinatorClient(context, i.clients, 1000ms).device_classes();
      return true;
    } catch (const ampere::InputError&) {
      return false;
    }
  };
  const auto readiness = [&](const Instance& i) {
    httplib::Client http("127.0.0.1", i.http);
    const auto r = http.Get("/readyz");
    return r ? std::make_pair(r->status, r->body) : std::make_pair(0, std::string());
  };
  const auto eventually = [](const std::function<bool()>& condition) {
    for (int tries = 0; tries < 200; ++tries) {
      if (condition()) return true;
      std::this_thread::sleep_for(50ms);
    }
    return false;
  };
  Instance a = start("a");
  REQUIRE_MESSAGE(eventually([&] { return leads(a); }), slurp(dir.path() + "/a.log"));
  Instance b = start("b");
  REQUIRE_MESSAGE(eventually([&] { return readiness(b).first == 503; }), slurp(dir.path() + "/b.log"));
  CHECK(nlohmann::json::parse(readiness(b).second).at("role") == "standby");
  // the standby answers "not the leader", with its own code
  try {
    ampere::CoordinatorClient(context, b.clients, 2000ms).device_classes();
    FAIL("a standby answered a request");
  } catch (const ampere::InputError& e) {
    CHECK(e.code() == ampere::ErrorCode::NotLeader);
    CHECK(std::string(e.what()).find("standby") != std::string::npos);
  }
  // a client listing both (the standby first) reaches the leader
  CHECK_NOTHROW(ampere::CoordinatorClient(context, b.clients + "," + a.clients, 5000ms).device_classes());
  CHECK(eventually([&] { return readiness(a).first == 200; }));
  // the leader stops: the standby takes the lease and leads; the list still works
  CHECK(a.process->stop() == 0);
  CHECK_MESSAGE(eventually([&] { return leads(b); }), slurp(dir.path() + "/b.log"));
  CHECK(eventually([&] { return readiness(b).first == 200; }));
  CHECK_NOTHROW(ampere::CoordinatorClient(context, a.clients + "," + b.clients, 5000ms).device_classes());
  const std::string log = slurp(dir.path() + "/b.log");
  CHECK(log.find("took the lease at epoch 2") != std::string::npos);
  CHECK(log.find("synchronous_standby_names is empty") != std::string::npos);  // the start-up warning
}

TEST_CASE("ampere-bridge serves its own /metrics: build info as a bridge and the estimates it answered, none of the loop's series") {
  TempDir dir;
  const int http_port = ampere::testing::free_port(), metrics_port = ampere::testing::free_port();
  BackgroundProcess bridge("ampere-bridge",
                           {"--store", "sqlite:" + dir.path() + "/store.db", "--http", "127.0.0.1:" + std::to_string(http_port),
                            "--metrics", "127.0.0.1:" + std::to_string(metrics_port), "--coordinator", "tcp://127.0.0.1:1"},
                           dir.path() + "/bridge.log");
  httplib::Client http("127.0.0.1", http_port);
  bool ready = false;
  for (int i = 0; i < 100 && !ready; ++i) {
    const auto r = http.Get("/readyz");
    ready = r && r->status == 200;
    if (!ready) std::this_thread::sleep_for(50ms);
  }
  REQUIRE_MESSAGE(ready, slurp(dir.path() + "/bridge.log"));
  const std::string model = nlohmann::json{{"model", nlohmann::json::parse(slurp(models("lenet5")))}, {"device_class", "sim-x"}}.dump();
  const auto estimate = http.Post("/v1/estimate", model, "application/json");
  REQUIRE(estimate);
  CHECK(estimate->status >= 400);  // nothing profiled: refused, and counted
  httplib::Client scrape("127.0.0.1", metrics_port);
  const auto r = scrape.Get("/metrics");
  REQUIRE(r);
  CHECK(r->body.find("ampere_build_info{component=\"bridge\"") != std::string::npos);
  CHECK(r->body.find("ampere_estimate_requests_total{") != std::string::npos);
  CHECK(r->body.find("\nampere_coordinator_leader ") == std::string::npos);  // no lease here
  CHECK(r->body.find("\nampere_store_up ") == std::string::npos);
}
