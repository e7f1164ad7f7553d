#include "coordinator/cli/gp_command.hpp"

#include <cmath>
#include <fstream>
#include <iomanip>
#include <sstream>

#include <nlohmann/json.hpp>

#include "gp/csv_table.hpp"
#include "common/error.hpp"
#include "gp/gaussian_process.hpp"

namespace ampere {
namespace {

std::vector<std::pair<double, double>> parse_bounds(const std::string& text, std::size_t dims) {
  std::vector<std::pair<double, double>> bounds;
  std::istringstream in(text);
  std::string item;
  while (std::getline(in, item, ',')) {
    const auto colon = item.find(':');
    AMPERE_REQUIRE(colon != std::string::npos, "--bounds: '", item, "' is not lo:hi");
    try {
      std::size_t used_lo = 0, used_hi = 0;
      const std::string lo = item.substr(0, colon), hi = item.substr(colon + 1);
      bounds.emplace_back(std::stod(lo, &used_lo), std::stod(hi, &used_hi));
      AMPERE_REQUIRE(used_lo == lo.size() && used_hi == hi.size(), "--bounds: '", item, "' is not lo:hi");
    } catch (const std::logic_error&) {
      throw InputError("--bounds: '" + item + "' is not lo:hi");
    }
    AMPERE_REQUIRE(bounds.back().first <= bounds.back().second, "--bounds: '", item, "' has lo > hi");
  }
  AMPERE_REQUIRE(bounds.size() == dims, "--bounds: ", bounds.size(), " ranges for ", dims, " channel columns");
  return bounds;
}

}  // namespace

void run_gp_fit(const GpFitArgs& args, std::ostream& out, std::ostream& log) {
  const CsvTable points = read_csv(args.points);
  AMPERE_REQUIRE(points.values.cols() >= 2, args.points.string(),
                 ": needs at least one channel column and a target column, got ", points.values.cols(), " column");
  const Eigen::Index dims = points.values.cols() - 1;
  const CsvTable queries = read_csv(args.predict);
  AMPERE_REQUIRE(queries.values.cols() == dims, args.predict.string(), ": has ", queries.values.cols(),
                 " columns; expected the ", dims, " channel column(s) of ", args.points.string());

  const Eigen::MatrixXd x = points.values.leftCols(dims);
  const Eigen::VectorXd y = points.values.col(dims);
  std::vector<std::pair<double, double>> bounds;
  if (args.bounds.empty()) {
    for (Eigen::Index d = 0; d < dims; ++d) bounds.emplace_back(x.col(d).minCoeff(), x.col(d).maxCoeff());
  } else {
    bounds = parse_bounds(args.bounds, static_cast<std::size_t>(dims));
  }
  GaussianProcess gp(bounds);
  try {
    gp.set_data(x, y);
  } catch (const InputError& e) {
    throw InputError(args.points.string() + ": " + e.what());
  }
  GpFitOptions options;
  options.restarts = args.restarts;
  options.seed = args.seed;
  gp.fit(options);
  const GpPrediction prediction = gp.predict(queries.values, args.include_noise);

  if (args.save) {
    std::ofstream file(*args.save);
    AMPERE_REQUIRE(file.good(), args.save->string(), ": cannot write");
    file << gp.to_json().dump(2) << "\n";
  }
  const GpHyperparameters& h = gp.hyperparameters();
  log << std::setprecision(10) << "signal_variance=" << h.signal_variance << " length_scales=";
  for (std::size_t d = 0; d < h.length_scales.size(); ++d) log << (d ? ":" : "") << h.length_scales[d];
  log << " noise_variance=" << h.noise_variance << " log_marginal_likelihood=" << gp.log_marginal_likelihood()
      << " points=" << gp.size() << "\n";

  std::ostringstream table;
  table << std::setprecision(17) << "mean,std\n";
  for (Eigen::Index i = 0; i < prediction.mean.size(); ++i)
    table << prediction.mean[i] << "," << std::sqrt(prediction.variance[i]) << "\n";
  out << table.str();
}

}  // namespace ampere
