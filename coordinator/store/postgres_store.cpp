// The fleet store: PostgreSQL through libpqxx 6.4, schema created and migrated by the coordinator
// (versioned, idempotent, under an advisory lock so two coordinators never migrate at once).
#include <cmath>

#include <pqxx/pqxx>

#include "common/error.hpp"
#include "coordinator/store/backends.hpp"
#include "coordinator/store/change_feed.hpp"
#include "coordinator/store/leadership.hpp"
#include "coordinator/store/row_codec.hpp"

namespace ampere {
namespace {

/// Each migration runs once, in order, in the transaction that records it.
const std::vector<std::pair<int, const char*>>& migrations() {
  static const std::vector<std::pair<int, const char*>> all = {
      {1, R"sql(
CREATE TABLE campaigns (
  id BIGSERIAL PRIMARY KEY,
  family_json TEXT NOT NULL,
  device_class TEXT NOT NULL,
  budget_per_kind INTEGER NOT NULL,
  acquisition TEXT NOT NULL,
  state TEXT NOT NULL,
  created_at TIMESTAMPTZ NOT NULL DEFAULT now());
CREATE TABLE jobs (
  id BIGSERIAL PRIMARY KEY,
  campaign_id BIGINT NOT NULL REFERENCES campaigns(id),
  kind_key TEXT NOT NULL,
  channels_json TEXT NOT NULL,
  variant_json TEXT NOT NULL,
  state TEXT NOT NULL,
  agent_id TEXT NOT NULL DEFAULT '',
  attempts INTEGER NOT NULL DEFAULT 0);
CREATE INDEX jobs_by_campaign ON jobs(campaign_id);
CREATE TABLE results (
  job_id BIGINT PRIMARY KEY REFERENCES jobs(id),
  agent_id TEXT NOT NULL,
  seconds_json TEXT NOT NULL,
  joules_json TEXT NOT NULL,
  meter TEXT NOT NULL,
  iterations INTEGER NOT NULL,
  threads INTEGER NOT NULL,
  idle_watts DOUBLE PRECISION,
  stored_at TIMESTAMPTZ NOT NULL DEFAULT now());
)sql"},
      {2, R"sql(
CREATE TABLE kind_models (
  campaign_id BIGINT NOT NULL REFERENCES campaigns(id),
  kind_key TEXT NOT NULL,
  model_json TEXT NOT NULL,
  PRIMARY KEY (campaign_id, kind_key));
)sql"},
      {3, R"sql(
ALTER TABLE campaigns ADD COLUMN estimator TEXT NOT NULL DEFAULT 'subtractive';
)sql"},
      {4, R"sql(
ALTER TABLE results ADD COLUMN reference_seconds DOUBLE PRECISION, ADD COLUMN reference_joules DOUBLE PRECISION;
)sql"},
      {5, R"sql(
ALTER TABLE campaigns ADD COLUMN only_kinds_json TEXT NOT NULL DEFAULT '';
)sql"},
      {6, R"sql(
ALTER TABLE results ADD COLUMN meter_parts_json TEXT NOT NULL DEFAULT '';
)sql"},
      {7, R"sql(
CREATE TABLE leadership (
  id INTEGER PRIMARY KEY CHECK (id = 1),
  epoch BIGINT NOT NULL,
  holder TEXT NOT NULL,
  since TIMESTAMPTZ NOT NULL DEFAULT now());
)sql"},
  };
  return all;
}

std::string redacted(const std::string& url) { return redact_store_url(url); }

/// The URL with the coordinator's time limits added where the operator set none: the loop must
/// never hang on a database that does not answer (a partitioned network, a stuck server), or
/// agents' heartbeats would go unread. connect_timeout bounds connecting (seconds),
/// tcp_user_timeout bounds unacknowledged writes on a live connection (milliseconds).
}  // namespace

std::string postgres_url_with_time_limits(const std::string& url) {
  std::string out = url;
  for (const char* setting : {"connect_timeout=3", "tcp_user_timeout=5000"}) {
    const std::string name = std::string(setting).substr(0, std::string(setting).find('=') + 1);
    if (out.find(name) != std::string::npos) continue;
    out += (out.find('?') == std::string::npos ? "?" : "&") + std::string(setting);
  }
  return out;
}

namespace {

/// The longest one statement of the coordinator may run, and wait for a lock, on the server: a
/// locked table or a stuck query must not freeze the loop (agents' heartbeats would go unread
/// and they would be lost). Past them the statement fails, the store counts as away for now
/// (results spool), and the loop goes on. Set per connection unless the URL's `options` sets them.
constexpr const char* kStatementTimeout = "5s";
constexpr const char* kLockTimeout = "2s";

class PostgresStore final : public Store {
 public:
  PostgresStore(const std::string& url, std::shared_ptr<LeadershipFence> fence)
      : url_(postgres_url_with_time_limits(url)), fence_(std::move(fence)) {
    try {
      connection_ = std::make_unique<pqxx::connection>(url_);
    } catch (const std::exception& e) {
      // Unavailable (exit 4): a database that is down or unreachable now may answer later.
      throw InputError("store " + redacted(url) + ": cannot connect: " + e.what(), ErrorCode::Unavailable);
    }
    migrate();  // under its advisory lock, waiting as long as another coordinator migrates
    limit_statements(*connection_);
  }

