#include "coordinator/store/leadership.hpp"

#include <pqxx/pqxx>

#include "common/error.hpp"
#include "coordinator/store/backends.hpp"

namespace ampere {

void LeadershipFence::lose(Reason reason, const std::string& why) {
  const std::lock_guard<std::mutex> lock(mutex_);
  if (!lost_.load()) {
    reason_ = reason;
    why_ = why;
  }
  lost_ = true;
}

LeadershipFence::Reason LeadershipFence::reason() const {
  const std::lock_guard<std::mutex> lock(mutex_);
  return reason_;
}

std::string LeadershipFence::why() const {
  const std::lock_guard<std::mutex> lock(mutex_);
  return why_;
}

namespace {

/// Keep-alives on both ends of the lease's session: the server drops the session of a leader
/// whose host vanished (no FIN) within about 2 + 3 × 1 s, releasing the lock; the client notices
/// a server that vanished likewise. Set in the URL (client) unless the operator set them there.
std::string lease_url(const std::string& url) {
  std::string out = postgres_url_with_time_limits(url);
  for (const char* setting : {"keepalives=1", "keepalives_idle=2", "keepalives_interval=1", "keepalives_count=3"}) {
    const std::string name = std::string(setting).substr(0, std::string(setting).find('=') + 1);
    if (out.find(name) != std::string::npos) continue;
    out += (out.find('?') == std::string::npos ? "?" : "&") + std::string(setting);
  }
  return out;
}

}  // namespace

struct LeaderLease::Session {
  pqxx::connection connection;
  explicit Session(const std::string& url) : connection(url) {
    pqxx::nontransaction n(connection);
    // the server's side of the keep-alives (each a per-session setting any user may change)
    n.exec("SET tcp_keepalives_idle = 2");
    n.exec("SET tcp_keepalives_interval = 1");
    n.exec("SET tcp_keepalives_count = 3");
    n.exec("SET tcp_user_timeout = 5000");
    n.exec("SET statement_timeout = '5s'");
  }
};

LeaderLease::LeaderLease(std::string url, std::string instance) : url_(lease_url(url)), instance_(std::move(instance)) {}

LeaderLease::~LeaderLease() = default;

namespace {

/// Runs `body`; any failure PostgreSQL reports becomes StoreUnavailable naming the operation.
template <class Body>
auto reaching(const std::string& url, const char* operation, Body&& body) -> decltype(body()) {
  try {
    return body();
  } catch (const pqxx::failure& e) {  // a lost connection, an SQL error, a commit in doubt, a rollback (libpqxx 6: not an sql_error)
    throw StoreUnavailable("store " + redact_store_url(url) + ": " + operation + ": " + e.what());
  }
}

}  // namespace

std::optional<std::uint64_t> LeaderLease::try_acquire() {
  return reaching(url_, "lease", [&]() -> std::optional<std::uint64_t> {
    try {
      if (!session_) session_ = std::make_unique<Session>(url_);
      pqxx::nontransaction n(session_->connection);
      if (!n.exec_params("SELECT pg_try_advisory_lock($1)", kLeaderLockKey)[0][0].as<bool>()) return std::nullopt;
    } catch (...) {
      session_.reset();
      throw;
    }
    try {
      // Held: the takeover. The increment waits for a write of the old leader still in flight
      // (it holds the row FOR SHARE), and every later write of the old epoch fails.
      pqxx::work w(session_->connection);
      const std::uint64_t epoch =
          w.exec_params("INSERT INTO leadership(id, epoch, holder) VALUES (1, 1, $1) ON CONFLICT (id) DO UPDATE "
                        "SET epoch = leadership.epoch + 1, holder = EXCLUDED.holder, since = now() RETURNING epoch",
                        instance_)[0][0]
              .as<std::uint64_t>();
      w.commit();
      return epoch;
    } catch (...) {
      session_.reset();  // the lock goes with the session: nobody holds a lease without an epoch
      throw;
    }
  });
}

bool LeaderLease::still_held() {
  if (!session_) return false;
  try {
    pqxx::nontransaction n(session_->connection);
    // the lock itself, held by this very backend: a session libpq re-opened behind our back holds none
    return n.exec_params("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted AND pid = pg_backend_pid() "
                         "AND objsubid = 1 AND ((classid::bigint << 32) | objid::bigint) = $1",
                         kLeaderLockKey)[0][0]
               .as<int>() == 1;
  } catch (const std::exception&) {
    session_.reset();
    return false;
  }
}

void LeaderLease::release(bool unlock) {
  // Closing the connection frees the lock only once the server's backend has noticed and exited,
  // after this returns: a standby asking at once may still find it held. Unlocking first (one round
  // trip, bounded by the session's timeouts) frees it before this returns.
  if (unlock && session_) {
    try {
      pqxx::nontransaction n(session_->connection);
      n.exec_params("SELECT pg_advisory_unlock($1)", kLeaderLockKey);
    } catch (const std::exception&) {
      // the session is gone already: so is the lock
    }
  }
  session_.reset();
}

std::string replication_warning(const std::string& url) {
  return reaching(url, "replication settings", [&]() -> std::string {
    pqxx::connection connection(postgres_url_with_time_limits(url));
    pqxx::nontransaction n(connection);
    const std::string commit = n.exec("SHOW synchronous_commit")[0][0].as<std::string>();
    const std::string standbys = n.exec("SHOW synchronous_standby_names")[0][0].as<std::string>();
    if (standbys.empty())
      return "synchronous_standby_names is empty: a result is acknowledged once this server committed it, and a "
             "failover to a replica may lose it (docs/operations.md, \"High availability\")";
    if (commit == "off" || commit == "local")
      return "synchronous_commit is '" + commit + "': commits do not wait for the synchronous standby (" + standbys +
             "), so a failover to it may lose acknowledged results";
    return "";
  });
}

std::optional<Leadership> LeaderLease::current() {
  return reaching(url_, "leadership", [&]() -> std::optional<Leadership> {
    pqxx::connection connection(url_);
    pqxx::read_transaction r(connection);
    const pqxx::result rows = r.exec("SELECT epoch, holder FROM leadership WHERE id = 1");
    if (rows.empty()) return std::nullopt;
    return Leadership{rows[0][0].as<std::uint64_t>(), rows[0][1].as<std::string>()};
  });
}

}  // namespace ampere
