// `ampere`: the operator's command line (no LibTorch here).
#include <iostream>

#include <CLI/CLI.hpp>

#include "common/error.hpp"
#include "coordinator/gp_command.hpp"
#include "coordinator/model_command.hpp"

int main(int argc, char** argv) {
  CLI::App app{"ampere: training-energy estimates for neural networks (AMPERE method)"};
  app.require_subcommand(1);

  CLI::App* gp = app.add_subcommand("gp", "inspect one layer kind's Gaussian process");
  gp->require_subcommand(1);
  ampere::GpFitArgs fit_args;
  std::string save;
  CLI::App* fit = gp->add_subcommand("fit", "fit a GP to a CSV of channels + target and predict");
  fit->add_option("--points", fit_args.points, "CSV: channel columns, then the target column")->required()->check(CLI::ExistingFile);
  fit->add_option("--predict", fit_args.predict, "CSV: channel columns to predict at")->required()->check(CLI::ExistingFile);
  fit->add_option("--bounds", fit_args.bounds, "channel bounds lo:hi,... (default: the points' range)");
  fit->add_option("--restarts", fit_args.restarts, "random restarts of the hyper-parameter fit")->check(CLI::NonNegativeNumber);
  fit->add_option("--seed", fit_args.seed, "seed of the restarts");
  fit->add_flag("--include-noise", fit_args.include_noise, "std of a new observation (adds the white noise)");
  fit->add_option("--save", save, "write the fitted GP as JSON");

  CLI::App* model = app.add_subcommand("model", "inspect model specs and families");
  model->require_subcommand(1);
  std::string spec_file;
  std::uint64_t seed = 0;
  CLI::App* show = model->add_subcommand("show", "blocks, channels, FLOPs and kind keys of a spec");
  show->add_option("--model", spec_file, "model or family JSON")->required();
  CLI::App* kinds = model->add_subcommand("kinds", "the kinds a family needs profiled");
  kinds->add_option("--family", spec_file, "family JSON")->required();
  CLI::App* sample = model->add_subcommand("sample", "draw a concrete model from a family");
  sample->add_option("--family", spec_file, "family JSON")->required();
  sample->add_option("--seed", seed, "seed");

  CLI11_PARSE(app, argc, argv);
  try {
    if (fit->parsed()) {
      if (!save.empty()) fit_args.save = save;
      ampere::run_gp_fit(fit_args, std::cout, std::cerr);
    } else if (show->parsed()) {
      ampere::run_model_show(spec_file, std::cout);
    } else if (kinds->parsed()) {
      ampere::run_model_kinds(spec_file, std::cout);
    } else if (sample->parsed()) {
      ampere::run_model_sample(spec_file, seed, std::cout);
    }
  } catch (const ampere::InputError& e) {
    std::cerr << "error: " << e.what() << "\n";
    return 2;
  } catch (const std::exception& e) {
    std::cerr << "error: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
