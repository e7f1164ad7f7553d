// The bridge's routes (private to http/): each handler parses its request, answers from the
// snapshot or asks the loop through a client, and maps error codes to statuses.
#pragma once

#include "coordinator/http/http_bridge.hpp"
#include "coordinator/http/reply_cache.hpp"

#include <mutex>
#include <string>

namespace httplib {
class Server;
}

namespace ampere {

/// The latest pruning plan the bridge made (the convergence page plots its curve).
class LatestPlan {
 public:
  void set(std::string json) {
    std::lock_guard<std::mutex> lock(mutex_);
    json_ = std::move(json);
  }
  std::string get() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return json_;
  }

 private:
  mutable std::mutex mutex_;
  std::string json_;
};

/// What the handlers use; everything must outlive the server.
struct RouteContext {
  SnapshotSource& snapshots;
  const ClientFactory& client;
  const BridgeConfig& config;
  CoordinatorMetrics* metrics;  ///< may be null
  ReplyCache& cache;
  LatestPlan& latest_plan;
};

/// Registers every route of bridge_routes() (and the error handlers) on `server`.
void add_routes(httplib::Server& server, const RouteContext& context);

}  // namespace ampere
