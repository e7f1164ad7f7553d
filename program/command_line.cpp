#include "program/command_line.hpp"

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <iostream>
#include <set>

#include "common/error.hpp"
#include "program/config_file.hpp"
#include "program/version.hpp"

namespace ampere {
namespace {

/// The options a file or the environment may set: top-level, named, not --help/--version/--config.
std::vector<CLI::Option*> settable_options(CLI::App& app) {
  std::vector<CLI::Option*> out;
  for (CLI::Option* opt : app.get_options()) {
    if (opt->get_lnames().empty()) continue;  // positional, or short-only
    const std::string& name = opt->get_lnames().front();
    // Actions (--print-config, --print-openapi) belong on a command line, never in a file or the environment.
    if (name == "help" || name == "version" || name == "config" || name.rfind("print-", 0) == 0) continue;
    out.push_back(opt);
  }
  return out;
}

/// Whether argv names `opt` itself (--name, --name=V, -x, -xV).
bool on_command_line(const CLI::Option& opt, int argc, const char* const* argv) {
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--") break;
    for (const std::string& l : opt.get_lnames())
      if (a == "--" + l || a.rfind("--" + l + "=", 0) == 0) return true;
    for (const std::string& s : opt.get_snames())
      if (a.rfind("-" + s, 0) == 0 && a.rfind("--", 0) != 0) return true;
  }
  return false;
}

/// --config's value on the command line, else $AMPERE_CONFIG, else "".
std::string config_path(int argc, const char* const* argv, const EnvironmentLookup& environment) {
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--") break;
    if (a == "--config" && i + 1 < argc) return argv[i + 1];
    if (a.rfind("--config=", 0) == 0) return a.substr(9);
  }
  const char* value = environment("AMPERE_CONFIG");
  return value ? value : "";
}

/// A value as a TOML basic string.
std::string toml_string(const std::string& value) {
  std::string out = "\"";
  for (char c : value) out += (c == '"' || c == '\\') ? std::string("\\") + c : std::string(1, c);
  return out + "\"";
}

/// --print-config: every settable option as a config-file line (the value that counts, a list as
/// an array), its source in a comment; an option without a value or default, commented out.
void print_options(std::ostream& out, const std::string& program, const ParsedCommandLine& parsed,
                   const std::vector<CLI::Option*>& settable) {
  out << "# " << program << "'s options as read" << (parsed.config_file.empty() ? "" : " (config file " + parsed.config_file + ")")
      << "\n";
  for (CLI::Option* opt : settable) {
    const std::string& name = opt->get_lnames().front();
    const bool single = opt->get_expected_max() <= 1;
    std::vector<std::string> values = opt->results();
    if (single && values.size() > 1) values = {values.back()};  // the one that counts
    if (values.empty() && !opt->get_default_str().empty()) values = {opt->get_default_str()};
    if (values.empty()) {
      out << "# " << name << " (unset)\n";
      continue;
    }
    std::string text;
    if (single) {
      text = toml_string(values.front());
    } else {
      for (const std::string& value : values) text += (text.empty() ? "[" : ", ") + toml_string(value);
      text += "]";
    }
    out << name << " = " << text << "  # " << option_source_name(parsed.source(name)) << "\n";
  }
}

std::string normalized_key(std::string key) {
  std::replace(key.begin(), key.end(), '_', '-');
  return key;
}

}  // namespace

const char* option_source_name(OptionSource source) {
  switch (source) {
    case OptionSource::CommandLine: return "command line";
    case OptionSource::Environment: return "environment";
    case OptionSource::ConfigFile: return "config file";
    case OptionSource::Default: return "default";
  }
  return "default";
}

EnvironmentLookup process_environment() {
  return [](const std::string& name) -> const char* { return std::getenv(name.c_str()); };
}

std::string environment_name(const std::string& long_name) {
  std::string out = "AMPERE_";
  for (char c : long_name) out += c == '-' ? '_' : static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return out;
}

OptionSource ParsedCommandLine::source(const std::string& long_name) const {
  const auto it = sources.find(long_name);
  return it == sources.end() ? OptionSource::Default : it->second;
}

