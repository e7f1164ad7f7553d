// The bridge's routes (private to http/ and its fuzz harness, fuzz/http_fuzz.cpp): each handler
// parses its request, answers from the snapshot or asks the loop through a client, and maps error
// codes to statuses.
#pragma once

#include "coordinator/http/http_bridge.hpp"
#include "coordinator/http/reply_cache.hpp"

#include <functional>
#include <mutex>
#include <string>
#include <vector>

namespace httplib {
class Server;
struct Request;
struct Response;
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

/// One route of the bridge: its method ("GET" or "POST"), its path pattern (literal, or a regex
/// whose groups the handler reads from Request::matches) and its handler.
struct Route {
  std::string method;
  std::string pattern;
  std::function<void(const httplib::Request&, httplib::Response&)> handle;
};

/// Every route, bound to `context` (which must outlive them). add_routes registers them;
/// fuzz_http calls them directly, without a socket.
std::vector<Route> route_table(const RouteContext& context);

/// The check before routing (--read-token-file: /v1/ reads need a token): true when it answered
/// `res` itself (401) and the route must not run.
bool refused_before_routing(const RouteContext& context, const httplib::Request& req, httplib::Response& res);

/// Registers every route of route_table() (and the error handlers) on `server`.
void add_routes(httplib::Server& server, const RouteContext& context);

}  // namespace ampere
