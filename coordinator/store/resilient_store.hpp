// The store as the loop uses it: writes that survive the store going away. It owns the failover
// policy the loop used to carry: a result the store cannot take goes to the spool before it is
// acknowledged; an away store is probed with back-off (1 s doubling to 10 s) instead of on every
// request, because a store that does not answer can hold the loop for its connect timeout; the
// spool is replayed, oldest first, when a probe finds the store back. Not thread safe: the
// coordinator's loop owns it.
#pragma once

#include <chrono>
#include <cstddef>
#include <exception>
#include <functional>
#include <memory>
#include <string>

#include "common/clock.hpp"
#include "coordinator/store/result_spool.hpp"
#include "coordinator/store/store.hpp"

namespace ampere {

/// Hears what the resilient store goes through (the metrics implement it). Default: nothing.
class StoreHealthListener {
 public:
  virtual ~StoreHealthListener() = default;
  virtual void store_error(const std::string& /*operation*/) {}
  virtual void store_up(bool /*up*/) {}
  virtual void spool_replayed(std::size_t /*results*/) {}
  virtual void spool_depth(std::size_t /*results*/, std::size_t /*capacity*/) {}
};

/// What became of a result handed to store_result.
enum class ResultFate {
  Stored,           ///< committed to the store
  AlreadyStored,    ///< the store had it (a resend after a lost Ack): counts as stored
  Spooled,          ///< the store is away; on disk in the spool, replayed later
  NotAcknowledged,  ///< neither store nor spool took it: the agent must send it again
  Refused,          ///< the store refused it (its job is unknown there): acknowledged as not stored
};

class ResilientStore {
 public:
  static constexpr std::chrono::milliseconds kMinBackoff{1000};
  static constexpr std::chrono::milliseconds kMaxBackoff{10000};

  /// `store`, `clock` and `listener` must outlive this; `spool` may be null (no spool: a result
  /// the store cannot take is not acknowledged).
  ResilientStore(Store& store, const Clock& clock, std::unique_ptr<ResultSpool> spool, StoreHealthListener& listener);

  /// Writes what the spool holds from before into the store. Throws InputError when the store
  /// goes away mid-way: a coordinator must not start on a partial store.
  void replay_on_start();
  /// Runs a write the store may miss while away (the state it records is rebuilt on reload):
  /// skipped while a probe is pending; false when not done.
  bool try_write(const char* operation, const std::function<void()>& write);
  /// Commits a result, or spools it when the store is away (see ResultFate).
  ResultFate store_result(const ResultRecord& result);
  /// Commits a group of results together (one commit where the store allows), or spools each when
  /// the store is away; one fate per result, in order. None may be acknowledged before this returns.
  std::vector<ResultFate> store_results(const std::vector<ResultRecord>& results);
  /// Each maintenance tick: replays the spool, or probes an away store, when due.
  void maintain();

  /// False while the store is marked away and its next probe is not due.
  bool may_be_tried() const;
  bool up() const { return up_; }
  /// When an away store is probed next, and the back-off after that probe fails.
  Clock::TimePoint next_probe() const { return retry_at_; }
  std::chrono::milliseconds backoff() const { return backoff_; }
  /// Reads go straight to the store (the loop reloads from it).
  Store& store() { return store_; }
  /// Null without a spool.
  const ResultSpool* spool() const { return spool_.get(); }

 private:
  void down(const char* operation, const std::exception& e);
  /// The store is away: into the spool, when there is one with room.
  ResultFate spool(const ResultRecord& result);
  void back();
  void replay();

  Store& store_;
  const Clock& clock_;
  std::unique_ptr<ResultSpool> spool_;
  StoreHealthListener& listener_;
  bool up_ = true;
  Clock::TimePoint retry_at_{};
  std::chrono::milliseconds backoff_{kMinBackoff};
};

}  // namespace ampere
