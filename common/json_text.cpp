#include "common/json_text.hpp"

#include <string>

#include "common/error.hpp"

namespace ampere {

std::size_t json_nesting_depth(std::string_view text, std::size_t stop_at) {
  std::size_t depth = 0, deepest = 0;
  bool in_string = false, escaped = false;
  for (const char c : text) {
    if (in_string) {
      if (escaped) escaped = false;
      else if (c == '\\') escaped = true;
      else if (c == '"') in_string = false;
      continue;
    }
    switch (c) {
      case '"': in_string = true; break;
      case '[':
      case '{':
        if (++depth > deepest) deepest = depth;
        if (deepest > stop_at) return deepest;
        break;
      case ']':
      case '}':
        if (depth > 0) --depth;  // unbalanced: the parser says so
        break;
      default: break;
    }
  }
  return deepest;
}

nlohmann::json parse_json(std::string_view text, const char* what, std::size_t max_depth) {
  AMPERE_REQUIRE(json_nesting_depth(text, max_depth) <= max_depth, what, ": nested deeper than ", max_depth,
                 " arrays or objects (refused before parsing)");
  try {
    return nlohmann::json::parse(text);
  } catch (const nlohmann::json::exception& e) {  // parse_error, and out_of_range for a number like 1e999
    throw InputError(std::string(what) + ": not valid JSON: " + e.what());
  }
}

void refuse_whole_number(const nlohmann::json& v, const std::string& what, std::uint64_t max) {
  throw InputError(what + ": must be a whole number in 0.." + std::to_string(max) + ", got " +
                   v.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace).substr(0, 80));
}

}  // namespace ampere
