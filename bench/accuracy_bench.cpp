// bench/accuracy: how good are the estimates, against what they cost to make.
//
// Runs campaigns in-process (the same Campaign and Estimator the coordinator uses, trainers the
// agent uses; no sockets, which add nothing to accuracy), then estimates held-out random models and
// compares with their truth:
//   --simulated  every shipped family (--families) on every simulated profile (--profiles): truth is
//                the device's noise-free cost
//   --real       LibTorch on this machine, every family of --families: cnn5 100 held-out, others 20,
//                each held-out model measured twice (the pass-to-pass error is the noise floor);
//                energy is the time surrogate here, so the figures are time accuracy
//   --blocks     where the error comes from, per kind (simulated): block estimates against the
//                exact cost of the same layers in their model, fitted targets against the exact
//                cost in the variant networks, and the context (non-additivity) term
//   --guided-vs-random  points each acquisition needs to reach 10% MAPE (simulated profiles, cnn5)
// Prints every figure with the command that reproduces it. Not a test.
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "agent/simulated_device.hpp"
#include "agent/allocator.hpp"
#include "agent/torch_trainer.hpp"
#include "common/layer_shapes.hpp"
#include "coordinator/planning/campaign.hpp"
#include "coordinator/planning/estimator.hpp"

namespace {

using namespace ampere;

struct Options {
  bool simulated = false, real = false, guided_vs_random = false, curve = false, blocks = false;
  bool blocks_joint = false;  ///< --blocks splits the joint fit's error instead of the subtractive's
  std::uint32_t budget = 40;
  int heldout = 100;
  std::string acquisition = "max-variance";
  double min_window = 0.2;
  std::uint32_t repeats = 5;
  int calibration = 3;  ///< whole models for the joint fit; -1: the subtractive fit only
  int truth_processes = 3;  ///< real truth: median over this many fresh `ampere-agent measure` processes (0: in-process)
  double converged = kConvergedRelativeStd;
  std::vector<std::string> families = {"cnn5", "lenet5", "har", "lstm", "resnet", "transformer"};
  std::vector<std::string> profiles = simulated_profile_names();
};

/// Measures a variant or held-out model; returns the fitted statistic (minimum of repeats).
using MeasureFn = std::function<Measurement(const ModelSpec&, std::uint64_t seed)>;

struct CampaignOutcome {
  std::map<KindKey, KindModel> models;        ///< the paper's subtractive fit
  std::map<KindKey, KindModel> joint_models;  ///< the joint additive GP (empty unless asked for)
  FlopsBaseline baseline;
  std::size_t points = 0;              ///< variant networks
  std::size_t calibration_points = 0;  ///< whole models measured for the joint fit
  double seconds = 0;                  ///< profiling wall (variants, and their subtractive fits)
  double joint_seconds = 0;            ///< calibration measurements and the joint fit, on top
  bool joint_chosen = false;           ///< the calibration check's choice (what a coordinator serves)
};

/// Profiles `family`; with `calibration` >= 0 also measures that many whole models of it (seeds
/// 500000+, distinct from held-out ones) and fits the joint additive GP on everything measured.
CampaignOutcome run_campaign(const ModelSpec& family, const CampaignSettings& settings, const MeasureFn& measure,
                             int calibration = -1) {
  const auto start = std::chrono::steady_clock::now();
  Campaign campaign(1, family, "bench", settings);
  std::vector<double> flops, seconds, joules;
  std::uint64_t job = 0;
  while (!campaign.done()) {
    const std::vector<PlannedJob> jobs = campaign.plan(1);
    if (jobs.empty() && !campaign.done()) throw std::runtime_error("campaign stalled");
    for (const PlannedJob& p : jobs) {
      const Measurement m = measure(p.variant, ++job);
      campaign.add_result(p.kind, p.channels, m);
      flops.push_back(model_cost(p.variant).training_flops_per_iteration);
      seconds.push_back(summarize_repeats(m.seconds_per_iteration, settings.statistic).value);
      joules.push_back(summarize_repeats(m.joules_per_iteration, settings.statistic).value);
    }
  }
  CampaignOutcome out;
  out.models = campaign.models();
  out.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  if (calibration >= 0) {
    const auto joint_start = std::chrono::steady_clock::now();
    for (int i = 0; i < calibration; ++i) {
      ModelSpec model = sample_model(family, 500000 + static_cast<std::uint64_t>(i));
      campaign.add_calibration(model, measure(model, ++job));
    }
    out.calibration_points = static_cast<std::size_t>(calibration);
    const JointFit fit = fit_joint(campaign.joint_problem());
    out.joint_models = fit.models;
    out.joint_chosen = fit.joint_chosen();
    out.joint_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - joint_start).count();
  }
  out.baseline.seconds = fit_line(flops, seconds);
  out.baseline.joules = fit_line(flops, joules);
  out.baseline.has_joules = true;
  out.points = job - out.calibration_points;
  return out;
}

