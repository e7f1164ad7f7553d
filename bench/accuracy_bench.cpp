// bench/accuracy: how good are the estimates, against what they cost to make.
//
// Runs campaigns in-process (the same Campaign and Estimator the coordinator uses, trainers the
// agent uses; no sockets, which add nothing to accuracy), then estimates held-out random models and
// compares with their truth. Two protocols on the same held-out models and truth (--protocol):
//   paper   today's protocol before docs/method.md §9 (subtractive, Matérn alone on linear channels, fixed 5 repeats
//           of >= 0.2 s, corners + 3·d² before convergence, no calibration, plans in order)
//   ours    the defaults a coordinator runs (joint fit checked on 3 calibration models, quadratic
//           trend, log-warped channels, adaptive repeats of the meter's window, 8·d², interleaved
//           plans)
//   --simulated  every shipped family (--families) on every simulated profile (--profiles): truth is
//                the device's noise-free cost
//   --real       LibTorch on this machine, every family of --families: cnn5 30 held-out, others 20
//                (--quick: 10), truth the median of 3 fresh processes (their spread is the noise
//                floor); energy is the time surrogate here, so the figures are time accuracy;
//                --neighbour on|off|both runs the campaigns beside a memory-bandwidth neighbour on the
//                other core (2 s on, 2 s off; the bench starts and stops it)
//   --blocks     where the error comes from, per kind (simulated): block estimates against the
//                exact cost of the same layers in their model, fitted targets against the exact
//                cost in the variant networks, and the context (non-additivity) term.
//                With --real: the oracle-additivity split — each held-out block's exact cost (its
//                variant network measured less its helpers costed the same way; one model's networks
//                round-robin in the bench's trainer process), summed against the whole model measured
//                alike (the decomposition's error), and each campaign's block estimates against
//                those exact costs, per kind (the GPs' error)
//   --guided-vs-random  points each acquisition needs to reach 10% MAPE (simulated profiles, cnn5)
// Prints every figure with the command that reproduces it. Not a test.
#include <sched.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
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
#include <limits>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <tuple>
#include <utility>
#include <vector>

#include "bench/bench_support.hpp"
#include "agent/simulated_device.hpp"
#include "agent/simulated_trainer.hpp"
#include "agent/reference_network.hpp"
#include "agent/trainer_process.hpp"
#include "common/layer_shapes.hpp"
#include "common/model_family.hpp"
#include "coordinator/planning/campaign.hpp"
#include "coordinator/planning/channel_step_search.hpp"
#include "coordinator/planning/estimator.hpp"

