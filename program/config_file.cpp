#include "program/config_file.hpp"

#include <cctype>
#include <fstream>
#include <regex>
#include <set>
#include <sstream>

#include "common/error.hpp"

namespace ampere {
namespace {

constexpr std::size_t kMaxConfigBytes = 1 << 20;

class LineReader {
 public:
  LineReader(const std::string& line, const std::string& where) : s_(line), where_(where) {}

  [[noreturn]] void fail(const std::string& what) const { throw InputError(where_ + ": " + what); }
  void skip_space() {
    while (i_ < s_.size() && (s_[i_] == ' ' || s_[i_] == '\t')) ++i_;
  }
  bool at_end_or_comment() {
    skip_space();
    return i_ >= s_.size() || s_[i_] == '#';
  }
  char peek() const { return i_ < s_.size() ? s_[i_] : '\0'; }

  std::string key() {
    skip_space();
    const std::size_t start = i_;
    while (i_ < s_.size() && (std::isalnum(static_cast<unsigned char>(s_[i_])) || s_[i_] == '-' || s_[i_] == '_')) ++i_;
    if (i_ == start) {
      if (peek() == '[') fail("tables ([section]) are not read: put every option at the top level");
      if (peek() == '"' || peek() == '\'') fail("quoted keys are not read: write the option's name bare");
      fail("expected an option name (letters, digits, '-', '_')");
    }
    if (peek() == '.') fail("dotted keys are not read: write the option's name bare");
    return s_.substr(start, i_ - start);
  }

  void expect(char c, const std::string& what) {
    skip_space();
    if (peek() != c) fail("expected " + what);
    ++i_;
  }

  /// One scalar value at the cursor.
  std::string scalar() {
    skip_space();
    const char c = peek();
    if (c == '"') return basic_string();
    if (c == '\'') return literal_string();
    const std::size_t start = i_;
    while (i_ < s_.size() && s_[i_] != ',' && s_[i_] != ']' && s_[i_] != '#' && s_[i_] != ' ' && s_[i_] != '\t') ++i_;
    const std::string word = s_.substr(start, i_ - start);
    if (word.empty()) fail("expected a value");
    if (word == "true" || word == "false") return word;
    static const std::regex number(R"([+-]?(0|[1-9](_?[0-9])*)(\.[0-9](_?[0-9])*)?([eE][+-]?[0-9](_?[0-9])*)?)");
    if (!std::regex_match(word, number))
      fail("'" + word + "' is not a TOML value (a string needs quotes: \"" + word + "\")");
    std::string digits;
    for (char d : word)
      if (d != '_') digits += d;
    return digits;
  }

  std::vector<std::string> value() {
    skip_space();
    if (peek() != '[') return {scalar()};
    ++i_;
    std::vector<std::string> items;
    skip_space();
    if (peek() == ']') {
      ++i_;
      return items;
    }
    while (true) {
      if (at_end_or_comment()) fail("an array must close on its line (']')");
      if (peek() == '[') fail("nested arrays are not read");
      items.push_back(scalar());
      if (at_end_or_comment()) fail("an array must close on its line (']')");
      if (peek() == ',') {
        ++i_;
        skip_space();
        if (peek() == ']') {  // TOML allows a trailing comma
          ++i_;
          return items;
        }
        continue;
      }
      if (peek() == ']') {
        ++i_;
        return items;
      }
      fail("expected ',' or ']' in an array");
    }
  }

 private:
  std::string basic_string() {
    ++i_;  // the opening quote
    std::string out;
    while (i_ < s_.size() && s_[i_] != '"') {
      char c = s_[i_++];
      if (static_cast<unsigned char>(c) < 0x20 && c != '\t') fail("a control character inside a string");
      if (c == '\\') {
        if (i_ >= s_.size()) break;
        const char e = s_[i_++];
        switch (e) {
          case '"': c = '"'; break;
          case '\\': c = '\\'; break;
          case 'n': c = '\n'; break;
          case 't': c = '\t'; break;
          case 'r': c = '\r'; break;
          default: fail(std::string("the escape \\") + e + " is not read (\\\" \\\\ \\n \\t \\r are)");
        }
      }
      out += c;
    }
    if (i_ >= s_.size()) fail("a string without its closing '\"' (strings take one line)");
    ++i_;
    return out;
  }
  std::string literal_string() {
    ++i_;
    const std::size_t end = s_.find('\'', i_);
    if (end == std::string::npos) fail("a string without its closing \"'\" (strings take one line)");
    std::string out = s_.substr(i_, end - i_);
    i_ = end + 1;
    return out;
  }

  const std::string& s_;
  std::string where_;
  std::size_t i_ = 0;
};

}  // namespace

std::vector<ConfigEntry> parse_config_text(const std::string& text, const std::string& source) {
  std::vector<ConfigEntry> entries;
  std::set<std::string> seen;
  std::istringstream in(text);
  std::string line;
  int number = 0;
  while (std::getline(in, line)) {
    ++number;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    LineReader r(line, source + ":" + std::to_string(number));
    if (r.at_end_or_comment()) continue;
    ConfigEntry entry;
    entry.line = number;
    entry.key = r.key();
    r.expect('=', "'=' after " + entry.key);
    entry.values = r.value();
    if (!r.at_end_or_comment()) r.fail("unexpected text after the value of " + entry.key);
    if (!seen.insert(entry.key).second) r.fail(entry.key + " is set twice");
    entries.push_back(std::move(entry));
  }
  return entries;
}

std::vector<ConfigEntry> read_config_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw InputError("--config " + path + ": cannot read it", ErrorCode::InvalidInput);
  std::string text;
  text.resize(kMaxConfigBytes + 1);
  in.read(text.data(), static_cast<std::streamsize>(text.size()));
  text.resize(static_cast<std::size_t>(in.gcount()));
  AMPERE_REQUIRE(text.size() <= kMaxConfigBytes, "--config ", path, ": larger than ", kMaxConfigBytes, " bytes");
  return parse_config_text(text, path);
}

}  // namespace ampere
