#include "coordinator/http/routes.hpp"

#include "coordinator/planning/estimator.hpp"  // before httplib.h: <resolv.h> defines _res, which Eigen uses as a name
#include "coordinator/planning/pruning_planner.hpp"

#include <httplib.h>

#include <charconv>
#include <chrono>
#include <limits>
#include <map>
#include <optional>

#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "common/campaign_budget.hpp"
#include "common/error.hpp"
#include "common/json_text.hpp"
#include "coordinator/http/convergence_page.hpp"
#include "coordinator/http/openapi.hpp"

namespace ampere {
namespace {

using nlohmann::json;
using Clock = std::chrono::steady_clock;

void reply(httplib::Response& res, int status, const json& body) {
  res.status = status;
  // An error is a problem document (RFC 9457); a request's bytes may come back in its detail:
  // bytes that are not UTF-8 are replaced (U+FFFD), never allowed to fail the reply.
  if (status >= 400) {
    res.set_content(problem_document(status, body).dump(-1, ' ', false, json::error_handler_t::replace), kProblemContentType);
    return;
  }
  res.set_content(body.dump(-1, ' ', false, json::error_handler_t::replace), "application/json");
}

void error(httplib::Response& res, int status, const std::string& message, json extra = json::object()) {
  extra["error"] = message;
  reply(res, status, extra);
}

/// True when the request carries `Authorization: Bearer <token>`, compared in constant time (no
/// early exit on the first differing byte: the time says nothing about the token).
bool bearer_matches(const httplib::Request& req, const std::string& token) {
  const std::string given = req.get_header_value("Authorization");
  const std::string expected = "Bearer " + token;
  unsigned char differ = given.size() == expected.size() ? 0 : 1;
  for (std::size_t i = 0; i < expected.size(); ++i)
    differ |= static_cast<unsigned char>(expected[i] ^ (i < given.size() ? given[i] : 0));
  return differ == 0;
}

/// A campaign id from a route: 1..2^63-1, else nullopt (answered 404: no such campaign).
std::optional<std::uint64_t> route_id(const std::string& text) {
  std::uint64_t id = 0;
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), id);
  if (error != std::errc() || end != text.data() + text.size() || id == 0 || id > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max()))
    return std::nullopt;
  return id;
}

/// An error from the loop (or a client that could not reach it), answered by its code.
void coded_error(httplib::Response& res, const InputError& e) {
  error(res, http_status(e.code()), e.what(), {{"code", error_code_name(e.code())}});
}

/// The JSON object of a request body, or an error reply (415, 400) and nullopt.
std::optional<json> json_body(const httplib::Request& req, httplib::Response& res,
                              const std::vector<std::string>& allowed_fields) {
  const std::string type = req.get_header_value("Content-Type");
  if (type.rfind("application/json", 0) != 0) {
    error(res, 415, "Content-Type must be application/json, got '" + type + "'");
    return std::nullopt;
  }
  json body;
  try {
    body = parse_json(req.body, "body");
  } catch (const InputError& e) {
    error(res, 400, e.what());
    return std::nullopt;
  }
  if (!body.is_object()) {
    error(res, 400, "body must be a JSON object");
    return std::nullopt;
  }
  for (const auto& [key, value] : body.items()) {
    (void)value;
    if (std::find(allowed_fields.begin(), allowed_fields.end(), key) == allowed_fields.end()) {
      std::string list;
      for (const auto& f : allowed_fields) list += (list.empty() ? "" : ", ") + f;
      error(res, 400, "unknown field '" + key + "' (allowed: " + list + ")");
      return std::nullopt;
    }
  }
  return body;
}

/// A request's "budget" (points per kind), checked by the one budget rule; `fallback` when absent.
/// A bad one is answered 422 naming it, and nullopt returned.
std::optional<std::uint32_t> points_per_kind(const json& body, std::uint32_t fallback, httplib::Response& res) {
  if (!body.contains("budget")) return fallback;
  const json& given = body.at("budget");
  if (!given.is_number_integer()) {
    error(res, 422, "budget: points per kind must be a whole number, got " + given.dump());
    return std::nullopt;
  }
  try {
    require_budget(given.get<std::int64_t>());  // -1 is refused here, not stored as 4294967295
  } catch (const InputError& e) {
    error(res, 422, e.what());
    return std::nullopt;
  }
  return given.get<std::uint32_t>();
}