ParsedCommandLine parse_command_line(CLI::App& app, int argc, const char* const* argv,
                                     const CommandLineConventions& conventions, const EnvironmentLookup& environment) {
  ParsedCommandLine parsed;
  if (app.get_name().empty()) app.name(conventions.program);
  std::string version = version_text(conventions.program, conventions.speaks);
  if (!version.empty() && version.back() == '\n') version.pop_back();  // CLI11 adds its own
  app.set_version_flag("--version", version, "print the version, the git revision and the protocols spoken, then exit");
  CLI::Option* print_config = nullptr;
  if (conventions.config_file) {
    app.add_option("--config", "TOML file of options: NAME = VALUE per line, NAME an option without its '--' "
                               "(the command line and AMPERE_* variables override it; default: $AMPERE_CONFIG)");
    print_config = app.add_flag("--print-config",
                                "check the options as the file, the environment and the command line give them, print "
                                "them as a config file (each with where it came from), and exit");
  }
  const std::vector<CLI::Option*> settable = settable_options(app);
  for (CLI::Option* opt : settable) {
    // A value from the file, then the environment, then the command line: the last one counts.
    if (opt->get_multi_option_policy() == CLI::MultiOptionPolicy::Throw && opt->get_expected_max() <= 1)
      opt->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);
    if (conventions.environment) opt->envname(environment_name(opt->get_lnames().front()));
  }
  std::vector<std::string> args;  // in order: file, environment, command line
  try {
    if (conventions.config_file) {
      parsed.config_file = config_path(argc, argv, environment);
      if (!parsed.config_file.empty()) {
        for (const ConfigEntry& entry : read_config_file(parsed.config_file)) {
          const std::string where = parsed.config_file + ":" + std::to_string(entry.line);
          const std::string name = normalized_key(entry.key);
          const auto it = std::find_if(settable.begin(), settable.end(),
                                       [&](const CLI::Option* o) { return o->get_lnames().front() == name; });
          AMPERE_REQUIRE(it != settable.end(), where, ": '", entry.key, "' is not an option of ", conventions.program,
                         " (", conventions.program, " --help lists them)");
          AMPERE_REQUIRE(entry.values.size() == 1 || (*it)->get_expected_max() > 1, where, ": ", entry.key,
                         " takes one value, not an array");
          for (const std::string& value : entry.values) args.push_back("--" + name + "=" + value);
          parsed.sources[name] = OptionSource::ConfigFile;
        }
      }
    }
  } catch (const InputError& e) {
    std::cerr << "error: " << e.what() << "\n";
    parsed.exit_status = 2;
    return parsed;
  }
  std::string from_environment;  // the variables read, for a usage error's message
  if (conventions.environment) {
    for (CLI::Option* opt : settable) {
      const std::string& name = opt->get_lnames().front();
      const char* value = environment(environment_name(name));
      if (value == nullptr || *value == '\0') continue;
      args.push_back("--" + name + "=" + value);
      parsed.sources[name] = OptionSource::Environment;
      from_environment += (from_environment.empty() ? "" : ", ") + environment_name(name);
    }
  }
  for (CLI::Option* opt : settable)
    if (on_command_line(*opt, argc, argv)) parsed.sources[opt->get_lnames().front()] = OptionSource::CommandLine;
  for (int i = 1; i < argc; ++i) args.emplace_back(argv[i]);
  std::reverse(args.begin(), args.end());  // CLI11 takes them last first
  try {
    app.parse(std::move(args));
  } catch (const CLI::ParseError& e) {
    const int status = app.exit(e);  // help and version on stdout, errors on stderr
    if (status != 0 && !parsed.config_file.empty()) std::cerr << "(options were also read from " << parsed.config_file << ")\n";
    if (status != 0 && !from_environment.empty()) std::cerr << "(options were also read from " << from_environment << ")\n";
    parsed.exit_status = status == 0 ? 0 : 2;
    return parsed;
  }
  if (print_config != nullptr && print_config->count() > 0) {
    print_options(std::cout, conventions.program, parsed, settable);
    parsed.exit_status = 0;
  }
  return parsed;
}

}  // namespace ampere