  /// statement_timeout and lock_timeout on this session (unless the URL sets its own).
  void limit_statements(pqxx::connection& connection) {
    if (url_.find("statement_timeout") == std::string::npos)
      pqxx::nontransaction(connection).exec(std::string("SET statement_timeout = '") + kStatementTimeout + "'");
    if (url_.find("lock_timeout") == std::string::npos)
      pqxx::nontransaction(connection).exec(std::string("SET lock_timeout = '") + kLockTimeout + "'");
  }

  /// Runs `body` on a live connection, reconnecting first when the last one was lost. What is the
  /// server's state, not the row's (a lost or refused connection, a server shutting down, a
  /// timeout, a commit in doubt, a rolled-back transaction), becomes StoreUnavailable.
  template <class Body>
  auto guarded(const char* operation, Body&& body) -> decltype(body(std::declval<pqxx::connection&>())) {
    try {
      if (!connection_ || !connection_->is_open()) {
        connection_ = std::make_unique<pqxx::connection>(url_);
        limit_statements(*connection_);
      }
      return body(*connection_);
    } catch (const pqxx::broken_connection& e) {
      throw away(operation, e.what());
    } catch (const pqxx::in_doubt_error& e) {
      throw away(operation, std::string("commit in doubt: ") + e.what());
    } catch (const pqxx::transaction_rollback& e) {
      // class 40 below; libpqxx 6 derives these from `failure`, not `sql_error` (7 does)
      throw away(operation, std::string("rolled back: ") + e.what());
    } catch (const pqxx::sql_error& e) {
      const std::string state = e.sqlstate();
      // 08: connection exception; 57: operator intervention (admin shutdown, and 57014: our
      // statement_timeout); 53: insufficient resources; 55P03: our lock_timeout (a table locked);
      // 40: transaction rollback (40P01: the server chose our transaction as a deadlock's victim,
      // say against an operator's LOCK TABLE; 40001: a serialization failure). Nothing was
      // written, so the write is spooled or retried, never refused.
      if (state.rfind("08", 0) == 0 || state.rfind("57", 0) == 0 || state.rfind("53", 0) == 0 || state == "55P03" ||
          state.rfind("40", 0) == 0)
        throw away(operation, e.what());
      throw;
    }
  }

  /// Drops the connection (the next call opens a new one) and says why the store is away.
  StoreUnavailable away(const char* operation, const std::string& detail) {
    connection_.reset();
    return StoreUnavailable(std::string("store ") + redacted(url_) + ": " + operation + ": " + detail);
  }

  std::uint64_t create_campaign(const CampaignRecord& c) override {
    return guarded("create_campaign", [&](pqxx::connection& connection) {
      pqxx::work w(connection);
      check_fence(w);
      const pqxx::result r = w.exec_params(
          "INSERT INTO campaigns(family_json, device_class, budget_per_kind, acquisition, state, estimator, only_kinds_json) "
          "VALUES ($1,$2,$3,$4,$5,$6,$7) RETURNING id",
          c.family_json, c.device_class, static_cast<int>(c.budget_per_kind), c.acquisition,
          std::string(campaign_state_name(c.state)), c.estimator, row_codec::encode_only_kinds(c.only_kinds));
      w.exec(std::string("NOTIFY ") + kChangeChannel);  // readers (bridges) refresh at the commit
      w.commit();
      return r[0][0].as<std::uint64_t>();
    });
  }

