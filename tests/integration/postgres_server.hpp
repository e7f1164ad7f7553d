// A real PostgreSQL server for a test: initdb + pg_ctl in a temp dir on a free loopback port
// (as root, run as the unprivileged postgres user); stopped and removed with the object.
#pragma once

#include <string>

namespace ampere::testing {

class PostgresServer {
 public:
  /// Throws std::runtime_error with the server's log when it cannot start.
  PostgresServer();
  ~PostgresServer();
  PostgresServer(const PostgresServer&) = delete;
  PostgresServer& operator=(const PostgresServer&) = delete;

  /// A new, empty database; returns its URL.
  std::string create_database();
  void stop();
  void start();
  int port() const { return port_; }
  /// The cluster's data directory (copy it after stop() to keep what a run stored).
  std::string data_directory() const { return dir_ + "/data"; }

 private:
  std::string run(const std::string& command) const;
  std::string bin_, dir_, as_postgres_;
  int port_ = 0;
  int databases_ = 0;
  bool running_ = false;
};

}  // namespace ampere::testing
