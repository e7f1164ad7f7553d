// Configuration files: the TOML subset every ampere daemon reads with --config FILE.
#pragma once

#include <string>
#include <vector>

namespace ampere {

/// One `key = value` line of a configuration file.
struct ConfigEntry {
  std::string key;                  ///< as written (a bare TOML key: letters, digits, '-', '_')
  std::vector<std::string> values;  ///< one, or an array's elements; strings unquoted and unescaped
  int line = 0;                     ///< 1-based, for messages
};

/// Parses `text` as a configuration: valid TOML restricted to top-level `key = value` lines,
/// where a value is a string ("basic" with \" \\ \n \t \r escapes, or 'literal'), an integer or a
/// float as TOML writes them, true or false, or a one-line array of those; `#` comments and blank
/// lines anywhere. Anything else (a [table], a repeated key, an unterminated string, a value TOML
/// would not accept) throws InputError naming `source`:LINE and what is wrong: nothing is guessed.
std::vector<ConfigEntry> parse_config_text(const std::string& text, const std::string& source);

/// Reads and parses the file at `path` (at most 1 MiB); throws InputError naming it when it cannot
/// be read or does not parse.
std::vector<ConfigEntry> read_config_file(const std::string& path);

}  // namespace ampere
