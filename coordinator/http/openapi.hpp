// The bridge's HTTP contract: each route's OpenAPI operation (path, operation id, request and
// response schemas, every status it can answer, who may call it), the OpenAPI 3.0 document made
// from them, and the problem documents (RFC 9457) every error is answered with. What is
// documented is what is served: a unit test holds bridge_routes() against route_table(), a fleet
// test asks every documented route and validates each reply against its schema, and fuzz_http
// fails on a status the route does not document.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

namespace ampere {

inline constexpr const char* kProblemContentType = "application/problem+json";

/// Who may call a route.
enum class RouteAccess {
  Open,   ///< anyone (probes, this document, the page)
  Read,   ///< anyone, or only a bearer token when --read-token-file is set
  Write,  ///< the write token (--token-file); 403 when writes are disabled
  Mixed,  ///< a read, unless its body asks to profile ("profile": true): then a write
};

struct RouteDoc {
  std::string method;        ///< "get" or "post"
  std::string path;          ///< OpenAPI path: {id}, {name} for parameters
  std::string pattern;       ///< the route_table pattern it documents
  std::string operation_id;  ///< camelCase, unique
  std::string summary;
  std::string request;       ///< components/schemas name of the JSON body; "" none
  /// Every status the route can answer, each with the components/schemas name of its JSON body
  /// ("" no body; "html" the page). Errors are Problem documents (application/problem+json).
  std::vector<std::pair<int, std::string>> responses;
  RouteAccess access = RouteAccess::Read;
};

/// Every route the bridge serves, in route_table() order.
const std::vector<RouteDoc>& bridge_routes();
/// The doc of the route with this method ("GET"/"get") and route_table pattern; null if none.
const RouteDoc* find_route_doc(const std::string& method, const std::string& pattern);
/// The OpenAPI 3.0.3 document of bridge_routes(), with its component schemas.
std::string openapi_document();

/// An error reply as RFC 9457 has it: {"type", "title", "status", "detail", "code"} where detail
/// is body["error"], code our error code's name (body["code"] when set, else the status's), plus
/// body's other members (missing_kinds) and "error" (the detail again, as 0.1 answered it).
nlohmann::json problem_document(int status, const nlohmann::json& body);

}  // namespace ampere
