#include "coordinator/http/openapi.hpp"

#include <algorithm>
#include <cctype>

#include "common/error.hpp"
#include "program/version.hpp"

namespace ampere {
namespace {

using nlohmann::json;

/// Every status a route that asks the coordinator can pass on (its error codes, docs/architecture.md "Errors").
const std::vector<std::pair<int, std::string>> kCoordinatorErrors = {
    {400, "Problem"}, {401, "Problem"}, {403, "Problem"}, {404, "Problem"},
    {409, "Problem"}, {422, "Problem"}, {500, "Problem"}, {503, "Problem"}};

std::vector<std::pair<int, std::string>> with(std::vector<std::pair<int, std::string>> own,
                                              const std::vector<std::pair<int, std::string>>& more = {}) {
  for (const auto& m : more)
    if (std::none_of(own.begin(), own.end(), [&](const auto& o) { return o.first == m.first; })) own.push_back(m);
  std::sort(own.begin(), own.end());
  return own;
}

/// The component schemas: request bodies, replies, the problem document.
const json& component_schemas() {
  static const json schemas = json::parse(R"json({
  "Problem": {
    "type": "object",
    "description": "An error (RFC 9457, application/problem+json)",
    "required": ["type", "title", "status", "detail", "code"],
    "properties": {
      "type": {"type": "string", "description": "urn:ampere:problem:CODE"},
      "title": {"type": "string"},
      "status": {"type": "integer", "minimum": 400, "maximum": 599},
      "detail": {"type": "string", "description": "what is wrong, naming the field or the thing"},
      "code": {"type": "string", "enum": ["invalid-input", "not-found", "unprocessable", "unauthorized", "forbidden",
                                          "conflict", "unavailable", "internal", "too-large", "unsupported-media-type"]},
      "error": {"type": "string", "description": "the detail again (the 0.1 error body's field)"},
      "missing_kinds": {"type": "array", "items": {"type": "string"}, "description": "layer kinds never profiled on the class"}
    }
  },
  "Interval": {
    "type": "object",
    "required": ["mean", "std", "interval90"],
    "properties": {
      "mean": {"type": "number"},
      "std": {"type": "number"},
      "interval90": {"type": "array", "items": {"type": "number"}, "minItems": 2, "maxItems": 2}
    }
  },
  "ModelSpec": {
    "type": "object",
    "description": "A model spec (docs/model-spec.md): name, input, batch_size, layers, ...",
    "required": ["name", "layers"],
    "properties": {
      "name": {"type": "string"},
      "layers": {"type": "array", "items": {"type": "object"}}
    }
  },
  "EstimateRequest": {
    "type": "object",
    "required": ["model", "device_class"],
    "additionalProperties": false,
    "properties": {
      "model": {"$ref": "#/components/schemas/ModelSpec"},
      "device_class": {"type": "string"},
      "iterations": {"type": "integer", "minimum": 1, "default": 1},
      "profile": {"type": "boolean", "default": false, "description": "kinds never profiled: start a campaign for exactly them (the write token); 202"},
      "budget": {"type": "integer", "minimum": 1, "maximum": 10000, "description": "points per kind of that campaign (with profile)"}
    }
  },
  "Estimate": {
    "type": "object",
    "required": ["model", "device_class", "iterations", "seconds_per_iteration", "joules_per_iteration", "total", "meter", "energy", "blocks", "flops_baseline"],
    "properties": {
      "model": {"type": "string"},
      "device_class": {"type": "string"},
      "iterations": {"type": "integer"},
      "estimator": {"type": "string"},
      "meter": {"type": "string", "description": "where the energy figures come from: rapl, nvml, jetson-ina, android-battery, time-surrogate, simulated"},
      "energy": {"type": "string", "description": "measured, or what stands in for it"},
      "seconds_per_iteration": {"$ref": "#/components/schemas/Interval"},
      "joules_per_iteration": {"$ref": "#/components/schemas/Interval"},
      "total": {
        "type": "object",
        "properties": {"seconds": {"$ref": "#/components/schemas/Interval"}, "joules": {"$ref": "#/components/schemas/Interval"}}
      },
      "idle_watts": {"type": "number"},
      "above_idle": {"type": "object"},
      "blocks": {
        "type": "array",
        "items": {
          "type": "object",
          "required": ["index", "kind", "role", "channels", "seconds_per_iteration", "joules_per_iteration"],
          "properties": {
            "index": {"type": "integer"},
            "kind": {"type": "string"},
            "role": {"type": "string"},
            "layers": {"type": "string"},
            "channels": {"type": "array", "items": {"type": "integer"}},
            "estimator": {"type": "string"},
            "meter": {"type": "string"},
            "seconds_per_iteration": {"$ref": "#/components/schemas/Interval"},
            "joules_per_iteration": {"$ref": "#/components/schemas/Interval"}
          }
        }
      },
      "calibration": {"type": "array", "items": {"type": "object"}},
      "uncertainty": {
        "type": "object",
        "description": "what the interval adds beyond the blocks' GP variances (docs/method.md §14, §17), as relative stds",
        "properties": {
          "whole_model_relative_std": {"type": "number", "description": "whole models' miss beyond their blocks, from calibration models"},
          "device_speed_relative_std": {
            "type": "object",
            "description": "how much the device's speed moved while it was profiled (its reference readings)",
            "properties": {"seconds": {"type": "number"}, "joules": {"type": "number", "nullable": true}}
          }
        }
      },
      "flops_baseline": {
        "type": "object",
        "description": "the FLOPs line's estimate of the same model, fitted on the same variant networks",
        "properties": {
          "training_flops_per_iteration": {"type": "number"},
          "seconds_per_iteration": {"$ref": "#/components/schemas/Interval"},
          "joules_per_iteration": {"$ref": "#/components/schemas/Interval"},
          "fitted_on_variant_networks": {"type": "integer"}
        }
      }
    }
  },
  "ProfilingStarted": {
    "type": "object",
    "required": ["campaign_id", "missing_kinds", "state"],
    "properties": {
      "campaign_id": {"type": "integer"},
      "missing_kinds": {"type": "array", "items": {"type": "string"}},
      "state": {"type": "string"}
    }
  },
  "BatchRequest": {
    "type": "object",
    "required": ["requests"],
    "additionalProperties": false,
    "properties": {"requests": {"type": "array", "items": {"$ref": "#/components/schemas/EstimateRequest"}}}
  },
  "BatchReply": {
    "type": "object",
    "required": ["results"],
    "properties": {
      "results": {
        "type": "array",
        "description": "one per request, in order: an Estimate with \"status\": 200, or a Problem",
        "items": {"type": "object", "required": ["status"], "properties": {"status": {"type": "integer"}}}
      }
    }
  },
  "PruneRequest": {
    "type": "object",
    "required": ["model", "device_class", "budget"],
    "additionalProperties": false,
    "properties": {
      "model": {"$ref": "#/components/schemas/ModelSpec"},
      "device_class": {"type": "string"},
      "budget": {
        "type": "object",
        "description": "exactly one of joules, seconds (for the iterations) or fraction (of the model's own estimate)",
        "properties": {"joules": {"type": "number"}, "seconds": {"type": "number"}, "fraction": {"type": "number"}}
      },
      "by": {"type": "string", "enum": ["energy", "time"]},
      "confidence": {"type": "number"},
      "iterations": {"type": "integer", "minimum": 1},
      "min_fraction": {"type": "number"}
    }
  },
  "PrunePlan": {
    "type": "object",
    "required": ["model", "device_class", "budget", "by", "chosen", "plans", "original", "flops_proportional", "curve"],
    "properties": {
      "model": {"type": "string"},
      "device_class": {"type": "string"},
      "budget": {"type": "object"},
      "by": {"type": "string"},
      "chosen": {"type": "string"},
      "confidence": {"type": "number", "nullable": true},
      "plans": {"type": "object"},
      "original": {"type": "object"},
      "narrowest": {"type": "object"},
      "flops_proportional": {"type": "object"},
      "curve": {"type": "array", "items": {"type": "object"}},
      "meter": {"type": "string"}
    }
  },
  "DeviceClass": {
    "type": "object",
    "required": ["name", "agents", "profiled_kinds"],
    "properties": {
      "name": {"type": "string"},
      "agents": {"type": "integer", "nullable": true, "description": "connected agents; null when the coordinator did not answer"},
      "profiled_kinds": {"type": "integer"}
    }
  },
  "DeviceClasses": {"type": "array", "items": {"$ref": "#/components/schemas/DeviceClass"}},
  "Accuracy": {
    "type": "object",
    "required": ["device_class", "points"],
    "properties": {
      "device_class": {"type": "string"},
      "heldout_models": {"type": "integer"},
      "heldout_meter": {"type": "string"},
      "heldout_mape_seconds": {"type": "number", "nullable": true},
      "heldout_mape_joules": {"type": "number", "nullable": true},
      "heldout_flops_mape_seconds": {"type": "number", "nullable": true},
      "heldout_flops_mape_joules": {"type": "number", "nullable": true},
      "points": {"type": "array", "items": {"type": "object"}}
    }
  },
  "StartCampaignRequest": {
    "type": "object",
    "required": ["family", "device_class"],
    "additionalProperties": false,
    "properties": {
      "family": {"$ref": "#/components/schemas/ModelSpec"},
      "device_class": {"type": "string"},
      "budget": {"type": "integer", "minimum": 1, "maximum": 10000, "default": 30},
      "acquisition": {"type": "string", "enum": ["max-variance", "max-relative-std"]},
      "estimator": {"type": "string", "enum": ["joint", "subtractive"]}
    }
  },
  "Campaign": {
    "type": "object",
    "required": ["id", "family", "device_class", "state", "points", "kinds"],
    "properties": {
      "id": {"type": "integer"},
      "family": {"type": "string"},
      "device_class": {"type": "string"},
      "state": {"type": "string", "enum": ["running", "done", "stopped"]},
      "jobs_queued": {"type": "integer"},
      "jobs_running": {"type": "integer"},
      "points": {"type": "integer"},
      "points_remaining_at_most": {"type": "integer"},
      "eta_seconds": {"type": "number", "nullable": true},
      "quarantined": {"type": "array", "items": {"type": "string"}},
      "kinds": {
        "type": "array",
        "items": {
          "type": "object",
          "required": ["kind", "role", "points", "budget", "state"],
          "properties": {
            "kind": {"type": "string"},
            "role": {"type": "string"},
            "points": {"type": "integer"},
            "budget": {"type": "integer"},
            "max_relative_std": {"type": "number", "nullable": true},
            "convergence": {
              "type": "array",
              "description": "[points, max relative std] at each evaluation of the stop rule",
              "items": {"type": "array", "items": {"type": "number"}, "minItems": 2, "maxItems": 2}
            },
            "state": {"type": "string"},
            "fit_error": {"type": "string"}
          }
        }
      }
    }
  },
  "Campaigns": {"type": "array", "items": {"$ref": "#/components/schemas/Campaign"}},
  "Status": {"type": "object", "required": ["status"], "properties": {"status": {"type": "string"}}},
  "OpenApi": {"type": "object", "required": ["openapi", "paths"]}
})json");
  return schemas;
}

const char* problem_title(const std::string& code) {
  if (code == "invalid-input") return "Invalid input";
  if (code == "not-found") return "Not found";
  if (code == "unprocessable") return "Unprocessable";
  if (code == "unauthorized") return "Unauthorized";
  if (code == "forbidden") return "Forbidden";
  if (code == "conflict") return "Conflict";
  if (code == "unavailable") return "Unavailable";
  if (code == "too-large") return "Request body too large";
  if (code == "unsupported-media-type") return "Unsupported media type";
  return "Internal error";
}

/// The error code a status answers for: the one http_status maps to it (each status has one);
/// 413 and 415, which only the bridge answers, have names of their own.
std::string status_code_name(int status) {
  if (status == 413) return "too-large";
  if (status == 415) return "unsupported-media-type";
  for (ErrorCode code : {ErrorCode::InvalidInput, ErrorCode::NotFound, ErrorCode::Unprocessable, ErrorCode::Unauthorized,
                         ErrorCode::Conflict, ErrorCode::Unavailable, ErrorCode::Internal, ErrorCode::Forbidden})
    if (http_status(code) == status) return error_code_name(code);
  return error_code_name(status >= 500 ? ErrorCode::Internal : ErrorCode::InvalidInput);
}

}  // namespace

