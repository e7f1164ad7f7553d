// bench/byom (docs/byom.md §5): bring-your-own-model on real torchvision architectures, on this
// machine, with LibTorch through ampere-trainer. For each architecture:
//   1. export it to ONNX (scripts/export-torchvision.py: random weights, exported for training),
//      import it (model_import) and make the family of its free widths (min fraction 0.25);
//   2. profile the family here (a campaign, our protocol, time-surrogate meter: time accuracy only),
//      measure --calibration whole members and fit the joint model, served when its check chooses it
//      (as a coordinator does; the subtractive fits are scored beside);
//   3. estimate the original and 10 random members with AMPERE and the FLOPs line, measure each
//      here through ampere-trainer (what `ampere-agent measure` does), and measure the original in
//      PyTorch itself (scripts/measure-torchvision.py) to check the reconstruction;
//   4. plan a 50% time budget (docs/method.md §13), measure the planned model and the
//      FLOPs-proportional one, and print how far each lands from the budget.
// Prints its figures; not a test. Usage:
//   bench_byom [--models resnet18,mobilenet_v2,resnet50] [--size 32] [--budget 12] [--pruned 10]
//              [--fraction 0.5] [--calibration 4] [--normalize on|off] [--allocator pinned|glibc] [--out DIR]
// --allocator: the trainer's (docs/method.md §16); PyTorch's own side always runs as a plain
// process does (glibc's defaults): the user's truth.
#include <sched.h>
#include <stdlib.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "bench/bench_support.hpp"
#include "agent/meters/meter.hpp"
#include "agent/reference_network.hpp"
#include "agent/run_command.hpp"
#include "agent/trainer_process.hpp"
#include "common/comma_list.hpp"
#include "common/error.hpp"
#include "common/layer_parser.hpp"
#include "common/layer_shapes.hpp"
#include "common/model_family.hpp"
#include "common/repeat_rule.hpp"
#include "coordinator/planning/campaign.hpp"
#include "coordinator/planning/estimator.hpp"
#include "coordinator/planning/flops_baseline.hpp"
#include "coordinator/planning/pruning_planner.hpp"
#include "model_import/onnx_import.hpp"

using namespace ampere;
using nlohmann::json;

namespace {

struct Options {
  std::vector<std::string> models{"resnet18", "mobilenet_v2", "resnet50"};
  int size = 32;
  std::uint32_t budget = 12;
  int pruned = 10;
  double fraction = 0.5;
  int calibration = 4;  ///< whole members measured for the joint fit (a coordinator's default is 3)
  bool normalize = true;  ///< drift normalization by the reference readings (the coordinator's default)
  std::string allocator = "pinned";  ///< ampere-trainer --allocator
  std::string out = "/tmp/ampere-bench-byom";
};

std::string run_or_fail(const std::vector<std::string>& command) {
  const auto [status, output] = run_command(command, false);  // stdout only: the scripts print JSON there
  if (status != 0) {
    std::string line;
    for (const auto& c : command) line += c + " ";
    throw std::runtime_error("bench: " + line + "failed (" + std::to_string(status) + "): " + output);
  }
  return output;
}

/// The protocol the models are measured with (whole models and variant networks alike).
JobSettings measuring(std::uint64_t seed) {
  JobSettings s;
  s.warmup = 3;
  s.repeats = RepeatRule::fixed(5);
  s.window_seconds = 0.2;
  s.seed = seed;
  return s;
}

double minimum_seconds(const Measurement& m) { return summarize_repeats(m.seconds_per_iteration, RepeatStatistic::Minimum).value; }

/// Measures through the trainer with the reference network timed beside (docs/method.md §5), as an
/// agent does: before the first job, then every 5 jobs or 60 s, and always before a whole model
/// that is scored (its truth). This machine is shared: its speed moves by 10-20% over minutes.
class ReferencedTrainer {
 public:
  explicit ReferencedTrainer(Trainer& trainer) : trainer_(trainer), schedule_(clock_) {}
  Measurement measure(const ModelSpec& model, std::uint64_t seed, bool fresh_reading = false) {
    if (fresh_reading || schedule_.due())
      refresh_reference(schedule_, [&] { return trainer_.measure(reference_network(), measuring(1)); });
    Measurement out = trainer_.measure(model, measuring(seed));
    out.reference_seconds = schedule_.seconds();
    out.reference_joules = schedule_.joules();
    schedule_.job_done();
    return out;
  }
  /// A truth: the model's minimum seconds and the reading taken just before it.
  std::pair<double, double> with_reading(const ModelSpec& model, std::uint64_t seed) {
    const Measurement m = measure(model, seed, true);
    return {minimum_seconds(m), m.reference_seconds};
  }

