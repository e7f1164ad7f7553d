// How every ampere binary reads its options (docs/operations.md, "Conventions"): --version, usage
// errors exit 2, and options from a TOML file and the environment under the command line.
#pragma once

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <CLI/CLI.hpp>

namespace ampere {

/// Where an option's value came from. Precedence: command line > environment > file > default.
enum class OptionSource { CommandLine, Environment, ConfigFile, Default };
/// "command line", "environment", "config file", "default".
const char* option_source_name(OptionSource source);

/// What a binary's parse adds to its own options.
struct CommandLineConventions {
  std::string program;                                       ///< "ampere-coordinator": what --version names
  std::vector<std::pair<std::string, std::string>> speaks;   ///< --version's further lines ({"wire protocol", "2"})
  bool config_file = false;  ///< --config FILE (or $AMPERE_CONFIG): a TOML file of top-level options
  bool environment = false;  ///< AMPERE_<OPTION> for every top-level option (environment_name)
};

/// One environment variable's value, or null when it is unset: the process's own, or a test's.
using EnvironmentLookup = std::function<const char*(const std::string&)>;
EnvironmentLookup process_environment();

/// The variable an option reads: "AMPERE_" + its long name upper-cased with '-' as '_'
/// (--heartbeat-timeout-ms: AMPERE_HEARTBEAT_TIMEOUT_MS).
std::string environment_name(const std::string& long_name);

struct ParsedCommandLine {
  /// Set when the binary should leave now with this status, what to say already said: 0 after
  /// --help or --version, 2 after a usage error (an unknown option, a bad value, a bad --config).
  std::optional<int> exit_status;
  std::string config_file;  ///< the configuration file read ("" when none)
  /// Where each top-level option given anywhere got its value (by long name); absent: its default.
  std::map<std::string, OptionSource> sources;
  OptionSource source(const std::string& long_name) const;
};

/// Parses argv into `app`, whose options are all added, by the fleet's conventions: adds
/// --version (version_text with `conventions.speaks`), with `config_file` --config FILE and
/// --print-config (the options as read, each with its source, as a config file; then exit 0), with
/// `environment` each top-level option's variable (shown in --help); then parses the file's
/// options, the environment's and the command line's in that order, each later one overriding
/// (a single-valued option takes its last value). Options of subcommands come from the command
/// line only. An empty variable counts as unset. A file key that names no top-level option, or a
/// value the option refuses, is a usage error naming the file, its line and the option.
ParsedCommandLine parse_command_line(CLI::App& app, int argc, const char* const* argv,
                                     const CommandLineConventions& conventions,
                                     const EnvironmentLookup& environment = process_environment());

}  // namespace ampere
