#include "coordinator/http/openapi.hpp"

#include <nlohmann/json.hpp>

namespace ampere {

const std::vector<RouteDoc>& bridge_routes() {
  static const std::vector<RouteDoc> all = {
      {"post", "/v1/estimate",
       "Estimate one model's training time and energy (same JSON as `ampere estimate --json`); with \"profile\": true "
       "(bearer token) kinds never profiled start a campaign for exactly them: 202 {campaign_id, missing_kinds}"},
      {"post", "/v1/estimate:batch", "Estimate several models: {\"requests\": [estimate requests]}"},
      {"post", "/v1/plan:prune",
       "Plan a pruned model under a budget: {\"model\", \"device_class\", \"budget\": {\"joules\"|\"seconds\"|\"fraction\": x}, "
       "\"by\", \"confidence\"} (same JSON as `ampere plan prune --json`)"},
      {"get", "/v1/plans/latest", "The latest plan this bridge made (the convergence page plots its curve); 204 before the first"},
      {"get", "/v1/device-classes", "Device classes with profiled kinds or connected agents"},
      {"get", "/v1/device-classes/{name}/accuracy",
       "Measured vs estimated per iteration for a class: held-out models and profiled variant networks, with the FLOPs line"},
      {"get", "/", "The convergence page (self-contained HTML)"},
      {"get", "/v1/campaigns", "Every campaign with per-kind convergence"},
      {"get", "/v1/campaigns/{id}", "One campaign with per-kind convergence"},
      {"post", "/v1/campaigns", "Start a campaign (bearer token)"},
      {"post", "/v1/campaigns/{id}:stop", "Stop a running campaign: its queued jobs are dropped, running ones finish (bearer token)"},
      {"get", "/healthz", "The bridge is serving"},
      {"get", "/readyz", "Fitted models are loaded"},
      {"get", "/openapi.json", "This document"},
  };
  return all;
}

std::string openapi_document() {
  using nlohmann::json;
  json paths = json::object();
  for (const RouteDoc& r : bridge_routes()) {
    json op = {{"summary", r.summary},
               {"responses", {{"200", {{"description", "OK"}}}, {"default", {{"description", "JSON error {\"error\": ...}"}}}}}};
    const std::string path = r.path;
    if (path == "/v1/campaigns/{id}" || path == "/v1/campaigns/{id}:stop")
      op["parameters"] = json::array({{{"name", "id"}, {"in", "path"}, {"required", true}, {"schema", {{"type", "integer"}}}}});
    if (std::string(r.path) == "/v1/device-classes/{name}/accuracy")
      op["parameters"] = json::array({{{"name", "name"}, {"in", "path"}, {"required", true}, {"schema", {{"type", "string"}}}}});
    if (std::string(r.method) == "post" && path != "/v1/campaigns/{id}:stop")
      op["requestBody"] = {{"required", true}, {"content", {{"application/json", {{"schema", {{"type", "object"}}}}}}}};
    if (path == "/v1/campaigns" || path == "/v1/campaigns/{id}:stop") op["security"] = json::array({{{"bearer", json::array()}}});
    paths[r.path][r.method] = op;
  }
  return json{{"openapi", "3.0.3"},
              {"info", {{"title", "Ampere Fleet bridge"}, {"version", "1"}}},
              {"paths", paths},
              {"components", {{"securitySchemes", {{"bearer", {{"type", "http"}, {"scheme", "bearer"}}}}}}}}
      .dump(2);
}

}  // namespace ampere
