#include "agent/trainer_link/line_pipe.hpp"

#include <poll.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

namespace ampere {

std::optional<std::string> LinePipe::read_line(std::chrono::milliseconds timeout) {
  using Clock = std::chrono::steady_clock;
  const auto until = Clock::now() + timeout;
  while (true) {
    const std::size_t newline = buffer_.find('\n');
    if (newline != std::string::npos) {
      std::string line = buffer_.substr(0, newline);
      buffer_.erase(0, newline + 1);
      return line;
    }
    int wait_ms = -1;
    if (timeout.count() >= 0) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(until - Clock::now()).count();
      if (left <= 0 && timeout.count() > 0) return std::nullopt;
      wait_ms = static_cast<int>(std::max<long long>(0, left));
    }
    pollfd item{in_, POLLIN, 0};
    const int ready = poll(&item, 1, wait_ms);
    if (ready < 0) {
      if (errno == EINTR) continue;
      throw PipeClosed();
    }
    if (ready == 0) return std::nullopt;
    char chunk[65536];
    const ssize_t n = read(in_, chunk, sizeof chunk);
    if (n < 0 && (errno == EINTR || errno == EAGAIN)) continue;
    if (n <= 0) throw PipeClosed();
    buffer_.append(chunk, static_cast<std::size_t>(n));
    if (buffer_.size() > kMaxPipeLineBytes && buffer_.find('\n') == std::string::npos) {
      buffer_.clear();
      throw LineTooLong();
    }
  }
}

void LinePipe::write_line(const std::string& line) {
  const std::string framed = line + "\n";
  std::size_t done = 0;
  while (done < framed.size()) {
    const ssize_t n = write(out_, framed.data() + done, framed.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) throw PipeClosed();
    done += static_cast<std::size_t>(n);
  }
}

}  // namespace ampere