struct Accuracy {
  int models = 0;
  double mape_seconds = 0, mape_joules = 0, within10 = 0, flops_mape_seconds = 0, flops_mape_joules = 0, worst = 0;
  double signed_seconds = 0;  ///< mean signed error of the time estimate (positive: estimates run high)
};

void add_error(Accuracy& a, double est_s, double est_j, double flops_s, double flops_j, double true_s, double true_j) {
  const double es = std::abs(est_s - true_s) / true_s, ej = std::abs(est_j - true_j) / true_j;
  a.models++;
  a.mape_seconds += es;
  a.signed_seconds += (est_s - true_s) / true_s;
  a.mape_joules += ej;
  a.within10 += es <= 0.10 ? 1 : 0;
  a.flops_mape_seconds += std::abs(flops_s - true_s) / true_s;
  a.flops_mape_joules += std::abs(flops_j - true_j) / true_j;
  a.worst = std::max(a.worst, es);
}

void finish(Accuracy& a) {
  const double n = std::max(1, a.models);
  a.mape_seconds *= 100 / n;
  a.signed_seconds *= 100 / n;
  a.mape_joules *= 100 / n;
  a.within10 *= 100 / n;
  a.flops_mape_seconds *= 100 / n;
  a.flops_mape_joules *= 100 / n;
  a.worst *= 100;
}

/// Estimates held-out models of `family` (seeds 900000+) against `truth`.
Accuracy evaluate(const ModelSpec& family, const CampaignOutcome& outcome, int count,
                  const std::function<std::pair<double, double>(const ModelSpec&, int)>& truth, bool joint = false) {
  Estimator estimator;
  estimator.set_models("bench", joint ? outcome.joint_models : outcome.models);
  estimator.set_flops_baseline("bench", outcome.baseline);
  Accuracy a;
  for (int i = 0; i < count; ++i) {
    const ModelSpec model = sample_model(family, 900000 + static_cast<std::uint64_t>(i));
    const auto e = estimator.estimate(model, "bench", 1);
    const auto [true_s, true_j] = truth(model, i);
    add_error(a, e["seconds_per_iteration"]["mean"].get<double>(), e["joules_per_iteration"]["mean"].get<double>(),
              e["flops_baseline"]["seconds_per_iteration"]["mean"].get<double>(),
              e["flops_baseline"]["joules_per_iteration"]["mean"].get<double>(), true_s, true_j);
  }
  finish(a);
  return a;
}

ModelSpec family(const char* name) { return load_model_spec(std::string(AMPERE_SOURCE_DIR) + "/models/" + name + ".json"); }

double g_converged = kConvergedRelativeStd;
GpTrend g_trend = CampaignSettings().trend;
bool g_work_mean = CampaignSettings().work_mean;

CampaignSettings settings_of(const std::string& acquisition, std::uint32_t budget) {
  CampaignSettings s;
  s.converged_relative_std = g_converged;
  s.trend = g_trend;
  s.work_mean = g_work_mean;
  s.budget_per_kind = budget;
  s.acquisition = parse_acquisition(acquisition);
  return s;
}

