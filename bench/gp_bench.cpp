// bench/gp: our GP against scikit-learn on the same 2-D data in the same run.
// Fit (4 restarts, docs/method.md §3 bounds) + predict on a 64×64 lattice (4096 points), best of 3.
// Prints both times, the ratio, both log marginal likelihoods, and how far the predictions are
// apart (max |Δmean| in units of scikit-learn's std). Not a test: it reports what it measured.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <random>
#include <sstream>
#include <string>

#include <unistd.h>

#include <nlohmann/json.hpp>

#include "gp/csv_table.hpp"
#include "gp/gaussian_process.hpp"

namespace {

constexpr int kRestarts = 4;
constexpr int kRepeats = 3;

double energy_like(double c0, double c1) {
  return 0.05 + 0.0009 * c0 * c1 + 0.02 * std::sin(c0 / 5.0) + 0.01 * std::floor(c1 / 16.0);
}

std::string run_command(const std::string& command) {
  std::string output;
  FILE* pipe = popen(command.c_str(), "r");
  if (pipe == nullptr) return output;
  char buffer[4096];
  while (fgets(buffer, sizeof buffer, pipe) != nullptr) output += buffer;
  const int status = pclose(pipe);
  if (status != 0) throw std::runtime_error("command failed: " + command + "\n" + output);
  return output;
}

}  // namespace

int main(int argc, char** argv) {
  const std::string python = argc > 1 ? argv[1] : "/usr/bin/python3";
  const std::filesystem::path dir = std::filesystem::temp_directory_path() / ("ampere-bench-gp-" + std::to_string(getpid()));
  std::filesystem::create_directories(dir);
  const std::string script = std::string(AMPERE_SOURCE_DIR) + "/bench/gp_sklearn.py";

  // Query lattice 64×64 over [1, 64]².
  std::ofstream(dir / "query.csv") << [] {
    std::ostringstream q;
    q << "c0,c1\n";
    for (int a = 1; a <= 64; ++a)
      for (int b = 1; b <= 64; ++b) q << a << "," << b << "\n";
    return q.str();
  }();
  const Eigen::MatrixXd query = ampere::read_csv(dir / "query.csv").values;

  std::printf("bench/gp: fit (%d restarts) + predict %ld points, best of %d, 2-D Matérn 5/2 ARD + white\n",
              kRestarts, static_cast<long>(query.rows()), kRepeats);
  std::printf("%6s %12s %12s %8s %14s %14s %16s\n", "points", "ours_ms", "sklearn_ms", "ratio", "lml_ours",
              "lml_sklearn", "max|dmean|/std");
  for (int n : {50, 100, 200}) {
    std::mt19937_64 rng(1000 + n);
    std::uniform_int_distribution<int> channel(1, 64);
    std::normal_distribution<double> noise(0.0, 0.03);
    Eigen::MatrixXd x(n, 2);
    Eigen::VectorXd y(n);
    std::ostringstream train;
    train.precision(17);
    train << "c0,c1,y\n";
    for (int i = 0; i < n; ++i) {
      x(i, 0) = channel(rng);
      x(i, 1) = channel(rng);
      y[i] = energy_like(x(i, 0), x(i, 1)) * (1.0 + noise(rng));
      train << x(i, 0) << "," << x(i, 1) << "," << y[i] << "\n";
    }
    std::ofstream(dir / "train.csv") << train.str();

    double best_ours = 1e300;
    ampere::GpPrediction ours;
    double lml_ours = 0;
    for (int r = 0; r < kRepeats; ++r) {
      const auto start = std::chrono::steady_clock::now();
      ampere::GaussianProcess gp({{1, 64}, {1, 64}});
      gp.set_data(x, y);
      ampere::GpFitOptions options;
      options.restarts = kRestarts;
      gp.fit(options);
      ours = gp.predict(query, true);
      best_ours = std::min(best_ours, std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
      lml_ours = gp.log_marginal_likelihood();
    }
    const std::string command = python + " " + script + " " + (dir / "train.csv").string() + " " +
                                (dir / "query.csv").string() + " 1:64,1:64 " + std::to_string(kRestarts) + " " +
                                std::to_string(kRepeats) + " " + (dir / "sklearn.csv").string();
    const nlohmann::json sk = nlohmann::json::parse(run_command(command));
    const Eigen::MatrixXd sk_pred = ampere::read_csv(dir / "sklearn.csv").values;
    const double dmean = ((ours.mean - sk_pred.col(0)).array().abs() / sk_pred.col(1).array()).maxCoeff();
    const double sk_seconds = sk.at("seconds").get<double>();
    std::printf("%6d %12.1f %12.1f %7.1fx %14.4f %14.4f %16.2e\n", n, best_ours * 1e3, sk_seconds * 1e3,
                sk_seconds / best_ours, lml_ours, sk.at("log_marginal_likelihood").get<double>(), dmean);
  }
  std::filesystem::remove_all(dir);
  std::printf("reproduce: ./run bench gp   (build/bin/bench_gp [PYTHON])\n");
  return 0;
}
