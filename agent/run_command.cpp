#include "agent/run_command.hpp"

#include <sys/wait.h>
#include <unistd.h>

#include "common/error.hpp"

namespace ampere {

std::pair<int, std::string> run_command(const std::vector<std::string>& args, bool with_stderr) {
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
  for (ssize_t n; (n = read(out[0], buffer, sizeof buffer)) > 0;) text.append(buffer, static_cast<std::size_t>(n));
  close(out[0]);
  int status = 0;
  waitpid(pid, &status, 0);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status), text};
}

}  // namespace ampere