/// A simulated profile's measuring function and its noise-free truth.
struct SimulatedSetup {
  SimulatedDevice device;
  MeasureFn measure;
  std::function<std::pair<double, double>(const ModelSpec&, int)> truth;
  SimulatedSetup(const std::string& name, std::uint32_t repeats) : device(simulated_profile(name)) {
    measure = [this, repeats](const ModelSpec& m, std::uint64_t seed) { return device.measure(m, repeats, seed); };
    truth = [this](const ModelSpec& m, int) {
      const SimulatedCost t = device.truth(m);
      return std::make_pair(t.seconds, t.joules);
    };
  }
  SimulatedSetup(const SimulatedSetup&) = delete;
};

/// A campaign that spends its whole budget (no early stop), and its held-out time MAPE.
struct FullBudgetRun {
  std::size_t points = 0;
  double mape = 0;
};
FullBudgetRun run_full_budget(const SimulatedSetup& sim, const ModelSpec& fam, const std::string& acquisition,
                              std::uint32_t budget, std::uint64_t seed, int heldout) {
  CampaignSettings s = settings_of(acquisition, budget);
  s.seed = seed;
  s.converged_relative_std = 0;  // spend the budget: compare points against accuracy
  const CampaignOutcome c = run_campaign(fam, s, sim.measure);
  return {c.points, evaluate(fam, c, heldout, sim.truth).mape_seconds};
}

void print_header() {
  std::printf("   (* = what a coordinator serves: the joint fit unless the calibration check prefers the subtractive)\n");
  std::printf("%-10s %-11s %-11s %7s %9s %9s %9s %9s %9s %9s %9s %8s\n", "device", "family", "estimator", "points", "MAPE_t%",
              "signed_t%", "MAPE_E%", "in10%_t", "worst_t%", "FLOPs_t%", "FLOPs_E%", "prof_s");
}

/// One row per estimator: the paper's subtractive fit on the variant networks, and (when the
/// campaign measured calibration models) the joint GP on the same networks plus those models.
void print_row(const std::string& device, const std::string& fam, const CampaignOutcome& c, const Accuracy& a, bool joint) {
  const std::size_t points = c.points + (joint ? c.calibration_points : 0);
  const double seconds = c.seconds + (joint ? c.joint_seconds : 0.0);
  // * marks what a coordinator serves for a joint campaign: the calibration check's choice
  const bool served = c.calibration_points > 0 && joint == c.joint_chosen;
  const std::string label = std::string(joint ? "joint" : "subtractive") + (served ? "*" : "");
  std::printf("%-10s %-11s %-11s %7zu %9.2f %+9.2f %9.2f %9.1f %9.1f %9.1f %9.1f %8.1f%s\n", device.c_str(), fam.c_str(),
              label.c_str(), points, a.mape_seconds, a.signed_seconds, a.mape_joules, a.within10, a.worst,
              a.flops_mape_seconds, a.flops_mape_joules, seconds, a.mape_seconds > a.flops_mape_seconds ? "  LOSES TO FLOPs" : "");
}

void simulated(const Options& o) {
  std::printf("\n== simulated profiles (truth = noise-free device cost; labeled simulated, not measurements)\n");
  std::printf("   acquisition %s, budget %u per kind, %d held-out models per family, kernel trend %s, joint mean %s\n",
              o.acquisition.c_str(), o.budget, o.heldout, gp_trend_name(g_trend), g_work_mean ? "FLOPs-proportional" : "constant");
  print_header();
  for (const std::string& fam_name : o.families) {
    const ModelSpec fam = family(fam_name.c_str());
    for (const std::string& name : o.profiles) {
      const SimulatedSetup sim(name, o.repeats);
      const CampaignOutcome c = run_campaign(fam, settings_of(o.acquisition, o.budget), sim.measure, o.calibration);
      print_row("sim-" + name, fam_name, c, evaluate(fam, c, o.heldout, sim.truth), false);
      if (o.calibration >= 0) print_row("sim-" + name, fam_name, c, evaluate(fam, c, o.heldout, sim.truth, true), true);
      std::fflush(stdout);
    }
  }
}

