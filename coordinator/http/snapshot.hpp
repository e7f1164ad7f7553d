// What the bridge answers from: an immutable snapshot of every device class's fitted models,
// FLOPs lines and accuracy, built by the model catalog from the store, swapped atomically
// (Envoy's snapshot-under-a-lock), read by any number of handler threads.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <thread>

#include <nlohmann/json.hpp>

#include "coordinator/planning/model_catalog.hpp"
#include "coordinator/store/store.hpp"

namespace ampere {

struct BridgeSnapshot {
  std::uint64_t generation = 0;  ///< distinct per snapshot a source publishes
  ModelCatalog catalog;
  std::map<std::string, nlohmann::json> accuracy;  ///< per device class, the /accuracy route's JSON
};

/// Reads a snapshot from a store (every campaign, its fitted models and results).
std::shared_ptr<BridgeSnapshot> load_snapshot(Store& store);

/// Where the bridge gets its snapshot. Thread safe: handlers call current() concurrently.
class SnapshotSource {
 public:
  virtual ~SnapshotSource() = default;
  /// The latest snapshot; null before the first is loaded.
  virtual std::shared_ptr<const BridgeSnapshot> current() const = 0;
};

/// A snapshot source that reloads from its own store handle in a background thread, only when
/// the store's fingerprint changes; keeps serving the last snapshot while the store is away. On
/// PostgreSQL it listens for the writers' notifications (coordinator/store/change_feed) and checks
/// at once when one comes, at most every `min_gap`; it also checks every `interval` (the polling
/// fallback, and all there is on SQLite).
class StoreSnapshotRefresher final : public SnapshotSource {
 public:
  /// Opens nothing yet; start() does, in the background.
  StoreSnapshotRefresher(std::string store_url, std::chrono::milliseconds interval,
                         std::chrono::milliseconds min_gap = std::chrono::milliseconds(200));
  ~StoreSnapshotRefresher() override;
  void start();
  void stop();
  std::shared_ptr<const BridgeSnapshot> current() const override { return std::atomic_load(&snapshot_); }
  /// Snapshots loaded so far.
  std::uint64_t refreshes() const { return refreshes_.load(); }

 private:
  void refresh_loop();

  std::string store_url_;
  std::chrono::milliseconds interval_;
  std::chrono::milliseconds min_gap_;
  std::atomic<std::uint64_t> refreshes_{0};
  std::atomic<bool> stopping_{false};
  std::thread thread_;
  std::shared_ptr<const BridgeSnapshot> snapshot_;  // read and swapped with std::atomic_load/store
};

/// A fixed snapshot (tests, benches).
class FixedSnapshotSource final : public SnapshotSource {
 public:
  explicit FixedSnapshotSource(std::shared_ptr<const BridgeSnapshot> snapshot) : snapshot_(std::move(snapshot)) {}
  std::shared_ptr<const BridgeSnapshot> current() const override { return snapshot_; }

 private:
  std::shared_ptr<const BridgeSnapshot> snapshot_;
};

}  // namespace ampere