namespace {

using namespace ampere;

struct Options {
  bool simulated = false, real = false, guided_vs_random = false, curve = false, blocks = false;
  bool blocks_joint = false;  ///< --blocks splits the joint fit's error instead of the subtractive's
  std::uint32_t budget = 40;
  bool correction = false;  ///< ours: the subtractive fits corrected by the calibration models (--correction)
  int heldout = 100;       ///< simulated; real: 30 for cnn5 and 20 for the others unless --heldout
  std::string acquisition = "max-variance";
  double window = 0;                 ///< ours: one repeat's window; 0: the meter's default
  RepeatRule repeats;                ///< ours: adaptive, 3 to 10, 1%
  std::vector<std::string> protocols = {"paper", "ours"};
  std::vector<std::string> neighbour = {"off", "on"};  ///< real: campaigns quiet ("off") and/or beside a neighbour ("on")
  bool quick = false;
  bool heldout_given = false;
  int calibration = 3;  ///< whole models for the joint fit; -1: the subtractive fit only
  /// Held-out models at widths just below and just above each multiple of this block (docs/method.md
  /// §14) instead of random members; 0: random members.
  std::int64_t step_widths = 0;
  int oracle_models = 6;  ///< --real --blocks: held-out models split exactly (--oracle-models)
  int oracle_rounds = 5;  ///< --real --blocks: round-robin rounds over one model's networks (--oracle-rounds)
  int truth_processes = 3;  ///< real truth: median over this many fresh `ampere-agent measure` processes (0: in-process)
  double converged = kConvergedRelativeStd;
  std::vector<std::string> families = {"cnn5", "lenet5", "har", "lstm", "resnet", "transformer"};
  std::vector<std::string> profiles = simulated_profile_names();
};

/// Measures a variant or held-out model; returns the fitted statistic (minimum of repeats).
using MeasureFn = std::function<Measurement(const ModelSpec&, std::uint64_t seed)>;

/// How a campaign profiles and measures (docs/method.md §9).
struct Protocol {
  std::string name;
  CampaignSettings settings;  ///< budget and acquisition filled in per run
  RepeatRule repeats;
  double window_seconds = 0;  ///< 0: the meter's default
  int calibration = -1;       ///< whole models for the joint fit; -1: subtractive only
  /// How reference readings are taken when not as the jobs are (repeats, window): the oracle's
  /// one-repeat jobs take them as a campaign of ours does, so its readings share that campaign's units.
  std::optional<std::pair<RepeatRule, double>> reference;
};

/// Today's protocol at the commit before issue 10: what the paper's method looked like here.
Protocol paper_protocol() {
  Protocol p;
  p.name = "paper";
  p.settings.trend = GpTrend::None;
  p.settings.warp = GpWarp::Linear;
  p.settings.guided_factor = 3;
  p.settings.interleave = false;
  p.settings.normalize_reference = false;
  p.settings.calibration_correction = false;
  p.settings.channel_steps = ChannelStepSearch::Off;  // the paper's smooth kernels on raw channels
  p.repeats = RepeatRule::fixed(5);
  p.window_seconds = 0.2;
  return p;
}

/// A trainer's measuring function under `protocol`. With drift normalization it times the
/// reference network as an agent does (before the first job, then every 5 jobs or 60 s) and stamps
/// the reading on each result.
/// Wall seconds spent on reference readings that only the bench reads (`readings` on a protocol
/// that does not normalize): a campaign's profiling time leaves them out.
double g_bench_reference_wall = 0;
/// Wall seconds spent on the reference readings a normalizing protocol takes itself (its own cost).
double g_protocol_reference_wall = 0;

MeasureFn measuring(Trainer& trainer, const Protocol& protocol, bool readings = false) {
  static const SystemClock clock;
  auto schedule = std::make_shared<ReferenceSchedule>(clock);
  readings = readings || protocol.settings.normalize_reference;
  return [&trainer, protocol, schedule, readings](const ModelSpec& m, std::uint64_t seed) {
    JobSettings s;
    s.repeats = protocol.repeats;
    s.window_seconds = protocol.window_seconds;
    s.seed = seed;
    if (readings) {
      const auto start = std::chrono::steady_clock::now();
      refresh_reference(*schedule, [&] {
        JobSettings r = s;
        r.seed = 1;
        if (protocol.reference) std::tie(r.repeats, r.window_seconds) = *protocol.reference;
        return trainer.measure(reference_network(), r);
      });
      const double spent = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      (protocol.settings.normalize_reference ? g_protocol_reference_wall : g_bench_reference_wall) += spent;
    }
    Measurement out = trainer.measure(m, s);
    if (readings) {
      out.reference_seconds = schedule->seconds();
      out.reference_joules = schedule->joules();
      schedule->job_done();
    }
    return out;
  };
}

/// `--seed S`: the campaigns' seed, which also shifts the simulated noise and the calibration draws
/// (0: the figures of the docs).
std::uint64_t g_seed = 0;

/// Where a campaign's wall went (docs/method.md §15, item 6): seconds and jobs per part.
struct WallParts {
  double start = 0, probe = 0, guided = 0, references = 0, fits = 0, calibration = 0, joint_fit = 0;
  std::size_t start_jobs = 0, probe_jobs = 0, guided_jobs = 0, calibration_jobs = 0;
  double total() const { return start + probe + guided + references + fits + calibration + joint_fit; }
};

struct CampaignOutcome {
  WallParts parts;
  std::map<KindKey, KindModel> models;        ///< the paper's subtractive fit
  std::map<KindKey, KindModel> joint_models;  ///< the joint additive GP (empty unless asked for)
  FlopsBaseline baseline;
  std::size_t points = 0;              ///< variant networks
  std::size_t calibration_points = 0;  ///< whole models measured for the joint fit
  std::size_t repeats = 0;             ///< measured repeats over every job (the cost where wall time means nothing)
  double seconds = 0;                  ///< profiling wall (variants, and their subtractive fits)
  double joint_seconds = 0;            ///< calibration measurements and the joint fit, on top
  bool joint_chosen = false;           ///< the calibration check's choice (what a coordinator serves)
  /// With `raw` (a reference-normalized campaign): the same fits on the same measurements, not
  /// normalized — what drift normalization changed, with nothing else different.
  std::map<KindKey, KindModel> raw_models, raw_joint_models;
  bool raw_joint_chosen = false;
  bool has_raw = false;
  /// With `raw` and calibration models: the subtractive fits with §11's correction (empty: none).
  std::map<KindKey, KindModel> corrected_models;
  /// With reference readings on the results: their median over the campaign (the units the
  /// normalized fits answer in), and the FLOPs line fitted on the normalized variant seconds.
  double reference_median = std::nan("");
  FlopsBaseline normalized_baseline;
};

/// Profiles `family`; with `calibration` >= 0 also measures that many whole models of it (seeds
/// 500000+, distinct from held-out ones) and fits the joint additive GP on everything measured.
CampaignOutcome run_campaign(const ModelSpec& family, const CampaignSettings& settings, const MeasureFn& measure,
                             int calibration = -1, bool raw = false) {
  const auto start = std::chrono::steady_clock::now();
  const double reference_wall_before = g_bench_reference_wall;
  Campaign campaign(1, family, "bench", settings);
  // A shadow is fed every result the campaign gets and plans nothing; at the end one plan() with a
  // budget of 2 (every kind has more points already) finishes and fits each kind in plan order.
  std::optional<Campaign> shadow, corrected;
  const auto shadow_of = [&](std::optional<Campaign>& into, std::uint64_t id, auto&& change) {
    CampaignSettings s = settings;
    change(s);
    s.budget_per_kind = 2;
    into.emplace(id, family, "bench", s);
  };
  const auto finish_shadow = [](Campaign& c, const char* name) {
    if (!c.plan(1).empty() || !c.done()) throw std::runtime_error(std::string("bench: the ") + name + " shadow campaign did not finish");
    return c.models();
  };
  if (raw && settings.normalize_reference) shadow_of(shadow, 2, [](CampaignSettings& s) { s.normalize_reference = false; });
  if (raw && calibration >= 2 && !settings.calibration_correction)  // §11's correction, on the same measurements
    shadow_of(corrected, 3, [](CampaignSettings& s) { s.calibration_correction = true; });
  std::vector<double> flops, seconds, joules, readings;
  std::uint64_t job = 0;
  CampaignOutcome out;
  // Which jobs are start points and which quantization probes, to split the wall by part.
  std::map<KindKey, std::pair<std::vector<Channels>, std::vector<Channels>>> first_points;  // (starts, probes)
  for (const ProfileKind& kind : derive_profile_kinds(family)) {
    auto& [starts, probes] = first_points[kind.key];
    const Eigen::MatrixXd x = start_points(kind.bounds());
    for (Eigen::Index r = 0; r < x.rows(); ++r) {
      Channels c;
      for (Eigen::Index d = 0; d < x.cols(); ++d) c.push_back(static_cast<std::int64_t>(x(r, d)));
      starts.push_back(c);
    }
    if (settings.channel_steps == ChannelStepSearch::Probe) probes = step_probe_points(kind.bounds(), 10);
  }
  std::set<std::pair<std::string, Channels>> seen;
  // Measures one job; adds the protocol's reference readings to their part and returns the job's
  // own measuring wall (the bench's own readings left out).
  const auto timed_measure = [&](const ModelSpec& model, double& wall) {
    const double references_before = g_protocol_reference_wall, bench_references_before = g_bench_reference_wall;
    const auto t = std::chrono::steady_clock::now();
    Measurement m = measure(model, ++job + g_seed * 1000003);
    const double references = g_protocol_reference_wall - references_before;
    out.parts.references += references;
    wall = seconds_since(t) - references - (g_bench_reference_wall - bench_references_before);
    return m;
  };
  while (!campaign.done()) {
    auto t = std::chrono::steady_clock::now();
    const std::vector<PlannedJob> jobs = campaign.plan(1);
    out.parts.fits += seconds_since(t);
    if (jobs.empty() && !campaign.done()) throw std::runtime_error("campaign stalled");
    for (const PlannedJob& p : jobs) {
      double measuring_wall = 0;
      const Measurement m = timed_measure(p.variant, measuring_wall);
      const auto& [starts, probes] = first_points[p.kind];
      const bool first = seen.insert({p.kind.str(), p.channels}).second;
      if (first && std::find(starts.begin(), starts.end(), p.channels) != starts.end()) {
        out.parts.start += measuring_wall;
        ++out.parts.start_jobs;
      } else if (first && std::find(probes.begin(), probes.end(), p.channels) != probes.end()) {
        out.parts.probe += measuring_wall;
        ++out.parts.probe_jobs;
      } else {
        out.parts.guided += measuring_wall;
        ++out.parts.guided_jobs;
      }
      out.repeats += m.seconds_per_iteration.size();
      t = std::chrono::steady_clock::now();
      campaign.add_result(p.kind, p.channels, m);
      out.parts.fits += seconds_since(t);
      if (shadow) shadow->add_result(p.kind, p.channels, m);
      if (corrected) corrected->add_result(p.kind, p.channels, m);
      flops.push_back(model_cost(p.variant).training_flops_per_iteration);
      seconds.push_back(summarize_repeats(m.seconds_per_iteration, settings.statistic).value);
      joules.push_back(summarize_repeats(m.joules_per_iteration, settings.statistic).value);
      readings.push_back(m.reference_seconds);
    }
  }
  out.models = campaign.models();
  out.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count() -
                (g_bench_reference_wall - reference_wall_before);
  if (calibration >= 0) {
    const auto joint_start = std::chrono::steady_clock::now();
    const double reference_wall_variants = g_bench_reference_wall;
    for (int i = 0; i < calibration; ++i) {
      ModelSpec model = sample_model(family, 500000 + g_seed * 1000 + static_cast<std::uint64_t>(i));
      double measuring_wall = 0;
      const Measurement m = timed_measure(model, measuring_wall);
      out.parts.calibration += measuring_wall;
      ++out.parts.calibration_jobs;
      out.repeats += m.seconds_per_iteration.size();
      campaign.add_calibration(model, m);
      if (shadow) shadow->add_calibration(model, m);
      if (corrected) corrected->add_calibration(model, m);
    }
    out.calibration_points = static_cast<std::size_t>(calibration);
    out.models = campaign.models();  // the subtractive fits, corrected by the calibration models (§11)
    const auto fit_start = std::chrono::steady_clock::now();
    const JointFit fit = fit_joint(campaign.joint_problem());
    out.parts.joint_fit = seconds_since(fit_start);
    out.joint_models = campaign.served_joint(fit.models);  // as a coordinator serves it (interval terms)
    out.joint_chosen = fit.joint_chosen();
    out.joint_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - joint_start).count() -
                        (g_bench_reference_wall - reference_wall_variants);
  }
  if (corrected) out.corrected_models = finish_shadow(*corrected, "corrected");
  if (shadow) {
    out.raw_models = finish_shadow(*shadow, "raw");
    if (calibration >= 0) {
      const JointFit fit = fit_joint(shadow->joint_problem());
      out.raw_joint_models = shadow->served_joint(fit.models);
      out.raw_joint_chosen = fit.joint_chosen();
    }
    out.has_raw = true;
  }
  out.baseline.seconds = fit_line(flops, seconds);
  out.baseline.joules = fit_line(flops, joules);
  out.baseline.has_joules = true;
  out.reference_median = campaign.reference_median(false);
  if (out.reference_median > 0) {
    std::vector<double> normalized_seconds, normalized_joules;
    for (std::size_t i = 0; i < seconds.size(); ++i) {
      const double scale = readings[i] > 0 ? out.reference_median / readings[i] : 1.0;
      normalized_seconds.push_back(seconds[i] * scale);
      normalized_joules.push_back(joules[i] * scale);
    }
    out.normalized_baseline.seconds = fit_line(flops, normalized_seconds);
    out.normalized_baseline.joules = fit_line(flops, normalized_joules);
    out.normalized_baseline.has_joules = true;
  }
  out.points = job - out.calibration_points;
  return out;
}

