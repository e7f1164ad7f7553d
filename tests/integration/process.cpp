#include "integration/process.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <set>
#include <sstream>
#include <stdexcept>

namespace ampere::testing {
std::string slurp_file(const std::string& file) {
  std::ifstream in(file);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

namespace {
/// fork + exec of a binary from AMPERE_BIN_DIR with stdout and stderr sent to files.
pid_t spawn(const std::string& binary, const std::vector<std::string>& args, const std::string& out_file,
            const std::string& err_file, int open_mode) {
  const std::string path = binary.find('/') != std::string::npos ? binary : std::string(AMPERE_BIN_DIR) + "/" + binary;
  const pid_t pid = fork();
  if (pid < 0) throw std::runtime_error("fork failed");
  if (pid == 0) {
    const int out = open(out_file.c_str(), O_WRONLY | O_CREAT | open_mode, 0600);
    const int err = err_file == out_file ? out : open(err_file.c_str(), O_WRONLY | O_CREAT | open_mode, 0600);
    dup2(out, 1);
    dup2(err, 2);
    std::vector<char*> argv;
    argv.push_back(const_cast<char*>(path.c_str()));
    for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    execv(path.c_str(), argv.data());
    _exit(127);
  }
  return pid;
}

}  // namespace

ProcessResult run_binary(const std::string& binary, const std::vector<std::string>& args) {
  TempDir capture;
  const std::string out_file = capture.path() + "/out", err_file = capture.path() + "/err";
  const pid_t pid = spawn(binary, args, out_file, err_file, O_TRUNC);
  int status = 0;
  waitpid(pid, &status, 0);
  ProcessResult result;
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  result.out = slurp_file(out_file);
  result.err = slurp_file(err_file);
  return result;
}

BackgroundProcess::BackgroundProcess(const std::string& binary, const std::vector<std::string>& args,
                                     const std::string& log_file) {
  pid_ = spawn(binary, args, log_file, log_file, O_APPEND);
}

BackgroundProcess::~BackgroundProcess() {
  if (pid_ > 0) stop();
}

bool BackgroundProcess::running() {
  if (pid_ <= 0) return false;
  int status = 0;
  if (waitpid(pid_, &status, WNOHANG) == pid_) {
    pid_ = -1;
    return false;
  }
  return true;
}

void BackgroundProcess::kill_hard() {
  if (pid_ <= 0) return;
  ::kill(pid_, SIGKILL);
  waitpid(pid_, nullptr, 0);
  pid_ = -1;
}

int BackgroundProcess::stop(int patience_ms) {
  if (pid_ <= 0) return -1;
  ::kill(pid_, SIGTERM);
  for (int i = 0; i < patience_ms / 50; ++i) {
    int status = 0;
    if (waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    }
    usleep(50 * 1000);
  }
  kill_hard();
  return 137;
}

int free_port() {
  // The kernel may hand the same free port to two calls in a row (the first socket is closed before
  // the caller binds it): a coordinator's agent and client endpoints once got one port. Each port is
  // handed out once per test process.
  static std::mutex mutex;
  static std::set<int> handed_out;
  std::lock_guard<std::mutex> lock(mutex);
  for (int attempt = 0; attempt < 100; ++attempt) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = 0;
    if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
      close(fd);
      throw std::runtime_error("bind failed");
    }
    socklen_t len = sizeof addr;
    getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
    close(fd);
    const int port = ntohs(addr.sin_port);
    if (handed_out.insert(port).second) return port;
  }
  throw std::runtime_error("no free loopback port not already handed out");
}

TempDir::TempDir() {
  std::string pattern = (std::filesystem::temp_directory_path() / "ampere-test-XXXXXX").string();
  if (mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
  path_ = pattern;
}

TempDir::~TempDir() {
  std::error_code ignored;
  std::filesystem::remove_all(path_, ignored);
}

std::string TempDir::file(const std::string& name, const std::string& content) const {
  const std::string file = path_ + "/" + name;
  std::ofstream(file) << content;
  return file;
}

}  // namespace ampere::testing
