// The HTTP bridge for MLOps pipelines (`ampere-coordinator --http ADDR:PORT`).
//
// Why inside the coordinator process but off its loop: estimates must be fast (thousands per
// second) and must not queue behind GP fits on the single-threaded loop. The bridge answers
// estimates from a snapshot source (immutable snapshots of every fitted model, swapped
// atomically) and sends writes and live fleet state (campaign start, campaign status, connected
// agents) to the loop through a coordinator client, like any other client. Both are handed in.
// Errors from the loop carry a code; the bridge maps the code to the HTTP status
// (http_status in common/error.hpp), never the message text.
//
// Thread safety: handlers share nothing mutable but the snapshot source and the reply cache.
#pragma once

#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <thread>

#include "coordinator/client/coordinator_client.hpp"
#include "coordinator/http/snapshot.hpp"
#include "coordinator/metrics/coordinator_metrics.hpp"

namespace httplib {
class Server;
}

namespace ampere {

struct BridgeConfig {
  std::string host = "127.0.0.1";
  int port = 8080;
  std::string token;               ///< bearer token for writes; empty: writes are refused
  /// Bearer token reads under /v1/ need (the write token does too); empty: reads are open.
  std::string read_token;
  std::size_t max_body_bytes = 1 << 20;
  std::size_t threads = 64;        ///< handler threads (a keep-alive client holds one while connected)
  std::size_t cache_entries = 4096;  ///< estimate replies kept per snapshot (0: no cache)
  /// When set and true, /readyz answers 503 with role "standby" (a coordinator with --ha that
  /// does not hold the lease). Called from handler threads.
  std::function<bool()> standby{};
};

/// Sets the options every binary serving the bridge shares on `config`: `http` (ADDR:PORT) and the
/// first lines of `token_file` and `read_token_file` (when given). InputError naming the option for
/// a bad address or an empty token file.
void apply_bridge_options(BridgeConfig& config, const std::string& http, const std::string& token_file,
                          const std::string& read_token_file);

/// A fresh client per request (a client is one request at a time); called from handler threads.
using ClientFactory = std::function<std::unique_ptr<CoordinatorClient>()>;

class ReplyCache;
class LatestPlan;
struct RouteContext;

class HttpBridge {
 public:
  /// `snapshots` and `metrics` (when given: estimate counts and latencies) must outlive the bridge.
  HttpBridge(SnapshotSource& snapshots, ClientFactory client, BridgeConfig config, CoordinatorMetrics* metrics = nullptr);
  ~HttpBridge();
  /// Binds and serves on background threads; throws InputError when the address cannot be bound.
  void start();
  void stop();

 private:
  SnapshotSource& snapshots_;
  ClientFactory client_;
  BridgeConfig config_;
  CoordinatorMetrics* metrics_;
  std::unique_ptr<httplib::Server> server_;
  std::unique_ptr<ReplyCache> cache_;
  std::unique_ptr<LatestPlan> latest_plan_;
  std::unique_ptr<RouteContext> routes_;  ///< what the handlers use; lives as long as the server
  std::thread serving_;
  bool stopped_ = false;
};

}  // namespace ampere