/// One estimate request object -> (status, body).
std::pair<int, json> estimate_one(const BridgeSnapshot* snapshot, const json& request) {
  if (!request.contains("model") || !request.contains("device_class"))
    return {400, {{"error", "needs \"model\" (a model spec) and \"device_class\""}}};
  if (!request.at("device_class").is_string()) return {400, {{"error", "device_class: must be a string"}}};
  std::uint64_t iterations = 1;
  if (request.contains("iterations")) {
    if (!request.at("iterations").is_number_unsigned() || request.at("iterations").get<std::uint64_t>() == 0)
      return {400, {{"error", "iterations: must be a positive integer"}}};
    iterations = request.at("iterations").get<std::uint64_t>();
  }
  if (snapshot == nullptr) return {503, {{"error", "no fitted models loaded yet"}}};
  try {
    return {200, snapshot->catalog.estimator().estimate(parse_model_spec(request.at("model")), request.at("device_class"),
                                                        iterations)};
  } catch (const MissingKinds& e) {
    return {http_status(e.code()), {{"error", e.what()}, {"missing_kinds", e.kinds()}}};
  } catch (const InputError& e) {
    const bool spec = e.code() == ErrorCode::InvalidInput;  // the model spec itself: say so
    return {http_status(e.code()), {{"error", (spec ? std::string("model: ") : std::string()) + e.what()}}};
  }
}

/// Counts one estimate answered with `status` and its latency, when metrics are kept.
void served(const RouteContext& c, Clock::time_point started, int status) {
  if (c.metrics != nullptr)
    c.metrics->estimate_served("http", status, std::chrono::duration<double>(Clock::now() - started).count());
}

/// Profile-on-demand (docs/byom.md §3): an estimate with "profile": true is a write (it may start a
/// campaign), so it needs the token; answered from the snapshot when it can, else by the loop,
/// which starts (or finds running) the campaign for the missing kinds: 202.
void post_estimate_or_profile(const RouteContext& c, const json& body, httplib::Response& res) {
  if (c.config.token.empty()) return error(res, 403, "writes are disabled: start the coordinator with --token-file");
  const auto started = Clock::now();
  const auto snapshot = c.snapshots.current();
  json request = body;
  request.erase("profile");
  request.erase("budget");
  auto [status, out] = estimate_one(snapshot.get(), request);
  if (status == 200 || status == 400) {
    reply(res, status, out);
    return served(c, started, status);
  }
  const auto budget = points_per_kind(body, 0, res);  // 0: the coordinator's default
  if (!budget) return;
  try {
    const auto [accepted, answer] = c.client()->estimate_or_profile(body.at("model").dump(), body.at("device_class"),
                                                                    body.value("iterations", std::uint64_t{1}), true, *budget);
    status = accepted ? 202 : 200;
    reply(res, status, answer);
  } catch (const InputError& e) {
    status = http_status(e.code());
    coded_error(res, e);
  }
  served(c, started, status);
}

void post_estimate(const RouteContext& c, const httplib::Request& req, httplib::Response& res) {
  const auto started = Clock::now();
  const auto snapshot = c.snapshots.current();
  const bool json_type = req.get_header_value("Content-Type").rfind("application/json", 0) == 0;
  if (json_type && snapshot)
    if (auto hit = c.cache.find(snapshot->generation, req.body)) {
      res.status = hit->first;
      res.set_content(hit->second, hit->first >= 400 ? kProblemContentType : "application/json");
      res.set_header("X-Ampere-Cache", "hit");
      return served(c, started, hit->first);
    }
  const auto body = json_body(req, res, {"model", "device_class", "iterations", "profile", "budget"});
  if (!body) return served(c, started, res.status);
  if (body->contains("profile") && !body->at("profile").is_boolean()) return error(res, 400, "profile: must be true or false");
  if (body->contains("budget") && !body->value("profile", false))
    return error(res, 400, "budget: only with \"profile\": true (points per kind of the campaign it may start)");
  if (body->value("profile", false)) {
    if (!c.config.token.empty() && !bearer_matches(req, c.config.token))
      return error(res, http_status(ErrorCode::Unauthorized), "\"profile\": true may start a campaign: missing or wrong bearer token");
    return post_estimate_or_profile(c, *body, res);
  }
  const auto [status, out] = estimate_one(snapshot.get(), *body);
  reply(res, status, out);
  res.set_header("X-Ampere-Cache", "miss");
  if (snapshot && status != 503) c.cache.remember(snapshot->generation, req.body, status, res.body);
  served(c, started, status);
}

void post_estimate_batch(const RouteContext& c, const httplib::Request& req, httplib::Response& res) {
  const auto body = json_body(req, res, {"requests"});
  if (!body) return;
  if (!body->contains("requests") || !body->at("requests").is_array())
    return error(res, 400, "needs \"requests\": a list of estimate requests");
  const auto snapshot = c.snapshots.current();
  json results = json::array();
  for (const json& r : body->at("requests")) {
    if (!r.is_object()) {
      results.push_back(problem_document(400, {{"error", "each request must be an object"}}));
      continue;
    }
    const auto started = Clock::now();
    auto [status, out] = estimate_one(snapshot.get(), r);
    if (status >= 400) out = problem_document(status, out);  // an entry's error: a problem, as a reply's
    out["status"] = status;
    served(c, started, status);
    results.push_back(out);
  }
  reply(res, 200, {{"results", results}});
}

