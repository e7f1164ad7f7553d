// One end of the agent ↔ trainer pipe: newline-delimited messages over a pair of file
// descriptors (docs/trainer-protocol.md). Each message is one line of compact JSON, which never
// holds a raw newline.
#pragma once

#include <chrono>
#include <cstddef>
#include <optional>
#include <string>

namespace ampere {

/// The longest line either side accepts (docs/security.md): a trainer report or a job's spec is
/// kilobytes; a side that sends more without a newline is treated as broken.
inline constexpr std::size_t kMaxPipeLineBytes = 16u << 20;

class LinePipe {
 public:
  /// Reads lines from `in_fd` and writes them to `out_fd`; does not own or close them.
  LinePipe(int in_fd, int out_fd) : in_(in_fd), out_(out_fd) {}

  /// The next line without its newline, waiting up to `timeout` (negative: forever). nullopt on
  /// timeout; throws PipeClosed at end of file (the other side exited or closed its end), and
  /// LineTooLong (a PipeClosed) when more than kMaxPipeLineBytes arrive without a newline.
  std::optional<std::string> read_line(std::chrono::milliseconds timeout);
  /// Writes `line` and a newline; throws PipeClosed when the other side is gone.
  void write_line(const std::string& line);

  /// True when a whole line is already buffered (read_line will not wait).
  bool line_buffered() const { return buffer_.find('\n') != std::string::npos; }

 private:
  int in_;
  int out_;
  std::string buffer_;
};

/// The other end of the pipe is gone (it exited, crashed or closed it).
struct PipeClosed : std::exception {
  const char* what() const noexcept override { return "the other end of the pipe closed"; }
};

/// The other end sent a line past kMaxPipeLineBytes: as good as gone (its reader stops there).
struct LineTooLong : PipeClosed {
  const char* what() const noexcept override { return "the other end of the pipe sent a line past 16 MiB"; }
};

}  // namespace ampere
