#include "gp/csv_table.hpp"

#include <doctest/doctest.h>

#include "common/error.hpp"

TEST_CASE("CSV: an optional header, comments and blank lines") {
  const ampere::CsvTable t = ampere::parse_csv("# points\nc0,c1,y\n1,2,0.5\n\n3, 4 ,1e-3\r\n", "p.csv");
  CHECK(t.header == std::vector<std::string>{"c0", "c1", "y"});
  REQUIRE(t.values.rows() == 2);
  CHECK(t.values(1, 1) == 4);
  CHECK(t.values(1, 2) == 1e-3);
  CHECK(ampere::parse_csv("1,2\n3,4\n", "q.csv").header.empty());
}

TEST_CASE("CSV errors name the file, line and column") {
  CHECK_THROWS_WITH_AS(ampere::parse_csv("c0,y\n1,2\n3,abc\n", "p.csv"), "p.csv:3:2: not a number: 'abc'",
                       ampere::InputError);
  CHECK_THROWS_WITH_AS(ampere::parse_csv("1,2\n3\n", "p.csv"), "p.csv:2: 1 columns, expected 2", ampere::InputError);
  CHECK_THROWS_WITH_AS(ampere::parse_csv("1,nan\n", "p.csv"), "p.csv:1:2: not a finite number: 'nan'",
                       ampere::InputError);
  CHECK_THROWS_WITH_AS(ampere::parse_csv("c0,y\n", "p.csv"), "p.csv: no data rows", ampere::InputError);
  CHECK_THROWS_WITH_AS(ampere::parse_csv("1,,2\n", "p.csv"), "p.csv:1:2: not a number: ''", ampere::InputError);
  CHECK_THROWS_AS(ampere::read_csv("/nonexistent.csv"), ampere::InputError);
}