/// A pruning plan from the snapshot's fitted models (docs/method.md §13): planning reads, so no token.
void post_plan_prune(const RouteContext& c, const httplib::Request& req, httplib::Response& res) {
  const auto body = json_body(req, res, {"model", "device_class", "budget", "by", "confidence", "iterations", "min_fraction"});
  if (!body) return;
  const auto snapshot = c.snapshots.current();
  try {
    const PruneRequest request = parse_prune_request(*body);
    if (!snapshot) return error(res, 503, "no fitted models loaded yet");
    const json plan = plan_prune(snapshot->catalog.estimator(), request);
    c.latest_plan.set(plan.dump());
    reply(res, 200, plan);
  } catch (const MissingKinds& e) {
    error(res, http_status(e.code()), e.what(), {{"missing_kinds", e.kinds()}});
  } catch (const InputError& e) {
    coded_error(res, e);
  }
}

void get_device_classes(const RouteContext& c, httplib::Response& res) {
  std::map<std::string, json> classes;
  if (const auto snapshot = c.snapshots.current()) {
    const Estimator& estimator = snapshot->catalog.estimator();
    for (const std::string& name : estimator.device_classes())
      classes[name] = {{"name", name}, {"profiled_kinds", estimator.kinds(name)}, {"agents", nullptr}};
  }
  try {
    for (const json& d : c.client()->device_classes()) {
      json& entry = classes[d.at("name").get<std::string>()];
      entry["name"] = d.at("name");
      entry["agents"] = d.at("agents");
      if (!entry.contains("profiled_kinds")) entry["profiled_kinds"] = 0;
    }
  } catch (const InputError& e) {
    spdlog::warn("bridge: coordinator unreachable for device classes: {}", e.what());
  }
  json out = json::array();
  for (auto& [name, d] : classes) out.push_back(d);
  reply(res, 200, out);
}

void get_accuracy(const RouteContext& c, const httplib::Request& req, httplib::Response& res) {
  const std::string name = req.matches[1];
  const auto snapshot = c.snapshots.current();
  if (!snapshot) return error(res, 503, "fitted models not loaded yet");
  const auto found = snapshot->accuracy.find(name);
  if (found == snapshot->accuracy.end()) return error(res, 404, "device class '" + name + "' has no measurements");
  reply(res, 200, found->second);
}

/// A write's gate: true (answered 403 or 401) when writes are disabled or the bearer token is not the write one.
bool write_refused(const RouteContext& c, const httplib::Request& req, httplib::Response& res) {
  if (c.config.token.empty()) {
    error(res, 403, "writes are disabled: start the coordinator with --token-file");
    return true;
  }
  if (!bearer_matches(req, c.config.token)) {
    error(res, http_status(ErrorCode::Unauthorized), "missing or wrong bearer token");
    return true;
  }
  return false;
}

void post_campaign(const RouteContext& c, const httplib::Request& req, httplib::Response& res) {
  if (write_refused(c, req, res)) return;
  const auto body = json_body(req, res, {"family", "device_class", "budget", "acquisition", "estimator"});
  if (!body) return;
  if (!body->contains("family") || !body->contains("device_class") || !body->at("device_class").is_string())
    return error(res, 400, "needs \"family\" (a model family spec) and \"device_class\"");
  try {
    const auto budget = points_per_kind(*body, kDefaultBudget, res);
    if (!budget) return;
    const std::string acquisition = body->value("acquisition", std::string("max-variance"));
    const std::string estimator = body->value("estimator", std::string());  // empty: the coordinator's default
    const json started =
        c.client()->start_campaign(body->at("family").dump(), body->at("device_class"), *budget, acquisition, estimator);
    res.set_header("Location", "/v1/campaigns/" + std::to_string(started.at("id").get<std::uint64_t>()));
    reply(res, 201, started);
  } catch (const InputError& e) {
    coded_error(res, e);
  } catch (const json::exception& e) {
    error(res, 400, std::string("budget/acquisition/estimator: ") + e.what());
  }
}

/// Stops a running campaign (a write): its queued jobs are dropped, running ones finish; one that is
/// done or stopped already is answered as it is. No body.
void post_campaign_stop(const RouteContext& c, const httplib::Request& req, httplib::Response& res) {
  if (write_refused(c, req, res)) return;
  const std::optional<std::uint64_t> id = route_id(req.matches[1]);
  if (!id) return error(res, 404, "no campaign " + std::string(req.matches[1]).substr(0, 40));
  try {
    reply(res, 200, c.client()->stop_campaign(*id));
  } catch (const InputError& e) {
    coded_error(res, e);
  }
}

}  // namespace

