// The bridge's route table and the OpenAPI 3 document generated from it: what is documented is
// what is served (a fleet test asks every documented route).
#pragma once

#include <string>
#include <vector>

namespace ampere {

struct RouteDoc {
  const char* method;  ///< "get" or "post"
  const char* path;    ///< OpenAPI path, {id} and {name} for parameters
  const char* summary;
};

/// Every route the bridge serves.
const std::vector<RouteDoc>& bridge_routes();
/// The OpenAPI 3 document of bridge_routes().
std::string openapi_document();

}  // namespace ampere
