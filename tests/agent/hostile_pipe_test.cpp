// Hostile input on the agent's side (docs/security.md): a trainer that floods its pipe without a
// newline, a child command that never ends.
#include <unistd.h>

#include <chrono>
#include <csignal>
#include <string>
#include <thread>

#include <doctest/doctest.h>

#include "agent/run_command.hpp"
#include "agent/trainer_link/line_pipe.hpp"
#include "common/error.hpp"

using namespace ampere;

TEST_CASE("hostile: a trainer pipe line past 16 MiB without a newline ends the read as a broken pipe, unbuffered") {
  std::signal(SIGPIPE, SIG_IGN);  // the flooding writer outlives the reader's end: EPIPE, not a signal
  int fds[2];
  REQUIRE(pipe(fds) == 0);
  std::thread flood([w = fds[1]] {
    const std::string block(1 << 20, 'x');
    for (int i = 0; i < 20; ++i)
      if (write(w, block.data(), block.size()) < 0) break;  // the reader stopped: done
    close(w);
  });
  LinePipe pipe(fds[0], -1);
  CHECK_THROWS_AS(pipe.read_line(std::chrono::seconds(10)), LineTooLong);
  close(fds[0]);
  flood.join();
}

TEST_CASE("hostile: a child command that never answers is killed at its timeout, naming it") {
  const auto started = std::chrono::steady_clock::now();
  CHECK_THROWS_WITH_AS(run_command({"sleep", "30"}, true, std::chrono::milliseconds(300)),
                       doctest::Contains("sleep: no answer within 0.3 s; killed"), InputError);
  CHECK(std::chrono::steady_clock::now() - started < std::chrono::seconds(5));
  const auto [status, text] = run_command({"echo", "fine"});
  CHECK(status == 0);
  CHECK(text == "fine\n");
}
