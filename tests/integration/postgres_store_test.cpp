// The store contract against a real PostgreSQL 15 started by the test.
#include <doctest/doctest.h>
#include <pqxx/pqxx>

#include "coordinator/store_contract.hpp"
#include "integration/postgres_server.hpp"

using namespace ampere;

TEST_CASE("the PostgreSQL store keeps the store contract against a real server") {
  testing::PostgresServer server;
  const std::string url = server.create_database();
  testing::check_store_contract([&] { return open_store(url); });
}

TEST_CASE("PostgreSQL migrations are versioned and idempotent") {
  testing::PostgresServer server;
  const std::string url = server.create_database();
  open_store(url);
  open_store(url);  // a second coordinator start migrates nothing
  pqxx::connection c(url);
  pqxx::read_transaction w(c);
  const auto versions = w.exec("SELECT version FROM schema_migrations ORDER BY version");
  REQUIRE(versions.size() == 2);
  CHECK(versions[0][0].as<int>() == 1);
  CHECK(versions[1][0].as<int>() == 2);
}
