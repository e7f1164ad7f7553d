// Errors raised at boundaries (specs, CSV files, GP data, messages), with context a user can act on.
#pragma once

#include <functional>
#include <iostream>
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

/// Runs a command-line tool's body and maps what it throws to the exit codes every ampere binary
/// uses: 0 success, 2 bad input (InputError: its message says what and where), 1 anything else.
/// The message goes to stderr as "error: ...".
inline int run_reporting_errors(const std::function<void()>& body) {
  try {
    body();
    return 0;
  } catch (const InputError& e) {
    std::cerr << "error: " << e.what() << "\n";
    return 2;
  } catch (const std::exception& e) {
    std::cerr << "error: " << e.what() << "\n";
    return 1;
  }
}

}  // namespace ampere

/// Throws ampere::InputError with the concatenated message parts when `cond` is false.
#define AMPERE_REQUIRE(cond, ...)                                   \
  do {                                                              \
    if (!(cond)) throw ::ampere::InputError(::ampere::detail::concat(__VA_ARGS__)); \
  } while (0)