struct Accuracy {
  int models = 0;
  double mape_seconds = 0, mape_joules = 0, within10 = 0, flops_mape_seconds = 0, flops_mape_joules = 0, worst = 0;
  double signed_seconds = 0;  ///< mean signed error of the time estimate (positive: estimates run high)
  double coverage90 = 0;      ///< share of truths inside the estimate's 90% interval (time)
  /// the same, the interval without its device-speed term (docs/method.md §17), and that term's
  /// relative std (the largest over the models)
  double coverage90_without_speed = 0, speed_relative_std = 0;
};

void add_error(Accuracy& a, double est_s, double est_j, double flops_s, double flops_j, double true_s, double true_j,
               double low90_s = 0, double high90_s = 0) {
  const double es = std::abs(est_s - true_s) / true_s, ej = std::abs(est_j - true_j) / true_j;
  a.coverage90 += true_s >= low90_s && true_s <= high90_s ? 1 : 0;
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
  a.coverage90 *= 100 / n;
  a.coverage90_without_speed *= 100 / n;
  a.flops_mape_seconds *= 100 / n;
  a.flops_mape_joules *= 100 / n;
  a.worst *= 100;
}

/// Held-out models at step edges (--step-widths B): a family with one free width takes every
/// multiple c of B inside its range at c and at c + 1 (model 2k at the k-th edge's c, 2k + 1 at
/// c + 1). Other families, or B = 0: random members (seeds 900000+).
std::int64_t g_step_widths = 0;
std::vector<std::int64_t> step_edges(const ModelSpec& family) {
  std::vector<std::int64_t> edges;
  const std::vector<FreeWidthSlot> slots = free_width_slots(family);
  if (g_step_widths <= 0 || slots.size() != 1) return edges;
  const ChannelRange& r = width_at(family, slots[0]);
  for (std::int64_t c = (r.min + g_step_widths - 1) / g_step_widths * g_step_widths; c + 1 <= r.max; c += g_step_widths)
    if (c >= r.min) edges.push_back(c);
  return edges;
}
ModelSpec heldout_model(const ModelSpec& family, int i) {
  ModelSpec model = sample_model(family, 900000 + static_cast<std::uint64_t>(i));
  if (g_step_widths <= 0) return model;
  const std::vector<std::int64_t> edges = step_edges(family);
  if (!edges.empty()) set_width_at(model, free_width_slots(family)[0], edges[static_cast<std::size_t>(i / 2) % edges.size()] + i % 2);
  return model;
}
/// How many held-out models: every edge's two sides when the family has one free width and
/// --step-widths is given, else `otherwise`.
int heldout_count(const ModelSpec& family, int otherwise) {
  const std::size_t edges = step_edges(family).size();
  return edges > 0 ? static_cast<int>(2 * edges) : otherwise;
}

constexpr double kZ90 = 1.6448536269514722;  ///< the 90% interval's half-width in stds, as the estimator's

/// Estimates held-out models of `family` (heldout_model) against `truth`.
Accuracy evaluate(const ModelSpec& family, const CampaignOutcome& outcome, int count,
                  const std::function<std::pair<double, double>(const ModelSpec&, int)>& truth, bool joint = false,
                  bool normalized_flops = false) {
  Estimator estimator;
  estimator.set_models("bench", joint ? outcome.joint_models : outcome.models);
  estimator.set_flops_baseline("bench", normalized_flops ? outcome.normalized_baseline : outcome.baseline);
  Accuracy a;
  for (int i = 0; i < count; ++i) {
    const ModelSpec model = heldout_model(family, i);
    const auto e = estimator.estimate(model, "bench", 1);
    const auto [true_s, true_j] = truth(model, i);
    const nlohmann::json& interval = e["seconds_per_iteration"]["interval90"];
    const double mean = e["seconds_per_iteration"]["mean"].get<double>(), std = e["seconds_per_iteration"]["std"].get<double>();
    add_error(a, mean, e["joules_per_iteration"]["mean"].get<double>(),
              e["flops_baseline"]["seconds_per_iteration"]["mean"].get<double>(),
              e["flops_baseline"]["joules_per_iteration"]["mean"].get<double>(), true_s, true_j,
              interval.at(0).get<double>(), interval.at(1).get<double>());
    // the same interval without the device's speed term: what coverage it adds, in one run
    const double speed = e["uncertainty"]["device_speed_relative_std"]["seconds"].get<double>();
    const double without = std::sqrt(std::max(0.0, std * std - mean * mean * speed * speed));
    a.coverage90_without_speed += std::abs(true_s - mean) <= kZ90 * without ? 1 : 0;
    a.speed_relative_std = std::max(a.speed_relative_std, speed);
  }
  finish(a);
  return a;
}

/// A shipped family by name, or a family file (a name ending in .json, relative to the source tree:
/// bench/data/resnet-steps.json).
ModelSpec family(const char* name) {
  const std::string text = name;
  if (text.size() > 5 && text.compare(text.size() - 5, 5, ".json") == 0)
    return load_model_spec(text.front() == '/' ? text : std::string(AMPERE_SOURCE_DIR) + "/" + text);
  return load_model_spec(std::string(AMPERE_SOURCE_DIR) + "/models/" + text + ".json");
}

GpTrend g_trend = CampaignSettings().trend;
GpWarp g_warp = CampaignSettings().warp;
bool g_work_mean = CampaignSettings().work_mean;
ChannelStepSearch g_channel_steps = CampaignSettings().channel_steps;

/// What a coordinator runs by default, with the bench's overrides (--trend, --acquisition, ...).
Protocol our_protocol(const Options& o) {
  Protocol p;
  p.name = "ours";
  p.settings.converged_relative_std = o.converged;
  p.settings.trend = g_trend;
  p.settings.warp = g_warp;
  p.settings.work_mean = g_work_mean;
  p.settings.channel_steps = g_channel_steps;
  p.settings.acquisition = parse_acquisition(o.acquisition);
  p.repeats = o.repeats;
  p.window_seconds = o.window;
  p.calibration = o.calibration;
  p.settings.calibration_correction = o.correction;
  return p;
}