/// Where the error comes from: per kind, the block estimates of held-out models against the
/// simulated truth of the same layers in their model (mean signed and absolute error, in % of the
/// block's true cost and of the model's).
void block_errors(const Options& o) {
  std::printf("\n== per-kind block error on simulated profiles, %s fit (estimate vs the truth of the block's layers in its model)\n",
              o.blocks_joint ? "joint" : "subtractive");
  for (const std::string& fam_name : o.families) {
    const ModelSpec fam = family(fam_name.c_str());
    for (const std::string& name : o.profiles) {
      const SimulatedSetup sim(name, o.repeats);
      const CampaignOutcome c = run_campaign(fam, settings_of(o.acquisition, o.budget), sim.measure, o.blocks_joint ? o.calibration : -1);
      Estimator estimator;
      estimator.set_models("bench", o.blocks_joint ? c.joint_models : c.models);
      struct Sum { int n = 0; double signed_block = 0, abs_block = 0, signed_model = 0, signed_context = 0; };
      const std::vector<ProfileKind> plan = derive_profile_kinds(fam);
      std::map<KindKey, const ProfileKind*> plan_kind;
      for (const ProfileKind& kind : plan) plan_kind[kind.key] = &kind;
      // The exact cost of a kind's block inside its variant network: what its GP is fitted to.
      // I′ is the variant's first block for a hidden kind; the kind's layers follow, O″ closes it.
      auto in_variant_truth = [&](const ProfileKind& kind, const Channels& channels) {
        const VariantNetwork v = variant_network(kind, channels, plan);
        const std::vector<SimulatedCost> vl = sim.device.layer_costs(v.model);
        const std::size_t first = kind.role == BlockRole::Hidden ? plan_kind.at(kind.input_helper)->block.layers.size() : 0;
        double t = kind.role == BlockRole::Output ? sim.device.profile().step_seconds : 0.0;
        for (std::size_t l = 0; l < kind.block.layers.size(); ++l) t += vl[first + l].seconds;
        return t;
      };
      std::map<std::string, Sum> per_kind;
      for (int i = 0; i < o.heldout; ++i) {
        const ModelSpec model = sample_model(fam, 900000 + static_cast<std::uint64_t>(i));
        const nlohmann::json e = estimator.estimate(model, "bench", 1);
        const std::vector<SimulatedCost> layers = sim.device.layer_costs(model);
        const double total = sim.device.truth(model).seconds;
        const std::vector<Block> blocks = parse_blocks(model);
        std::size_t at = 0;
        for (std::size_t b = 0; b < blocks.size(); ++b) {
          double truth = b + 1 == blocks.size() ? sim.device.profile().step_seconds : 0.0;
          for (std::size_t l = 0; l < blocks[b].layers.size(); ++l) truth += layers[at++].seconds;
          const double est = e["blocks"][b]["seconds_per_iteration"]["mean"].get<double>();
          Sum& sum = per_kind[blocks[b].kind.str()];
          const auto profiled = plan_kind.find(blocks[b].kind);
          if (profiled != plan_kind.end())
            sum.signed_context += (in_variant_truth(*profiled->second, blocks[b].channel_values()) - truth) / truth;
          if (std::getenv("AMPERE_BLOCK_TRACE") && blocks[b].kind.str().find(std::getenv("AMPERE_BLOCK_TRACE")) != std::string::npos)
            std::fprintf(stderr, "  trace %s est %.4g truth %.4g  (%+.1f%%) z %+.2f\n", nlohmann::json(blocks[b].channel_values()).dump().c_str(), est, truth,
                         100 * (est - truth) / truth, (est - truth) / e["blocks"][b]["seconds_per_iteration"]["std"].get<double>());
          sum.n++;
          sum.signed_block += (est - truth) / truth;
          sum.abs_block += std::abs(est - truth) / truth;
          sum.signed_model += (est - truth) / total;
        }
      }
      // What each kind's GP was fitted on against the exact cost of its block in the variant network.
      std::map<std::string, double> target_bias;
      std::map<std::string, std::size_t> target_points;
      for (const ProfileKind& kind : plan) {
        const auto found = c.models.find(kind.key);
        if (found == c.models.end()) continue;
        const auto* own = dynamic_cast<const GaussianProcess*>(found->second.seconds.get());
        if (own == nullptr) continue;
        const GaussianProcess& gp = *own;
        double bias = 0;
        for (Eigen::Index i = 0; i < gp.inputs().rows(); ++i) {
          Channels ch;
          for (std::size_t d = 0; d < gp.dimensions(); ++d) ch.push_back(static_cast<std::int64_t>(gp.inputs()(i, static_cast<Eigen::Index>(d))));
          const double truth = in_variant_truth(kind, ch);
          bias += (gp.targets()[i] - truth) / truth;
        }
        target_bias[kind.key.str()] = 100 * bias / static_cast<double>(gp.inputs().rows());
        target_points[kind.key.str()] = static_cast<std::size_t>(gp.inputs().rows());
      }
      std::printf("sim-%s %s\n  %8s %8s %9s %9s %8s %4s  kind\n", name.c_str(), fam_name.c_str(), "signed%", "abs%",
                  "ofmodel%", "context%", "target%", "pts");
      for (const auto& [key, sum] : per_kind)
        std::printf("  %+8.2f %8.2f %+9.2f %+9.2f %+8.2f %4zu  %s\n", 100 * sum.signed_block / sum.n, 100 * sum.abs_block / sum.n,
                    100 * sum.signed_model / o.heldout, 100 * sum.signed_context / sum.n, target_bias[key], target_points[key], key.c_str());
      for (const auto& [key, bias] : target_bias)
        if (per_kind.count(key) == 0)
          std::printf("  %8s %8s %9s %9s %+8.2f %4zu  %s (auxiliary)\n", "", "", "", "", bias, target_points[key], key.c_str());
    }
  }
}

