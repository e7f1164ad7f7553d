// Errors raised at boundaries (specs, CSV files, GP data, messages), with context a user can act on.
#pragma once

#include <functional>
#include <iostream>
#include <sstream>
#include <stdexcept>
#include <string>

namespace ampere {

/// What kind of refusal an error is. It crosses the wire (schemas/protocol.capnp `Error.code`):
/// the HTTP bridge maps it to a status and the CLI to an exit code (docs/architecture.md,
/// "Errors"), so nobody decides by matching message text.
enum class ErrorCode {
  InvalidInput,   ///< the request or input is malformed (bad JSON, a bad field)
  NotFound,       ///< it names something that does not exist (campaign, device class)
  Unprocessable,  ///< well formed but cannot be done (unprofiled kinds, a family with no ranges)
  Unauthorized,   ///< a write without the right credentials
  Conflict,       ///< it clashes with what is stored (a second result for a job)
  Unavailable,    ///< a service it needs is away for now (coordinator, store): try again later
  Internal,       ///< a bug or an unexpected failure
  Forbidden,      ///< authenticated, but its role may not do this (a reader starting a campaign)
  NotLeader,      ///< a standby coordinator (--ha): ask the next endpoint of the list
};
/// The code's stable name: "invalid-input", "not-found", ...
const char* error_code_name(ErrorCode code);
/// Exit status of the ampere binaries for an error of this code: 2 invalid input or
/// unprocessable, 3 not found, 4 unavailable, 5 conflict, 6 unauthorized, 1 internal.
int exit_code(ErrorCode code);
/// The HTTP status the bridge answers an error of this code with: 400, 404, 422, 401, 409, 503, 500, 403.
int http_status(ErrorCode code);

/// A problem with input the caller gave (a spec, a file, a request): the message names where and
/// what; the code says what kind of refusal it is (invalid input unless said otherwise).
class InputError : public std::runtime_error {
 public:
  explicit InputError(const std::string& message, ErrorCode code = ErrorCode::InvalidInput)
      : std::runtime_error(message), code_(code) {}
  ErrorCode code() const { return code_; }

 private:
  ErrorCode code_;
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

inline const char* error_code_name(ErrorCode code) {
  switch (code) {
    case ErrorCode::InvalidInput: return "invalid-input";
    case ErrorCode::NotFound: return "not-found";
    case ErrorCode::Unprocessable: return "unprocessable";
    case ErrorCode::Unauthorized: return "unauthorized";
    case ErrorCode::Forbidden: return "forbidden";
    case ErrorCode::Conflict: return "conflict";
    case ErrorCode::Unavailable: return "unavailable";
    case ErrorCode::Internal: return "internal";
    case ErrorCode::NotLeader: return "not-leader";
  }
  return "internal";
}

inline int exit_code(ErrorCode code) {
  switch (code) {
    case ErrorCode::InvalidInput:
    case ErrorCode::Unprocessable: return 2;
    case ErrorCode::NotFound: return 3;
    case ErrorCode::Unavailable:
    case ErrorCode::NotLeader: return 4;
    case ErrorCode::Conflict: return 5;
    case ErrorCode::Unauthorized: return 6;
    case ErrorCode::Forbidden: return 6;
    case ErrorCode::Internal: return 1;
  }
  return 1;
}

inline int http_status(ErrorCode code) {
  switch (code) {
    case ErrorCode::InvalidInput: return 400;
    case ErrorCode::NotFound: return 404;
    case ErrorCode::Unprocessable: return 422;
    case ErrorCode::Unauthorized: return 401;
    case ErrorCode::Forbidden: return 403;
    case ErrorCode::Conflict: return 409;
    case ErrorCode::Unavailable:
    case ErrorCode::NotLeader: return 503;
    case ErrorCode::Internal: return 500;
  }
  return 500;
}

/// Runs a command-line tool's body and maps what it throws to the exit codes every ampere binary
/// uses: 0 success, exit_code(e.code()) for an InputError (its message says what and where), 1
/// anything else. The message goes to stderr as "error: ...".
inline int run_reporting_errors(const std::function<void()>& body) {
  try {
    body();
    return 0;
  } catch (const InputError& e) {
    std::cerr << "error: " << e.what() << "\n";
    return exit_code(e.code());
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