std::vector<Protocol> protocols_of(const Options& o) {
  std::vector<Protocol> out;
  for (const std::string& name : o.protocols) {
    if (name == "paper") {
      out.push_back(paper_protocol());
      continue;
    }
    // ours as configured; ours-smooth and ours-steps pin the channel quantization off or on, so
    // both can run side by side in one run (docs/method.md §14)
    Protocol p = our_protocol(o);
    if (name == "ours-smooth") p.settings.channel_steps = ChannelStepSearch::Off;
    else if (name == "ours-steps") p.settings.channel_steps = ChannelStepSearch::Probe;
    else if (name != "ours") throw InputError("bench: unknown protocol '" + name + "' (known: paper, ours, ours-smooth, ours-steps)");
    p.name = name;
    out.push_back(p);
  }
  return out;
}

CampaignSettings settings_of(const Protocol& protocol, std::uint32_t budget) {
  CampaignSettings s = protocol.settings;
  s.budget_per_kind = budget;
  s.seed = g_seed;
  return s;
}

/// Where in a drifting device's time the simulated truth is read: after any campaign's jobs.
constexpr std::uint64_t kTruthJob = 1000003;

/// A simulated profile: the agent's simulated trainer (repeats as the protocol says) and the
/// device's noise-free truth.
struct SimulatedSetup {
  SimulatedDevice device;
  TrainerPtr trainer;
  std::function<std::pair<double, double>(const ModelSpec&, int)> truth;
  explicit SimulatedSetup(const std::string& name)
      : device(simulated_profile(name)), trainer(make_simulated_trainer(simulated_profile(name))) {
    truth = [this](const ModelSpec& m, int i) {
      // a training run later meets the device at another speed (a drifting profile's; 1 otherwise)
      const SimulatedCost t = device.truth(m);
      const double speed = device.speed_factor(kTruthJob + 7 * static_cast<std::uint64_t>(i));
      return std::make_pair(t.seconds * speed, t.joules * speed);
    };
  }
  MeasureFn measure(const Protocol& protocol) const { return measuring(*trainer, protocol); }
  SimulatedSetup(const SimulatedSetup&) = delete;
};

/// A campaign that spends its whole budget (no early stop), and its held-out time MAPE.
struct FullBudgetRun {
  std::size_t points = 0;
  double mape = 0;
};
FullBudgetRun run_full_budget(const SimulatedSetup& sim, const ModelSpec& fam, const Protocol& protocol,
                              std::uint32_t budget, std::uint64_t seed, int heldout) {
  CampaignSettings s = settings_of(protocol, budget);
  s.seed = seed;
  s.converged_relative_std = 0;  // spend the budget: compare points against accuracy
  const CampaignOutcome c = run_campaign(fam, s, sim.measure(protocol));
  return {c.points, evaluate(fam, c, heldout, sim.truth).mape_seconds};
}

void print_header() {
  std::printf("   (* = what a coordinator serves: the joint fit unless the calibration check prefers the subtractive)\n");
  std::printf("%-10s %-11s %-22s %6s %7s %8s %9s %8s %7s %8s %8s %8s %8s %7s%s\n", "device", "family", "protocol:estimator",
              "points", "repeats", "MAPE_t%", "signed_t%", "MAPE_E%", "in10%_t", "worst_t%", "FLOPs_t%", "FLOPs_E%", "prof_s",
              "cov90%", "");
}

/// One row per estimator: the subtractive fit on the variant networks, and (when the campaign
/// measured calibration models) the joint GP on the same networks plus those models.
void print_row(const std::string& device, const std::string& fam, const std::string& protocol, const CampaignOutcome& c,
               const Accuracy& a, bool joint, const Accuracy* normalized = nullptr) {
  const std::size_t points = c.points + (joint ? c.calibration_points : 0);
  const double seconds = c.seconds + (joint ? c.joint_seconds : 0.0);
  // * marks what a coordinator serves for a joint campaign: the calibration check's choice
  const bool served = c.calibration_points > 0 && joint == c.joint_chosen;
  const std::string label = protocol + ":" + (joint ? "joint" : "subtractive") + (served ? "*" : "");
  std::printf("%-10s %-11s %-22s %6zu %7zu %8.2f %+9.2f %8.2f %7.1f %8.1f %8.1f %8.1f %8.1f %7.1f%s\n", device.c_str(), fam.c_str(),
              label.c_str(), points, c.repeats, a.mape_seconds, a.signed_seconds, a.mape_joules, a.within10, a.worst,
              a.flops_mape_seconds, a.flops_mape_joules, seconds, a.coverage90,
              a.mape_seconds > a.flops_mape_seconds ? "  LOSES TO FLOPs" : "");
  if (a.speed_relative_std > 0)
    std::printf("%-10s %-11s %-22s   the device's speed moved by %.2f%% (reference readings' log std): cov90%% %.1f with it in the "
                "interval, %.1f without\n",
                "", "", "", 100 * a.speed_relative_std, a.coverage90, a.coverage90_without_speed);
  if (normalized)
    std::printf("%-10s %-11s %-22s   ref-normalized truth: MAPE_t %6.2f%%  signed %+6.2f%%  FLOPs_t %6.2f%%%s\n", "", "", "",
                normalized->mape_seconds, normalized->signed_seconds, normalized->flops_mape_seconds,
                normalized->mape_seconds > normalized->flops_mape_seconds ? "  LOSES TO FLOPs" : "");
}

/// A campaign's wall by part (docs/method.md §15): what each part cost, to see what it buys.
void print_parts(const std::string& protocol, const WallParts& w) {
  const double total = std::max(w.total(), 1e-9);
  const auto share = [&](double part) { return 100 * part / total; };
  std::printf("%-10s %-11s %-22s   wall by part (%.0f s): start %.0f s (%zu jobs, %.0f%%), probe %.0f s (%zu, %.0f%%), guided %.0f s "
              "(%zu, %.0f%%), reference readings %.0f s (%.0f%%), fits %.0f s (%.0f%%), calibration models %.0f s (%zu, %.0f%%), "
              "joint fit %.0f s (%.0f%%)\n",
              "", "", protocol.c_str(), total, w.start, w.start_jobs, share(w.start), w.probe, w.probe_jobs, share(w.probe), w.guided,
              w.guided_jobs, share(w.guided), w.references, share(w.references), w.fits, share(w.fits), w.calibration,
              w.calibration_jobs, share(w.calibration), w.joint_fit, share(w.joint_fit));
}

void describe(const Protocol& p, const Options& o) {
  std::printf("   %-5s %s, acquisition %s, trend %s, %s channels, %zu·d² guided before convergence, repeats %s, window %s, %s, %s\n",
              p.name.c_str(),
              p.calibration >= 0 ? (p.settings.calibration_correction ? "joint (checked) + subtractive (calibration-corrected)"
                                                                      : "joint (checked) + subtractive")
                                 : "subtractive",
              acquisition_name(p.settings.acquisition), gp_trend_name(p.settings.trend), gp_warp_name(p.settings.warp),
              p.settings.guided_factor,
              p.repeats.adaptive() ? ("3..cap " + std::to_string(p.repeats.max_repeats) + " until within " +
                                      std::to_string(p.repeats.relative_half_width * 100).substr(0, 4) + "%").c_str()
                                   : ("fixed " + std::to_string(p.repeats.min_repeats)).c_str(),
              p.window_seconds > 0 ? (std::to_string(p.window_seconds).substr(0, 4) + " s").c_str() : "the meter's",
              p.calibration >= 0 ? (std::to_string(p.calibration) + " calibration models").c_str() : "no calibration",
              p.settings.normalize_reference ? "reference-normalized" : "no reference");
  (void)o;
}