const std::vector<RouteDoc>& bridge_routes() {
  using A = RouteAccess;
  const auto read = [](std::vector<std::pair<int, std::string>> own) { return with(std::move(own), {{401, "Problem"}}); };
  static const std::vector<RouteDoc> all = {
      {"get", "/healthz", "/healthz", "getHealth", "The bridge is serving", "", {{200, "Status"}}, A::Open},
      {"get", "/readyz", "/readyz", "getReadiness", "Fitted models are loaded", "", {{200, "Status"}, {503, "Problem"}}, A::Open},
      {"get", "/openapi.json", "/openapi.json", "getOpenApi", "This document", "", {{200, "OpenApi"}}, A::Open},
      {"post", "/v1/estimate", "/v1/estimate", "estimate",
       "Estimate one model's training time and energy (same JSON as `ampere estimate --json`), beside the FLOPs line; "
       "with \"profile\": true (the write token) kinds never profiled start a campaign for exactly them: 202",
       "EstimateRequest",
       with({{200, "Estimate"}, {202, "ProfilingStarted"}, {413, "Problem"}, {415, "Problem"}}, kCoordinatorErrors),
       A::Mixed},
      {"post", "/v1/estimate:batch", "/v1/estimate:batch", "estimateBatch",
       "Estimate several models: {\"requests\": [estimate requests]}; each entry answered with its own status", "BatchRequest",
       read({{200, "BatchReply"}, {400, "Problem"}, {413, "Problem"}, {415, "Problem"}}), A::Read},
      {"post", "/v1/plan:prune", "/v1/plan:prune", "planPrune",
       "Plan a pruned model under a budget (same JSON as `ampere plan prune --json`): the widths that keep the most "
       "parameters, beside FLOPs-proportional pruning",
       "PruneRequest",
       read({{200, "PrunePlan"}, {400, "Problem"}, {404, "Problem"}, {413, "Problem"}, {415, "Problem"}, {422, "Problem"},
             {503, "Problem"}}),
       A::Read},
      {"get", "/v1/plans/latest", "/v1/plans/latest", "getLatestPlan",
       "The latest plan this bridge made (the convergence page plots its curve); 204 before the first", "",
       read({{200, "PrunePlan"}, {204, ""}}), A::Read},
      {"get", "/v1/device-classes", "/v1/device-classes", "listDeviceClasses",
       "Device classes with profiled kinds or connected agents", "", read({{200, "DeviceClasses"}}), A::Read},
      {"get", "/v1/device-classes/{name}/accuracy", R"(/v1/device-classes/([^/]+)/accuracy)", "getAccuracy",
       "Measured vs estimated per iteration for a class: held-out models and profiled variant networks, with the FLOPs line",
       "", read({{200, "Accuracy"}, {404, "Problem"}, {503, "Problem"}}), A::Read},
      {"get", "/", "/", "getConvergencePage", "The convergence page (self-contained HTML)", "", {{200, "html"}}, A::Open},
      {"get", "/v1/campaigns", "/v1/campaigns", "listCampaigns", "Every campaign with per-kind convergence", "",
       with({{200, "Campaigns"}}, kCoordinatorErrors), A::Read},
      {"get", "/v1/campaigns/{id}", R"(/v1/campaigns/(\d+))", "getCampaign", "One campaign with per-kind convergence", "",
       with({{200, "Campaign"}}, kCoordinatorErrors), A::Read},
      {"post", "/v1/campaigns", "/v1/campaigns", "startCampaign",
       "Start a campaign profiling a model family on a device class; Location names it", "StartCampaignRequest",
       with({{201, "Campaign"}, {413, "Problem"}, {415, "Problem"}}, kCoordinatorErrors), A::Write},
      {"post", "/v1/campaigns/{id}:stop", R"(/v1/campaigns/(\d+):stop)", "stopCampaign",
       "Stop a running campaign: its queued jobs are dropped, running ones finish; one already done or stopped is "
       "answered as it is",
       "", with({{200, "Campaign"}}, kCoordinatorErrors), A::Write},
  };
  return all;
}