bool refused_before_routing(const RouteContext& c, const httplib::Request& req, httplib::Response& res) {
  // --read-token-file: every /v1/ route needs a token, the read one or the write one (the
  // health probes, the OpenAPI document and the page's HTML stay open).
  if (c.config.read_token.empty() || req.path.rfind("/v1/", 0) != 0) return false;
  if (bearer_matches(req, c.config.read_token) || (!c.config.token.empty() && bearer_matches(req, c.config.token)))
    return false;
  error(res, http_status(ErrorCode::Unauthorized), "reads need the bearer token (--read-token-file)");
  return true;
}

std::vector<Route> route_table(const RouteContext& context) {
  const RouteContext* cp = &context;
  using Request = const httplib::Request&;
  using Response = httplib::Response&;
  return {
      {"GET", "/healthz", [](Request, Response res) { reply(res, 200, {{"status", "ok"}}); }},
      {"GET", "/readyz",
       [cp](Request, Response res) {
         if (cp->config.standby && cp->config.standby())  // --ha: another coordinator leads
           error(res, 503, "a standby coordinator: not the leader", {{"role", "standby"}});
         else if (cp->snapshots.current()) reply(res, 200, {{"status", "ready"}});
         else error(res, 503, "fitted models not loaded yet");
       }},
      {"GET", "/openapi.json", [](Request, Response res) { res.set_content(openapi_document(), "application/json"); }},
      {"POST", "/v1/estimate", [cp](Request req, Response res) { post_estimate(*cp, req, res); }},
      {"POST", "/v1/estimate:batch", [cp](Request req, Response res) { post_estimate_batch(*cp, req, res); }},
      {"POST", "/v1/plan:prune", [cp](Request req, Response res) { post_plan_prune(*cp, req, res); }},
      {"GET", "/v1/plans/latest",
       [cp](Request, Response res) {
         const std::string plan = cp->latest_plan.get();
         if (plan.empty()) {  // no plan yet: not an error (the page asks every 2 s)
           res.status = 204;
           return;
         }
         res.set_content(plan, "application/json");
       }},
      {"GET", "/v1/device-classes", [cp](Request, Response res) { get_device_classes(*cp, res); }},
      {"GET", R"(/v1/device-classes/([^/]+)/accuracy)", [cp](Request req, Response res) { get_accuracy(*cp, req, res); }},
      {"GET", "/",
       [](Request, Response res) {
         res.set_content(convergence_page(), "text/html; charset=utf-8");
         res.set_header("Content-Security-Policy",
                        "default-src 'self'; img-src data:; script-src 'unsafe-inline'; style-src 'unsafe-inline'");
       }},
      {"GET", "/v1/campaigns",
       [cp](Request, Response res) {
         try {
           reply(res, 200, cp->client()->campaign_status(0));
         } catch (const InputError& e) {
           coded_error(res, e);
         }
       }},
      {"GET", R"(/v1/campaigns/(\d+))",
       [cp](Request req, Response res) {
         try {
           const std::optional<std::uint64_t> id = route_id(req.matches[1]);
           if (!id) return error(res, 404, "no campaign " + std::string(req.matches[1]).substr(0, 40));
           reply(res, 200, cp->client()->campaign_status(*id).at(0));
         } catch (const InputError& e) {
           coded_error(res, e);
         }
       }},
      {"POST", "/v1/campaigns", [cp](Request req, Response res) { post_campaign(*cp, req, res); }},
      {"POST", R"(/v1/campaigns/(\d+):stop)", [cp](Request req, Response res) { post_campaign_stop(*cp, req, res); }},
  };
}

void add_routes(httplib::Server& s, const RouteContext& c) {
  s.set_error_handler([](const httplib::Request&, httplib::Response& res) {
    if (!res.body.empty()) return;
    const std::string message = res.status == 413   ? "request body too large"
                                : res.status == 404 ? "no such route"
                                                    : "request refused";
    res.set_content(problem_document(res.status, {{"error", message}}).dump(), kProblemContentType);
  });
  s.set_exception_handler([](const httplib::Request&, httplib::Response& res, std::exception_ptr ep) {
    std::string message = "internal error";
    try {
      std::rethrow_exception(ep);
    } catch (const std::exception& e) {
      message = e.what();
    } catch (...) {
    }
    error(res, 500, message);
  });
  s.set_pre_routing_handler([&c](const httplib::Request& req, httplib::Response& res) {
    return refused_before_routing(c, req, res) ? httplib::Server::HandlerResponse::Handled
                                               : httplib::Server::HandlerResponse::Unhandled;
  });
  for (Route& route : route_table(c)) {
    if (route.method == "GET") s.Get(route.pattern, std::move(route.handle));
    else s.Post(route.pattern, std::move(route.handle));
  }
}

}  // namespace ampere