void guided_vs_random(const Options& o) {
  std::printf("\n== guided vs random: fewest profiled points reaching a time MAPE, %d held-out cnn5 models\n", o.heldout);
  std::printf("   (budget per kind grown until reached; every budget spent in full; random averaged over 3 seeds)\n");
  std::printf("%-10s %-17s %-16s %-16s\n", "device", "acquisition", "<= 10% MAPE", "<= 3% MAPE");
  const std::vector<std::uint32_t> budgets = {4, 6, 8, 10, 12, 16, 20, 25, 30, 40, 50};
  for (const std::string& name : simulated_profile_names()) {
    const SimulatedSetup sim(name, o.repeats);
    const ModelSpec cnn5 = family("cnn5");
    for (const std::string acquisition : {"max-variance", "max-relative-std", "random"}) {
      std::string cells[2] = {"not reached", "not reached"};
      const double thresholds[2] = {10.0, 3.0};
      for (std::uint32_t b : budgets) {
        const int seeds = acquisition == "random" ? 3 : 1;
        double points = 0, mape = 0;
        for (int seed = 0; seed < seeds; ++seed) {
          const FullBudgetRun run = run_full_budget(sim, cnn5, acquisition, b, static_cast<std::uint64_t>(seed), o.heldout);
          points += static_cast<double>(run.points) / seeds;
          mape += run.mape / seeds;
        }
        for (int t = 0; t < 2; ++t)
          if (cells[t] == "not reached" && mape <= thresholds[t]) {
            char buffer[64];
            std::snprintf(buffer, sizeof buffer, "%.0f pts (%.1f%%)", points, mape);
            cells[t] = buffer;
          }
        if (cells[1] != "not reached") break;
      }
      std::printf("%-10s %-17s %-16s %-16s\n", ("sim-" + name).c_str(), acquisition.c_str(), cells[0].c_str(), cells[1].c_str());
    }
  }
}

/// Time MAPE against the points spent, per acquisition (budget fully spent), per profile.
void curve(const Options& o) {
  std::printf("\n== MAPE (time, %%) against profiled points, budget spent in full, %d held-out cnn5 models\n", o.heldout);
  const std::vector<std::uint32_t> budgets = {6, 10, 15, 20, 30, 40, 60};
  for (const std::string& name : simulated_profile_names()) {
    const SimulatedSetup sim(name, o.repeats);
    const ModelSpec cnn5 = family("cnn5");
    for (const std::string acquisition : {"max-variance", "max-relative-std", "random"}) {
      std::printf("sim-%-7s %-17s", name.c_str(), acquisition.c_str());
      for (std::uint32_t b : budgets) {
        const FullBudgetRun run = run_full_budget(sim, cnn5, acquisition, b, 0, o.heldout);
        std::printf(" %4zu:%5.1f", run.points, run.mape);
      }
      std::printf("\n");
    }
  }
}

