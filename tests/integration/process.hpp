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
