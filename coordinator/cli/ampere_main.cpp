// `ampere`: the operator's command line (no LibTorch here).
#include <chrono>
#include <fstream>
#include <iostream>
#include <sstream>
#include <thread>

#include <CLI/CLI.hpp>

#include "coordinator/cli/client_commands.hpp"
#include "coordinator/client/coordinator_client.hpp"
#include "security/certificate.hpp"

#include "common/campaign_budget.hpp"
#include "common/json_text.hpp"
#include "common/error.hpp"
#include "coordinator/cli/gp_command.hpp"
#include "coordinator/cli/model_command.hpp"
#include "common/model_family.hpp"
#include "model_import/model_file.hpp"
#include "program/command_line.hpp"
#include "protocol.capnp.h"

int main(int argc, char** argv) {
  CLI::App app{"ampere: training-energy estimates for neural networks (AMPERE method)"};
  app.require_subcommand(1);
  std::string coordinator = "tcp://127.0.0.1:5556";
  double timeout_s = 30;
  app.add_option("--coordinator", coordinator,
                 "the coordinator's client endpoint, or a comma list of every coordinator's (--ha: the request goes to "
                 "the one that leads)")
      ->capture_default_str();
  std::string key_file, coordinator_key_file;
  app.add_option("--key", key_file, "your secret certificate (CURVE)");
  app.add_option("--coordinator-key", coordinator_key_file, "the coordinator's public certificate (CURVE)");
  app.add_option("--timeout", timeout_s, "seconds to wait for the coordinator")->capture_default_str();
  bool as_json = false;

  CLI::App* campaign = app.add_subcommand("campaign", "profiling campaigns");
  campaign->require_subcommand(1);
  std::string family_file, device_class, acquisition = "max-variance", estimator = "joint";
  std::uint32_t budget = ampere::kDefaultBudget;
  CLI::App* start = campaign->add_subcommand("start", "profile a model family on a device class");
  start->add_option("--family", family_file, "family JSON")->required()->check(CLI::ExistingFile);
  start->add_option("--device-class", device_class, "device class")->required();
  start->add_option("--budget", budget, "points per kind")->capture_default_str()->check(CLI::Range(ampere::kMinBudget, ampere::kMaxBudget));
  start->add_option("--acquisition", acquisition, "max-variance | max-relative-std")->capture_default_str();
  start->add_option("--estimator", estimator,
                    "joint (all measurements in one additive GP, with calibration models) | subtractive (the paper's)")
      ->capture_default_str();
  start->add_flag("--json", as_json, "print JSON");
  std::uint64_t campaign_id = 0;
  bool watch = false;
  CLI::App* status = campaign->add_subcommand("status", "progress per kind");
  status->add_option("--id", campaign_id, "one campaign (default: all)");
  status->add_flag("--watch", watch, "refresh until every campaign shown is done or stopped");
  double interval_s = 1;
  status->add_option("--interval", interval_s, "seconds between refreshes with --watch")->capture_default_str();
  status->add_flag("--json", as_json, "print JSON");

  std::uint64_t stop_id = 0;
  CLI::App* stop = campaign->add_subcommand("stop", "stop a running campaign: its queued jobs are dropped, running ones finish");
  stop->add_option("id", stop_id, "the campaign's id (ampere campaign status lists them)")->required()->check(CLI::PositiveNumber);
  stop->add_flag("--json", as_json, "print JSON");

  std::string model_file;
  std::uint64_t iterations = 1;
  CLI::App* estimate = app.add_subcommand("estimate", "estimate a model's training energy and time");
  estimate->add_option("--model", model_file, "model JSON or ONNX")->required()->check(CLI::ExistingFile);
  estimate->add_option("--device-class", device_class, "device class")->required();
  estimate->add_option("--iterations", iterations, "training iterations")->capture_default_str();
  estimate->add_flag("--json", as_json, "print JSON");
  bool profile_missing = false, wait_profiled = false;
  std::uint32_t profile_budget = 0;
  double wait_timeout_s = 3600;
  estimate->add_flag("--profile-missing", profile_missing,
                     "kinds never profiled on the class: start a campaign for exactly them (docs/byom.md)");
  estimate->add_flag("--wait", wait_profiled, "with --profile-missing: show its progress, then the estimate")
      ->needs("--profile-missing");
  estimate->add_option("--budget", profile_budget, "points per kind of that campaign (default 30)")->needs("--profile-missing");
  estimate->add_option("--wait-timeout", wait_timeout_s, "seconds --wait waits at most")->capture_default_str();

  std::vector<std::string> pairs;
  CLI::App* compare = app.add_subcommand("compare", "estimates vs what ampere-agent measure measured, and the FLOPs baseline");
  compare->add_option("--device-class", device_class, "device class")->required();
  compare->add_option("pairs", pairs,
                      "MODEL.json=MEASURED.json[,AGAIN.json] ... (a second measurement of the same model gives the noise floor)")
      ->required();

  CLI::App* classes = app.add_subcommand("device-classes", "device classes the coordinator knows");
  classes->add_flag("--json", as_json, "print JSON");

  CLI::App* keys = app.add_subcommand("keys", "CURVE certificates for the coordinator, agents and clients (docs/security.md)");
  keys->require_subcommand(1);
  std::string key_base, key_role;
  CLI::App* generate = keys->add_subcommand("generate", "write DIR/NAME.key (public) and DIR/NAME.key_secret (0600)");
  generate->add_option("base", key_base, "DIR/NAME")->required();
  generate->add_option("--role", key_role, "a client certificate's role: reader | operator (none: an agent's or the coordinator's)")
      ->check(CLI::IsMember({"reader", "operator"}));

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
  show->add_option("--model", spec_file, "model or family JSON, or an ONNX model")->required();
  CLI::App* kinds = model->add_subcommand("kinds", "the kinds a family needs profiled");
  kinds->add_option("--family", spec_file, "family JSON")->required();
  CLI::App* sample = model->add_subcommand("sample", "draw a concrete model from a family");
  sample->add_option("--family", spec_file, "family JSON")->required();
  sample->add_option("--seed", seed, "seed");
  // ONNX files (docs/byom.md): `model import` prints the spec; show, kinds and estimate read them too.
  std::string input_shape_text;
  std::int64_t import_batch = 0, import_classes = 0;
  CLI::App* import = model->add_subcommand("import", "an ONNX model as a model spec (JSON on stdout)");
  import->add_option("model", spec_file, "MODEL.onnx")->required();
  auto add_import_options = [&](CLI::App* command) {
    command->add_option("--input-shape", input_shape_text, "CxHxW (or F): needed when the graph's are symbolic");
    command->add_option("--batch", import_batch, "training batch (needed when the graph's batch is symbolic)");
    command->add_option("--classes", import_classes, "replace the classifier's output width");
  };
  add_import_options(import);
  double family_fraction = 0.25;
  CLI::App* family_cmd = model->add_subcommand("family", "the family of a model's free widths (JSON on stdout)");
  family_cmd->add_option("--model", spec_file, "model JSON or ONNX")->required();
  family_cmd->add_option("--min-fraction", family_fraction, "each free width ranges over [ceil(f*C), C]")->capture_default_str();
  add_import_options(family_cmd);
  bool import_family = false;
  double min_fraction = 0.25;
  import->add_flag("--family", import_family, "print the family: every free width a range [ceil(f*C), C]");
  import->add_option("--min-fraction", min_fraction, "f of --family, in (0, 1]")->capture_default_str();
  add_import_options(show);
  add_import_options(estimate);

  // Pruning under a budget (docs/method.md §13): planned where the fitted models are.
  CLI::App* plan = app.add_subcommand("plan", "plan a model under a budget");
  plan->require_subcommand(1);
  CLI::App* prune = plan->add_subcommand("prune", "the widths that keep the most parameters within an energy or time budget");
  std::string prune_model, prune_class, prune_by;
  double budget_joules = 0, budget_seconds = 0, budget_fraction = 0, confidence = 0, prune_min_fraction = 0.25;
  std::uint64_t prune_iterations = 1;
  prune->add_option("--model", prune_model, "model JSON or ONNX")->required()->check(CLI::ExistingFile);
  prune->add_option("--device-class", prune_class, "device class")->required();
  auto* bj = prune->add_option("--budget-joules", budget_joules, "joules for --iterations iterations");
  auto* bs = prune->add_option("--budget-seconds", budget_seconds, "seconds for --iterations iterations");
  auto* bf = prune->add_option("--budget-fraction", budget_fraction, "a fraction of the model's own estimate, in (0, 1]");
  bj->excludes(bs)->excludes(bf);
  bs->excludes(bf);
  prune->add_option("--by", prune_by, "energy | time (default: energy, time for --budget-seconds)");
  prune->add_option("--confidence", confidence, "the one-sided upper bound at this level must fit (e.g. 0.9)");
  prune->add_option("--iterations", prune_iterations, "training iterations the budget is for")->capture_default_str();
  prune->add_option("--min-fraction", prune_min_fraction, "each width ranges down to this share of the model's")->capture_default_str();
  prune->add_flag("--json", as_json, "print JSON");
  add_import_options(prune);

  // AMPERE_COORDINATOR, AMPERE_KEY, AMPERE_COORDINATOR_KEY, AMPERE_TIMEOUT; no config file.
  const ampere::ParsedCommandLine parsed = ampere::parse_command_line(
      app, argc, argv, {"ampere", {{"wire protocol", std::to_string(ampere::wire::PROTOCOL_VERSION)}}, false, true});
  if (parsed.exit_status) return *parsed.exit_status;
  auto read_file = [](const std::string& path) {
    std::ifstream in(path);
    std::ostringstream text;
    text << in.rdbuf();
    return text.str();
  };
  auto import_options = [&] {
    ampere::OnnxImportOptions options;
    if (!input_shape_text.empty()) options.input_shape = ampere::parse_shape_text(input_shape_text, "--input-shape");
    if (import_batch != 0) options.batch = import_batch;
    if (import_classes != 0) options.classes = import_classes;
    return options;
  };
  // A spec file is sent as written; an ONNX file as the spec it imports to.
  auto model_text = [&](const std::string& path) {
    const std::string text = read_file(path);
    if (ampere::is_spec_json(text)) return text;
    return to_json(ampere::load_model_file(path, import_options())).dump();
  };
  return ampere::run_reporting_errors([&] {
    if (generate->parsed()) {  // local: no coordinator involved
      ampere::Certificate certificate = ampere::generate_certificate();
      if (!key_role.empty()) certificate.metadata["role"] = key_role;
      ampere::write_certificate_pair(key_base, certificate);
      std::cout << key_base << ".key\n" << key_base << ".key_secret\n";
      return;
    }
    zmq::context_t context;
    ampere::CoordinatorClient client(context, coordinator, std::chrono::milliseconds(static_cast<long>(timeout_s * 1000)),
                                     ampere::curve_client_keys(key_file, coordinator_key_file));
    if (start->parsed()) {
      const auto c = client.start_campaign(read_file(family_file), device_class, budget, acquisition, estimator);
      if (as_json) std::cout << c.dump(2) << "\n";
      else ampere::print_campaigns(nlohmann::json::array({c}), std::cout);
    } else if (stop->parsed()) {
      const auto c = client.stop_campaign(stop_id);
      if (as_json) std::cout << c.dump(2) << "\n";
      else ampere::print_campaigns(nlohmann::json::array({c}), std::cout);
    } else if (status->parsed()) {
      while (true) {
        const auto list = client.campaign_status(campaign_id);
        if (as_json) std::cout << (campaign_id != 0 ? list.at(0) : list).dump(2) << "\n";
        else ampere::print_campaigns(list, std::cout);
        std::cout << std::flush;
        bool finished = true;
        for (const auto& c : list) finished = finished && c.at("state") != "running";
        if (!watch || finished) break;
        std::this_thread::sleep_for(std::chrono::milliseconds(static_cast<long>(interval_s * 1000)));
        if (!as_json) std::cout << "\n";
      }
    } else if (estimate->parsed()) {
      const std::string text = model_text(model_file);
      auto [accepted, e] = client.estimate_or_profile(text, device_class, iterations, profile_missing, profile_budget);
      if (accepted) {
        const auto id = e.at("campaign_id").get<std::uint64_t>();
        std::cerr << e.at("missing_kinds").size() << " kind(s) never profiled on " << device_class << ": campaign " << id
                  << " profiles them" << (wait_profiled ? "" : " (ask again when it is done, or add --wait)") << "\n";
        if (!wait_profiled) {
          if (as_json) std::cout << e.dump(2) << "\n";
          return;
        }
        const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(static_cast<long>(wait_timeout_s * 1000));
        while (accepted) {
          const auto c = client.campaign_status(id).at(0);
          std::cerr << "  campaign " << id << ": " << c.at("state").get<std::string>() << ", " << c.at("points").get<long long>()
                    << " points, at most " << c.at("points_remaining_at_most").get<long long>() << " to go\n";
          if (c.at("state") == "stopped")
            throw ampere::InputError("campaign " + std::to_string(id) + " was stopped before its kinds were profiled",
                                     ampere::ErrorCode::Unprocessable);
          if (std::chrono::steady_clock::now() > deadline)
            throw ampere::InputError("campaign " + std::to_string(id) + " not done within --wait-timeout; ask again later",
                                     ampere::ErrorCode::Unavailable);
          if (c.at("state") == "done") std::tie(accepted, e) = client.estimate_or_profile(text, device_class, iterations, false);
          else std::this_thread::sleep_for(std::chrono::seconds(1));
        }
      }
      if (as_json) std::cout << e.dump(2) << "\n";
      else ampere::print_estimate(e, std::cout);
    } else if (compare->parsed()) {
      std::vector<ampere::MeasuredModel> models;
      for (const std::string& pair : pairs) {
        const auto eq = pair.find('=');
        if (eq == std::string::npos) throw ampere::InputError("compare: '" + pair + "' is not MODEL.json=MEASURED.json");
        ampere::MeasuredModel m;
        m.model_file = pair.substr(0, eq);
        const std::string model_text = read_file(m.model_file);
        m.model = ampere::parse_json(model_text, m.model_file.c_str());
        const std::string measured = pair.substr(eq + 1);
        const auto comma = measured.find(',');
        m.measured = ampere::parse_json(read_file(measured.substr(0, comma)), "measured file");
        if (comma != std::string::npos) m.measured_again = ampere::parse_json(read_file(measured.substr(comma + 1)), "measured file");
        m.estimate = client.estimate(model_text, device_class, 1);
        models.push_back(std::move(m));
      }
      ampere::print_comparison(models, std::cout);
    } else if (classes->parsed()) {
      const auto list = client.device_classes();
      if (as_json) std::cout << list.dump(2) << "\n";
      else for (const auto& c : list) std::cout << c.at("name").get<std::string>() << "  (" << c.at("agents") << " agents connected)\n";
    } else if (fit->parsed()) {
      if (!save.empty()) fit_args.save = save;
      ampere::run_gp_fit(fit_args, std::cout, std::cerr);
    } else if (prune->parsed()) {
      nlohmann::json budget;
      if (*bj) budget = {{"joules", budget_joules}};
      else if (*bs) budget = {{"seconds", budget_seconds}};
      else if (*bf) budget = {{"fraction", budget_fraction}};
      else throw ampere::InputError("plan prune needs a budget: --budget-joules, --budget-seconds or --budget-fraction");
      nlohmann::json request = {{"model", ampere::parse_json(model_text(prune_model), "model")},
                                {"device_class", prune_class},
                                {"budget", budget},
                                {"iterations", prune_iterations},
                                {"min_fraction", prune_min_fraction}};
      if (!prune_by.empty()) request["by"] = prune_by;
      if (confidence != 0) request["confidence"] = confidence;
      const auto p = client.plan_prune(request);
      if (as_json) std::cout << p.dump(2) << "\n";
      else ampere::print_prune_plan(p, std::cout);
    } else if (show->parsed()) {
      ampere::run_model_show(ampere::load_model_file(spec_file, import_options()), std::cout);
    } else if (family_cmd->parsed()) {
      std::cout << to_json(ampere::free_widths_family(ampere::load_model_file(spec_file, import_options()), family_fraction)).dump(2)
                << "\n";
    } else if (import->parsed()) {
      ampere::ModelSpec imported = ampere::import_onnx_file(spec_file, import_options());
      if (import_family) imported = ampere::free_widths_family(imported, min_fraction);
      std::cout << to_json(imported).dump(2) << "\n";
    } else if (kinds->parsed()) {
      ampere::run_model_kinds(spec_file, std::cout);
    } else if (sample->parsed()) {
      ampere::run_model_sample(spec_file, seed, std::cout);
    }
  });
}