  void set_campaign_state(std::uint64_t id, CampaignState state) override {
    guarded("set_campaign_state", [&](pqxx::connection& connection) {
      pqxx::work w(connection);
      check_fence(w);
      w.exec_params("UPDATE campaigns SET state = $1 WHERE id = $2", std::string(campaign_state_name(state)),
                    static_cast<std::int64_t>(id));
      w.exec(std::string("NOTIFY ") + kChangeChannel);  // readers (bridges) refresh at the commit
      w.commit();
    });
  }

  std::vector<CampaignRecord> campaigns() override {
    return guarded("campaigns", [&](pqxx::connection& connection) {
      pqxx::read_transaction w(connection);
      std::vector<CampaignRecord> out;
      for (const auto& row : w.exec("SELECT id, family_json, device_class, budget_per_kind, acquisition, state, estimator, "
                                    "only_kinds_json FROM campaigns ORDER BY id")) {
        CampaignRecord c{row[0].as<std::uint64_t>(), row[1].as<std::string>(), row[2].as<std::string>(),
                         row[3].as<std::uint32_t>(), row[4].as<std::string>()};
        c.estimator = row[6].as<std::string>();
        row_codec::decode_or_mark(c.unreadable, [&] {
          c.state = parse_campaign_state(row[5].as<std::string>());
          c.only_kinds = row_codec::decode_only_kinds(row[7].as<std::string>());
        });
        out.push_back(std::move(c));
      }
      return out;
    });
  }

  std::vector<std::uint64_t> create_jobs(const std::vector<JobRecord>& jobs) override {
    return guarded("create_jobs", [&](pqxx::connection& connection) {
      pqxx::work w(connection);
      check_fence(w);
      std::vector<std::uint64_t> ids;
      for (const JobRecord& j : jobs) {
        const pqxx::result r = w.exec_params(
            "INSERT INTO jobs(campaign_id, kind_key, channels_json, variant_json, state, agent_id, attempts) "
            "VALUES ($1,$2,$3,$4,$5,$6,$7) RETURNING id",
            static_cast<std::int64_t>(j.campaign_id), j.kind_key, row_codec::encode_channels(j.channels), j.variant_json,
            std::string(job_state_name(j.state)), j.agent_id, static_cast<int>(j.attempts));
        ids.push_back(r[0][0].as<std::uint64_t>());
      }
      w.commit();
      return ids;
    });
  }

  void set_job_state(std::uint64_t id, JobState state, const std::string& agent_id) override {
    guarded("set_job_state", [&](pqxx::connection& connection) {
      pqxx::work w(connection);
      check_fence(w);
      w.exec_params(state == JobState::Running
                        ? "UPDATE jobs SET state = $1, agent_id = $2, attempts = attempts + 1 WHERE id = $3 AND state <> 'done'"
                        : "UPDATE jobs SET state = $1, agent_id = $2 WHERE id = $3 AND state <> 'done'",
                    std::string(job_state_name(state)), agent_id, static_cast<std::int64_t>(id));
      w.commit();
    });
  }

  void discard_result(std::uint64_t id) override {
    guarded("discard_result", [&](pqxx::connection& connection) {
      pqxx::work w(connection);
      check_fence(w);
      w.exec_params("UPDATE jobs SET state = 'failed' WHERE id = $1 AND state = 'done'", static_cast<std::int64_t>(id));
      w.commit();
    });
  }

  std::vector<JobRecord> jobs(std::uint64_t campaign_id) override {
    return guarded("jobs", [&](pqxx::connection& connection) {
      pqxx::read_transaction w(connection);
      std::vector<JobRecord> out;
      for (const auto& row : w.exec_params("SELECT id, campaign_id, kind_key, channels_json, variant_json, state, agent_id, "
                                           "attempts FROM jobs WHERE campaign_id = $1 ORDER BY id",
                                           static_cast<std::int64_t>(campaign_id))) {
        JobRecord j;
        j.id = row[0].as<std::uint64_t>();
        j.campaign_id = row[1].as<std::uint64_t>();
        j.kind_key = row[2].as<std::string>();
        j.variant_json = row[4].as<std::string>();
        row_codec::decode_or_mark(j.unreadable, [&] {
          j.channels = row_codec::decode_channels(row[3].as<std::string>());
          j.state = parse_job_state(row[5].as<std::string>());
        });
        j.agent_id = row[6].as<std::string>();
        j.attempts = row[7].as<std::uint32_t>();
        out.push_back(std::move(j));
      }
      return out;
    });
  }

