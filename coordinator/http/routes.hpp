// The bridge's routes (private to http/): each handler parses its request, answers from the
// snapshot or asks the loop through a client, and maps error codes to statuses.
#pragma once

#include "coordinator/http/http_bridge.hpp"
#include "coordinator/http/reply_cache.hpp"

namespace httplib {
class Server;
}

namespace ampere {

/// What the handlers use; everything must outlive the server.
struct RouteContext {
  SnapshotSource& snapshots;
  const ClientFactory& client;
  const BridgeConfig& config;
  CoordinatorMetrics* metrics;  ///< may be null
  ReplyCache& cache;
};

/// Registers every route of bridge_routes() (and the error handlers) on `server`.
void add_routes(httplib::Server& server, const RouteContext& context);

}  // namespace ampere
