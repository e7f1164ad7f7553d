#include "coordinator/http/snapshot.hpp"

#include <spdlog/spdlog.h>

namespace ampere {

std::shared_ptr<BridgeSnapshot> load_snapshot(Store& store) {
  auto snapshot = std::make_shared<BridgeSnapshot>();
  snapshot->catalog = ModelCatalog::from_stored(read_stored_campaigns(store));
  snapshot->accuracy = snapshot->catalog.accuracy_report();
  return snapshot;
}

StoreSnapshotRefresher::StoreSnapshotRefresher(std::string store_url, std::chrono::milliseconds interval)
    : store_url_(std::move(store_url)), interval_(interval) {}

StoreSnapshotRefresher::~StoreSnapshotRefresher() { stop(); }

void StoreSnapshotRefresher::start() { thread_ = std::thread([this] { refresh_loop(); }); }

void StoreSnapshotRefresher::stop() {
  stopping_ = true;
  if (thread_.joinable()) thread_.join();
}

void StoreSnapshotRefresher::refresh_loop() {
  StorePtr store;
  std::string loaded_fingerprint, last_error;
  std::uint64_t generation = 0;
  while (!stopping_.load()) {
    try {
      if (!store) store = open_store(store_url_);
      const std::string fingerprint = store->fingerprint();
      if (fingerprint != loaded_fingerprint || !current()) {  // reload only what changed the store
        std::shared_ptr<BridgeSnapshot> fresh = load_snapshot(*store);
        fresh->generation = ++generation;
        std::atomic_store(&snapshot_, std::shared_ptr<const BridgeSnapshot>(std::move(fresh)));
        loaded_fingerprint = fingerprint;
      }
      if (!last_error.empty()) spdlog::info("bridge: store reachable again");
      last_error.clear();
    } catch (const std::exception& e) {
      if (e.what() != last_error) spdlog::warn("bridge: cannot refresh fitted models (serving the last ones): {}", e.what());
      last_error = e.what();
      store.reset();
    }
    for (auto waited = std::chrono::milliseconds(0); waited < interval_ && !stopping_.load();
         waited += std::chrono::milliseconds(50))
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
}

}  // namespace ampere
