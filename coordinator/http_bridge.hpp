// The HTTP bridge for MLOps pipelines (`ampere-coordinator --http ADDR:PORT`).
//
// Why inside the coordinator process but off its loop: estimates must be fast (thousands per
// second) and must not queue behind GP fits on the single-threaded loop. The bridge keeps an
// immutable snapshot of every finished kind's fitted models, loaded from its own store handle and
// refreshed in the background; its handler threads read that snapshot only. Writes and live fleet
// state (campaign start, campaign status, connected agents) go to the loop over the coordinator's
// own client socket, like any other client. Thread safety: handlers share nothing mutable but the
// atomically swapped snapshot.
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <thread>

#include <zmq.hpp>

#include <map>

#include <nlohmann/json.hpp>

#include "coordinator/estimator.hpp"
#include "coordinator/metrics.hpp"
#include "coordinator/store.hpp"

namespace httplib {
class Server;
}

namespace ampere {

struct BridgeConfig {
  std::string host = "127.0.0.1";
  int port = 8080;
  std::string store_url;           ///< the coordinator's store (the bridge opens its own handle)
  std::string coordinator_clients; ///< the coordinator's client endpoint
  std::string token;               ///< bearer token for writes; empty: writes are refused
  std::size_t max_body_bytes = 1 << 20;
  std::chrono::milliseconds refresh{1000};
  CoordinatorMetrics* metrics = nullptr;  ///< estimate counts and latencies go here when given
  std::size_t threads = 64;               ///< handler threads (a keep-alive client holds one while connected)
  std::size_t cache_entries = 4096;       ///< estimate replies kept per snapshot (0: no cache)
};

/// What the bridge answers from: fitted kind models and FLOPs lines of every device class, and per
/// class its measured-vs-estimated points (held-out models, and the profiled variant networks).
struct BridgeSnapshot {
  std::uint64_t generation = 0;  ///< distinct per snapshot a bridge loads
  Estimator estimator;
  std::map<std::string, nlohmann::json> accuracy;  ///< per device class, the /accuracy route's JSON
};
/// Reads a snapshot from a store (every campaign, its fitted models and results).
std::shared_ptr<BridgeSnapshot> load_snapshot(Store& store);

class HttpBridge {
 public:
  explicit HttpBridge(zmq::context_t& context, BridgeConfig config);
  ~HttpBridge();
  /// Binds and serves on background threads; throws InputError when the address cannot be bound.
  void start();
  void stop();
  /// The OpenAPI 3 document of the routes served.
  static std::string openapi();

 private:
  void refresh_loop();
  /// Counts one estimate answered with `status` and its latency in the metrics, when given.
  void served(std::chrono::steady_clock::time_point started, int status) const;
  /// A cached reply to exactly this request body under this snapshot, if any.
  std::optional<std::pair<int, std::string>> cached(const BridgeSnapshot& snapshot, const std::string& body);
  void remember(const BridgeSnapshot& snapshot, const std::string& body, int status, const std::string& reply);

  zmq::context_t& context_;
  BridgeConfig config_;
  std::unique_ptr<httplib::Server> server_;
  std::thread serving_, refreshing_;
  std::atomic<bool> stopping_{false};
  std::atomic<bool> ready_{false};
  std::shared_ptr<const BridgeSnapshot> snapshot_;  // read and swapped with std::atomic_load/store
  struct ReplyCache;
  std::unique_ptr<ReplyCache> cache_;
};

}  // namespace ampere
