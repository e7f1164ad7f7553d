// The operations surface against the real things: a real Prometheus 2.x scrapes a coordinator
// running a simulated campaign on loopback, and every panel of the Grafana dashboard is evaluated
// through Prometheus's HTTP API; the alert rules load into that Prometheus; the convergence page
// renders in headless Chromium.
#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <thread>

#include <doctest/doctest.h>
#include <httplib.h>
#include <nlohmann/json.hpp>

#include "common/error.hpp"
#include "common/model_spec.hpp"
#include "coordinator/client/coordinator_client.hpp"
#include "integration/process.hpp"

using ampere::testing::BackgroundProcess;
using ampere::testing::TempDir;
using nlohmann::json;
using namespace std::chrono_literals;

namespace {

std::string source(const std::string& relative) { return std::string(AMPERE_SOURCE_DIR) + "/" + relative; }
std::string models(const std::string& name) { return std::string(AMPERE_MODELS_DIR) + "/" + name + ".json"; }

/// A coordinator with metrics and the HTTP bridge, one simulated agent, one finished campaign and
/// some estimates served (shared by the tests of this file: started once).
struct Fleet {
  TempDir dir;
  int metrics_port = ampere::testing::free_port();
  int http_port = ampere::testing::free_port();
  std::string agents = "tcp://127.0.0.1:" + std::to_string(ampere::testing::free_port());
  std::string clients = "tcp://127.0.0.1:" + std::to_string(ampere::testing::free_port());
  zmq::context_t context;
  std::unique_ptr<BackgroundProcess> coordinator, agent;
  std::uint64_t campaign = 0;

