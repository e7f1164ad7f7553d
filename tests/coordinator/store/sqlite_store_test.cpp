#include <unistd.h>

#include <filesystem>

#include <doctest/doctest.h>
#include <sqlite3.h>

#include "common/error.hpp"
#include "coordinator/store/store_contract.hpp"

using namespace ampere;

TEST_CASE("the SQLite store keeps the store contract") {
  const std::string path =
      (std::filesystem::temp_directory_path() / ("ampere-store-" + std::to_string(::getpid()) + ".db")).string();
  testing::check_store_contract([&] { return open_store("sqlite:" + path); });
  for (const char* suffix : {"", "-wal", "-shm"}) std::filesystem::remove(path + suffix);
}

TEST_CASE("a version-1 SQLite file gains the estimator column, its campaigns subtractive, nothing lost") {
  const std::string path =
      (std::filesystem::temp_directory_path() / ("ampere-store-v1-" + std::to_string(::getpid()) + ".db")).string();
  {
    sqlite3* db = nullptr;
    REQUIRE(sqlite3_open(path.c_str(), &db) == SQLITE_OK);
    const char* v1 =
        "CREATE TABLE schema_version (version INTEGER NOT NULL); INSERT INTO schema_version VALUES (1);"
        "CREATE TABLE campaigns (id INTEGER PRIMARY KEY AUTOINCREMENT, family_json TEXT NOT NULL, device_class TEXT NOT NULL,"
        " budget_per_kind INTEGER NOT NULL, acquisition TEXT NOT NULL, state TEXT NOT NULL, created_at TEXT);"
        "INSERT INTO campaigns(family_json, device_class, budget_per_kind, acquisition, state)"
        " VALUES ('{}', 'old-class', 12, 'max-variance', 'done');";
    REQUIRE(sqlite3_exec(db, v1, nullptr, nullptr, nullptr) == SQLITE_OK);
    sqlite3_close(db);
  }
  {
    StorePtr store = open_store("sqlite:" + path);
    REQUIRE(store->campaigns().size() == 1);
    CHECK(store->campaigns()[0].device_class == "old-class");
    CHECK(store->campaigns()[0].estimator == "subtractive");
    store->create_campaign({0, "{}", "new-class", 8, "max-variance", CampaignState::Running, "joint"});
  }
  StorePtr reopened = open_store("sqlite:" + path);  // migrated once: a second open changes nothing
  REQUIRE(reopened->campaigns().size() == 2);
  CHECK(reopened->campaigns()[1].estimator == "joint");
  for (const char* suffix : {"", "-wal", "-shm"}) std::filesystem::remove(path + suffix);
}

TEST_CASE("a version-2 SQLite file gains the reference columns, its results read back without a reading") {
  const std::string path =
      (std::filesystem::temp_directory_path() / ("ampere-store-v2-" + std::to_string(::getpid()) + ".db")).string();
  {
    sqlite3* db = nullptr;
    REQUIRE(sqlite3_open(path.c_str(), &db) == SQLITE_OK);
    const char* v2 =
        "CREATE TABLE schema_version (version INTEGER NOT NULL); INSERT INTO schema_version VALUES (2);"
        "CREATE TABLE campaigns (id INTEGER PRIMARY KEY AUTOINCREMENT, family_json TEXT NOT NULL, device_class TEXT NOT NULL,"
        " budget_per_kind INTEGER NOT NULL, acquisition TEXT NOT NULL, state TEXT NOT NULL,"
        " estimator TEXT NOT NULL DEFAULT 'subtractive', created_at TEXT);"
        "CREATE TABLE jobs (id INTEGER PRIMARY KEY AUTOINCREMENT, campaign_id INTEGER NOT NULL, kind_key TEXT NOT NULL,"
        " channels_json TEXT NOT NULL, variant_json TEXT NOT NULL, state TEXT NOT NULL, agent_id TEXT NOT NULL DEFAULT '',"
        " attempts INTEGER NOT NULL DEFAULT 0);"
        "CREATE TABLE results (job_id INTEGER PRIMARY KEY, agent_id TEXT NOT NULL, seconds_json TEXT NOT NULL,"
        " joules_json TEXT NOT NULL, meter TEXT NOT NULL, iterations INTEGER NOT NULL, threads INTEGER NOT NULL,"
        " idle_watts REAL, stored_at TEXT);"
        "INSERT INTO campaigns(family_json, device_class, budget_per_kind, acquisition, state) VALUES ('{}', 'c', 8, 'max-variance', 'running');"
        "INSERT INTO jobs(campaign_id, kind_key, channels_json, variant_json, state) VALUES (1, 'k', '[4]', '{}', 'done');"
        "INSERT INTO results(job_id, agent_id, seconds_json, joules_json, meter, iterations, threads)"
        " VALUES (1, 'a', '[0.5]', '[]', 'time-surrogate', 10, 1);";
    REQUIRE(sqlite3_exec(db, v2, nullptr, nullptr, nullptr) == SQLITE_OK);
    sqlite3_close(db);
  }
  for (int open = 0; open < 2; ++open) {  // migrated once: a second open changes nothing
    StorePtr store = open_store("sqlite:" + path);
    const auto results = store->results(1);
    REQUIRE(results.size() == 1);
    CHECK(results[0].measurement.seconds_per_iteration == std::vector<double>{0.5});
    CHECK_FALSE(results[0].measurement.has_reference());
  }
  for (const char* suffix : {"", "-wal", "-shm"}) std::filesystem::remove(path + suffix);
}

TEST_CASE("store URLs are checked") {
  CHECK_THROWS_WITH_AS(open_store("mysql://x"), doctest::Contains("unknown scheme"), InputError);
  CHECK_THROWS_WITH_AS(open_store("sqlite:/nonexistent-dir/x.db"), doctest::Contains("cannot open"), InputError);
  CHECK_THROWS_WITH_AS(open_store("postgresql://nobody:secret@127.0.0.1:1/none"), doctest::Contains("cannot connect"),
                       InputError);
  try {
    open_store("postgresql://nobody:secret@127.0.0.1:1/none");
  } catch (const InputError& e) {
    CHECK(std::string(e.what()).find("secret") == std::string::npos);  // passwords never reach logs
    CHECK(e.code() == ampere::ErrorCode::Unavailable);                  // a database away now may answer later
  }
}