void simulated(const Options& o) {
  std::printf("\n== simulated profiles (truth = noise-free device cost; labeled simulated, not measurements)\n");
  std::printf("   budget %u per kind, %d held-out models per family; repeats = the cost here (no clock)\n", o.budget, o.heldout);
  const std::vector<Protocol> protocols = protocols_of(o);
  for (const Protocol& p : protocols) describe(p, o);
  print_header();
  for (const std::string& fam_name : o.families) {
    const ModelSpec fam = family(fam_name.c_str());
    for (const std::string& name : o.profiles) {
      const SimulatedSetup sim(name);
      for (const Protocol& p : protocols) {
        const CampaignOutcome c = run_campaign(fam, settings_of(p, o.budget), sim.measure(p), p.calibration);
        print_row("sim-" + name, fam_name, p.name, c, evaluate(fam, c, heldout_count(fam, o.heldout), sim.truth), false);
        if (p.calibration >= 0) print_row("sim-" + name, fam_name, p.name, c, evaluate(fam, c, heldout_count(fam, o.heldout), sim.truth, true), true);
      }
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
      const SimulatedSetup sim(name);
      const Protocol ours = our_protocol(o);
      const CampaignOutcome c = run_campaign(fam, settings_of(ours, o.budget), sim.measure(ours), o.blocks_joint ? o.calibration : -1);
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
        const ModelSpec model = heldout_model(fam, i);
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
        const bool dump = std::getenv("AMPERE_BLOCK_TRACE") && kind.key.str().find(std::getenv("AMPERE_BLOCK_TRACE")) != std::string::npos;
        if (dump) std::fprintf(stderr, "  gp steps %s hyper %s lml %.2f\n", channel_steps_text(gp.steps()).c_str(), gp.to_json().at("hyperparameters").dump().c_str(), gp.log_marginal_likelihood());
        for (Eigen::Index i = 0; i < gp.inputs().rows(); ++i) {
          Channels ch;
          for (std::size_t d = 0; d < gp.dimensions(); ++d) ch.push_back(static_cast<std::int64_t>(gp.inputs()(i, static_cast<Eigen::Index>(d))));
          const double truth = in_variant_truth(kind, ch);
          bias += (gp.targets()[i] - truth) / truth;
          if (dump) {
            const GpPrediction pr = gp.predict(gp.inputs().row(i));
            std::fprintf(stderr, "  point %s target %.4g truth %.4g (%+.1f%%) fit %.4g\n", nlohmann::json(ch).dump().c_str(), gp.targets()[i], truth,
                         100 * (gp.targets()[i] - truth) / truth, pr.mean[0]);
          }
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

const char* const kAcquisitions[] = {"max-variance", "max-relative-std", "estimate-variance", "random"};

/// Points each acquisition needs to reach 10% and 3% time MAPE, every family and profile; the ratio
/// to random's points is the figure the target reads (guided ≤ 0.5× random at 3%).
void guided_vs_random(const Options& o) {
  std::printf("\n== guided vs random: fewest profiled points reaching a time MAPE, %d held-out models per family\n", o.heldout);
  std::printf("   (ours, subtractive fit; budget per kind grown until reached; every budget spent in full; random: mean of 3 seeds)\n");
  std::printf("%-10s %-11s %-17s %-16s %-16s %s\n", "device", "family", "acquisition", "<= 10% MAPE", "<= 3% MAPE", "3%: x random");
  const std::vector<std::uint32_t> budgets = {4, 6, 8, 10, 12, 16, 20, 25, 30, 40, 50};
  for (const std::string& fam_name : o.families) {
    const ModelSpec fam = family(fam_name.c_str());
    for (const std::string& name : o.profiles) {
      const SimulatedSetup sim(name);
      std::map<std::string, double> at3;  // points at 3%, per acquisition
      std::vector<std::string> lines;
      for (const std::string acquisition : kAcquisitions) {
        Protocol p = our_protocol(o);
        p.settings.acquisition = parse_acquisition(acquisition);
        std::string cells[2] = {"not reached", "not reached"};
        const double thresholds[2] = {10.0, 3.0};
        for (std::uint32_t b : budgets) {
          const int seeds = acquisition == "random" ? 3 : 1;
          double points = 0, mape = 0;
          for (int seed = 0; seed < seeds; ++seed) {
            const FullBudgetRun run = run_full_budget(sim, fam, p, b, static_cast<std::uint64_t>(seed), o.heldout);
            points += static_cast<double>(run.points) / seeds;
            mape += run.mape / seeds;
          }
          for (int t = 0; t < 2; ++t)
            if (cells[t] == "not reached" && mape <= thresholds[t]) {
              char buffer[64];
              std::snprintf(buffer, sizeof buffer, "%.0f pts (%.1f%%)", points, mape);
              cells[t] = buffer;
              if (t == 1) at3[acquisition] = points;
            }
          if (cells[1] != "not reached") break;
        }
        char line[256];
        std::snprintf(line, sizeof line, "%-10s %-11s %-17s %-16s %-16s", ("sim-" + name).c_str(), fam_name.c_str(),
                      acquisition.c_str(), cells[0].c_str(), cells[1].c_str());
        lines.push_back(line);
      }
      std::size_t i = 0;
      for (const std::string acquisition : kAcquisitions) {
        const auto mine = at3.find(acquisition), random = at3.find("random");
        if (acquisition != std::string("random") && mine != at3.end() && random != at3.end())
          std::printf("%s %.2f\n", lines[i].c_str(), mine->second / random->second);
        else
          std::printf("%s %s\n", lines[i].c_str(), acquisition == std::string("random") ? "" : "-");
        ++i;
      }
      std::fflush(stdout);
    }
  }
}

/// Time MAPE against the points spent, per acquisition (budget fully spent), per family and profile.
void curve(const Options& o) {
  std::printf("\n== MAPE (time, %%) against profiled points, budget spent in full, %d held-out models\n", o.heldout);
  const std::vector<std::uint32_t> budgets = {6, 10, 15, 20, 30, 40, 60};
  for (const std::string& fam_name : o.families) {
    const ModelSpec fam = family(fam_name.c_str());
    for (const std::string& name : o.profiles) {
      const SimulatedSetup sim(name);
      for (const std::string acquisition : kAcquisitions) {
        Protocol p = our_protocol(o);
        p.settings.acquisition = parse_acquisition(acquisition);
        std::printf("sim-%-7s %-11s %-17s", name.c_str(), fam_name.c_str(), acquisition.c_str());
        for (std::uint32_t b : budgets) {
          const FullBudgetRun run = run_full_budget(sim, fam, p, b, 0, o.heldout);
          std::printf(" %4zu:%5.1f", run.points, run.mape);
        }
        std::printf("\n");
      }
    }
  }
}

/// A held-out model's truth from `ampere-agent measure --processes K` (K fresh processes, median of
/// their minimums): what the campaign's own process measures carries that process's offset.
struct ProcessTruth {
  double seconds = 0, joules = 0;
  double spread = 0;  ///< (max − min)/median over the processes
  /// The median over the processes of each one's seconds over its reference reading, taken right
  /// before the model as an agent takes it: the truth in the units of a campaign's normalized fits.
  double over_reference = 0;
  double over_reference_spread = 0;  ///< the same spread, of the ratios
};
ProcessTruth measure_in_fresh_processes(const ModelSpec& model, const Options& o) {
  const std::string agent = beside_this_binary("ampere-agent");
  const std::string file = std::filesystem::temp_directory_path() / ("bench-truth-" + std::to_string(getpid()) + ".json");
  std::ofstream(file) << to_json(model).dump();
  // The truth is measured the careful, slow way whatever the protocols: 5 repeats of >= 0.2 s.
  const std::string command = agent + " --threads 1 --meter time-surrogate --min-window 0.2 measure --model " + file +
                              " --repeats 5 --reference --processes " + std::to_string(o.truth_processes) + " 2>/dev/null";
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
  t.over_reference = j.at("seconds_over_reference").get<double>();
  if (o.truth_processes > 1) t.over_reference_spread = j.at("seconds_over_reference_spread").get<double>();
  return t;
}

/// One held-out model split exactly (OracleAdditivity).
struct OracleModel {
  std::vector<std::pair<double, double>> blocks;  ///< (seconds, over reference) per block
  double seconds = 0, over_reference = 0;         ///< their sums
  double whole_seconds = 0, whole_over_reference = 0;  ///< the model itself, measured alike
  double whole_spread = 0;  ///< (max − min)/min of the model's own readings over the rounds
  std::size_t networks = 0;  ///< the model and its variant networks
};

/// The oracle-additivity split on real measurements (--real --blocks; docs/method.md §15): every
/// block of a held-out model costed exactly, the way a campaign costs it but with no GP — its
/// variant network measured less its helpers, each costed the same way — summed, against the whole
/// model measured alike. The sum's miss is the decomposition's error; a campaign's block estimates
/// against these exact costs are its GPs' error. This machine's speed moves by tens of percent
/// over minutes, so one model's networks (the model and every variant its blocks need) are
/// measured round-robin, one repeat each per round, and each keeps its fastest round: all of them
/// see the same stretch of time. Readings carry reference readings, so a campaign's units apply.
class OracleAdditivity {
 public:
  OracleAdditivity(const ModelSpec& family, MeasureFn measure, int rounds)
      : plan_(derive_profile_kinds(family)), measure_(std::move(measure)), rounds_(rounds) {
    for (const ProfileKind& kind : plan_) kinds_[kind.key] = &kind;
  }

  /// Nothing when a block's kind is not in the family's plan.
  std::optional<OracleModel> split(const ModelSpec& model) {
    const std::vector<Block> blocks = parse_blocks(model);
    std::map<std::string, VariantNetwork> variants;
    for (const Block& b : blocks)
      if (!need(b.kind, b.channel_values(), variants)) return std::nullopt;
    std::vector<const ModelSpec*> networks = {&model};
    std::vector<std::string> names = {""};
    for (const auto& [memo, v] : variants) {
      networks.push_back(&v.model);
      names.push_back(memo);
    }
    std::vector<double> fastest(networks.size(), std::numeric_limits<double>::infinity()), references;
    double whole_slowest = 0;
    for (int r = 0; r < rounds_; ++r)
      for (std::size_t n = 0; n < networks.size(); ++n) {
        const Measurement m = measure_(*networks[n], 610000 + n);  // one seed per network: the same weights every round
        const double seconds = summarize_repeats(m.seconds_per_iteration, RepeatStatistic::Minimum).value;
        fastest[n] = std::min(fastest[n], seconds);
        if (n == 0) whole_slowest = std::max(whole_slowest, seconds);
        if (m.reference_seconds > 0) references.push_back(m.reference_seconds);
      }
    AMPERE_REQUIRE(!references.empty(), "bench: oracle: readings without reference readings");
    std::nth_element(references.begin(), references.begin() + static_cast<std::ptrdiff_t>(references.size() / 2), references.end());
    const double reference = references[references.size() / 2];
    std::map<std::string, double> measured;
    for (std::size_t n = 1; n < networks.size(); ++n) measured[names[n]] = fastest[n];
    std::map<std::string, double> exact;
    OracleModel out;
    for (const Block& b : blocks) {
      const double seconds = cost(b.kind, b.channel_values(), variants, measured, exact);
      out.blocks.emplace_back(seconds, seconds / reference);
      out.seconds += seconds;
    }
    out.over_reference = out.seconds / reference;
    out.whole_seconds = fastest[0];
    out.whole_over_reference = fastest[0] / reference;
    out.whole_spread = whole_slowest / fastest[0] - 1;
    out.networks = networks.size();
    return out;
  }

 private:
  static std::string memo_of(const KindKey& key, const Channels& channels) { return key.str() + nlohmann::json(channels).dump(); }

  /// Collects the variant network of (key, channels) and, recursively, its helpers'.
  bool need(const KindKey& key, const Channels& channels, std::map<std::string, VariantNetwork>& variants) const {
    const auto kind = kinds_.find(key);
    if (kind == kinds_.end()) return false;
    const std::string memo = memo_of(key, channels);
    if (variants.count(memo) > 0) return true;
    const VariantNetwork v = variant_network(*kind->second, channels, plan_);
    variants.emplace(memo, v);
    for (const auto& [helper, at] : v.subtract)
      AMPERE_REQUIRE(need(helper, at, variants), "bench: oracle: helper kind not in the plan: ", helper.str());
    return true;
  }

  /// The exact cost: the variant measured, less its helpers' exact costs.
  double cost(const KindKey& key, const Channels& channels, const std::map<std::string, VariantNetwork>& variants,
              const std::map<std::string, double>& measured, std::map<std::string, double>& exact) const {
    const std::string memo = memo_of(key, channels);
    const auto known = exact.find(memo);
    if (known != exact.end()) return known->second;
    double seconds = measured.at(memo);
    for (const auto& [helper, at] : variants.at(memo).subtract) seconds -= cost(helper, at, variants, measured, exact);
    return exact[memo] = seconds;
  }

  std::vector<ProfileKind> plan_;
  std::map<KindKey, const ProfileKind*> kinds_;
  MeasureFn measure_;
  int rounds_;
};

/// An interfering neighbour on the other core: streams through 2 × 64 MiB (memory bandwidth and
/// the shared cache) for 2 s, sleeps 2 s, again, until destroyed. The bench stays on core 0.
class Neighbour {
 public:
  Neighbour() {
    pid_ = fork();
    AMPERE_REQUIRE(pid_ >= 0, "bench: cannot start the neighbour process");
    if (pid_ > 0) return;
    prctl(PR_SET_PDEATHSIG, SIGKILL);  // never outlives the bench
    const long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpus > 1 ? 1 : 0, &set);
    sched_setaffinity(0, sizeof set, &set);
    std::vector<char> a(64u << 20, 1), b(64u << 20, 2);
    for (;;) {
      const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(2);
      while (std::chrono::steady_clock::now() < until) {
        std::memcpy(b.data(), a.data(), a.size());
        std::swap(a, b);
      }
      std::this_thread::sleep_for(std::chrono::seconds(2));
    }
  }
  ~Neighbour() {
    kill(pid_, SIGKILL);
    waitpid(pid_, nullptr, 0);
  }
  Neighbour(const Neighbour&) = delete;
  Neighbour& operator=(const Neighbour&) = delete;

 private:
  pid_t pid_ = -1;
};


/// The split of a campaign's error over `oracle` (--real --blocks): its block estimates against the
/// exact block costs (the GPs' error, per kind and per model), and its model estimates against the
/// models measured alike with the exact costs. In the campaign's reference units where it has them.
void print_split(const ModelSpec& family, const CampaignOutcome& c, bool joint, const std::string& label,
                 const std::vector<OracleModel>& oracle) {
  Estimator estimator;
  estimator.set_models("bench", joint ? c.joint_models : c.models);
  const bool normalized = c.reference_median > 0;
  const auto in_units = [&](double seconds, double over_reference) { return normalized ? over_reference * c.reference_median : seconds; };
  struct Sum { int n = 0; double signed_block = 0, abs_block = 0, signed_model = 0; };
  std::map<std::string, Sum> per_kind;
  double gp_abs = 0, gp_signed = 0, total_abs = 0, total_signed = 0;
  int models = 0;
  for (std::size_t i = 0; i < oracle.size(); ++i) {
    if (oracle[i].blocks.empty()) continue;
    const ModelSpec model = heldout_model(family, static_cast<int>(i));
    const nlohmann::json e = estimator.estimate(model, "bench", 1);
    const std::vector<Block> blocks = parse_blocks(model);
    const double exact_sum = in_units(oracle[i].seconds, oracle[i].over_reference);
    double estimate_sum = 0;
    for (std::size_t b = 0; b < blocks.size(); ++b) {
      const double exact = in_units(oracle[i].blocks[b].first, oracle[i].blocks[b].second);
      const double est = e["blocks"][b]["seconds_per_iteration"]["mean"].get<double>();
      estimate_sum += est;
      Sum& sum = per_kind[blocks[b].kind.str()];
      sum.n++;
      sum.signed_block += (est - exact) / std::abs(exact);
      sum.abs_block += std::abs(est - exact) / std::abs(exact);
      sum.signed_model += (est - exact) / exact_sum;
    }
    gp_abs += std::abs(estimate_sum / exact_sum - 1);
    gp_signed += estimate_sum / exact_sum - 1;
    const double whole = in_units(oracle[i].whole_seconds, oracle[i].whole_over_reference);
    total_abs += std::abs(estimate_sum / whole - 1);
    total_signed += estimate_sum / whole - 1;
    ++models;
  }
  if (models == 0) return;
  std::printf("%-10s %-11s %-22s   split (%s units, %d models): estimate vs exact blocks (GPs) MAPE %6.2f%% signed %+6.2f%%; "
              "vs the models measured alike MAPE %6.2f%% signed %+6.2f%%; per kind:\n",
              "", "", label.c_str(), normalized ? "reference" : "seconds", models, 100 * gp_abs / models, 100 * gp_signed / models,
              100 * total_abs / models, 100 * total_signed / models);
  std::printf("%-10s   %8s %8s %9s %5s  kind\n", "", "signed%", "abs%", "ofmodel%", "n");
  for (const auto& [key, sum] : per_kind)
    std::printf("%-10s   %+8.2f %8.2f %+9.2f %5d  %s\n", "", 100 * sum.signed_block / sum.n, 100 * sum.abs_block / sum.n,
                100 * sum.signed_model / models, sum.n, key.c_str());
}

void real(const Options& o) {
  std::printf("\n== real LibTorch on this machine, 1 thread on core 0, allocator pinned, energy = time surrogate (10 W): "
              "time accuracy only\n   budget %u per kind; truth: 5 repeats of >= 0.2 s, median of %d fresh processes\n",
              o.budget, o.truth_processes);
  const std::vector<Protocol> protocols = protocols_of(o);
  for (const Protocol& p : protocols) describe(p, o);
  std::printf("   local-cpu: quiet; local+nb: beside a memory-bandwidth neighbour on core 1 (2 s on, 2 s off)\n");
  std::printf("   ours-raw: ours' own measurements fitted again without drift normalization (what normalization changed)\n"
              "   ours-corr: ours' subtractive fits with the calibration correction (docs/method.md §11), same measurements\n");
  print_header();
  cpu_set_t core0;
  CPU_ZERO(&core0);
  CPU_SET(0, &core0);
  sched_setaffinity(0, sizeof core0, &core0);  // the neighbour, when it runs, gets the other core
  // One long-lived trainer process, as an agent has.
  TrainerProcessConfig trainer_config;
  trainer_config.command = {beside_this_binary("ampere-trainer"), "serve", "--threads", "1"};
  TrainerPtr trainer = std::make_unique<TrainerProcess>(trainer_config, [](const TrainerInfo&) { return make_time_surrogate_meter(10.0); });
  for (const std::string& name : o.families) {
    const ModelSpec fam = family(name.c_str());
    const int count = heldout_count(fam, o.quick ? 10 : o.heldout_given ? o.heldout : name == "cnn5" ? 30 : 20);
    double pass_error = 0, ratio_error = 0;
    std::vector<std::pair<double, double>> truths;  // measured once, quiet; scored against every run
    std::vector<double> over_reference;              // each truth over its processes' reference readings
    const MeasureFn measure = measuring(*trainer, paper_protocol());  // in-process truth (--truth-processes 0)
    for (int i = 0; i < count; ++i) {
      const ModelSpec m = heldout_model(fam, i);
      if (o.truth_processes > 0) {
        const ProcessTruth t = measure_in_fresh_processes(m, o);
        pass_error += t.spread;
        ratio_error += t.over_reference_spread;
        truths.emplace_back(t.seconds, t.joules);
        over_reference.push_back(t.over_reference);
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
    std::vector<OracleModel> oracle;  // --blocks: each held-out model's exact block costs
    if (o.blocks) {
      Protocol oracle_protocol = paper_protocol();  // >= 0.2 s windows, one repeat per round
      oracle_protocol.repeats = RepeatRule::fixed(1);
      const Protocol ours = our_protocol(o);  // reference readings as ours takes them: its units
      oracle_protocol.reference = std::make_pair(ours.repeats, ours.window_seconds);
      OracleAdditivity additivity(fam, measuring(*trainer, oracle_protocol, true), o.oracle_rounds);
      double abs_raw = 0, signed_raw = 0, worst = 0;
      int n = 0;
      std::size_t networks = 0;
      const auto start = std::chrono::steady_clock::now();
      for (int i = 0; i < std::min(count, o.oracle_models); ++i) {
        const std::optional<OracleModel> om = additivity.split(heldout_model(fam, i));
        oracle.push_back(om.value_or(OracleModel{}));
        if (!om) continue;
        const double miss = om->seconds / om->whole_seconds - 1;
        abs_raw += std::abs(miss), signed_raw += miss, ++n;
        worst = std::max(worst, std::abs(miss));
        networks += om->networks;
        std::printf("%-10s %-11s oracle model %d: %zu blocks, %zu networks; exact sum %.4g s vs the model %.4g s: %+.1f%% "
                    "(the model's own spread over %d rounds %.1f%%; fresh-process truth %.4g s)\n", "", name.c_str(), i, om->blocks.size(),
                    om->networks, om->seconds, om->whole_seconds, 100 * miss, o.oracle_rounds, 100 * om->whole_spread,
                    truths[static_cast<std::size_t>(i)].first);
        std::fflush(stdout);
      }
      std::printf("%-10s %-11s oracle additivity (exact block costs summed vs the whole model, measured alike round-robin, no GP): "
                  "MAPE %.2f%% signed %+.2f%% worst %.1f%% over %d models; %zu networks, %.0f s\n",
                  "local-cpu", name.c_str(), 100 * abs_raw / std::max(1, n), 100 * signed_raw / std::max(1, n), 100 * worst, n, networks,
                  seconds_since(start));
      std::fflush(stdout);
    }
    for (const std::string& condition : o.neighbour) {
      for (const Protocol& p : protocols) {
        std::unique_ptr<Neighbour> neighbour;
        if (condition == "on") neighbour = std::make_unique<Neighbour>();
        // readings on every protocol's results, so that each can also be scored in its own campaign's units
        const CampaignOutcome c = run_campaign(fam, settings_of(p, o.budget), measuring(*trainer, p, true), p.calibration, true);
        neighbour.reset();
        const std::string device = condition == "on" ? "local+nb" : "local-cpu";
        // The truth moved into the campaign's units: each model's seconds over the reference reading
        // taken beside it in its truth processes, times the campaign's median reading. What is left
        // is the estimator's error without the machine's change of speed between campaign and truth.
        const bool normalizable = c.reference_median > 0 && over_reference.size() == truths.size();
        const auto normalized_truth = [&](const ModelSpec&, int i) {
          const auto [s, j] = truths[static_cast<std::size_t>(i)];
          const double moved = over_reference[static_cast<std::size_t>(i)] * c.reference_median;
          return std::make_pair(moved, j * moved / s);
        };
        const auto row = [&](const std::string& protocol, const CampaignOutcome& outcome, bool joint) {
          const Accuracy normalized = normalizable ? evaluate(fam, outcome, count, normalized_truth, joint, true) : Accuracy{};
          print_row(device, name, protocol, outcome, evaluate(fam, outcome, count, truth, joint), joint,
                    normalizable ? &normalized : nullptr);
          if (!oracle.empty()) print_split(fam, outcome, joint, protocol + (joint ? ":joint" : ":subtractive"), oracle);
        };
        row(p.name, c, false);
        if (p.calibration >= 0) row(p.name, c, true);
        print_parts(p.name, c.parts);
        if (!c.corrected_models.empty()) {  // the same campaign's subtractive fits with §11's correction
          CampaignOutcome corrected = c;
          corrected.models = c.corrected_models;
          corrected.calibration_points = 0;  // no served mark: a side-by-side row
          row(p.name + "-corr", corrected, false);
        }
        if (c.has_raw) {  // the same campaign's fits without drift normalization
          CampaignOutcome raw = c;
          raw.models = c.raw_models;
          raw.joint_models = c.raw_joint_models;
          raw.joint_chosen = c.raw_joint_chosen;
          row(p.name + "-raw", raw, false);
          if (p.calibration >= 0) row(p.name + "-raw", raw, true);
        }
        std::fflush(stdout);
      }
    }
    if (o.truth_processes > 0)
      std::printf("%-10s %-8s truth: median of %d fresh processes each; their spread (noise floor): %.2f%% over %d models\n", "",
                  name.c_str(), o.truth_processes, 100 * pass_error / count, count);
    if (o.truth_processes > 1)
      std::printf("%-10s %-8s ref-normalized truth: the spread of each process's seconds over its reference reading: %.2f%%\n", "",
                  name.c_str(), 100 * ratio_error / count);
    if (o.truth_processes <= 0)
      std::printf("%-10s %-8s truth in the bench's process; pass-to-pass error (noise floor): %.2f%% over %d models\n", "",
                  name.c_str(), 100 * pass_error / count, count);
  }
}

}  // namespace

int main(int argc, char** argv) {
  // The trainer process pins its own allocator (agent/trainer/allocator.hpp).
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
    else if (a == "--seed") g_seed = std::stoull(next());
    else if (a == "--budget") o.budget = static_cast<std::uint32_t>(std::stoul(next()));
    else if (a == "--heldout") o.heldout = std::stoi(next()), o.heldout_given = true;
    else if (a == "--acquisition") o.acquisition = next();
    else if (a == "--window") o.window = std::stod(next());
    else if (a == "--converged") o.converged = std::stod(next());
    else if (a == "--repeats") o.repeats = RepeatRule::fixed(static_cast<std::uint32_t>(std::stoul(next())));
    else if (a == "--repeat-cap") o.repeats.max_repeats = static_cast<std::uint32_t>(std::stoul(next()));
    else if (a == "--quick") o.quick = true;
    else if (a == "--calibration") o.calibration = std::stoi(next());
    else if (a == "--subtractive-only") o.calibration = -1;
    else if (a == "--correction") o.correction = true;
    else if (a == "--oracle-models") o.oracle_models = std::stoi(next());
    else if (a == "--oracle-rounds") o.oracle_rounds = std::stoi(next());
    else if (a == "--truth-processes") o.truth_processes = std::stoi(next());
    else if (a == "--trend") g_trend = parse_gp_trend(next());
    else if (a == "--warp") g_warp = parse_gp_warp(next());
    else if (a == "--no-work-mean") g_work_mean = false;
    else if (a == "--channel-steps") g_channel_steps = parse_channel_step_search(next());
    else if (a == "--step-widths") g_step_widths = std::stoll(next());
    else if (a == "--families" || a == "--profiles" || a == "--protocol" || a == "--neighbour") {
      std::vector<std::string>& list = a == "--families" ? o.families : a == "--profiles" ? o.profiles
                                       : a == "--protocol" ? o.protocols : o.neighbour;
      list.clear();
      std::string text = next(), item;
      for (std::stringstream in(text); std::getline(in, item, ',');) list.push_back(item);
    }
    else {
      std::fprintf(stderr, "usage: bench_accuracy [--simulated] [--real] [--guided-vs-random] [--curve] [--blocks] [--blocks-joint] [--budget N]\n"
                           "                      [--heldout N] [--acquisition A] [--window S (ours; 0: the meter's)] [--repeats R (ours: fixed R)]\n"
                           "                      [--protocol paper,ours] [--neighbour off,on (real)] [--quick (real: 10 held-out)]\n"
                           "                      [--calibration N (whole models for the joint fit, 3)] [--subtractive-only] [--correction] [--seed S]\n"
                           "                      [--trend none|quadratic (the kernels' trend; none is the paper's)] [--no-work-mean]\n"
                           "                      [--warp linear|log (how channels enter the kernels; linear is the paper's)]\n"
                           "                      [--channel-steps off|probe (ours: look for each kind's channel quantization)]\n"
                           "                      [--protocol paper,ours,ours-smooth,ours-steps] [--step-widths B (held-out widths at both sides of multiples of B)]\n"
                           "                      [--oracle-models N (--real --blocks: held-out models split exactly, 6)] [--oracle-rounds R (5)]\n"
                           "                      [--truth-processes K (real truth: median of K fresh processes, 3; 0: in-process)]\n"
                           "                      [--families cnn5,lenet5,har,lstm,resnet,transformer] [--profiles oppo,server]\n");
      return 2;
    }
  }
  if (o.oracle_models < 1 || o.oracle_rounds < 1) {
    std::fprintf(stderr, "error: --oracle-models and --oracle-rounds must be at least 1, got %d and %d\n", o.oracle_models, o.oracle_rounds);
    return 2;
  }
  if (!o.simulated && !o.real && !o.guided_vs_random && !o.curve && !o.blocks) o.simulated = o.guided_vs_random = true;
  std::string command = "build/bin/bench_accuracy";
  for (int i = 1; i < argc; ++i) command += std::string(" ") + argv[i];
  try {
    if (o.simulated) simulated(o);
    if (o.guided_vs_random) guided_vs_random(o);
    if (o.curve) curve(o);
    if (o.blocks && !o.real) block_errors(o);
    if (o.real) real(o);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
  std::printf("\nreproduce: %s   (or ./run bench accuracy)\n", command.c_str());
  return 0;
}