/// A held-out model's truth from `ampere-agent measure --processes K` (K fresh processes, median of
/// their minimums): what the campaign's own process measures carries that process's offset.
struct ProcessTruth {
  double seconds = 0, joules = 0;
  double spread = 0;  ///< (max − min)/median over the processes
};
ProcessTruth measure_in_fresh_processes(const ModelSpec& model, const Options& o) {
  char self[4096] = {0};
  const ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
  AMPERE_REQUIRE(n > 0, "bench: cannot find its own binary");
  const std::string agent = std::filesystem::path(std::string(self, static_cast<std::size_t>(n))).parent_path() / "ampere-agent";
  const std::string file = std::filesystem::temp_directory_path() / ("bench-truth-" + std::to_string(getpid()) + ".json");
  std::ofstream(file) << to_json(model).dump();
  const std::string command = agent + " --threads 1 --meter time-surrogate --min-window " + std::to_string(o.min_window) +
                              " measure --model " + file + " --repeats " + std::to_string(o.repeats) + " --processes " +
                              std::to_string(o.truth_processes) + " 2>/dev/null";
  std::string text;
  if (FILE* pipe = popen(command.c_str(), "r")) {
    char buffer[4096];
    for (std::size_t got; (got = fread(buffer, 1, sizeof buffer, pipe)) > 0;) text.append(buffer, got);
    const int status = pclose(pipe);
    AMPERE_REQUIRE(status == 0, "bench: ", command, " failed");
  }
  std::filesystem::remove(file);
  const nlohmann::json j = nlohmann::json::parse(text);
  ProcessTruth t;
  t.seconds = j.at("seconds_per_iteration").at("value").get<double>();
  t.joules = j.at("joules_per_iteration").at("value").get<double>();
  t.spread = o.truth_processes > 1 ? j.at("seconds_per_iteration").at("spread").get<double>() : 0.0;
  return t;
}

void real(const Options& o) {
  std::printf("\n== real LibTorch on this machine, 1 thread, allocator pinned, energy = time surrogate (10 W): "
              "time accuracy only\n   acquisition %s, budget %u per kind\n", o.acquisition.c_str(), o.budget);
  print_header();
  TrainerPtr trainer = make_torch_trainer(1, make_time_surrogate_meter(10.0));
  JobSettings job;
  job.repeats = RepeatRule::fixed(o.repeats);
  job.window_seconds = o.min_window;
  const MeasureFn measure = [&](const ModelSpec& m, std::uint64_t seed) {
    JobSettings s = job;
    s.seed = seed;
    return trainer->measure(m, s);
  };
  for (const std::string& name : o.families) {
    const int count = name == "cnn5" ? o.heldout : 20;
    const ModelSpec fam = family(name.c_str());
    const CampaignOutcome c = run_campaign(fam, settings_of(o.acquisition, o.budget), measure, o.calibration);
    double pass_error = 0;
    std::vector<std::pair<double, double>> truths;  // measured once, scored against both estimators
    for (int i = 0; i < count; ++i) {
      const ModelSpec m = sample_model(fam, 900000 + static_cast<std::uint64_t>(i));
      if (o.truth_processes > 0) {
        const ProcessTruth t = measure_in_fresh_processes(m, o);
        pass_error += t.spread;
        truths.emplace_back(t.seconds, t.joules);
        continue;
      }
      const Measurement first = measure(m, 700000 + static_cast<std::uint64_t>(i));
      const Measurement second = measure(m, 800000 + static_cast<std::uint64_t>(i));
      const double s1 = summarize_repeats(first.seconds_per_iteration, RepeatStatistic::Minimum).value;
      const double s2 = summarize_repeats(second.seconds_per_iteration, RepeatStatistic::Minimum).value;
      pass_error += std::abs(s1 - s2) / s2;
      truths.emplace_back(s1, summarize_repeats(first.joules_per_iteration, RepeatStatistic::Minimum).value);
    }
    const auto truth = [&](const ModelSpec&, int i) { return truths[static_cast<std::size_t>(i)]; };
    print_row("local-cpu", name, c, evaluate(fam, c, count, truth), false);
    if (o.calibration >= 0) print_row("local-cpu", name, c, evaluate(fam, c, count, truth, true), true);
    if (o.truth_processes > 0)
      std::printf("%-10s %-8s truth: median of %d fresh processes each; their spread (noise floor): %.2f%% over %d models\n", "",
                  name.c_str(), o.truth_processes, 100 * pass_error / count, count);
    else
      std::printf("%-10s %-8s truth in the campaign's process; pass-to-pass error (noise floor): %.2f%% over %d models\n", "",
                  name.c_str(), 100 * pass_error / count, count);
  }
}

}  // namespace

