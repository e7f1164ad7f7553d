// scikit-learn reference data sets written by scripts/gp-reference.py into tests/data/gp/.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include <Eigen/Dense>
#include <nlohmann/json.hpp>

namespace ampere::testing {

struct GpReference {
  std::string name;
  std::string train_csv, query_csv;
  Eigen::MatrixXd x;       ///< training channels
  Eigen::VectorXd y;       ///< training targets
  Eigen::MatrixXd query;
  std::vector<std::pair<double, double>> bounds;
  nlohmann::json json;     ///< "fixed" and "fitted" sections
};

GpReference load_gp_reference(const std::string& name);
std::vector<std::string> gp_reference_names();
Eigen::VectorXd vector_of(const nlohmann::json& array);

}  // namespace ampere::testing
