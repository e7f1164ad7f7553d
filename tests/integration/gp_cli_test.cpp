// `ampere gp fit` as an operator runs it, against scikit-learn's fitted predictions.
#include <fstream>

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include "gp/csv_table.hpp"
#include "support/reference_data.hpp"
#include "integration/process.hpp"

using ampere::testing::run_binary;
using ampere::testing::TempDir;

TEST_CASE("ampere gp fit matches scikit-learn's fitted predictions") {
  for (const std::string name : {"1d_noisy_40", "2d_noisy_100", "2d_noisy_200"}) {
    CAPTURE(name);
    const auto ref = ampere::testing::load_gp_reference(name);
    std::string bounds;
    for (const auto& [lo, hi] : ref.bounds) bounds += (bounds.empty() ? "" : ",") + std::to_string(lo) + ":" + std::to_string(hi);
    const auto result = run_binary("ampere", {"gp", "fit", "--points", ref.train_csv, "--predict", ref.query_csv,
                                              "--bounds", bounds, "--include-noise"});
    REQUIRE(result.exit_code == 0);
    CHECK(result.err.find("log_marginal_likelihood=") != std::string::npos);
    const ampere::CsvTable table = ampere::parse_csv(result.out, "stdout");
    CHECK(table.header == std::vector<std::string>{"mean", "std"});
    REQUIRE(table.values.rows() == ref.query.rows());
    const Eigen::VectorXd mean = ampere::testing::vector_of(ref.json.at("fitted").at("mean"));
    const Eigen::VectorXd std = ampere::testing::vector_of(ref.json.at("fitted").at("std"));
    // Same optimum, so the same predictions up to the optimizers' tolerances: 1% of the
    // reference std for the mean, 2% relative for the std.
    CHECK(((table.values.col(0) - mean).array().abs() / std.array()).maxCoeff() < 0.01);
    CHECK(((table.values.col(1) - std).array().abs() / std.array()).maxCoeff() < 0.02);
  }
}

TEST_CASE("ampere gp fit refuses bad CSVs with file, line and column, and prints no result") {
  TempDir dir;
  const std::string good_query = dir.file("q.csv", "c0\n3\n");
  const std::string bad = dir.file("p.csv", "c0,y\n1,0.5\n2,oops\n");
  auto result = run_binary("ampere", {"gp", "fit", "--points", bad, "--predict", good_query});
  CHECK(result.exit_code == 2);
  CHECK(result.out.empty());
  CHECK(result.err.find("p.csv:3:2: not a number: 'oops'") != std::string::npos);

  const std::string points = dir.file("ok.csv", "c0,y\n1,0.5\n2,0.7\n4,1.0\n");
  const std::string wide_query = dir.file("wide.csv", "1,2\n");
  result = run_binary("ampere", {"gp", "fit", "--points", points, "--predict", wide_query});
  CHECK(result.exit_code == 2);
  CHECK(result.out.empty());
  CHECK(result.err.find("wide.csv: has 2 columns; expected the 1 channel column(s)") != std::string::npos);

  result = run_binary("ampere", {"gp", "fit", "--points", points, "--predict", good_query, "--bounds", "2:3"});
  CHECK(result.exit_code == 2);
  CHECK(result.err.find("input 0 of point 0 = 1 is outside its bounds [2, 3]") != std::string::npos);

  result = run_binary("ampere", {"gp", "fit", "--points", points, "--predict", good_query, "--bounds", "1-4"});
  CHECK(result.exit_code == 2);
  CHECK(result.err.find("--bounds: '1-4' is not lo:hi") != std::string::npos);
}

TEST_CASE("ampere gp fit --save writes a model that holds the data") {
  TempDir dir;
  const std::string points = dir.file("ok.csv", "c0,y\n1,0.5\n2,0.7\n4,1.0\n");
  const std::string query = dir.file("q.csv", "3\n");
  const auto result = run_binary("ampere", {"gp", "fit", "--points", points, "--predict", query, "--save", dir.path() + "/gp.json"});
  REQUIRE(result.exit_code == 0);
  const ampere::CsvTable saved_check = ampere::parse_csv(result.out, "stdout");
  CHECK(saved_check.values.rows() == 1);
  std::ifstream in(dir.path() + "/gp.json");
  CHECK(nlohmann::json::parse(in).at("y").size() == 3);
}
