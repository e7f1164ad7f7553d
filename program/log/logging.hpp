// The daemons' logging options and their one logger (stderr: stdout is for results).
#pragma once

#include <memory>
#include <string>

#include <CLI/CLI.hpp>
#include <spdlog/formatter.h>

#include "program/command_line.hpp"

namespace ampere {

struct LogOptions {
  std::string level;            ///< trace | debug | info | warn | error | critical | off ("": SPDLOG_LEVEL, else info)
  std::string format = "text";  ///< text | json
};

/// Adds --log-level and --log-format to `app` (a file or AMPERE_LOG_LEVEL / AMPERE_LOG_FORMAT set
/// them like any option).
void add_log_options(CLI::App& app, LogOptions& options);

/// Makes the default logger, on stderr, by `options`: --log-level when given anywhere, else the
/// levels in SPDLOG_LEVEL (spdlog's own syntax, "debug" or "info,ampere=debug"), else info.
void start_logging(const LogOptions& options);

/// One JSON object per line: {"time": ISO 8601 UTC with microseconds, "level", "logger",
/// "message", "pid", "thread"}, the message escaped as JSON, for log shippers.
std::unique_ptr<spdlog::formatter> json_log_formatter();

}  // namespace ampere
