// Errors raised at boundaries (specs, CSV files, GP data, messages), with context a user can act on.
#pragma once

#include <sstream>
#include <stdexcept>
#include <string>

namespace ampere {

/// A problem with input the caller gave (a spec, a file, a request): the message names where and what.
class InputError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// A numerical failure that retrying with other input will not fix (e.g. a matrix that stays
/// indefinite after the largest jitter).
class NumericalError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

namespace detail {
template <typename... Parts>
std::string concat(const Parts&... parts) {
  std::ostringstream out;
  (out << ... << parts);
  return out.str();
}
}  // namespace detail

}  // namespace ampere

/// Throws ampere::InputError with the concatenated message parts when `cond` is false.
#define AMPERE_REQUIRE(cond, ...)                                   \
  do {                                                              \
    if (!(cond)) throw ::ampere::InputError(::ampere::detail::concat(__VA_ARGS__)); \
  } while (0)
