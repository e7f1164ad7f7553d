// High availability on PostgreSQL (docs/architecture.md, "High availability"): the leader lease
// that one of several `ampere-coordinator --ha` holds at a time, and the fence every write
// transaction of the leader checks. PostgreSQL is the engine; nothing here is a consensus protocol.
//
// The lease is a session-level advisory lock (held while the leader's lease session lives: a
// killed leader's session ends with its TCP connection, a vanished host's within seconds by the
// keep-alives set on it) plus the `leadership` row, whose epoch grows by one at every takeover.
// The fence is the epoch the leader took the lease at: every write transaction of its store first
// reads the row FOR SHARE and fails when the epoch moved on (a deposed leader's commit fails, and
// a takeover's increment waits for a write in flight, so no write of an old epoch lands after it).
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "coordinator/store/store.hpp"

namespace ampere {

/// The epoch a leader holds the lease at, shared by its store (which checks it at every write)
/// and its lease keeper (which watches the lease's session).
class LeadershipFence {
 public:
  explicit LeadershipFence(std::uint64_t epoch) : epoch_(epoch) {}
  std::uint64_t epoch() const { return epoch_; }
  /// Why a leader stepped down.
  enum class Reason {
    Fenced,       ///< a write found a newer epoch: another coordinator took over
    SessionLost,  ///< the lease's session ended (the lock may be gone)
    StoreAway,    ///< the store went away while the new leader loaded it
  };
  /// The leader must step down. The first reason is kept.
  void lose(Reason reason, const std::string& why);
  bool lost() const { return lost_.load(); }
  Reason reason() const;
  std::string why() const;

 private:
  const std::uint64_t epoch_;
  std::atomic<bool> lost_{false};
  mutable std::mutex mutex_;
  Reason reason_ = Reason::Fenced;
  std::string why_;
};

/// A PostgreSQL store whose every write transaction checks `fence` first (reads only never do).
/// A write that finds another epoch marks the fence lost and throws StoreUnavailable (nothing of
/// it is committed). Throws InputError for a URL that is not PostgreSQL's.
StorePtr open_fenced_store(const std::string& url, std::shared_ptr<LeadershipFence> fence);

/// The `leadership` row: the epoch of the latest takeover and who took it.
struct Leadership {
  std::uint64_t epoch = 0;
  std::string holder;  ///< the instance name the leader gave (host, pid, its endpoints)
};

/// One instance's side of the lease, on its own connection. Not thread safe: one thread uses it.
class LeaderLease {
 public:
  /// `url`: the PostgreSQL store (its schema migrated: open_store did it); `instance` names this
  /// coordinator in the leadership row.
  LeaderLease(std::string url, std::string instance);
  ~LeaderLease();
  LeaderLease(const LeaderLease&) = delete;
  LeaderLease& operator=(const LeaderLease&) = delete;

  /// Tries once to take the lease (never waits on the lock): on success the epoch grows by one
  /// and is returned; nullopt while another instance holds it. Throws StoreUnavailable when
  /// PostgreSQL cannot be reached now.
  std::optional<std::uint64_t> try_acquire();
  /// Whether this instance's session is alive and still holds the lock (one round trip); false
  /// after any failure: the lock may be gone, so the leader steps down.
  bool still_held();
  /// Ends the session: the lock goes with it, once the server notices the closed connection.
  /// `unlock` (a leader stepping down whose store answers) unlocks first, so that a standby
  /// asking right after finds the lock free; not when the store may be away (it would wait out
  /// the session's timeouts for nothing).
  void release(bool unlock = false);
  /// The leadership row as it stands (nullopt before the first takeover). Throws StoreUnavailable.
  std::optional<Leadership> current();

 private:
  struct Session;
  std::string url_;
  std::string instance_;
  std::unique_ptr<Session> session_;
};

/// What PostgreSQL says about keeping a commit on a second server (synchronous replication):
/// empty when a committed result survives a database failover; else why it may not (for a
/// warning at start: the store still works). Throws StoreUnavailable.
std::string replication_warning(const std::string& url);

/// The advisory lock key of the lease (the schema migrations use another).
inline constexpr std::int64_t kLeaderLockKey = 7274618;

}  // namespace ampere
