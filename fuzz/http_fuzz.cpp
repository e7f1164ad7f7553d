// Any bytes as a request to one of the HTTP bridge's routes, answered by the real handlers
// (route_table; no socket: httplib's own request parsing is httplib's to fuzz). The snapshot holds
// a class's fitted models (a small residual family profiled on a simulated device at start), so
// bodies reach the estimator and the pruning planner; the coordinator client is unreachable, as
// when the loop is away. Input: byte 0 picks the route, byte 1 the headers (bit 0: JSON content
// type, bit 1: the write token, bit 2: a wrong token, bit 3: reads need a token), then for a
// route with a path parameter the parameter up to the first newline, then the body.
//
// Must never crash, and every answer must be one a client can use: no exception out of a handler
// (httplib would answer 500), no 500, and a JSON reply that parses.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstdio>
#include <map>
#include <memory>
#include <regex>
#include <string>
#include <vector>

#include "coordinator/planning/estimator.hpp"  // before httplib.h: <resolv.h> defines _res, which Eigen uses as a name

#include <httplib.h>

#include <spdlog/spdlog.h>

#include "agent/simulated_device.hpp"
#include "common/error.hpp"
#include "common/model_family.hpp"
#include "common/model_spec.hpp"
#include "coordinator/http/reply_cache.hpp"
#include "coordinator/http/openapi.hpp"
#include "coordinator/http/routes.hpp"
#include "coordinator/planning/campaign.hpp"

namespace {

std::shared_ptr<const ampere::BridgeSnapshot> profiled_snapshot() {
  const ampere::SimulatedDevice device(ampere::simulated_profile("tx2"));
  ampere::CampaignSettings settings;
  settings.budget_per_kind = 6;
  const ampere::ModelSpec resnet = ampere::load_model_spec(std::string(AMPERE_TEST_DATA_DIR) + "/models/mini-resnet.json");
  ampere::Campaign campaign(1, ampere::free_widths_family(resnet, 0.25), "sim-tx2", settings);
  std::uint64_t seed = 0;
  for (int round = 0; round < 1000 && !campaign.done(); ++round)
    for (const ampere::PlannedJob& job : campaign.plan(4))
      campaign.add_result(job.kind, job.channels, device.measure(job.variant, 3, ++seed));
  auto snapshot = std::make_shared<ampere::BridgeSnapshot>();
  snapshot->generation = 1;
  snapshot->catalog.set_models("sim-tx2", campaign.models());
  snapshot->accuracy["sim-tx2"] = {{"device_class", "sim-tx2"}, {"models", nlohmann::json::array()}};
  return snapshot;
}

struct Bridge {
  ampere::FixedSnapshotSource snapshots{profiled_snapshot()};
  ampere::ClientFactory client = []() -> std::unique_ptr<ampere::CoordinatorClient> {
    throw ampere::InputError("fuzz: the coordinator is away", ampere::ErrorCode::Unavailable);
  };
  ampere::BridgeConfig open_reads, closed_reads;
  ampere::ReplyCache cache{256};
  ampere::LatestPlan latest_plan;
  std::unique_ptr<ampere::RouteContext> open_context, closed_context;
  std::vector<ampere::Route> open_routes, closed_routes;
  Bridge() {
    spdlog::set_level(spdlog::level::off);
    open_reads.token = closed_reads.token = "write-token";
    closed_reads.read_token = "read-token";
    open_context = std::make_unique<ampere::RouteContext>(
        ampere::RouteContext{snapshots, client, open_reads, nullptr, cache, latest_plan});
    closed_context = std::make_unique<ampere::RouteContext>(
        ampere::RouteContext{snapshots, client, closed_reads, nullptr, cache, latest_plan});
    open_routes = ampere::route_table(*open_context);
    closed_routes = ampere::route_table(*closed_context);
  }
};

[[noreturn]] void finding(const std::string& route, const std::string& what) {
  std::fprintf(stderr, "fuzz_http: %s: %s\n", route.c_str(), what.c_str());
  std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static Bridge bridge;
  if (size < 2) return 0;
  const bool reads_closed = (data[1] & 8) != 0;
  const ampere::RouteContext& context = reads_closed ? *bridge.closed_context : *bridge.open_context;
  const std::vector<ampere::Route>& routes = reads_closed ? bridge.closed_routes : bridge.open_routes;
  const ampere::Route& route = routes[data[0] % routes.size()];

  httplib::Request req;
  req.method = route.method;
  std::string rest(reinterpret_cast<const char*>(data) + 2, size - 2);
  const std::size_t group = route.pattern.find('(');
  if (group != std::string::npos) {  // a path parameter: substitute it for the pattern's group
    const std::size_t newline = rest.find('\n');
    const std::string parameter = rest.substr(0, newline);
    rest = newline == std::string::npos ? std::string() : rest.substr(newline + 1);
    req.path = route.pattern.substr(0, group) + parameter + route.pattern.substr(route.pattern.find(')', group) + 1);
    static std::map<std::string, std::regex> compiled;
    auto found = compiled.try_emplace(route.pattern, route.pattern).first;
    if (!std::regex_match(req.path, req.matches, found->second)) return 0;  // httplib: 404, no handler
  } else {
    req.path = route.pattern;
  }
  req.body = std::move(rest);
  if (data[1] & 1) req.set_header("Content-Type", "application/json");
  if (data[1] & 2) req.set_header("Authorization", "Bearer write-token");
  else if (data[1] & 4) req.set_header("Authorization", "Bearer wrong-token");

  httplib::Response res;
  res.status = 200;
  try {
    if (!ampere::refused_before_routing(context, req, res)) route.handle(req, res);
  } catch (const std::exception& e) {
    finding(route.method + " " + route.pattern, std::string("exception out of the handler: ") + e.what());
  } catch (...) {
    finding(route.method + " " + route.pattern, "non-standard exception out of the handler");
  }
  if (res.status >= 500 && res.status != 503) finding(route.method + " " + route.pattern, "answered " + std::to_string(res.status));
  const std::string type = res.get_header_value("Content-Type");
  if ((type == "application/json" || type == ampere::kProblemContentType) && !nlohmann::json::accept(res.body))
    finding(route.method + " " + route.pattern, "a reply that is not JSON: " + res.body.substr(0, 200));
  // The OpenAPI document lists every status the route can answer: an undocumented one is a finding.
  const ampere::RouteDoc* doc = ampere::find_route_doc(route.method, route.pattern);
  if (doc == nullptr) finding(route.method + " " + route.pattern, "a route the OpenAPI document does not list");
  if (std::none_of(doc->responses.begin(), doc->responses.end(), [&](const auto& r) { return r.first == res.status; }))
    finding(route.method + " " + route.pattern, "answered " + std::to_string(res.status) + ", which its OpenAPI operation does not list");
  if (res.status >= 400 && type != ampere::kProblemContentType)
    finding(route.method + " " + route.pattern, "an error that is not application/problem+json: " + type);
  return 0;
}
