#include "support/reference_data.hpp"

#include <fstream>

#include "gp/csv_table.hpp"

namespace ampere::testing {

std::vector<std::string> gp_reference_names() {
  return {"1d_clean_5", "1d_noisy_40", "1d_duplicates_12", "2d_clean_30", "2d_noisy_100", "2d_noisy_200"};
}

Eigen::VectorXd vector_of(const nlohmann::json& array) {
  const auto values = array.get<std::vector<double>>();
  return Eigen::Map<const Eigen::VectorXd>(values.data(), static_cast<Eigen::Index>(values.size()));
}

GpReference load_gp_reference(const std::string& name) {
  GpReference ref;
  ref.name = name;
  const std::string base = std::string(AMPERE_TEST_DATA_DIR) + "/gp/" + name;
  ref.train_csv = base + ".train.csv";
  ref.query_csv = base + ".query.csv";
  const CsvTable train = read_csv(ref.train_csv);
  ref.x = train.values.leftCols(train.values.cols() - 1);
  ref.y = train.values.col(train.values.cols() - 1);
  ref.query = read_csv(ref.query_csv).values;
  std::ifstream in(base + ".json");
  ref.json = nlohmann::json::parse(in);
  for (const auto& b : ref.json.at("bounds")) ref.bounds.emplace_back(b.at(0).get<double>(), b.at(1).get<double>());
  return ref;
}

}  // namespace ampere::testing
