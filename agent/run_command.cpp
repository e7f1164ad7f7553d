#include "agent/run_command.hpp"

#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

#include "common/error.hpp"

namespace ampere {

std::pair<int, std::string> run_command(const std::vector<std::string>& args, bool with_stderr,
                                        std::chrono::milliseconds timeout) {
  int out[2];
  AMPERE_REQUIRE(pipe(out) == 0, "cannot create a pipe to run ", args.front());
  const pid_t pid = fork();
  AMPERE_REQUIRE(pid >= 0, "cannot fork to run ", args.front());
  if (pid == 0) {
    dup2(out[1], STDOUT_FILENO);
    if (with_stderr) dup2(out[1], STDERR_FILENO);
    close(out[0]);
    close(out[1]);
    std::vector<char*> argv;
    for (const std::string& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    execvp(argv[0], argv.data());
    _exit(127);
  }
  close(out[1]);
  std::string text;
  char buffer[4096];
  constexpr std::size_t kMaxOutput = 16u << 20;
  const auto until = std::chrono::steady_clock::now() + timeout;
  bool timed_out = false;
  while (true) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(until - std::chrono::steady_clock::now()).count();
    if (left <= 0) {
      timed_out = true;
      break;
    }
    pollfd item{out[0], POLLIN, 0};
    const int ready = poll(&item, 1, static_cast<int>(std::min<long long>(left, 1000)));
    if (ready < 0 && errno == EINTR) continue;
    if (ready <= 0) continue;
    const ssize_t n = read(out[0], buffer, sizeof buffer);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;  // the command closed its output: it is ending
    if (text.size() < kMaxOutput) text.append(buffer, static_cast<std::size_t>(n));
  }
  close(out[0]);
  if (timed_out) ::kill(pid, SIGKILL);
  int status = 0;
  waitpid(pid, &status, 0);
  AMPERE_REQUIRE(!timed_out, args.front(), ": no answer within ", timeout.count() / 1000.0, " s; killed");
  return {WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status), text};
}

}  // namespace ampere
