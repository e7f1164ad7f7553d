// Runs a real binary and captures what it printed (integration tests).
#pragma once

#include <string>
#include <vector>

namespace ampere::testing {

struct ProcessResult {
  int exit_code = -1;
  std::string out;
  std::string err;
};

/// Runs `binary` (a name in AMPERE_BIN_DIR) with `args`, waits for it, returns its exit code and
/// output. Arguments are passed as they are (no shell).
ProcessResult run_binary(const std::string& binary, const std::vector<std::string>& args);

/// A server or agent started in the background; stopped (SIGTERM, then SIGKILL) when destroyed.
class BackgroundProcess {
 public:
  /// Starts `binary` from AMPERE_BIN_DIR (or the path itself when it has a '/'); stdout and
  /// stderr go to `log_file`.
  BackgroundProcess(const std::string& binary, const std::vector<std::string>& args, const std::string& log_file);
  ~BackgroundProcess();
  BackgroundProcess(const BackgroundProcess&) = delete;
  BackgroundProcess& operator=(const BackgroundProcess&) = delete;
  /// SIGKILL now (a crash), and wait for it.
  void kill_hard();
  /// SIGTERM and wait up to `patience` (then SIGKILL); returns the exit code.
  int stop(int patience_ms = 5000);
  bool running();
  int pid() const { return pid_; }

 private:
  int pid_ = -1;
};

/// The whole content of a file ("" when it cannot be read).
std::string slurp_file(const std::string& file);

/// A TCP port on 127.0.0.1 that was free a moment ago.
int free_port();

/// A fresh temporary directory, removed with the object.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }
  std::string file(const std::string& name, const std::string& content) const;

 private:
  std::string path_;
};

}  // namespace ampere::testing