  void store_result(const ResultRecord& r) override {
    guarded("store_result", [&](pqxx::connection& connection) {
      pqxx::work w(connection);
      check_fence(w);
      AMPERE_REQUIRE(!w.exec_params("SELECT 1 FROM jobs WHERE id = $1 FOR UPDATE", static_cast<std::int64_t>(r.job_id)).empty(),
                     "result for unknown job ", r.job_id);
      if (!w.exec_params("SELECT 1 FROM results WHERE job_id = $1", static_cast<std::int64_t>(r.job_id)).empty())
        throw DuplicateResult("job " + std::to_string(r.job_id) + " has a stored result already");
      const Measurement& m = r.measurement;
      const row_codec::ResultText text = row_codec::encode_result(m);
      // NaN (not calibrated, no reference reading) is stored as NULL: PostgreSQL's NaN equals NaN.
      w.exec_params("INSERT INTO results(job_id, agent_id, seconds_json, joules_json, meter, iterations, threads, idle_watts, "
                    "reference_seconds, reference_joules, meter_parts_json) VALUES ($1,$2,$3,$4,$5,$6,$7,NULLIF($8::float8, 'NaN'), "
                    "NULLIF($9::float8, 'NaN'), NULLIF($10::float8, 'NaN'), $11)",
                    static_cast<std::int64_t>(r.job_id), r.agent_id, text.seconds_json, text.joules_json, text.meter,
                    static_cast<int>(m.iterations), static_cast<int>(m.threads), m.idle_watts, m.reference_seconds,
                    m.reference_joules, text.meter_parts_json);
      w.exec_params("UPDATE jobs SET state = 'done', agent_id = $1 WHERE id = $2", r.agent_id, static_cast<std::int64_t>(r.job_id));
      w.exec(std::string("NOTIFY ") + kChangeChannel);  // readers (bridges) refresh at the commit
      w.commit();  // before the coordinator acks
    });
  }

  std::vector<ResultRecord> results(std::uint64_t campaign_id) override {
    return guarded("results", [&](pqxx::connection& connection) {
      pqxx::read_transaction w(connection);
      std::vector<ResultRecord> out;
      for (const auto& row : w.exec_params(
               "SELECT r.job_id, r.agent_id, r.seconds_json, r.joules_json, r.meter, r.iterations, r.threads, r.idle_watts, "
               "r.reference_seconds, r.reference_joules, r.meter_parts_json FROM results r JOIN jobs j ON j.id = r.job_id "
               "WHERE j.campaign_id = $1 ORDER BY r.job_id",
               static_cast<std::int64_t>(campaign_id))) {
        ResultRecord r;
        r.job_id = row[0].as<std::uint64_t>();
        r.agent_id = row[1].as<std::string>();
        row_codec::decode_or_mark(r.unreadable, [&] {
          r.measurement = row_codec::decode_result(
              {row[2].as<std::string>(), row[3].as<std::string>(), row[4].as<std::string>(), row[10].as<std::string>()},
              row[5].as<std::int64_t>(),
              row[6].as<std::int64_t>(), row[7].is_null() ? std::nan("") : row[7].as<double>());
        });
        r.measurement.reference_seconds = row[8].is_null() ? std::nan("") : row[8].as<double>();
        r.measurement.reference_joules = row[9].is_null() ? std::nan("") : row[9].as<double>();
        out.push_back(std::move(r));
      }
      return out;
    });
  }

  std::optional<std::string> result_agent(std::uint64_t job_id) override {
    return guarded("result_agent", [&](pqxx::connection& connection) -> std::optional<std::string> {
      pqxx::read_transaction w(connection);
      const pqxx::result r = w.exec_params("SELECT agent_id FROM results WHERE job_id = $1", static_cast<std::int64_t>(job_id));
      if (r.empty()) return std::nullopt;
      return r[0][0].as<std::string>();
    });
  }