 private:
  Trainer& trainer_;
  SystemClock clock_;
  ReferenceSchedule schedule_;
};

struct Scored {
  std::string name;
  double measured = 0, ampere = 0, flops = 0, subtractive = 0;
};

void run_architecture(const std::string& name, const Options& o, Trainer& raw_trainer) {
  ReferencedTrainer trainer(raw_trainer);
  std::printf("\n== %s (3x%dx%d, batch 8, 10 classes)\n", name.c_str(), o.size, o.size);
  std::fflush(stdout);
  const std::string python = "/usr/bin/python3";
  const std::string scripts = std::string(AMPERE_SOURCE_DIR) + "/scripts/";
  run_or_fail({python, scripts + "export-torchvision.py", o.out, "--models", name, "--size", std::to_string(o.size)});
  const ModelSpec model = import_onnx_file(o.out + "/" + name + ".onnx");
  const ModelSpec family = free_widths_family(model, 0.25);
  std::printf("   imported: %zu layers, %lld parameters; family: %zu free widths, %zu kinds to profile\n", model.layers.size(),
              static_cast<long long>(model_cost(model).parameters), free_width_count(family), derive_profile_kinds(family).size());

  // 2. profile the family
  CampaignSettings settings;
  settings.budget_per_kind = o.budget;
  // drift normalization (the coordinator's default; --normalize off: raw seconds throughout)
  settings.normalize_reference = o.normalize;
  const auto profiling_start = std::chrono::steady_clock::now();
  Campaign campaign(1, family, "bench", settings);
  std::vector<std::pair<ModelSpec, Measurement>> variants;  // for the FLOPs line, normalized at the end
  std::uint64_t job = 0;
  std::size_t points = 0;
  while (!campaign.done()) {
    const std::vector<PlannedJob> jobs = campaign.plan(1);
    if (jobs.empty() && !campaign.done()) throw std::runtime_error("bench: campaign stalled");
    for (const PlannedJob& p : jobs) {
      const Measurement m = trainer.measure(p.variant, ++job);
      campaign.add_result(p.kind, p.channels, m);
      variants.emplace_back(p.variant, m);
      ++points;
    }
  }
  // What a coordinator serves (docs/method.md §8): the joint fit on the variant networks and a
  // few whole members (calibration models), when its check on them chooses it; else the
  // subtractive fits. Both are scored.
  const std::map<KindKey, KindModel> subtractive = campaign.models();
  for (int i = 0; i < o.calibration; ++i) {
    const ModelSpec member = sample_model(family, 500000 + static_cast<std::uint64_t>(i));
    campaign.add_calibration(member, trainer.measure(member, ++job));
  }
  const JointFit joint = fit_joint(campaign.joint_problem());
  // Everything scored is moved into the campaign's units: seconds over the reading beside, times
  // the campaign's median reading (the FLOPs line is fitted on its variants moved the same way).
  const double median = o.normalize ? campaign.reference_median(false) : 1.0;
  auto in_units = [&](double seconds, double reading) { return o.normalize ? seconds / reading * median : seconds; };
  FlopsBaselineBuilder flops;
  for (auto [variant, m] : variants) {
    for (double& v : m.seconds_per_iteration) v = in_units(v, m.reference_seconds);
    flops.add("bench", variant, m);
  }
  Estimator estimator, subtractive_estimator;
  estimator.set_models("bench", joint.joint_chosen() ? joint.models : subtractive);
  subtractive_estimator.set_models("bench", subtractive);
  if (const auto line = flops.baseline("bench")) {
    estimator.set_flops_baseline("bench", *line);
    subtractive_estimator.set_flops_baseline("bench", *line);
  }
  const double profiling = seconds_since(profiling_start);
  std::printf("   profiling: %zu variant networks + %d calibration members, %.0f s wall; served: %s (check on the "
              "calibration members: joint %.1f%%, subtractive %.1f%%)\n",
              points, o.calibration, profiling, joint.joint_chosen() ? "joint" : "subtractive", joint.joint_check_mape,
              joint.subtractive_check_mape);
  std::fflush(stdout);

  // 3. the original and random members: estimated, measured here
  std::vector<Scored> scored;
  auto score = [&](const ModelSpec& m, const std::string& label, std::uint64_t seed) {
    const json e = estimator.estimate(m, "bench", 1);
    const auto [truth, reading] = trainer.with_reading(m, seed);
    Scored s{label, in_units(truth, reading), e.at("seconds_per_iteration").at("mean").get<double>(),
             e.at("flops_baseline").at("seconds_per_iteration").at("mean").get<double>(),
             subtractive_estimator.estimate(m, "bench", 1).at("seconds_per_iteration").at("mean").get<double>()};
    scored.push_back(s);
    std::printf("   %-12s measured %8.4f s  AMPERE %8.4f s (%+6.1f%%; subtractive %+6.1f%%)  FLOPs line %8.4f s (%+6.1f%%)\n",
                label.c_str(), s.measured, s.ampere, 100 * (s.ampere / s.measured - 1), 100 * (s.subtractive / s.measured - 1),
                s.flops, 100 * (s.flops / s.measured - 1));
    std::fflush(stdout);
  };
  score(model, "original", 4242);
  for (int i = 0; i < o.pruned; ++i) score(sample_model(family, 31000 + static_cast<std::uint64_t>(i)), "member " + std::to_string(i), 4300 + i);
  double ampere_ape = 0, flops_ape = 0, subtractive_ape = 0;
  for (const Scored& s : scored) {
    ampere_ape += std::abs(s.ampere / s.measured - 1);
    flops_ape += std::abs(s.flops / s.measured - 1);
    subtractive_ape += std::abs(s.subtractive / s.measured - 1);
  }
  ampere_ape /= static_cast<double>(scored.size());
  flops_ape /= static_cast<double>(scored.size());
  subtractive_ape /= static_cast<double>(scored.size());

  // the original in PyTorch itself: our reconstruction against the real thing
  const json reference = json::parse(run_or_fail({python, scripts + "measure-torchvision.py", name, "--size", std::to_string(o.size)}));
  const double pytorch = reference.at("minimum").get<double>();
  const auto [ours_beside, reading_beside] = trainer.with_reading(model, 4343);  // right after it, raw seconds both
  // the original's estimate in raw seconds of that moment: campaign units over the median reading, times the reading beside
  const double to_raw = o.normalize ? reading_beside / median : 1.0;
  const double ampere_raw = scored.front().ampere * to_raw, flops_raw = scored.front().flops * to_raw;

  // 4. plan the budget, measure the plan and the FLOPs-proportional one
  PruneRequest request;
  request.model = model;
  request.device_class = "bench";
  request.budget_kind = PruneBudgetKind::Fraction;
  request.budget = o.fraction;
  request.by_energy = false;
  const auto plan_start = std::chrono::steady_clock::now();
  const json plan = plan_prune(estimator, request);
  const double planning = seconds_since(plan_start);
  const double budget = plan.at("budget").at("seconds").get<double>();
  const std::string chosen = plan.at("chosen");
  const auto scored_truth = [&](const ModelSpec& m, std::uint64_t seed) {
    const auto [truth, reading] = trainer.with_reading(m, seed);
    return in_units(truth, reading);
  };
  const double planned = scored_truth(parse_model_spec(plan.at("plans").at(chosen).at("model")), 5100);
  const double flops_planned = scored_truth(parse_model_spec(plan.at("flops_proportional").at("model")), 5200);
  // The original again, right beside them: what each plan keeps of the original's measured time.
  const double original_now = scored_truth(model, 5300);
  const double kept = plan.at("plans").at(chosen).at("parameters").get<double>() / plan.at("original").at("parameters").get<double>();

  std::printf("-- %s summary\n", name.c_str());
  std::printf("   time MAPE over the original and %d members: AMPERE (served: %s) %.1f%%, FLOPs line %.1f%% (%.1fx lower)  "
              "[target <= 6%%, >= 3x]; subtractive alone %.1f%%\n",
              o.pruned, joint.joint_chosen() ? "joint" : "subtractive", 100 * ampere_ape, 100 * flops_ape, flops_ape / ampere_ape,
              100 * subtractive_ape);
  std::printf("   profiling: %zu points + %d calibration members, %.0f s wall; planning: %zu estimates, %.2f s\n", points,
              o.calibration, profiling,
              plan.at("estimates_evaluated").get<std::size_t>(), planning);
  std::printf("   reconstruction: PyTorch's own %s %.4f s/iteration, the imported spec through ampere-trainer right after it "
              "%.4f s (%+.1f%%); raw seconds, not normalized\n",
              name.c_str(), pytorch, ours_beside, 100 * (ours_beside / pytorch - 1));
  std::printf("   the original's estimate against PyTorch's own training of it (%s trainer): AMPERE %.4f s (%+.1f%%), FLOPs line "
              "%.4f s (%+.1f%%)  [target within 8%%, better than the FLOPs line]\n",
              o.allocator.c_str(), ampere_raw, 100 * (ampere_raw / pytorch - 1), flops_raw, 100 * (flops_raw / pytorch - 1));
  std::printf("   plan at %.0f%% of its estimate (%.4f s): %s keeps %.1f%% of the parameters, measured %.4f s: %+.1f%% from the "
              "budget  [target within 5%%]\n",
              100 * o.fraction, budget, chosen.c_str(), 100 * kept, planned, 100 * (planned / budget - 1));
  std::printf("   FLOPs-proportional (x%.3f): AMPERE said %+.1f%%, measured %.4f s: %+.1f%% from the budget\n",
              plan.at("flops_proportional").at("multiplier").get<double>(), 100 * plan.at("flops_proportional").at("miss").get<double>(),
              flops_planned, 100 * (flops_planned / budget - 1));
  std::printf("   against the original measured again beside them (%.4f s, %+.1f%% from its first measurement): the plan keeps "
              "%.1f%% of its time, FLOPs-proportional %.1f%% (asked: %.0f%% of the estimate, %.1f%% of the measured original)\n",
              original_now, 100 * (original_now / scored.front().measured - 1), 100 * planned / original_now,
              100 * flops_planned / original_now, 100 * o.fraction, 100 * budget / original_now);
  std::fflush(stdout);
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) throw InputError(a + " needs a value");
      return argv[++i];
    };
    if (a == "--models") o.models = split_comma_list(value());
    else if (a == "--size") o.size = std::stoi(value());
    else if (a == "--budget") o.budget = static_cast<std::uint32_t>(std::stoul(value()));
    else if (a == "--pruned") o.pruned = std::stoi(value());
    else if (a == "--fraction") o.fraction = std::stod(value());
    else if (a == "--calibration") o.calibration = std::stoi(value());
    else if (a == "--normalize") o.normalize = value() != "off";
    else if (a == "--allocator") o.allocator = value();
    else if (a == "--out") o.out = value();
    else {
      std::fprintf(stderr, "usage: bench_byom [--models resnet18,mobilenet_v2,resnet50] [--size 32] [--budget 12] [--pruned 10] "
                           "[--fraction 0.5] [--calibration 4] [--normalize on|off] [--allocator pinned|glibc] [--out DIR]\n");
      return 2;
    }
  }
  try {
    std::filesystem::create_directories(o.out);
    setenv("PYTHONWARNINGS", "ignore", 1);  // torch.onnx's export warnings are not this bench's figures
    cpu_set_t core0;  // one core for the trainer and PyTorch alike (children inherit it)
    CPU_ZERO(&core0);
    CPU_SET(0, &core0);
    sched_setaffinity(0, sizeof core0, &core0);
    std::printf("bench_byom: LibTorch through ampere-trainer (allocator %s), 1 thread on core 0; energy = time surrogate (time accuracy "
                "only); budget %u points per kind; measured: min of 5 repeats of >= 0.2 s; %s\n",
                o.allocator.c_str(), o.budget, o.normalize ? "drift-normalized: every figure in the campaign's units (seconds over the reference "
                                        "reading beside, times the campaign's median reading)"
                                      : "raw seconds (--normalize off)");
    TrainerProcessConfig config;
    config.command = {beside_this_binary("ampere-trainer"), "serve", "--threads", "1", "--allocator", o.allocator};
    TrainerPtr trainer = std::make_unique<TrainerProcess>(config, [](const TrainerInfo&) { return make_time_surrogate_meter(10.0); });
    for (const std::string& name : o.models) run_architecture(name, o, *trainer);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "bench_byom: %s\n", e.what());
    return 1;
  }
  return 0;
}
