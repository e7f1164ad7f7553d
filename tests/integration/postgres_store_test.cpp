// The store contract against a real PostgreSQL 15 started by the test.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>

#include <doctest/doctest.h>
#include <pqxx/pqxx>

#include "common/error.hpp"
#include "coordinator/store/store_contract.hpp"
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
  REQUIRE(versions.size() == 6);
  CHECK(versions[0][0].as<int>() == 1);
  CHECK(versions[1][0].as<int>() == 2);
  CHECK(versions[2][0].as<int>() == 3);  // campaigns.estimator
  CHECK(versions[3][0].as<int>() == 4);  // results.reference_seconds / reference_joules
  CHECK(versions[4][0].as<int>() == 5);  // campaigns.only_kinds_json (profile on demand)
  CHECK(versions[5][0].as<int>() == 6);  // results.meter_parts_json (composite meters)
  CHECK(w.exec("SELECT COUNT(*) FROM information_schema.columns WHERE table_name = 'results' AND "
               "column_name IN ('reference_seconds', 'reference_joules')")[0][0].as<int>() == 2);
  CHECK(w.exec("SELECT column_default FROM information_schema.columns WHERE table_name = 'campaigns' AND "
               "column_name = 'estimator'")[0][0].as<std::string>() == "'subtractive'::text");
}

TEST_CASE("a database that accepts connections but never answers fails within the connect timeout, not forever") {
  // A loopback port whose listen queue completes the TCP handshake but where nothing speaks.
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  REQUIRE(fd >= 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
  REQUIRE(::listen(fd, 8) == 0);
  socklen_t len = sizeof addr;
  REQUIRE(::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0);
  const std::string url = "postgresql://nobody@127.0.0.1:" + std::to_string(ntohs(addr.sin_port)) + "/none";
  const auto started = std::chrono::steady_clock::now();
  CHECK_THROWS_WITH_AS(open_store(url), doctest::Contains("cannot connect"), InputError);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  CHECK(seconds < 10);  // connect_timeout=3 (an operator's own connect_timeout in the URL wins)
  ::close(fd);
}