const RouteDoc* find_route_doc(const std::string& method, const std::string& pattern) {
  std::string lower = method;
  std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  for (const RouteDoc& r : bridge_routes())
    if (r.method == lower && r.pattern == pattern) return &r;
  return nullptr;
}

std::string openapi_document() {
  json paths = json::object();
  for (const RouteDoc& r : bridge_routes()) {
    json responses = json::object();
    for (const auto& [status, schema] : r.responses) {
      json response = {{"description", status < 400 ? "OK" : problem_title(status_code_name(status))}};
      if (status == 201) response["description"] = "Created";
      if (status == 202) response["description"] = "Accepted: a campaign profiles the missing kinds";
      if (status == 204) response["description"] = "No content";
      if (status == 201)
        response["headers"] = {{"Location", {{"description", "the campaign's URL"}, {"schema", {{"type", "string"}}}}}};
      if (schema == "html") response["content"] = {{"text/html", {{"schema", {{"type", "string"}}}}}};
      else if (schema == "Problem")
        response["content"] = {{kProblemContentType, {{"schema", {{"$ref", "#/components/schemas/Problem"}}}}}};
      else if (!schema.empty())
        response["content"] = {{"application/json", {{"schema", {{"$ref", "#/components/schemas/" + schema}}}}}};
      responses[std::to_string(status)] = response;
    }
    json op = {{"operationId", r.operation_id}, {"summary", r.summary}, {"responses", responses}};
    json parameters = json::array();
    if (r.path.find("{id}") != std::string::npos)
      parameters.push_back({{"name", "id"}, {"in", "path"}, {"required", true}, {"schema", {{"type", "integer"}, {"minimum", 1}}}});
    if (r.path.find("{name}") != std::string::npos)
      parameters.push_back({{"name", "name"}, {"in", "path"}, {"required", true}, {"schema", {{"type", "string"}}}});
    if (!parameters.empty()) op["parameters"] = parameters;
    if (!r.request.empty())
      op["requestBody"] = {{"required", true},
                           {"content", {{"application/json", {{"schema", {{"$ref", "#/components/schemas/" + r.request}}}}}}}};
    // Reads are open unless --read-token-file is set (then either token works): security optional.
    switch (r.access) {
      case RouteAccess::Open: op["security"] = json::array(); break;
      case RouteAccess::Read:
      case RouteAccess::Mixed: op["security"] = json::array({json::object(), {{"bearer", json::array()}}}); break;
      case RouteAccess::Write: op["security"] = json::array({{{"bearer", json::array()}}}); break;
    }
    paths[r.path][r.method] = op;
  }
  return json{{"openapi", "3.0.3"},
              {"info",
               {{"title", "Ampere Fleet bridge"},
                {"version", release_version()},
                {"description",
                 "Training-time and energy estimates (AMPERE method) and profiling campaigns. Errors are problem "
                 "documents (RFC 9457). Writes need the bearer token of --token-file; with --read-token-file, reads "
                 "under /v1/ need a token too."},
                {"license", {{"name", "Apache-2.0"}, {"url", "https://www.apache.org/licenses/LICENSE-2.0"}}}}},
              {"paths", paths},
              {"components",
               {{"schemas", component_schemas()},
                {"securitySchemes", {{"bearer", {{"type", "http"}, {"scheme", "bearer"}}}}}}}}
      .dump(2);
}

json problem_document(int status, const json& body) {
  const std::string code = body.contains("code") && body.at("code").is_string() ? body.at("code").get<std::string>()
                                                                                  : status_code_name(status);
  json problem = {{"type", "urn:ampere:problem:" + code},
                  {"title", problem_title(code)},
                  {"status", status},
                  {"detail", body.value("error", std::string(problem_title(code)))},
                  {"code", code}};
  for (const auto& [key, value] : body.items())
    if (!problem.contains(key)) problem[key] = value;
  problem["error"] = problem["detail"];
  return problem;
}

}  // namespace ampere
