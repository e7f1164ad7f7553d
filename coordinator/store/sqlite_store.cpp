// The embedded store: one SQLite file, WAL journal, a transaction per write.
#include <sqlite3.h>

#include <cmath>
#include <functional>


#include "common/error.hpp"
#include "coordinator/store/backends.hpp"
#include "coordinator/store/row_codec.hpp"

namespace ampere {
namespace {

constexpr int kSchemaVersion = 5;  // 2: campaigns.estimator; 3: results.reference_seconds/joules; 4: campaigns.only_kinds_json;
                                   // 5: results.meter_parts_json

const char* kSchema = R"sql(
CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS campaigns (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  family_json TEXT NOT NULL,
  device_class TEXT NOT NULL,
  budget_per_kind INTEGER NOT NULL,
  acquisition TEXT NOT NULL,
  state TEXT NOT NULL,
  estimator TEXT NOT NULL DEFAULT 'subtractive',
  only_kinds_json TEXT NOT NULL DEFAULT '',
  created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')));
CREATE TABLE IF NOT EXISTS jobs (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  campaign_id INTEGER NOT NULL REFERENCES campaigns(id),
  kind_key TEXT NOT NULL,
  channels_json TEXT NOT NULL,
  variant_json TEXT NOT NULL,
  state TEXT NOT NULL,
  agent_id TEXT NOT NULL DEFAULT '',
  attempts INTEGER NOT NULL DEFAULT 0);
CREATE INDEX IF NOT EXISTS jobs_by_campaign ON jobs(campaign_id);
CREATE TABLE IF NOT EXISTS results (
  job_id INTEGER PRIMARY KEY REFERENCES jobs(id),
  agent_id TEXT NOT NULL,
  seconds_json TEXT NOT NULL,
  joules_json TEXT NOT NULL,
  meter TEXT NOT NULL,
  iterations INTEGER NOT NULL,
  threads INTEGER NOT NULL,
  idle_watts REAL,
  reference_seconds REAL,
  reference_joules REAL,
  meter_parts_json TEXT NOT NULL DEFAULT '',
  stored_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')));
CREATE TABLE IF NOT EXISTS kind_models (
  campaign_id INTEGER NOT NULL REFERENCES campaigns(id),
  kind_key TEXT NOT NULL,
  model_json TEXT NOT NULL,
  PRIMARY KEY (campaign_id, kind_key));
)sql";

/// Disk full, I/O errors, a locked database: the store is away for now (the coordinator spools
/// results); anything else is a real error.
[[noreturn]] void throw_sqlite_error(int rc, const std::string& message) {
  switch (rc & 0xff) {
    case SQLITE_FULL:
    case SQLITE_IOERR:
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
    case SQLITE_CANTOPEN:
    case SQLITE_READONLY: throw StoreUnavailable(message);
    default: throw std::runtime_error(message);
  }
}

class Statement {
 public:
  Statement(sqlite3* db, const char* sql) : db_(db) {
    if (sqlite3_prepare_v2(db, sql, -1, &stmt_, nullptr) != SQLITE_OK)
      throw std::runtime_error(std::string("sqlite: ") + sqlite3_errmsg(db) + " in: " + sql);
  }
  ~Statement() { sqlite3_finalize(stmt_); }
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;
  Statement& bind(int i, const std::string& v) {
    sqlite3_bind_text(stmt_, i, v.c_str(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
    return *this;
  }
  Statement& bind(int i, std::int64_t v) {
    sqlite3_bind_int64(stmt_, i, v);
    return *this;
  }
  Statement& bind(int i, double v) {
    if (std::isnan(v)) sqlite3_bind_null(stmt_, i);
    else sqlite3_bind_double(stmt_, i, v);
    return *this;
  }
  /// true while a row is available
  bool step() {
    const int rc = sqlite3_step(stmt_);
    if (rc == SQLITE_ROW) return true;
    if (rc == SQLITE_DONE) return false;
    throw_sqlite_error(rc, std::string("sqlite: ") + sqlite3_errmsg(db_));
  }
  std::int64_t integer(int col) const { return sqlite3_column_int64(stmt_, col); }
  double real(int col) const {
    return sqlite3_column_type(stmt_, col) == SQLITE_NULL ? std::nan("") : sqlite3_column_double(stmt_, col);
  }
  std::string text(int col) const {
    const unsigned char* t = sqlite3_column_text(stmt_, col);
    return t == nullptr ? std::string() : std::string(reinterpret_cast<const char*>(t));
  }

 private:
  sqlite3* db_;
  sqlite3_stmt* stmt_ = nullptr;
};

class SqliteStore final : public Store {
 public:
  explicit SqliteStore(const std::string& path) : path_(path) {
    if (sqlite3_open_v2(path.c_str(), &db_, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX, nullptr) !=
        SQLITE_OK) {
      const std::string message = db_ != nullptr ? sqlite3_errmsg(db_) : "out of memory";
      sqlite3_close(db_);
      throw InputError("store sqlite:" + path + ": cannot open: " + message);
    }
    sqlite3_busy_timeout(db_, 5000);
    exec("PRAGMA journal_mode=WAL");
    exec("PRAGMA synchronous=FULL");  // a result is on disk before it is acked
    exec("PRAGMA foreign_keys=ON");
    exec("BEGIN");
    exec(kSchema);
    Statement version(db_, "SELECT version FROM schema_version");
    if (!version.step()) {
      Statement insert(db_, "INSERT INTO schema_version(version) VALUES (?)");
      insert.bind(1, std::int64_t{kSchemaVersion}).step();
    } else if (version.integer(0) > kSchemaVersion) {
      exec("ROLLBACK");
      throw InputError("store sqlite:" + path + ": schema version " + std::to_string(version.integer(0)) +
                       " is newer than this coordinator's (" + std::to_string(kSchemaVersion) + ")");
    } else {
      const std::int64_t found = version.integer(0);
      if (found < 2)  // a version-1 file: campaigns had no estimator (all subtractive)
        exec("ALTER TABLE campaigns ADD COLUMN estimator TEXT NOT NULL DEFAULT 'subtractive'");
      // Results before reference readings: NULL, fitted as measured. (A file without a results
      // table got it from kSchema above, columns and all.)
      for (const char* column : {"reference_seconds", "reference_joules"})
        if (found < 3 && !has_column("results", column))
          exec(("ALTER TABLE results ADD COLUMN " + std::string(column) + " REAL").c_str());
      if (found < 4 && !has_column("campaigns", "only_kinds_json"))  // every earlier campaign profiled every kind
        exec("ALTER TABLE campaigns ADD COLUMN only_kinds_json TEXT NOT NULL DEFAULT ''");
      if (found < 5 && !has_column("results", "meter_parts_json"))  // every earlier result had one meter
        exec("ALTER TABLE results ADD COLUMN meter_parts_json TEXT NOT NULL DEFAULT ''");
      if (found < kSchemaVersion) exec(("UPDATE schema_version SET version = " + std::to_string(kSchemaVersion)).c_str());
    }
    exec("COMMIT");
  }
  ~SqliteStore() override { sqlite3_close(db_); }

  std::uint64_t create_campaign(const CampaignRecord& c) override {
    Statement s(db_, "INSERT INTO campaigns(family_json, device_class, budget_per_kind, acquisition, state, estimator, "
                     "only_kinds_json) VALUES (?,?,?,?,?,?,?)");
    s.bind(1, c.family_json).bind(2, c.device_class).bind(3, std::int64_t{c.budget_per_kind}).bind(4, c.acquisition);
    s.bind(5, std::string(campaign_state_name(c.state))).bind(6, c.estimator).bind(7, row_codec::encode_only_kinds(c.only_kinds));
    s.step();
    return static_cast<std::uint64_t>(sqlite3_last_insert_rowid(db_));
  }

  void set_campaign_state(std::uint64_t id, CampaignState state) override {
    Statement s(db_, "UPDATE campaigns SET state = ? WHERE id = ?");
    s.bind(1, std::string(campaign_state_name(state))).bind(2, static_cast<std::int64_t>(id)).step();
  }

  std::vector<CampaignRecord> campaigns() override {
    Statement s(db_, "SELECT id, family_json, device_class, budget_per_kind, acquisition, state, estimator, only_kinds_json "
                     "FROM campaigns ORDER BY id");
    std::vector<CampaignRecord> out;
    while (s.step()) {
      CampaignRecord c{static_cast<std::uint64_t>(s.integer(0)), s.text(1), s.text(2), static_cast<std::uint32_t>(s.integer(3)),
                       s.text(4)};
      c.estimator = s.text(6);
      row_codec::decode_or_mark(c.unreadable, [&] {
        c.state = parse_campaign_state(s.text(5));
        c.only_kinds = row_codec::decode_only_kinds(s.text(7));
      });
      out.push_back(std::move(c));
    }
    return out;
  }

  std::vector<std::uint64_t> create_jobs(const std::vector<JobRecord>& jobs) override {
    std::vector<std::uint64_t> ids;
    exec("BEGIN");
    try {
      for (const JobRecord& j : jobs) {
        Statement s(db_, "INSERT INTO jobs(campaign_id, kind_key, channels_json, variant_json, state, agent_id, attempts) "
                         "VALUES (?,?,?,?,?,?,?)");
        s.bind(1, static_cast<std::int64_t>(j.campaign_id)).bind(2, j.kind_key).bind(3, row_codec::encode_channels(j.channels));
        s.bind(4, j.variant_json).bind(5, std::string(job_state_name(j.state))).bind(6, j.agent_id);
        s.bind(7, std::int64_t{j.attempts}).step();
        ids.push_back(static_cast<std::uint64_t>(sqlite3_last_insert_rowid(db_)));
      }
      exec("COMMIT");
    } catch (...) {
      sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);  // the first error is the one to report
      throw;
    }
    return ids;
  }

  void set_job_state(std::uint64_t id, JobState state, const std::string& agent_id) override {
    Statement s(db_, state == JobState::Running
                         ? "UPDATE jobs SET state = ?, agent_id = ?, attempts = attempts + 1 WHERE id = ? AND state != 'done'"
                         : "UPDATE jobs SET state = ?, agent_id = ? WHERE id = ? AND state != 'done'");
    s.bind(1, std::string(job_state_name(state))).bind(2, agent_id).bind(3, static_cast<std::int64_t>(id)).step();
  }

  void discard_result(std::uint64_t id) override {
    Statement s(db_, "UPDATE jobs SET state = 'failed' WHERE id = ? AND state = 'done'");
    s.bind(1, static_cast<std::int64_t>(id)).step();
  }

  std::vector<JobRecord> jobs(std::uint64_t campaign_id) override {
    Statement s(db_, "SELECT id, campaign_id, kind_key, channels_json, variant_json, state, agent_id, attempts "
                     "FROM jobs WHERE campaign_id = ? ORDER BY id");
    s.bind(1, static_cast<std::int64_t>(campaign_id));
    std::vector<JobRecord> out;
    while (s.step()) {
      JobRecord j;
      j.id = static_cast<std::uint64_t>(s.integer(0));
      j.campaign_id = static_cast<std::uint64_t>(s.integer(1));
      j.kind_key = s.text(2);
      j.variant_json = s.text(4);
      row_codec::decode_or_mark(j.unreadable, [&] {
        j.channels = row_codec::decode_channels(s.text(3));
        j.state = parse_job_state(s.text(5));
      });
      j.agent_id = s.text(6);
      j.attempts = static_cast<std::uint32_t>(s.integer(7));
      out.push_back(std::move(j));
    }
    return out;
  }

  void store_result(const ResultRecord& r) override {
    exec("BEGIN IMMEDIATE");
    try {
      insert_result(r);
      exec("COMMIT");
    } catch (...) {
      sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);  // the first error is the one to report
      throw;
    }
  }

  /// One transaction, one commit (one fsync) for the group; each result inside its own savepoint,
  /// so a refused one leaves the others.
  std::vector<GroupedResultOutcome> store_results(const std::vector<ResultRecord>& results) override {
    std::vector<GroupedResultOutcome> out;
    exec("BEGIN IMMEDIATE");
    try {
      for (const ResultRecord& r : results) {
        exec("SAVEPOINT result");
        try {
          insert_result(r);
          exec("RELEASE result");
          out.push_back({GroupedResultOutcome::Kind::Stored, ""});
        } catch (const InputError& e) {
          exec("ROLLBACK TO result");
          exec("RELEASE result");
          const bool duplicate = dynamic_cast<const DuplicateResult*>(&e) != nullptr;
          out.push_back({duplicate ? GroupedResultOutcome::Kind::Duplicate : GroupedResultOutcome::Kind::Refused, e.what()});
        }
      }
      exec("COMMIT");
    } catch (...) {
      sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
      throw;
    }
    return out;
  }

  void set_job_states(const std::vector<JobStateChange>& changes) override {
    if (changes.empty()) return;
    exec("BEGIN IMMEDIATE");
    try {
      for (const JobStateChange& c : changes) set_job_state(c.job_id, c.state, c.agent_id);
      exec("COMMIT");
    } catch (...) {
      sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
      throw;
    }
  }

  /// The result's row and its job's state, inside the caller's transaction. Throws InputError for
  /// an unknown job, DuplicateResult for a job with a result already.
  void insert_result(const ResultRecord& r) {
    Statement check(db_, "SELECT state FROM jobs WHERE id = ?");
    check.bind(1, static_cast<std::int64_t>(r.job_id));
    AMPERE_REQUIRE(check.step(), "result for unknown job ", r.job_id);
    Statement existing(db_, "SELECT 1 FROM results WHERE job_id = ?");
    existing.bind(1, static_cast<std::int64_t>(r.job_id));
    if (existing.step()) throw DuplicateResult("job " + std::to_string(r.job_id) + " has a stored result already");
    const Measurement& m = r.measurement;
    const row_codec::ResultText text = row_codec::encode_result(m);
    Statement s(db_, "INSERT INTO results(job_id, agent_id, seconds_json, joules_json, meter, iterations, threads, idle_watts, "
                     "reference_seconds, reference_joules, meter_parts_json) VALUES (?,?,?,?,?,?,?,?,?,?,?)");
    s.bind(1, static_cast<std::int64_t>(r.job_id)).bind(2, r.agent_id).bind(3, text.seconds_json);
    s.bind(4, text.joules_json).bind(5, text.meter);
    s.bind(6, std::int64_t{m.iterations}).bind(7, std::int64_t{m.threads}).bind(8, m.idle_watts);
    s.bind(9, m.reference_seconds).bind(10, m.reference_joules).bind(11, text.meter_parts_json).step();
    Statement done(db_, "UPDATE jobs SET state = 'done', agent_id = ? WHERE id = ?");
    done.bind(1, r.agent_id).bind(2, static_cast<std::int64_t>(r.job_id)).step();
  }

  bool has_column(const std::string& table, const std::string& column) {
    Statement s(db_, ("SELECT 1 FROM pragma_table_info('" + table + "') WHERE name = ?").c_str());
    s.bind(1, column);
    return s.step();
  }

  void save_kind_model(std::uint64_t campaign_id, const std::string& kind_key, const std::string& model_json) override {
    Statement s(db_, "INSERT INTO kind_models(campaign_id, kind_key, model_json) VALUES (?,?,?) "
                     "ON CONFLICT(campaign_id, kind_key) DO UPDATE SET model_json = excluded.model_json");
    s.bind(1, static_cast<std::int64_t>(campaign_id)).bind(2, kind_key).bind(3, model_json).step();
  }

  std::vector<std::pair<std::string, std::string>> kind_models(std::uint64_t campaign_id) override {
    Statement s(db_, "SELECT kind_key, model_json FROM kind_models WHERE campaign_id = ? ORDER BY kind_key");
    s.bind(1, static_cast<std::int64_t>(campaign_id));
    std::vector<std::pair<std::string, std::string>> out;
    while (s.step()) out.emplace_back(s.text(0), s.text(1));
    return out;
  }

  std::vector<ResultRecord> results(std::uint64_t campaign_id) override {
    Statement s(db_, "SELECT r.job_id, r.agent_id, r.seconds_json, r.joules_json, r.meter, r.iterations, r.threads, r.idle_watts, "
                     "r.reference_seconds, r.reference_joules, r.meter_parts_json FROM results r JOIN jobs j ON j.id = r.job_id "
                     "WHERE j.campaign_id = ? ORDER BY r.job_id");
    s.bind(1, static_cast<std::int64_t>(campaign_id));
    std::vector<ResultRecord> out;
    while (s.step()) {
      ResultRecord r;
      r.job_id = static_cast<std::uint64_t>(s.integer(0));
      r.agent_id = s.text(1);
      row_codec::decode_or_mark(r.unreadable, [&] {
        r.measurement =
            row_codec::decode_result({s.text(2), s.text(3), s.text(4), s.text(10)}, s.integer(5), s.integer(6), s.real(7));
      });
      r.measurement.reference_seconds = s.real(8);
      r.measurement.reference_joules = s.real(9);
      out.push_back(std::move(r));
    }
    return out;
  }

  std::optional<std::string> result_agent(std::uint64_t job_id) override {
    Statement s(db_, "SELECT agent_id FROM results WHERE job_id = ?");
    s.bind(1, static_cast<std::int64_t>(job_id));
    if (!s.step()) return std::nullopt;
    return s.text(0);
  }

  std::string fingerprint() override {
    Statement s(db_, "SELECT (SELECT COUNT(*) FROM campaigns), (SELECT COALESCE(GROUP_CONCAT(state, ','), '') FROM campaigns), "
                     "(SELECT COUNT(*) FROM results)");
    s.step();
    std::size_t models = 0;  // kind models may be replaced in place: hash their text
    Statement m(db_, "SELECT kind_key, model_json FROM kind_models ORDER BY campaign_id, kind_key");
    while (m.step()) models = models * 1000003u ^ std::hash<std::string>{}(m.text(0) + m.text(1));
    return std::to_string(s.integer(0)) + "|" + s.text(1) + "|" + std::to_string(s.integer(2)) + "|" + std::to_string(models);
  }

 private:
  void exec(const char* sql) {
    char* error = nullptr;
    if (const int rc = sqlite3_exec(db_, sql, nullptr, nullptr, &error); rc != SQLITE_OK) {
      const std::string message = error != nullptr ? error : "unknown error";
      sqlite3_free(error);
      throw_sqlite_error(rc, "store sqlite:" + path_ + ": " + message);
    }
  }

  std::string path_;
  sqlite3* db_ = nullptr;
};

}  // namespace

StorePtr open_sqlite_store(const std::string& path) { return std::make_unique<SqliteStore>(path); }

}  // namespace ampere
