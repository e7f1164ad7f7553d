// `ampere gp fit`: fits one layer kind's GP from a CSV and predicts, so an operator can look at a
// kind's data and tests can compare against scikit-learn.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <ostream>
#include <string>

namespace ampere {

struct GpFitArgs {
  std::filesystem::path points;   ///< CSV: channel columns then a target column
  std::filesystem::path predict;  ///< CSV: channel columns
  std::string bounds;             ///< "lo:hi,lo:hi"; empty: the points' min and max per column
  int restarts = 4;
  std::uint64_t seed = 0;
  bool include_noise = false;     ///< std of a new observation rather than of the latent function
  std::optional<std::filesystem::path> save;  ///< write the fitted GP as JSON here
};

/// Fits and writes "mean,std" CSV (one row per prediction row) to `out` and the fitted
/// hyper-parameters to `log`. Nothing is written to `out` unless everything succeeded.
/// Throws InputError naming the file, line and column of bad input.
void run_gp_fit(const GpFitArgs& args, std::ostream& out, std::ostream& log);

}  // namespace ampere