  Fleet() {
    coordinator = std::make_unique<BackgroundProcess>(
        "ampere-coordinator",
        std::vector<std::string>{"--data-dir", dir.path(), "--agents", agents, "--clients", clients, "--metrics",
                                 "127.0.0.1:" + std::to_string(metrics_port), "--http",
                                 "127.0.0.1:" + std::to_string(http_port)},
        dir.path() + "/coordinator.log");
    agent = std::make_unique<BackgroundProcess>(
        "ampere-agent",
        std::vector<std::string>{"--coordinator", agents, "--backend", "simulated", "--profile", "xavier", "--pace-ms", "15"},
        dir.path() + "/agent.log");
  }
  ampere::CoordinatorClient client() { return ampere::CoordinatorClient(context, clients, 10000ms); }
  void start_campaign() {
    for (int i = 0; i < 200; ++i) {
      try {
        for (const auto& c : client().device_classes())
          if (c.at("name") == "sim-xavier" && c.at("agents").get<int>() > 0) {
            campaign = client().start_campaign(ampere::testing::slurp_file(models("cnn5")), "sim-xavier", 10, "max-variance")
                           .at("id")
                           .get<std::uint64_t>();
            return;
          }
      } catch (const ampere::InputError&) {
      }
      std::this_thread::sleep_for(50ms);
    }
    FAIL("the agent did not register; coordinator log:\n" << ampere::testing::slurp_file(dir.path() + "/coordinator.log"));
  }
  void wait_done() {
    for (int i = 0; i < 1200; ++i) {
      if (client().campaign_status(campaign).at(0).at("state") == "done") return;
      std::this_thread::sleep_for(100ms);
    }
    FAIL("campaign not done in 120 s");
  }
  /// Estimates through the bridge: good ones and refused ones (both count in the metrics).
  void serve_estimates() {
    httplib::Client http("127.0.0.1", http_port);
    std::this_thread::sleep_for(1500ms);  // the bridge's snapshot of fitted models refreshes every second
    const ampere::ModelSpec family = ampere::load_model_spec(models("cnn5"));
    for (int i = 0; i < 20; ++i) {
      const json body = {{"model", ampere::to_json(ampere::sample_model(family, 900 + i))}, {"device_class", "sim-xavier"}};
      auto r = http.Post("/v1/estimate", body.dump(), "application/json");
      REQUIRE(r);
      CHECK(r->status == 200);
    }
    auto bad = http.Post("/v1/estimate", "{}", "application/json");
    REQUIRE(bad);
    CHECK(bad->status == 400);
  }
};

/// A real Prometheus on loopback scraping `target` every second, with the shipped alert rules.
struct Prometheus {
  TempDir dir;
  int port = ampere::testing::free_port();
  std::unique_ptr<BackgroundProcess> process;
  explicit Prometheus(int target_port) {
    // The shipped scrape snippet pasted under a config's scrape_configs:, as docs/operations.md
    // says, its target pointed at this coordinator and scraped every second.
    std::string snippet = ampere::testing::slurp_file(source("deploy/prometheus/scrape-ampere.yml"));
    for (const auto& [from, to] : std::vector<std::pair<std::string, std::string>>{
             {"127.0.0.1:9464", "127.0.0.1:" + std::to_string(target_port)}, {"scrape_interval: 15s", "scrape_interval: 1s"}}) {
      const auto at = snippet.find(from);
      REQUIRE(at != std::string::npos);
      snippet.replace(at, from.size(), to);
    }
    const std::string config = dir.file("prometheus.yml",
                                        "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n"
                                        "rule_files:\n  - " + source("deploy/prometheus/alerts.yml") + "\n"
                                        "scrape_configs:\n" + snippet);
    process = std::make_unique<BackgroundProcess>(
        "/usr/bin/prometheus",
        std::vector<std::string>{"--config.file=" + config, "--storage.tsdb.path=" + dir.path() + "/data",
                                 "--web.listen-address=127.0.0.1:" + std::to_string(port), "--log.level=warn"},
        dir.path() + "/prometheus.log");
    httplib::Client http("127.0.0.1", port);
    for (int i = 0; i < 300; ++i) {
      if (auto r = http.Get("/-/ready"); r && r->status == 200) return;
      std::this_thread::sleep_for(100ms);
    }
    FAIL("Prometheus did not become ready:\n" << ampere::testing::slurp_file(dir.path() + "/prometheus.log"));
  }
  json api(const std::string& path, const httplib::Params& params = {}) {
    httplib::Client http("127.0.0.1", port);
    auto r = http.Get(path, params, httplib::Headers{});
    REQUIRE(r);
    const json body = json::parse(r->body);
    INFO(r->body);
    REQUIRE(body.at("status") == "success");
    return body.at("data");
  }
  json query(const std::string& promql) { return api("/api/v1/query", {{"query", promql}}); }
};

/// Grafana's variables as a dashboard refresh would fill them in for "All" device classes.
std::string with_variables(std::string expr) {
  for (const auto& [name, value] : std::vector<std::pair<std::string, std::string>>{
           {"$__rate_interval", "15s"}, {"$device_class", ".*"}, {"$instance", ".*"}}) {
    for (auto at = expr.find(name); at != std::string::npos; at = expr.find(name, at)) expr.replace(at, name.size(), value);
  }
  return expr;
}

}  // namespace