int main(int argc, char** argv) {
  if (!pin_allocator()) std::fprintf(stderr, "warning: could not pin the allocator; timings may drift\n");
  Options o;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto next = [&] { return i + 1 < argc ? std::string(argv[++i]) : std::string(); };
    if (a == "--simulated") o.simulated = true;
    else if (a == "--real") o.real = true;
    else if (a == "--guided-vs-random") o.guided_vs_random = true;
    else if (a == "--curve") o.curve = true;
    else if (a == "--blocks") o.blocks = true;
    else if (a == "--blocks-joint") o.blocks = o.blocks_joint = true;
    else if (a == "--budget") o.budget = static_cast<std::uint32_t>(std::stoul(next()));
    else if (a == "--heldout") o.heldout = std::stoi(next());
    else if (a == "--acquisition") o.acquisition = next();
    else if (a == "--min-window") o.min_window = std::stod(next());
    else if (a == "--converged") o.converged = std::stod(next());
    else if (a == "--repeats") o.repeats = static_cast<std::uint32_t>(std::stoul(next()));
    else if (a == "--calibration") o.calibration = std::stoi(next());
    else if (a == "--subtractive-only") o.calibration = -1;
    else if (a == "--truth-processes") o.truth_processes = std::stoi(next());
    else if (a == "--trend") g_trend = parse_gp_trend(next());
    else if (a == "--no-work-mean") g_work_mean = false;
    else if (a == "--families" || a == "--profiles") {
      std::vector<std::string>& list = a == "--families" ? o.families : o.profiles;
      list.clear();
      std::string text = next(), item;
      for (std::stringstream in(text); std::getline(in, item, ',');) list.push_back(item);
    }
    else {
      std::fprintf(stderr, "usage: bench_accuracy [--simulated] [--real] [--guided-vs-random] [--curve] [--blocks] [--blocks-joint] [--budget N]\n"
                           "                      [--heldout N] [--acquisition A] [--min-window S] [--repeats R]\n"
                           "                      [--calibration N (whole models for the joint fit, 3)] [--subtractive-only]\n"
                           "                      [--trend none|quadratic (the kernels' trend; none is the paper's)] [--no-work-mean]\n"
                           "                      [--truth-processes K (real truth: median of K fresh processes, 3; 0: in-process)]\n"
                           "                      [--families cnn5,lenet5,har,lstm,resnet,transformer] [--profiles oppo,server]\n");
      return 2;
    }
  }
  if (!o.simulated && !o.real && !o.guided_vs_random && !o.curve && !o.blocks) o.simulated = o.guided_vs_random = true;
  g_converged = o.converged;
  std::string command = "build/bin/bench_accuracy";
  for (int i = 1; i < argc; ++i) command += std::string(" ") + argv[i];
  try {
    if (o.simulated) simulated(o);
    if (o.guided_vs_random) guided_vs_random(o);
    if (o.curve) curve(o);
    if (o.blocks) block_errors(o);
    if (o.real) real(o);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
  std::printf("\nreproduce: %s   (or ./run bench accuracy)\n", command.c_str());
  return 0;
}
