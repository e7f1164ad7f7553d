#include "integration/postgres_server.hpp"

#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>

#include <pqxx/pqxx>

#include "integration/process.hpp"

namespace ampere::testing {
PostgresServer::PostgresServer() {
  namespace fs = std::filesystem;
  for (const char* version : {"17", "16", "15"})
    if (fs::exists(std::string("/usr/lib/postgresql/") + version + "/bin/initdb")) {
      bin_ = std::string("/usr/lib/postgresql/") + version + "/bin";
      break;
    }
  if (bin_.empty()) throw std::runtime_error("PostgreSQL server binaries not found under /usr/lib/postgresql (apt install postgresql)");
  std::string pattern = (fs::temp_directory_path() / "ampere-pg-XXXXXX").string();
  if (mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
  dir_ = pattern;
  if (geteuid() == 0) {  // initdb refuses root: run the server as postgres, in a dir it owns
    as_postgres_ = "runuser -u postgres -- ";
    run("chown postgres:postgres " + dir_);
  }
  port_ = free_port();
  run(as_postgres_ + bin_ + "/initdb -D " + dir_ + "/data -U ampere --auth=trust -E UTF8 > " + dir_ + "/initdb.log 2>&1");
  start();
}

PostgresServer::~PostgresServer() {
  stop();
  std::error_code ignored;
  std::filesystem::remove_all(dir_, ignored);
}

std::string PostgresServer::run(const std::string& command) const {
  if (std::system(command.c_str()) != 0)
    throw std::runtime_error("failed: " + command + "\n" + slurp_file(dir_ + "/initdb.log") + slurp_file(dir_ + "/server.log"));
  return {};
}

void PostgresServer::start() {
  run(as_postgres_ + bin_ + "/pg_ctl -D " + dir_ + "/data -l " + dir_ + "/server.log -w -o \"-p " + std::to_string(port_) +
      " -k " + dir_ + " -c listen_addresses=127.0.0.1 -c fsync=off\" start > /dev/null 2>&1");
  running_ = true;
}

void PostgresServer::stop() {
  if (!running_) return;
  std::system((as_postgres_ + bin_ + "/pg_ctl -D " + dir_ + "/data -m immediate stop > /dev/null 2>&1").c_str());
  running_ = false;
}

std::string PostgresServer::create_database() {
  const std::string name = "ampere_test_" + std::to_string(++databases_);
  pqxx::connection admin("postgresql://ampere@127.0.0.1:" + std::to_string(port_) + "/postgres");
  pqxx::nontransaction w(admin);
  w.exec("CREATE DATABASE " + name);
  return "postgresql://ampere@127.0.0.1:" + std::to_string(port_) + "/" + name;
}

}  // namespace ampere::testing
