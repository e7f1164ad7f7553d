#include "program/log/logging.hpp"

#include <unistd.h>

#include <chrono>
#include <ctime>

#include <nlohmann/json.hpp>
#include <spdlog/cfg/env.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

namespace ampere {
namespace {

class JsonLogFormatter final : public spdlog::formatter {
 public:
  void format(const spdlog::details::log_msg& msg, spdlog::memory_buf_t& dest) override {
    using namespace std::chrono;
    const auto since = msg.time.time_since_epoch();
    const std::time_t seconds = static_cast<std::time_t>(duration_cast<std::chrono::seconds>(since).count());
    const auto micros = duration_cast<microseconds>(since).count() % 1000000;
    std::tm utc{};
    gmtime_r(&seconds, &utc);
    char stamp[64];
    const std::size_t n = std::strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%S", &utc);
    std::snprintf(stamp + n, sizeof stamp - n, ".%06lldZ", static_cast<long long>(micros));
    const spdlog::string_view_t level = spdlog::level::to_string_view(msg.level);
    const nlohmann::ordered_json line = {{"time", stamp},
                                 {"level", std::string(level.data(), level.size())},
                                 {"logger", std::string(msg.logger_name.data(), msg.logger_name.size())},
                                 {"message", std::string(msg.payload.data(), msg.payload.size())},
                                 {"pid", static_cast<long long>(getpid())},
                                 {"thread", static_cast<unsigned long long>(msg.thread_id)}};
    // Invalid UTF-8 in a message (a path, a peer's text) is replaced, never a throw from a log call.
    const std::string text = line.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace) + "\n";
    dest.append(text.data(), text.data() + text.size());
  }
  std::unique_ptr<spdlog::formatter> clone() const override { return std::make_unique<JsonLogFormatter>(); }
};

}  // namespace

void add_log_options(CLI::App& app, LogOptions& options) {
  app.add_option("--log-level", options.level,
                 "trace | debug | info | warn | error | critical | off (default: SPDLOG_LEVEL's, else info)")
      ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error", "critical", "off"}));
  app.add_option("--log-format", options.format, "text | json (one object per line, for log shippers)")
      ->capture_default_str()
      ->check(CLI::IsMember({"text", "json"}));
}

void start_logging(const LogOptions& options) {
  auto logger = spdlog::stderr_color_mt("ampere");  // stdout is for results
  if (options.format == "json") logger->set_formatter(json_log_formatter());
  spdlog::set_default_logger(logger);
  spdlog::set_level(spdlog::level::info);
  if (!options.level.empty()) spdlog::set_level(spdlog::level::from_str(options.level));
  else spdlog::cfg::load_env_levels();  // SPDLOG_LEVEL, when set
}

std::unique_ptr<spdlog::formatter> json_log_formatter() { return std::make_unique<JsonLogFormatter>(); }

}  // namespace ampere