TEST_CASE("every Grafana panel's PromQL returns data from a real Prometheus scraping a campaign, and the alert rules load there") {
  const json dashboard = json::parse(ampere::testing::slurp_file(source("dashboards/ampere-convergence.json")));
  // Grafana's dashboard schema shape: uid, title, panels with a data source and targets with expr
  REQUIRE(dashboard.at("uid").is_string());
  CHECK_FALSE(dashboard.at("uid").get<std::string>().empty());
  CHECK(dashboard.at("title").is_string());
  CHECK(dashboard.at("schemaVersion").get<int>() >= 30);
  // No data source uid is written into the dashboard: a variable picks the Prometheus (any uid),
  // another the coordinator instance(s), and every query filters by it.
  const std::string datasource_uid = "${datasource}";
  const std::string provisioned = ampere::testing::slurp_file(source("deploy/grafana/provisioning/datasources/ampere.yaml"));
  const std::string dashboard_text = ampere::testing::slurp_file(source("dashboards/ampere-convergence.json"));
  CHECK(dashboard_text.find("ampere-prometheus") == std::string::npos);
  CHECK(provisioned.find("type: prometheus") != std::string::npos);
  std::map<std::string, json> variables;
  for (const json& v : dashboard.at("templating").at("list")) variables[v.at("name")] = v;
  REQUIRE(variables.count("datasource"));
  CHECK(variables.at("datasource").at("type") == "datasource");
  CHECK(variables.at("datasource").at("query") == "prometheus");
  REQUIRE(variables.count("instance"));
  CHECK(variables.at("instance").at("datasource").at("uid") == datasource_uid);
  CHECK(variables.at("device_class").at("datasource").at("uid") == datasource_uid);
  CHECK(ampere::testing::slurp_file(source("deploy/grafana/provisioning/dashboards/ampere.yaml")).find("type: file") !=
        std::string::npos);
  REQUIRE(dashboard.at("panels").is_array());
  REQUIRE(dashboard.at("panels").size() >= 8);
  std::set<int> ids;
  std::vector<std::pair<std::string, std::string>> queries;  // panel title, expr
  for (const json& panel : dashboard.at("panels")) {
    CAPTURE(panel.dump());
    CHECK(ids.insert(panel.at("id").get<int>()).second);
    CHECK(panel.at("type").is_string());
    CHECK(panel.at("gridPos").at("w").get<int>() > 0);
    CHECK(panel.at("datasource").at("uid") == datasource_uid);
    REQUIRE(panel.at("targets").is_array());
    REQUIRE_FALSE(panel.at("targets").empty());
    for (const json& target : panel.at("targets")) {
      CHECK(target.at("refId").is_string());
      REQUIRE(target.at("expr").is_string());
      CHECK(target.at("expr").get<std::string>().find("instance=~\"$instance\"") != std::string::npos);
      queries.emplace_back(panel.at("title").get<std::string>(), target.at("expr").get<std::string>());
    }
  }

  Fleet fleet;
  Prometheus prometheus(fleet.metrics_port);
  fleet.start_campaign();
  fleet.wait_done();
  fleet.serve_estimates();
  std::this_thread::sleep_for(4s);  // a few more scrapes after the last events: rates need two samples

  const json targets = prometheus.api("/api/v1/targets").at("activeTargets");
  REQUIRE(targets.size() == 1);
  CHECK(targets.at(0).at("health") == "up");

  for (const auto& [title, expr] : queries) {
    CAPTURE(title);
    CAPTURE(expr);
    const json data = prometheus.query(with_variables(expr));
    CHECK(data.at("resultType") == "vector");
    CHECK_FALSE(data.at("result").empty());
  }
  // the convergence the dashboard shows is the campaign's: every kind stopped, points within budget
  for (const json& sample : prometheus.query("ampere_kind_done{device_class=\"sim-xavier\"}").at("result"))
    CHECK(sample.at("value").at(1) == "1");
  for (const json& sample : prometheus.query("ampere_kind_points{device_class=\"sim-xavier\"}").at("result"))
    CHECK(std::stod(sample.at("value").at(1).get<std::string>()) <= 10);
  const json mape = prometheus.query("ampere_heldout_mape_ratio{device_class=\"sim-xavier\",quantity=\"seconds\"}").at("result");
  REQUIRE(mape.size() == 2);
  double ours = 1, flops = 0;
  for (const json& m : mape)
    (m.at("metric").at("estimator") == "ampere" ? ours : flops) = std::stod(m.at("value").at(1).get<std::string>());
  CHECK(ours < flops);  // the live figure the dashboard shows: AMPERE beats the FLOPs line
  CHECK(ours < 0.15);

  // the shipped alert rules load into this Prometheus and evaluate without errors
  const json groups = prometheus.api("/api/v1/rules").at("groups");
  REQUIRE(groups.size() == 1);
  CHECK(groups.at(0).at("name") == "ampere-fleet");
  CHECK(groups.at(0).at("rules").size() == 10);  // AmpereNoLeader (--ha) is the tenth
  for (const json& rule : groups.at(0).at("rules")) {
    CAPTURE(rule.at("name"));
    CHECK(rule.at("health") == "ok");
  }
  // a healthy fleet fires nothing but (maybe) nothing
  for (const json& alert : prometheus.api("/api/v1/alerts").at("alerts")) CHECK(alert.at("state") != "firing");
}

