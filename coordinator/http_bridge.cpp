#include "coordinator/http_bridge.hpp"

#include <httplib.h>
#include <sys/socket.h>

#include <list>
#include <mutex>
#include <string_view>
#include <unordered_map>

#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "common/error.hpp"
#include "coordinator/campaign.hpp"
#include "coordinator/convergence_page.hpp"
#include "coordinator/coordinator_client.hpp"

namespace ampere {
namespace {

using nlohmann::json;

void reply(httplib::Response& res, int status, const json& body) {
  res.status = status;
  res.set_content(body.dump(), "application/json");
}

void error(httplib::Response& res, int status, const std::string& message, json extra = json::object()) {
  extra["error"] = message;
  reply(res, status, extra);
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
    body = json::parse(req.body);
  } catch (const json::parse_error& e) {
    error(res, 400, std::string("body is not valid JSON: ") + e.what());
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

/// One estimate request object -> (status, body).
std::pair<int, json> estimate_one(const Estimator* estimator, const json& request) {
  if (!request.contains("model") || !request.contains("device_class"))
    return {400, {{"error", "needs \"model\" (a model spec) and \"device_class\""}}};
  if (!request.at("device_class").is_string()) return {400, {{"error", "device_class: must be a string"}}};
  std::uint64_t iterations = 1;
  if (request.contains("iterations")) {
    if (!request.at("iterations").is_number_unsigned() || request.at("iterations").get<std::uint64_t>() == 0)
      return {400, {{"error", "iterations: must be a positive integer"}}};
    iterations = request.at("iterations").get<std::uint64_t>();
  }
  if (estimator == nullptr) return {503, {{"error", "no fitted models loaded yet"}}};
  try {
    return {200, estimator->estimate(parse_model_spec(request.at("model")), request.at("device_class"), iterations)};
  } catch (const MissingKinds& e) {
    return {422, {{"error", e.what()}, {"missing_kinds", e.kinds()}}};
  } catch (const UnknownDeviceClass& e) {
    return {404, {{"error", e.what()}}};
  } catch (const InputError& e) {
    return {400, {{"error", std::string("model: ") + e.what()}}};
  }
}

struct Route {
  const char* method;
  const char* path;
  const char* summary;
};

const std::vector<Route>& routes() {
  static const std::vector<Route> all = {
      {"post", "/v1/estimate", "Estimate one model's training time and energy (same JSON as `ampere estimate --json`)"},
      {"post", "/v1/estimate:batch", "Estimate several models: {\"requests\": [estimate requests]}"},
      {"get", "/v1/device-classes", "Device classes with profiled kinds or connected agents"},
      {"get", "/v1/device-classes/{name}/accuracy",
       "Measured vs estimated per iteration for a class: held-out models and profiled variant networks, with the FLOPs line"},
      {"get", "/", "The convergence page (self-contained HTML)"},
      {"get", "/v1/campaigns", "Every campaign with per-kind convergence"},
      {"get", "/v1/campaigns/{id}", "One campaign with per-kind convergence"},
      {"post", "/v1/campaigns", "Start a campaign (bearer token)"},
      {"get", "/healthz", "The bridge is serving"},
      {"get", "/readyz", "Fitted models are loaded"},
      {"get", "/openapi.json", "This document"},
  };
  return all;
}

}  // namespace

std::shared_ptr<BridgeSnapshot> load_snapshot(Store& store) {
  auto snapshot = std::make_shared<BridgeSnapshot>();
  Estimator& estimator = snapshot->estimator;
  FlopsBaselineBuilder baselines;
  struct Measured {
    std::string device_class;
    std::uint64_t campaign;
    bool heldout;
    ModelSpec model;
    Measurement measurement;
  };
  std::vector<Measured> measured;
  for (const CampaignRecord& campaign : store.campaigns()) {
    std::map<KindKey, KindModel> models;
    for (const auto& [key, model_json] : store.kind_models(campaign.id))
      models[KindKey(key)] = kind_model_from_json(json::parse(model_json));
    estimator.set_models(campaign.device_class, models);
    std::map<std::uint64_t, const JobRecord*> by_id;
    const std::vector<JobRecord> jobs = store.jobs(campaign.id);
    for (const JobRecord& job : jobs) by_id[job.id] = &job;
    for (const ResultRecord& r : store.results(campaign.id)) {
      const JobRecord& job = *by_id.at(r.job_id);
      ModelSpec model = parse_model_spec(json::parse(job.variant_json));
      const bool heldout = job.kind_key == kHoldoutKind;
      if (!heldout) baselines.add(campaign.device_class, model, r.measurement);  // the FLOPs line never sees held-out models
      measured.push_back({campaign.device_class, campaign.id, heldout, std::move(model), r.measurement});
    }
  }
  for (const std::string& c : estimator.device_classes())
    if (const auto b = baselines.baseline(c)) estimator.set_flops_baseline(c, *b);
  // Measured vs estimated, per class: what the convergence page plots.
  std::map<std::string, std::vector<std::pair<json, Measurement>>> heldout;
  for (const Measured& m : measured) {
    json& accuracy = snapshot->accuracy[m.device_class];
    if (accuracy.is_null()) accuracy = {{"device_class", m.device_class}, {"points", json::array()}};
    json e;
    try {
      e = estimator.estimate(m.model, m.device_class, 1);
    } catch (const InputError&) {
      continue;  // its kinds are not all profiled yet
    }
    const double seconds = summarize_repeats(m.measurement.seconds_per_iteration, RepeatStatistic::Minimum).value;
    const double joules = summarize_repeats(m.measurement.joules_per_iteration, RepeatStatistic::Minimum).value;
    accuracy["points"].push_back({{"model", m.model.name},
                                  {"campaign", m.campaign},
                                  {"heldout", m.heldout},
                                  {"meter", meter_label(m.measurement.meter)},
                                  {"measured", {{"seconds_per_iteration", seconds}, {"joules_per_iteration", joules}}},
                                  {"estimated",
                                   {{"seconds_per_iteration", e["seconds_per_iteration"]},
                                    {"joules_per_iteration", e["joules_per_iteration"]}}},
                                  {"flops_baseline",
                                   {{"seconds_per_iteration", e["flops_baseline"]["seconds_per_iteration"]},
                                    {"joules_per_iteration", e["flops_baseline"]["joules_per_iteration"]}}}});
    if (m.heldout) heldout[m.device_class].emplace_back(std::move(e), m.measurement);
  }
  for (auto& [name, accuracy] : snapshot->accuracy) {
    const AccuracyScore score = score_estimates(heldout[name]);
    auto ratio = [](const std::optional<double>& v) { return v ? json(*v) : json(nullptr); };
    accuracy["heldout_models"] = score.models;
    accuracy["heldout_meter"] = score.meter;  // where the scored energy came from
    accuracy["heldout_mape_seconds"] = ratio(score.seconds);
    accuracy["heldout_flops_mape_seconds"] = ratio(score.flops_seconds);
    accuracy["heldout_mape_joules"] = ratio(score.joules);
    accuracy["heldout_flops_mape_joules"] = ratio(score.flops_joules);
  }
  return snapshot;
}

std::string HttpBridge::openapi() {
  json paths = json::object();
  for (const Route& r : routes()) {
    json op = {{"summary", r.summary},
               {"responses", {{"200", {{"description", "OK"}}}, {"default", {{"description", "JSON error {\"error\": ...}"}}}}}};
    if (std::string(r.path) == "/v1/campaigns/{id}")
      op["parameters"] = json::array({{{"name", "id"}, {"in", "path"}, {"required", true}, {"schema", {{"type", "integer"}}}}});
    if (std::string(r.path) == "/v1/device-classes/{name}/accuracy")
      op["parameters"] = json::array({{{"name", "name"}, {"in", "path"}, {"required", true}, {"schema", {{"type", "string"}}}}});
    if (std::string(r.method) == "post") {
      op["requestBody"] = {{"required", true}, {"content", {{"application/json", {{"schema", {{"type", "object"}}}}}}}};
      if (std::string(r.path) == "/v1/campaigns") op["security"] = json::array({{{"bearer", json::array()}}});
    }
    paths[r.path][r.method] = op;
  }
  return json{{"openapi", "3.0.3"},
              {"info", {{"title", "Ampere Fleet bridge"}, {"version", "1"}}},
              {"paths", paths},
              {"components", {{"securitySchemes", {{"bearer", {{"type", "http"}, {"scheme", "bearer"}}}}}}}}
      .dump(2);
}

/// Estimate replies by exact request body, for one snapshot (cleared when the snapshot changes);
/// least recently used entries go first. Pipelines ask about the same architectures again and again.
struct HttpBridge::ReplyCache {
  std::mutex mutex;
  std::uint64_t generation = 0;  // of the snapshot the entries belong to
  std::list<std::pair<std::string, std::pair<int, std::string>>> entries;  // most recent first
  std::unordered_map<std::string_view, decltype(entries)::iterator> index;
};

HttpBridge::HttpBridge(zmq::context_t& context, BridgeConfig config)
    : context_(context),
      config_(std::move(config)),
      server_(std::make_unique<httplib::Server>()),
      cache_(std::make_unique<ReplyCache>()) {}

void HttpBridge::served(std::chrono::steady_clock::time_point started, int status) const {
  if (config_.metrics != nullptr)
    config_.metrics->estimate_served("http", status,
                                     std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
}

std::optional<std::pair<int, std::string>> HttpBridge::cached(const BridgeSnapshot& snapshot, const std::string& body) {
  if (config_.cache_entries == 0) return std::nullopt;
  std::lock_guard<std::mutex> lock(cache_->mutex);
  if (cache_->generation != snapshot.generation) return std::nullopt;
  const auto found = cache_->index.find(body);
  if (found == cache_->index.end()) return std::nullopt;
  cache_->entries.splice(cache_->entries.begin(), cache_->entries, found->second);
  return found->second->second;
}

void HttpBridge::remember(const BridgeSnapshot& snapshot, const std::string& body, int status, const std::string& reply) {
  if (config_.cache_entries == 0) return;
  std::lock_guard<std::mutex> lock(cache_->mutex);
  if (cache_->generation != snapshot.generation) {  // a new snapshot: every cached reply is stale
    cache_->index.clear();
    cache_->entries.clear();
    cache_->generation = snapshot.generation;
  }
  if (cache_->index.count(body) != 0) return;
  cache_->entries.emplace_front(body, std::make_pair(status, reply));
  cache_->index.emplace(cache_->entries.front().first, cache_->entries.begin());
  if (cache_->entries.size() > config_.cache_entries) {
    cache_->index.erase(cache_->entries.back().first);
    cache_->entries.pop_back();
  }
}

HttpBridge::~HttpBridge() { stop(); }

void HttpBridge::refresh_loop() {
  StorePtr store;
  std::string loaded_fingerprint, last_error;
  std::uint64_t generation = 0;
  while (!stopping_.load()) {
    try {
      if (!store) store = open_store(config_.store_url);
      const std::string fingerprint = store->fingerprint();
      if (fingerprint != loaded_fingerprint || !ready_) {  // reload only what changed the store
        std::shared_ptr<BridgeSnapshot> fresh = load_snapshot(*store);
        fresh->generation = ++generation;
        std::atomic_store(&snapshot_, std::shared_ptr<const BridgeSnapshot>(std::move(fresh)));
        loaded_fingerprint = fingerprint;
        ready_ = true;
      }
      if (!last_error.empty()) spdlog::info("bridge: store reachable again");
      last_error.clear();
    } catch (const std::exception& e) {
      if (e.what() != last_error) spdlog::warn("bridge: cannot refresh fitted models (serving the last ones): {}", e.what());
      last_error = e.what();
      store.reset();
    }
    for (auto waited = std::chrono::milliseconds(0); waited < config_.refresh && !stopping_.load();
         waited += std::chrono::milliseconds(50))
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
}

void HttpBridge::start() {
  httplib::Server& s = *server_;
  s.set_payload_max_length(config_.max_body_bytes);
  // A keep-alive connection holds a handler thread while it is open: size the pool for the clients.
  const std::size_t threads = std::max<std::size_t>(2, config_.threads);
  s.new_task_queue = [threads] { return new httplib::ThreadPool(threads); };
  // httplib listens with a backlog of 5 (compiled into Debian's library): many clients connecting at
  // once would see dropped SYNs and 1 s retransmits. Keep the socket to widen the backlog after bind.
  int listening = -1;
  s.set_socket_options([&listening](socket_t sock) {
    int yes = 1;
    setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
    listening = sock;
  });
  s.set_tcp_nodelay(true);  // small JSON replies: Nagle + delayed ACK would add ~40 ms each
  s.set_error_handler([](const httplib::Request&, httplib::Response& res) {
    if (!res.body.empty()) return;
    const std::string message = res.status == 413   ? "request body too large"
                                : res.status == 404 ? "no such route"
                                                    : "request refused";
    res.set_content(json{{"error", message}, {"status", res.status}}.dump(), "application/json");
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
  auto client = [this] { return std::make_unique<CoordinatorClient>(context_, config_.coordinator_clients,
                                                                    std::chrono::milliseconds(5000)); };

  s.Get("/healthz", [](const httplib::Request&, httplib::Response& res) { reply(res, 200, {{"status", "ok"}}); });
  s.Get("/readyz", [this](const httplib::Request&, httplib::Response& res) {
    if (ready_) reply(res, 200, {{"status", "ready"}});
    else error(res, 503, "fitted models not loaded yet");
  });
  s.Get("/openapi.json", [](const httplib::Request&, httplib::Response& res) {
    res.set_content(openapi(), "application/json");
  });
  s.Post("/v1/estimate", [this](const httplib::Request& req, httplib::Response& res) {
    const auto started = std::chrono::steady_clock::now();
    const auto snapshot = std::atomic_load(&snapshot_);
    const bool json_type = req.get_header_value("Content-Type").rfind("application/json", 0) == 0;
    if (json_type && snapshot)
      if (auto hit = cached(*snapshot, req.body)) {
        res.status = hit->first;
        res.set_content(hit->second, "application/json");
        res.set_header("X-Ampere-Cache", "hit");
        return served(started, hit->first);
      }
    const auto body = json_body(req, res, {"model", "device_class", "iterations"});
    if (!body) return served(started, res.status);
    const auto [status, out] = estimate_one(snapshot ? &snapshot->estimator : nullptr, *body);
    reply(res, status, out);
    res.set_header("X-Ampere-Cache", "miss");
    if (snapshot && status != 503) remember(*snapshot, req.body, status, res.body);
    served(started, status);
  });
  s.Post("/v1/estimate:batch", [this](const httplib::Request& req, httplib::Response& res) {
    const auto body = json_body(req, res, {"requests"});
    if (!body) return;
    if (!body->contains("requests") || !body->at("requests").is_array())
      return error(res, 400, "needs \"requests\": a list of estimate requests");
    const auto snapshot = std::atomic_load(&snapshot_);
    json results = json::array();
    for (const json& r : body->at("requests")) {
      if (!r.is_object()) {
        results.push_back({{"status", 400}, {"error", "each request must be an object"}});
        continue;
      }
      const auto started = std::chrono::steady_clock::now();
      auto [status, out] = estimate_one(snapshot ? &snapshot->estimator : nullptr, r);
      out["status"] = status;
      served(started, status);
      results.push_back(out);
    }
    reply(res, 200, {{"results", results}});
  });
  s.Get("/v1/device-classes", [this, client](const httplib::Request&, httplib::Response& res) {
    std::map<std::string, json> classes;
    if (const auto snapshot = std::atomic_load(&snapshot_))
      for (const std::string& name : snapshot->estimator.device_classes())
        classes[name] = {{"name", name}, {"profiled_kinds", snapshot->estimator.kinds(name)}, {"agents", nullptr}};
    try {
      for (const json& c : client()->device_classes()) {
        json& entry = classes[c.at("name").get<std::string>()];
        entry["name"] = c.at("name");
        entry["agents"] = c.at("agents");
        if (!entry.contains("profiled_kinds")) entry["profiled_kinds"] = 0;
      }
    } catch (const InputError& e) {
      spdlog::warn("bridge: coordinator unreachable for device classes: {}", e.what());
    }
    json out = json::array();
    for (auto& [name, c] : classes) out.push_back(c);
    reply(res, 200, out);
  });
  s.Get(R"(/v1/device-classes/([^/]+)/accuracy)", [this](const httplib::Request& req, httplib::Response& res) {
    const std::string name = req.matches[1];
    const auto snapshot = std::atomic_load(&snapshot_);
    if (!snapshot) return error(res, 503, "fitted models not loaded yet");
    const auto found = snapshot->accuracy.find(name);
    if (found == snapshot->accuracy.end()) return error(res, 404, "device class '" + name + "' has no measurements");
    reply(res, 200, found->second);
  });
  s.Get("/", [](const httplib::Request&, httplib::Response& res) {
    res.set_content(convergence_page(), "text/html; charset=utf-8");
    res.set_header("Content-Security-Policy", "default-src 'self'; img-src data:; script-src 'unsafe-inline'; style-src 'unsafe-inline'");
  });
  s.Get("/v1/campaigns", [client](const httplib::Request&, httplib::Response& res) {
    try {
      reply(res, 200, client()->campaign_status(0));
    } catch (const InputError& e) {
      error(res, 503, e.what());
    }
  });
  s.Get(R"(/v1/campaigns/(\d+))", [client](const httplib::Request& req, httplib::Response& res) {
    try {
      reply(res, 200, client()->campaign_status(std::stoull(req.matches[1])).at(0));
    } catch (const InputError& e) {
      const std::string message = e.what();
      error(res, message.rfind("no campaign", 0) == 0 ? 404 : 503, message);
    }
  });
  s.Post("/v1/campaigns", [this, client](const httplib::Request& req, httplib::Response& res) {
    const std::string auth = req.get_header_value("Authorization");
    if (config_.token.empty()) return error(res, 403, "writes are disabled: start the coordinator with --token-file");
    if (auth != "Bearer " + config_.token) return error(res, 401, "missing or wrong bearer token");
    const auto body = json_body(req, res, {"family", "device_class", "budget", "acquisition"});
    if (!body) return;
    if (!body->contains("family") || !body->contains("device_class") || !body->at("device_class").is_string())
      return error(res, 400, "needs \"family\" (a model family spec) and \"device_class\"");
    const std::uint32_t budget = body->value("budget", 30u);
    const std::string acquisition = body->value("acquisition", std::string("max-variance"));
    try {
      reply(res, 201, client()->start_campaign(body->at("family").dump(), body->at("device_class"), budget, acquisition));
    } catch (const InputError& e) {
      const std::string message = e.what();
      const bool unreachable = message.find("did not answer") != std::string::npos;
      const bool unknown_class = message.find("has no registered agents") != std::string::npos;
      error(res, unreachable ? 503 : unknown_class ? 404 : 422, message);
    } catch (const json::exception& e) {
      error(res, 400, std::string("budget/acquisition: ") + e.what());
    }
  });

  if (!s.bind_to_port(config_.host, config_.port))
    throw InputError("bridge: cannot bind http://" + config_.host + ":" + std::to_string(config_.port));
  if (listening >= 0) ::listen(listening, SOMAXCONN);  // Linux updates the backlog of a listening socket
  s.set_socket_options([](socket_t sock) {
    int yes = 1;
    setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
  });
  refreshing_ = std::thread([this] { refresh_loop(); });
  serving_ = std::thread([this] { server_->listen_after_bind(); });
  spdlog::info("bridge serving http://{}:{} (writes {})", config_.host, config_.port,
               config_.token.empty() ? "disabled" : "need the bearer token");
}

void HttpBridge::stop() {
  if (stopping_.exchange(true)) return;
  server_->stop();
  if (serving_.joinable()) serving_.join();
  if (refreshing_.joinable()) refreshing_.join();
}

}  // namespace ampere
