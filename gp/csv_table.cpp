#include "gp/csv_table.hpp"

#include <cmath>
#include <fstream>
#include <sstream>

#include "common/error.hpp"

namespace ampere {
namespace {

std::vector<std::string> split_fields(const std::string& line) {
  std::vector<std::string> fields;
  std::string field;
  std::istringstream in(line);
  while (std::getline(in, field, ',')) {
    const auto first = field.find_first_not_of(" \t\r");
    const auto last = field.find_last_not_of(" \t\r");
    fields.push_back(first == std::string::npos ? "" : field.substr(first, last - first + 1));
  }
  if (!line.empty() && line.back() == ',') fields.emplace_back();
  return fields;
}

bool parse_number(const std::string& text, double& value) {
  if (text.empty()) return false;
  std::size_t used = 0;
  try {
    value = std::stod(text, &used);
  } catch (const std::exception&) {
    return false;
  }
  return used == text.size();
}

}  // namespace

CsvTable parse_csv(const std::string& text, const std::string& source) {
  CsvTable table;
  std::vector<std::vector<double>> rows;
  std::istringstream in(text);
  std::string line;
  std::size_t line_number = 0, width = 0;
  bool first = true;
  while (std::getline(in, line)) {
    ++line_number;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.find_first_not_of(" \t") == std::string::npos || line[line.find_first_not_of(" \t")] == '#') continue;
    const std::vector<std::string> fields = split_fields(line);
    std::vector<double> row(fields.size());
    bool any_numeric = false;
    for (std::size_t i = 0; i < fields.size(); ++i) any_numeric = parse_number(fields[i], row[i]) || any_numeric;
    if (first && !any_numeric) {
      table.header = fields;
      width = fields.size();
      first = false;
      continue;
    }
    if (first) width = fields.size();
    first = false;
    AMPERE_REQUIRE(fields.size() == width, source, ":", line_number, ": ", fields.size(), " columns, expected ", width);
    for (std::size_t i = 0; i < fields.size(); ++i) {
      double value = 0;
      AMPERE_REQUIRE(parse_number(fields[i], value), source, ":", line_number, ":", i + 1, ": not a number: '",
                     fields[i], "'");
      AMPERE_REQUIRE(std::isfinite(value), source, ":", line_number, ":", i + 1, ": not a finite number: '",
                     fields[i], "'");
    }
    rows.push_back(row);
  }
  AMPERE_REQUIRE(!rows.empty(), source, ": no data rows");
  table.values.resize(static_cast<Eigen::Index>(rows.size()), static_cast<Eigen::Index>(width));
  for (std::size_t r = 0; r < rows.size(); ++r)
    for (std::size_t c = 0; c < width; ++c) table.values(static_cast<Eigen::Index>(r), static_cast<Eigen::Index>(c)) = rows[r][c];
  return table;
}

CsvTable read_csv(const std::filesystem::path& file) {
  std::ifstream in(file, std::ios::binary);
  AMPERE_REQUIRE(in.good(), file.string(), ": cannot open");
  std::ostringstream text;
  text << in.rdbuf();
  return parse_csv(text.str(), file.string());
}

}  // namespace ampere
