// Numeric CSV tables (channel columns + a target), as operators write them for `ampere gp`.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include <Eigen/Dense>

namespace ampere {

/// A numeric table: an optional header and rows of finite numbers.
struct CsvTable {
  std::vector<std::string> header;  ///< empty when the file has none
  Eigen::MatrixXd values;
};

/// Parses CSV text. Blank lines and lines starting with '#' are skipped; the first remaining line
/// is a header when none of its fields is a number. Throws InputError naming
/// "<source>:<line>:<column>" on a non-number, NaN/inf, or a row of the wrong width.
CsvTable parse_csv(const std::string& text, const std::string& source);
/// Reads and parses a file; errors name the file.
CsvTable read_csv(const std::filesystem::path& file);

}  // namespace ampere
