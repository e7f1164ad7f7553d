#include "coordinator/http/snapshot.hpp"

#include <algorithm>

#include <spdlog/spdlog.h>

#include "coordinator/store/change_feed.hpp"

namespace ampere {

std::shared_ptr<BridgeSnapshot> load_snapshot(Store& store) {
  auto snapshot = std::make_shared<BridgeSnapshot>();
  snapshot->catalog = ModelCatalog::from_stored(read_stored_campaigns(store));
  snapshot->accuracy = snapshot->catalog.accuracy_report();
  return snapshot;
}

StoreSnapshotRefresher::StoreSnapshotRefresher(std::string store_url, std::chrono::milliseconds interval,
                                               std::chrono::milliseconds min_gap)
    : store_url_(std::move(store_url)), interval_(interval), min_gap_(std::min(min_gap, interval)) {}

StoreSnapshotRefresher::~StoreSnapshotRefresher() { stop(); }

void StoreSnapshotRefresher::start() { thread_ = std::thread([this] { refresh_loop(); }); }

void StoreSnapshotRefresher::stop() {
  stopping_ = true;
  if (thread_.joinable()) thread_.join();
}

void StoreSnapshotRefresher::refresh_loop() {
  StorePtr store;
  std::unique_ptr<ChangeFeed> feed;  // PostgreSQL: woken by the writers' NOTIFY; SQLite: none, polled
  bool feed_absent = false;
  std::string loaded_fingerprint, last_error;
  std::uint64_t generation = 0;
  while (!stopping_.load()) {
    try {
      if (!store) store = open_store(store_url_);
      if (!feed && !feed_absent) {  // listening before reading: no change falls between the two
        feed = open_change_feed(store_url_);
        feed_absent = feed == nullptr;
      }
      const std::string fingerprint = store->fingerprint();
      if (fingerprint != loaded_fingerprint || !current()) {  // reload only what changed the store
        std::shared_ptr<BridgeSnapshot> fresh = load_snapshot(*store);
        fresh->generation = ++generation;
        std::atomic_store(&snapshot_, std::shared_ptr<const BridgeSnapshot>(std::move(fresh)));
        loaded_fingerprint = fingerprint;
        refreshes_++;
      }
      if (!last_error.empty()) spdlog::info("bridge: store reachable again");
      last_error.clear();
    } catch (const std::exception& e) {
      if (e.what() != last_error) spdlog::warn("bridge: cannot refresh fitted models (serving the last ones): {}", e.what());
      last_error = e.what();
      store.reset();
      feed.reset();
    }
    // Then wait: for the store's word (PostgreSQL) or until the poll is due, but at least
    // min_gap_ (a busy fleet notifies all the time: one reload per gap at most).
    using Steady = std::chrono::steady_clock;
    const auto checked = Steady::now();
    while (!stopping_.load() && Steady::now() - checked < min_gap_) std::this_thread::sleep_for(std::chrono::milliseconds(10));
    while (!stopping_.load() && Steady::now() - checked < interval_) {
      if (!feed) {
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
        continue;
      }
      try {
        if (feed->wait(std::chrono::milliseconds(250))) break;
      } catch (const std::exception& e) {
        spdlog::warn("bridge: change feed lost ({}); polling until it is back", e.what());
        feed.reset();
      }
    }
  }
}

}  // namespace ampere