TEST_CASE("the convergence page renders in headless Chromium with non-empty plots, nothing external and no console errors") {
  const std::string chromium = "/usr/bin/chromium";
  REQUIRE_MESSAGE(std::ifstream(chromium).good(), "install the Debian package 'chromium' (./run setup)");
  Fleet fleet;
  fleet.start_campaign();
  fleet.wait_done();
  std::this_thread::sleep_for(1500ms);  // the bridge's snapshot refreshes every second
  // a pruning plan of a member of the profiled family: the page plots its curve
  httplib::Client http("127.0.0.1", fleet.http_port);
  const nlohmann::json plan_request = {
      {"model", ampere::to_json(ampere::sample_model(ampere::load_model_spec(models("cnn5")), 3))},
      {"device_class", "sim-xavier"}, {"budget", {{"fraction", 0.9}}}, {"by", "time"}, {"min_fraction", 0.25}};
  auto planned = http.Post("/v1/plan:prune", plan_request.dump(), "application/json");
  REQUIRE(planned);
  REQUIRE_MESSAGE(planned->status == 200, planned->body);
  const std::string url = "http://127.0.0.1:" + std::to_string(fleet.http_port) + "/?class=sim-xavier";
  TempDir browser;
  // Only loopback resolves: a page that tried to load anything from elsewhere would log an error.
  const std::vector<std::string> common = {"--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                                           "--no-first-run", "--disable-background-networking", "--disable-component-update",
                                           "--disable-sync", "--disable-default-apps", "--disable-extensions",
                                           "--user-data-dir=" + browser.path() + "/profile",
                                           "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1",
                                           "--enable-logging=stderr", "--v=0", "--virtual-time-budget=5000",
                                           "--window-size=1100,1500"};
  std::vector<std::string> dump = common;
  dump.insert(dump.end(), {"--dump-dom", url});
  const auto dom = ampere::testing::run_binary(chromium, dump);
  REQUIRE_MESSAGE(dom.exit_code == 0, dom.err);
  CAPTURE(dom.err);
  // no console output at all (the page logs nothing; errors and failed loads would show here)
  CHECK(dom.err.find(":CONSOLE") == std::string::npos);
  CHECK(dom.out.find("data-errors") == std::string::npos);
  // non-empty plots: the page counts what it drew
  const auto plotted = dom.out.find("data-plotted=\"");
  REQUIRE(plotted != std::string::npos);
  const int points = std::stoi(dom.out.substr(plotted + 14));
  CHECK(points > 10);  // the kinds' latest std + every measured network in the scatter
  CHECK(dom.out.find("class=\"flops\"") != std::string::npos);  // the FLOPs line is drawn beside
  CHECK(dom.out.find("held-out time MAPE") != std::string::npos);
  CHECK(dom.out.find("class=\"note\">cannot load") == std::string::npos);  // the status line, not the script
  const auto plan_points = dom.out.find("data-plan-points=\"");
  REQUIRE(plan_points != std::string::npos);
  CHECK(std::stoi(dom.out.substr(plan_points + 18)) == 13);  // the latest plan's curve
  CHECK(dom.out.find("class=\"flops-curve\"") != std::string::npos);

  const std::string shot = std::string(AMPERE_BIN_DIR) + "/../test-artifacts/convergence-page.png";
  std::filesystem::create_directories(std::filesystem::path(shot).parent_path());
  std::filesystem::remove(shot);
  std::vector<std::string> screenshot = common;
  screenshot.insert(screenshot.end(), {"--screenshot=" + shot, url});
  const auto taken = ampere::testing::run_binary(chromium, screenshot);
  REQUIRE_MESSAGE(taken.exit_code == 0, taken.err);
  CHECK(taken.err.find(":CONSOLE") == std::string::npos);
  const std::string png = ampere::testing::slurp_file(shot);
  REQUIRE(png.size() > 24);
  CHECK(png.compare(0, 8, "\x89PNG\r\n\x1a\n") == 0);
  auto be32 = [&](std::size_t at) {
    return (static_cast<unsigned>(static_cast<unsigned char>(png[at])) << 24) |
           (static_cast<unsigned>(static_cast<unsigned char>(png[at + 1])) << 16) |
           (static_cast<unsigned>(static_cast<unsigned char>(png[at + 2])) << 8) |
           static_cast<unsigned>(static_cast<unsigned char>(png[at + 3]));
  };
  CHECK(be32(16) == 1100);  // IHDR width, height
  CHECK(be32(20) == 1500);
  CHECK(png.size() > 20000);  // a blank page compresses to a few kB; plots and tables do not
  MESSAGE("screenshot: " << std::filesystem::canonical(shot).string() << " (" << png.size() << " bytes)");
}
