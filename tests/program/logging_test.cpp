// The JSON log format: one object per line that a log shipper can parse, whatever the message holds.
#include <doctest/doctest.h>
#include <nlohmann/json.hpp>
#include <spdlog/details/log_msg.h>

#include "program/log/logging.hpp"

TEST_CASE("a JSON log line parses and keeps the message, even with quotes, newlines and bad UTF-8") {
  const auto formatter = ampere::json_log_formatter();
  const std::string text = "store \"x\"\nsecond line \xff";
  spdlog::details::log_msg msg("ampere", spdlog::level::warn, spdlog::string_view_t(text.data(), text.size()));
  spdlog::memory_buf_t out;
  formatter->format(msg, out);
  const std::string line(out.data(), out.size());
  REQUIRE(line.back() == '\n');
  CHECK(line.find('\n') == line.size() - 1);  // one line
  const auto j = nlohmann::json::parse(line);
  CHECK(j.at("level") == "warning");
  CHECK(j.at("logger") == "ampere");
  CHECK(j.at("message").get<std::string>().rfind("store \"x\"\nsecond line ", 0) == 0);
  const std::string time = j.at("time");
  CHECK(time.size() == 27);  // 2026-12-03T07:00:00.123456Z
  CHECK(time.back() == 'Z');
  CHECK(j.at("pid").get<long long>() > 0);
}
