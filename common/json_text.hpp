// JSON text from anywhere we do not control (HTTP bodies, specs inside frames, spool lines, the
// trainer pipe, stored rows) parsed with a nesting-depth limit checked before parsing: the JSON
// library parses recursively, so a deep enough document would overflow the stack (a 400,000-deep
// array did). docs/security.md lists this limit with the others.
#pragma once

#include <cstddef>
#include <cstdint>
#include <limits>
#include <string>
#include <string_view>
#include <type_traits>

#include <nlohmann/json.hpp>

namespace ampere {

/// The deepest nesting of arrays and objects any JSON we parse may have. Our deepest documents
/// (a model spec's residual layers, a kind model) nest under 10.
inline constexpr std::size_t kMaxJsonDepth = 64;

/// The depth of the deepest array or object in `text` (strings and escapes skipped), scanned
/// without parsing; stops counting at `stop_at` + 1.
std::size_t json_nesting_depth(std::string_view text, std::size_t stop_at = kMaxJsonDepth);

/// Parses `text`; throws InputError naming `what` ("family: not valid JSON: ...", "family:
/// nested deeper than 64") before any parsing when it nests deeper than `max_depth`.
nlohmann::json parse_json(std::string_view text, const char* what, std::size_t max_depth = kMaxJsonDepth);

/// Throws InputError "<what>: must be a whole number in 0..<max>, got <v>".
[[noreturn]] void refuse_whole_number(const nlohmann::json& v, const std::string& what, std::uint64_t max);

/// `v` as an unsigned whole number of type T, refused (InputError naming `what`) when it is not
/// one or does not fit: nlohmann's get<T>() converts a float past T's range with undefined
/// behaviour (fuzz_spool found 2e45 as a job id) and wraps a negative integer.
template <typename T>
T whole_number(const nlohmann::json& v, const std::string& what) {
  static_assert(std::is_unsigned_v<T>, "whole_number reads unsigned types");
  const bool whole = v.is_number_unsigned() || (v.is_number_integer() && v.get<std::int64_t>() >= 0);
  if (!whole || v.get<std::uint64_t>() > std::numeric_limits<T>::max()) refuse_whole_number(v, what, std::numeric_limits<T>::max());
  return static_cast<T>(v.get<std::uint64_t>());
}

}  // namespace ampere