  void save_kind_model(std::uint64_t campaign_id, const std::string& kind_key, const std::string& model_json) override {
    guarded("save_kind_model", [&](pqxx::connection& connection) {
      pqxx::work w(connection);
      check_fence(w);
      w.exec_params("INSERT INTO kind_models(campaign_id, kind_key, model_json) VALUES ($1,$2,$3) "
                    "ON CONFLICT (campaign_id, kind_key) DO UPDATE SET model_json = EXCLUDED.model_json",
                    static_cast<std::int64_t>(campaign_id), kind_key, model_json);
      w.exec(std::string("NOTIFY ") + kChangeChannel);  // readers (bridges) refresh at the commit
      w.commit();
    });
  }

  std::vector<std::pair<std::string, std::string>> kind_models(std::uint64_t campaign_id) override {
    return guarded("kind_models", [&](pqxx::connection& connection) {
      pqxx::read_transaction w(connection);
      std::vector<std::pair<std::string, std::string>> out;
      for (const auto& row : w.exec_params("SELECT kind_key, model_json FROM kind_models WHERE campaign_id = $1 ORDER BY kind_key",
                                           static_cast<std::int64_t>(campaign_id)))
        out.emplace_back(row[0].as<std::string>(), row[1].as<std::string>());
      return out;
    });
  }

  std::string fingerprint() override {
    return guarded("fingerprint", [&](pqxx::connection& connection) {
      pqxx::read_transaction w(connection);
      const auto row = w.exec(
          "SELECT (SELECT COUNT(*) FROM campaigns), (SELECT COALESCE(STRING_AGG(state, ',' ORDER BY id), '') FROM campaigns), "
          "(SELECT COUNT(*) FROM results), "
          "(SELECT COALESCE(md5(STRING_AGG(kind_key || model_json, '' ORDER BY campaign_id, kind_key)), '') FROM kind_models)")[0];
      return row[0].as<std::string>() + "|" + row[1].as<std::string>() + "|" + row[2].as<std::string>() + "|" +
             row[3].as<std::string>();
    });
  }

 private:
  void migrate() {
    pqxx::work w(*connection_);
    w.exec("SELECT pg_advisory_xact_lock(7274617)");  // 'ampere' migrations, one coordinator at a time
    w.exec("CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, "
           "applied_at TIMESTAMPTZ NOT NULL DEFAULT now())");
    const int current = w.exec("SELECT COALESCE(MAX(version), 0) FROM schema_migrations")[0][0].as<int>();
    const int newest = migrations().back().first;
    if (current > newest)
      throw InputError("store " + redacted(url_) + ": schema version " + std::to_string(current) +
                       " is newer than this coordinator's (" + std::to_string(newest) + ")");
    for (const auto& [version, sql] : migrations()) {
      if (version <= current) continue;
      w.exec(sql);
      w.exec_params("INSERT INTO schema_migrations(version) VALUES ($1)", version);
    }
    w.commit();
  }

  /// A leader's write (docs/architecture.md, "High availability"): the leadership row read FOR
  /// SHARE first, so a takeover's increment waits for this transaction, and a deposed leader's
  /// write fails here, before anything of it is done. Nothing without a fence.
  void check_fence(pqxx::work& w) {
    if (!fence_) return;
    const pqxx::result r = w.exec("SELECT epoch FROM leadership WHERE id = 1 FOR SHARE");
    const std::uint64_t now = r.empty() ? 0 : r[0][0].as<std::uint64_t>();
    if (now == fence_->epoch()) return;
    const std::string why = "the leadership epoch is " + std::to_string(now) + ", this leader's " +
                            std::to_string(fence_->epoch()) + ": another coordinator took over";
    fence_->lose(LeadershipFence::Reason::Fenced, why);
    throw StoreUnavailable("store " + redacted(url_) + ": deposed: " + why);
  }

  std::string url_;
  std::shared_ptr<LeadershipFence> fence_;  ///< null: no HA, writes unchecked
  std::unique_ptr<pqxx::connection> connection_;
};

}  // namespace

StorePtr open_postgres_store(const std::string& url) { return std::make_unique<PostgresStore>(url, nullptr); }

StorePtr open_fenced_store(const std::string& url, std::shared_ptr<LeadershipFence> fence) {
  AMPERE_REQUIRE(url.rfind("postgresql://", 0) == 0 || url.rfind("postgres://", 0) == 0,
                 "--ha: needs a PostgreSQL store (", redact_store_url(url), " is not one)");
  AMPERE_REQUIRE(fence != nullptr, "a fenced store needs its fence");
  return std::make_unique<PostgresStore>(url, std::move(fence));
}

}  // namespace ampere
