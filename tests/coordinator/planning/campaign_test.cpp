#include "coordinator/planning/campaign.hpp"

#include <algorithm>
#include <cmath>
#include <filesystem>

#include <doctest/doctest.h>

#include "agent/reference_network.hpp"
#include "agent/simulated_device.hpp"
#include "agent/simulated_trainer.hpp"
#include "common/error.hpp"
#include "common/model_family.hpp"
#include "coordinator/planning/estimator.hpp"

using namespace ampere;

namespace {
ModelSpec family(const std::string& name) { return load_model_spec(std::string(AMPERE_MODELS_DIR) + "/" + name + ".json"); }
}  // namespace

TEST_CASE("a campaign profiles kinds in dependency order and finishes within its budget") {
  const SimulatedDevice device(simulated_profile("tx2"));
  CampaignSettings settings;
  settings.budget_per_kind = 8;
  Campaign campaign(1, family("cnn5"), "sim-tx2", settings);
  // first round: only output kinds are ready
  std::vector<PlannedJob> jobs = campaign.plan(4);
  REQUIRE_FALSE(jobs.empty());
  for (const PlannedJob& job : jobs) CHECK(job.kind.str().rfind("v1|output|", 0) == 0);
  std::uint64_t seed = 0;
  int rounds = 0;
  while (!campaign.done() && rounds++ < 500) {
    for (const PlannedJob& job : jobs) campaign.add_result(job.kind, job.channels, device.measure(job.variant, 3, ++seed));
    jobs = campaign.plan(4);
  }
  REQUIRE(campaign.done());
  for (const KindProgressInfo& p : campaign.progress()) {
    CAPTURE(p.key.str());
    CHECK(p.points <= 8);
    CHECK(p.points >= 2);
    CHECK(p.state == KindState::Done);
  }
  const auto models = campaign.models();
  CHECK(models.size() == campaign.plan_kinds().size());

  // a fitted model saved as JSON predicts the same after restore_model, without a refit
  const auto& [key, model] = *models.begin();
  Campaign restored(1, family("cnn5"), "sim-tx2", settings);
  restored.restore_model(key, nlohmann::json::parse(kind_model_to_json(model).dump()));
  const Eigen::MatrixXd q = Eigen::MatrixXd::Constant(1, static_cast<Eigen::Index>(model.seconds->dimensions()), 5.0);
  CHECK(restored.models().empty());  // not finished in this campaign yet: nothing to estimate with
  CHECK(kind_model_to_json(model).at("points") == model.points);
  CHECK(GaussianProcess::from_json(kind_model_to_json(model).at("seconds")).predict(q).mean[0] ==
        model.seconds->predict(q).mean[0]);
}

TEST_CASE("a budget is 1..10000 points per kind, and a budget of 1 measures one point per kind and still estimates") {
  for (const std::uint32_t bad : {0u, 10001u}) {
    CampaignSettings settings;
    settings.budget_per_kind = bad;
    CHECK_THROWS_WITH_AS(Campaign(1, family("lenet5"), "c", settings),
                         doctest::Contains(("budget: points per kind must be 1..10000, got " + std::to_string(bad)).c_str()), InputError);
  }
  CHECK_THROWS_AS(require_budget(-1), InputError);
  CHECK_NOTHROW(require_budget(10000));
  const SimulatedDevice device(simulated_profile("oppo"));
  CampaignSettings settings;
  settings.budget_per_kind = 1;
  Campaign campaign(1, family("lenet5"), "sim-oppo", settings);
  std::uint64_t seed = 0;
  for (int rounds = 0; !campaign.done() && rounds < 100; ++rounds)
    for (const PlannedJob& job : campaign.plan(4)) campaign.add_result(job.kind, job.channels, device.measure(job.variant, 3, ++seed));
  REQUIRE(campaign.done());
  for (const KindProgressInfo& p : campaign.progress()) CHECK(p.points == 1);
  Estimator estimator;
  estimator.set_models("sim-oppo", campaign.models());
  const ModelSpec model = sample_model(family("lenet5"), 4);
  const double estimate = estimator.estimate(model, "sim-oppo", 1).at("seconds_per_iteration").at("mean").get<double>();
  CHECK(std::isfinite(estimate));
  CHECK(estimate > 0);
}

TEST_CASE("a campaign refuses families without ranges and bad results") {
  const ModelSpec fixed = sample_model(family("cnn5"), 1);
  CHECK_THROWS_WITH_AS(Campaign(1, fixed, "c", CampaignSettings()), doctest::Contains("no channel ranges"), InputError);
  Campaign campaign(1, family("lenet5"), "c", CampaignSettings());
  const std::vector<PlannedJob> jobs = campaign.plan(1);
  REQUIRE_FALSE(jobs.empty());
  Measurement nan_time;
  nan_time.seconds_per_iteration = {std::nan("")};
  CHECK_THROWS_WITH_AS(campaign.add_result(jobs[0].kind, jobs[0].channels, nan_time),
                       doctest::Contains("seconds of repeat 0 must be within"), InputError);
  Measurement negative;
  negative.seconds_per_iteration = {-1.0};
  CHECK_THROWS_AS(campaign.add_result(jobs[0].kind, jobs[0].channels, negative), InputError);
  CHECK_THROWS_WITH_AS(campaign.add_result(KindKey("v1|nope"), {1}, negative), doctest::Contains("unknown kind"), InputError);
}

TEST_CASE("a restored campaign continues from its stored results") {
  const SimulatedDevice device(simulated_profile("xavier"));
  CampaignSettings settings;
  settings.budget_per_kind = 6;
  Campaign first(1, family("lstm"), "c", settings);
  std::vector<std::pair<PlannedJob, Measurement>> stored;
  std::vector<PlannedJob> outstanding = first.plan(2);
  std::uint64_t seed = 0;
  for (int round = 0; round < 3; ++round) {
    for (const PlannedJob& job : outstanding) {
      const Measurement m = device.measure(job.variant, 3, ++seed);
      first.add_result(job.kind, job.channels, m);
      stored.push_back({job, m});
    }
    outstanding = first.plan(2);
  }
  // a new process: replay what was stored, restore what was outstanding
  Campaign second(1, family("lstm"), "c", settings);
  for (const auto& [job, m] : stored) second.add_result(job.kind, job.channels, m);
  for (const PlannedJob& job : outstanding) second.restore_outstanding(job.kind, job.channels);
  for (const PlannedJob& fresh : second.plan(2))  // never the same point again while it is out
    for (const PlannedJob& out : outstanding) CHECK_FALSE((fresh.kind == out.kind && fresh.channels == out.channels));
  for (const PlannedJob& job : outstanding) second.add_result(job.kind, job.channels, device.measure(job.variant, 3, ++seed));
  int rounds = 0;
  std::vector<PlannedJob> jobs = second.plan(2);
  while (!second.done() && rounds++ < 200) {
    for (const PlannedJob& job : jobs) second.add_result(job.kind, job.channels, device.measure(job.variant, 3, ++seed));
    jobs = second.plan(2);
  }
  CHECK(second.done());
}

TEST_CASE("a joint fit is checked against the subtractive fits on calibration models neither has seen") {
  const SimulatedDevice device(simulated_profile("tx2"));
  CampaignSettings settings;
  settings.budget_per_kind = 12;
  settings.estimator = EstimatorMethod::Joint;
  settings.calibration_correction = true;
  const ModelSpec fam = family("cnn5");
  Campaign campaign(1, fam, "sim-tx2", settings);
  std::uint64_t seed = 0;
  struct Result {
    KindKey kind;
    Channels channels;
    Measurement measurement;
  };
  std::vector<Result> results;
  for (int round = 0; round < 500 && !campaign.done(); ++round)
    for (const PlannedJob& job : campaign.plan(4)) {
      results.push_back({job.kind, job.channels, device.measure(job.variant, 3, ++seed)});
      campaign.add_result(job.kind, job.channels, results.back().measurement);
    }
  REQUIRE(campaign.done());

  // without calibration models there is nothing to check on: the joint fit serves
  const JointFit unchecked = fit_joint(campaign.joint_problem());
  CHECK(std::isnan(unchecked.joint_check_mape));
  CHECK(unchecked.joint_chosen());

  std::vector<ModelSpec> calibration;
  std::vector<Measurement> calibration_measured;
  for (std::uint64_t i = 0; i < 3; ++i) {
    calibration.push_back(sample_model(fam, 500000 + i));
    calibration_measured.push_back(device.measure(calibration.back(), 3, ++seed));
    campaign.add_calibration(calibration.back(), calibration_measured.back());
    // one calibration model says nothing about its scatter: no correction yet
    if (i == 0) CHECK_FALSE(campaign.models().begin()->second.calibration.active());
  }
  const JointProblem problem = campaign.joint_problem();
  REQUIRE(problem.calibration_models.size() == 3);
  REQUIRE(problem.variants + 3 == problem.measurements);
  const JointFit fit = fit_joint(problem);
  REQUIRE(std::isfinite(fit.joint_check_mape));
  REQUIRE(std::isfinite(fit.subtractive_check_mape));
  MESSAGE("calibration check: joint " << fit.joint_check_mape << "%, subtractive " << fit.subtractive_check_mape << "%");
  CHECK(fit.joint_chosen() == (fit.joint_check_mape <= fit.subtractive_check_mape));
  CHECK(fit.models.size() == campaign.plan_kinds().size());
  CHECK(fit.models.begin()->second.points == problem.measurements);  // the served fit saw every measurement

  // the subtractive side of the check is the campaign's own subtractive estimate of each model,
  // corrected by the other calibration models (leave one out, docs/method.md §11)
  REQUIRE(problem.correct_subtractive);
  Estimator subtractive;
  subtractive.set_models("c", problem.subtractive);
  std::vector<double> estimated, truth;
  for (std::size_t i = 0; i < 3; ++i) {
    truth.push_back(problem.seconds[problem.variants + i].value);
    estimated.push_back(subtractive.estimate(calibration[i], "c", 1).at("seconds_per_iteration").at("mean").get<double>());
  }
  double error = 0;
  for (std::size_t i = 0; i < 3; ++i) {
    std::vector<double> e, t;
    for (std::size_t j = 0; j < 3; ++j)
      if (j != i) e.push_back(estimated[j]), t.push_back(truth[j]);
    error += std::abs(fit_log_correction(e, t).factor() * estimated[i] / truth[i] - 1);
  }
  CHECK(fit.subtractive_check_mape == doctest::Approx(100 * error / 3).epsilon(1e-9));

  // the served subtractive fits carry the correction fitted on all three (one factor for the campaign)
  const std::map<KindKey, KindModel> served = campaign.models();
  const LogCorrection expected = fit_log_correction(estimated, truth);
  for (const auto& [key, model] : served) {
    CHECK(model.calibration.active());
    CHECK(model.calibration.campaign == 1);
    CHECK(model.calibration.models == 3);
    CHECK(model.calibration.seconds.log_factor == doctest::Approx(expected.log_factor).epsilon(1e-12));
    // saved and restored with the model (the bridge reads it)
    CHECK(kind_model_from_json(kind_model_to_json(model)).calibration.seconds.log_factor == model.calibration.seconds.log_factor);
  }
  // switched off, the same measurements serve the fits as fitted, and the check scores them so
  CampaignSettings off = settings;
  off.calibration_correction = false;
  Campaign plain(2, fam, "sim-tx2", off);
  for (int round = 0; round < 500 && !plain.done(); ++round)
    for (const PlannedJob& job : plain.plan(4)) {  // the same plans (the correction does not guide): replay
      const auto same = std::find_if(results.begin(), results.end(),
                                     [&](const Result& r) { return r.kind == job.kind && r.channels == job.channels; });
      REQUIRE(same != results.end());
      plain.add_result(job.kind, job.channels, same->measurement);
    }
  for (std::size_t i = 0; i < 3; ++i) plain.add_calibration(calibration[i], calibration_measured[i]);
  REQUIRE(plain.done());
  for (const auto& [key, model] : plain.models()) CHECK_FALSE(model.calibration.active());
  const JointProblem plain_problem = plain.joint_problem();
  CHECK_FALSE(plain_problem.correct_subtractive);
  double plain_error = 0;
  for (std::size_t i = 0; i < 3; ++i) plain_error += std::abs(estimated[i] / truth[i] - 1);
  CHECK(fit_joint(plain_problem).subtractive_check_mape == doctest::Approx(100 * plain_error / 3).epsilon(1e-9));

  // the rule: the joint fit serves unless it missed the calibration models by more
  JointFit rule;
  rule.joint_check_mape = 2.0;
  rule.subtractive_check_mape = 1.0;
  CHECK_FALSE(rule.joint_chosen());
  rule.joint_check_mape = 1.0;
  CHECK(rule.joint_chosen());
}

TEST_CASE("a plan's jobs are interleaved at random, reproducibly, and the same jobs either way") {
  CampaignSettings settings;
  settings.interleave = false;
  Campaign ordered(1, family("resnet"), "c", settings);
  settings.interleave = true;
  Campaign shuffled(1, family("resnet"), "c", settings), again(1, family("resnet"), "c", settings);
  auto names = [](const std::vector<PlannedJob>& jobs) {
    std::vector<std::string> out;
    for (const PlannedJob& j : jobs) out.push_back(j.kind.str() + nlohmann::json(j.channels).dump());
    return out;
  };
  const std::vector<std::string> a = names(ordered.plan(1)), b = names(shuffled.plan(1)), c = names(again.plan(1));
  REQUIRE(a.size() >= 4);  // the output kinds' start points
  CHECK(b == c);           // seeded: a restarted coordinator plans the same order
  CHECK(a != b);           // not in start-point order
  std::vector<std::string> sorted_a = a, sorted_b = b;
  std::sort(sorted_a.begin(), sorted_a.end());
  std::sort(sorted_b.begin(), sorted_b.end());
  CHECK(sorted_a == sorted_b);
}

TEST_CASE("an estimate-variance campaign profiles every kind and estimates within the budget") {
  const SimulatedDevice device(simulated_profile("xavier"));
  CampaignSettings settings;
  settings.budget_per_kind = 12;
  settings.acquisition = Acquisition::EstimateVariance;
  Campaign campaign(1, family("lenet5"), "sim-xavier", settings);
  std::uint64_t seed = 0;
  for (int rounds = 0; !campaign.done() && rounds < 500; ++rounds)
    for (const PlannedJob& job : campaign.plan(2)) campaign.add_result(job.kind, job.channels, device.measure(job.variant, 3, ++seed));
  REQUIRE(campaign.done());
  Estimator estimator;
  estimator.set_models("sim-xavier", campaign.models());
  double mape = 0;
  for (std::uint64_t i = 0; i < 20; ++i) {
    const ModelSpec model = sample_model(family("lenet5"), 900000 + i);
    const double estimate = estimator.estimate(model, "sim-xavier", 1)["seconds_per_iteration"]["mean"].get<double>();
    mape += std::abs(estimate - device.truth(model).seconds) / device.truth(model).seconds / 20;
  }
  CHECK(mape < 0.05);
}

TEST_CASE("served models carry how much the device's speed moved over the campaign (its reference readings)") {
  const SimulatedDevice device(simulated_profile("xavier"));
  CampaignSettings settings;
  settings.budget_per_kind = 8;
  Campaign campaign(1, family("lenet5"), "sim-xavier", settings);
  std::vector<double> readings;
  std::uint64_t seed = 0;
  for (int rounds = 0; !campaign.done() && rounds < 500; ++rounds)
    for (const PlannedJob& job : campaign.plan(2)) {
      Measurement m = device.measure(job.variant, 3, ++seed);
      // the device runs 4% fast, as is, or 4% slow; the result's time moves with it
      const double speed = 1.0 + 0.04 * (static_cast<double>(seed % 3) - 1.0);
      for (double& t : m.seconds_per_iteration) t *= speed;
      m.reference_seconds = 0.002 * speed;
      readings.push_back(m.reference_seconds);
      campaign.add_result(job.kind, job.channels, m);
    }
  REQUIRE(campaign.done());
  const double expected = reference_log_variance(readings, kReferenceQuorum);
  CHECK(std::sqrt(expected) == doctest::Approx(0.033).epsilon(0.1));
  const std::map<KindKey, KindModel> served = campaign.models();
  REQUIRE_FALSE(served.empty());
  for (const auto& [key, model] : served) {
    CHECK(model.reference_seconds_log_variance == doctest::Approx(expected).epsilon(1e-12));
    // the simulated meter reads energy with no energy reference: its joules move as its seconds do
    CHECK(model.reference_joules_log_variance == (model.joules ? model.reference_seconds_log_variance : 0.0));
  }
  // and an estimate's interval widens by it: its relative std is at least the device's
  Estimator estimator;
  estimator.set_models("sim-xavier", served);
  const nlohmann::json e = estimator.estimate(sample_model(family("lenet5"), 7), "sim-xavier", 1);
  CHECK(e.at("uncertainty").at("device_speed_relative_std").at("seconds").get<double>() ==
        doctest::Approx(std::sqrt(expected)));
  const nlohmann::json& t = e.at("seconds_per_iteration");
  CHECK(t.at("std").get<double>() >= std::sqrt(expected) * t.at("mean").get<double>());
  // a campaign that does not normalize (the paper's protocol) carries none, readings or not
  CampaignSettings raw_settings = settings;
  raw_settings.normalize_reference = false;
  Campaign plain(2, family("lenet5"), "sim-xavier", raw_settings);
  seed = 0;
  for (int rounds = 0; !plain.done() && rounds < 500; ++rounds)
    for (const PlannedJob& job : plain.plan(2)) {
      Measurement m = device.measure(job.variant, 3, ++seed);
      m.reference_seconds = 0.002 * (1.0 + 0.04 * (static_cast<double>(seed % 3) - 1.0));
      plain.add_result(job.kind, job.channels, m);
    }
  REQUIRE(plain.done());
  for (const auto& [key, model] : plain.models()) {
    CHECK(model.reference_seconds_log_variance == 0);
    CHECK(model.reference_joules_log_variance == 0);
  }
}

TEST_CASE("on a drifting device, normalized fits answer at its middle speed and intervals hold its drift") {
  // cpu-avx512-shared drifts by 8% (log std) over 150 measurements; an agent reads the reference
  // network before every job, through the same trainer, so the reading sees the job's speed.
  const DeviceProfile& profile = simulated_profile("cpu-avx512-shared");
  const SimulatedDevice device(profile);
  TrainerPtr trainer = make_simulated_trainer(profile);
  CampaignSettings settings;
  settings.budget_per_kind = 24;
  Campaign campaign(1, family("lenet5"), "shared", settings);
  JobSettings job_settings;
  job_settings.repeats = RepeatRule::fixed(3);
  std::uint64_t seed = 0;
  for (int rounds = 0; !campaign.done() && rounds < 500; ++rounds)
    for (const PlannedJob& job : campaign.plan(2)) {
      job_settings.seed = ++seed;
      const Measurement reading = trainer->measure(reference_network(), job_settings);
      job_settings.seed = ++seed;
      Measurement m = trainer->measure(job.variant, job_settings);
      m.reference_seconds = summarize_repeats(reading.seconds_per_iteration, RepeatStatistic::Minimum).value;
      campaign.add_result(job.kind, job.channels, m);
    }
  REQUIRE(campaign.done());
  REQUIRE(seed > 2 * static_cast<std::uint64_t>(profile.drift_period_jobs));  // the campaign saw the drift rise and fall
  const std::map<KindKey, KindModel> served = campaign.models();
  REQUIRE_FALSE(served.empty());
  const double v = served.begin()->second.reference_seconds_log_variance;
  CHECK(std::sqrt(v) == doctest::Approx(profile.drift).epsilon(0.25));
  // a joint fit's models, as the coordinator installs them, carry the same term
  std::map<KindKey, KindModel> bare = served;
  for (auto& [key, model] : bare) model.reference_seconds_log_variance = model.reference_joules_log_variance = 0;
  for (const auto& [key, model] : campaign.served_joint(bare)) CHECK(model.reference_seconds_log_variance == v);
  Estimator estimator;
  estimator.set_models("shared", served);
  double mape = 0;
  int covered = 0, covered_without = 0;
  const int count = 20;
  for (int i = 0; i < count; ++i) {
    const ModelSpec model = sample_model(family("lenet5"), 900000 + static_cast<std::uint64_t>(i));
    const nlohmann::json full = estimator.estimate(model, "shared", 1);
    const nlohmann::json& e = full.at("seconds_per_iteration");
    const double mean = e.at("mean").get<double>(), truth = device.truth(model).seconds;
    mape += std::abs(mean - truth) / truth / count;
    // a training later meets the device at any speed: the truth at another time
    const double later = truth * device.speed_factor(1000003 + 7 * static_cast<std::uint64_t>(i));
    covered += later >= e.at("interval90").at(0).get<double>() && later <= e.at("interval90").at(1).get<double>() ? 1 : 0;
    const double speed = full.at("uncertainty").at("device_speed_relative_std").at("seconds").get<double>();
    const double std_without = std::sqrt(std::pow(e.at("std").get<double>(), 2) - std::pow(mean * speed, 2));
    covered_without += std::abs(later - mean) <= 1.6448536269514722 * std_without ? 1 : 0;
  }
  MESSAGE("drifting device: MAPE against its middle speed ", 100 * mape, "%, cov90 ", covered, "/", count, " (without the speed term ",
          covered_without, ")");
  CHECK(mape < 0.05);                       // in the campaign's units: the device at its middle speed
  CHECK(covered >= count * 8 / 10);         // the interval holds the drift
  CHECK(covered_without < count * 6 / 10);  // which the blocks' variances alone do not
}

namespace {
Measurement timed(double seconds, double reference) {
  Measurement m;
  m.seconds_per_iteration = {seconds, seconds * 1.01, seconds * 1.02};
  m.meter = MeterSource::TimeSurrogate;
  m.reference_seconds = reference;
  return m;
}
}  // namespace

TEST_CASE("results are fitted normalized to the campaign's median reference reading, in the device's units") {
  // A device running 10% slow for one job: its reference network ran 10% slow beside it.
  CampaignSettings settings;
  Campaign campaign(1, family("lenet5"), "c", settings), plain(1, family("lenet5"), "c", [] {
    CampaignSettings s;
    s.normalize_reference = false;
    return s;
  }());
  std::vector<PlannedJob> jobs = campaign.plan(1);
  REQUIRE(jobs.size() >= 2);
  const PlannedJob& first = jobs[0];
  CHECK(std::isnan(campaign.reference_median(false)));
  CHECK(campaign.check_reference(timed(1.0, 0.002)).verdict == ReferenceVerdict::Normal);  // too few to judge
  CHECK(campaign.check_reference(timed(1.0, std::nan(""))).verdict == ReferenceVerdict::Missing);
  // Three readings of 2 ms: the median.
  for (Campaign* c : {&campaign, &plain}) {
    c->plan(1);
    for (std::size_t i = 0; i < jobs.size(); ++i) c->add_result(jobs[i].kind, jobs[i].channels, timed(0.010 * (i + 1), 0.002));
  }
  CHECK(campaign.reference_median(false) == doctest::Approx(0.002));
  // Judged against the median: 4% off is normal, 8% off is a drift spike, 2x is another machine.
  CHECK(campaign.check_reference(timed(1.0, 0.00208)).verdict == ReferenceVerdict::Normal);
  const ReferenceCheck drift = campaign.check_reference(timed(1.0, 0.00216));
  CHECK(drift.verdict == ReferenceVerdict::Drift);
  CHECK(drift.ratio == doctest::Approx(1.08));
  CHECK(campaign.check_reference(timed(1.0, 0.004)).verdict == ReferenceVerdict::OffClass);
  CHECK(campaign.check_reference(timed(1.0, 0.001)).verdict == ReferenceVerdict::OffClass);
  CHECK(std::string(reference_verdict_name(ReferenceVerdict::OffClass)) == "off-class");
  // The same point measured again while the machine ran 10% slow (reference 2.2 ms, time +10%):
  // normalized, it agrees with the first; the plain fit sees it 10% high.
  REQUIRE(campaign.remeasure(first.kind, first.channels));
  CHECK_FALSE(campaign.remeasure(first.kind, first.channels));  // at most once
  const std::vector<PlannedJob> again = campaign.plan(1);
  bool replanned = false;
  for (const PlannedJob& j : again) replanned = replanned || (j.kind == first.kind && j.channels == first.channels);
  CHECK(replanned);
  for (Campaign* c : {&campaign, &plain}) c->add_result(first.kind, first.channels, timed(0.010 * 1.10, 0.0022));
  const JointProblem normalized = campaign.joint_problem(), as_measured = plain.joint_problem();
  REQUIRE(normalized.seconds.size() == as_measured.seconds.size());
  const double last_normalized = normalized.seconds[normalized.variants - 1].value;
  double last_plain = 0, first_value = 0;
  for (std::size_t i = 0; i < as_measured.variants; ++i) {
    if (as_measured.seconds[i].value > 0.0105 && as_measured.seconds[i].value < 0.0115) last_plain = as_measured.seconds[i].value;
    if (std::abs(as_measured.seconds[i].value - 0.010) < 1e-12) first_value = as_measured.seconds[i].value;
  }
  CHECK(first_value == doctest::Approx(0.010));
  CHECK(last_plain == doctest::Approx(0.011));
  bool found = false;  // somewhere among the normalized: the re-measured point at 10 ms again
  for (std::size_t i = 0; i < normalized.variants; ++i)
    found = found || std::abs(normalized.seconds[i].value - 0.010) < 1e-9 * 0.010 + 1e-12;
  CHECK(found);
  (void)last_normalized;
}

TEST_CASE("with channel steps probed, a campaign on a staircase device estimates widths on both sides of each step") {
  // The simulated cpu-avx512 computes every width as its width rounded up to 16, as this machine's
  // CPU does (docs/simulated-device.md); resnet-steps has one free width over eight steps.
  const SimulatedDevice device(simulated_profile("cpu-avx512"));
  const ModelSpec fam = load_model_spec(std::string(AMPERE_SOURCE_DIR) + "/bench/data/resnet-steps.json");
  const std::vector<FreeWidthSlot> slots = free_width_slots(fam);
  REQUIRE(slots.size() == 1);
  auto mape = [&](ChannelStepSearch search, std::vector<KindProgressInfo>* progress) {
    CampaignSettings settings;
    settings.budget_per_kind = 16;
    settings.channel_steps = search;
    Campaign campaign(1, fam, "sim-cpu", settings);
    std::uint64_t seed = 0;
    for (int rounds = 0; !campaign.done() && rounds < 500; ++rounds)
      for (const PlannedJob& job : campaign.plan(4)) campaign.add_result(job.kind, job.channels, device.measure(job.variant, 3, ++seed));
    REQUIRE(campaign.done());
    if (progress) *progress = campaign.progress();
    Estimator estimator;
    estimator.set_models("sim-cpu", campaign.models());
    double error = 0;
    int n = 0;
    for (std::int64_t edge = 16; edge <= 128; edge += 16)
      for (std::int64_t c : {edge, edge + 1}) {
        ModelSpec model = sample_model(fam, 1);
        set_width_at(model, slots[0], c);
        const double estimate = estimator.estimate(model, "sim-cpu", 1).at("seconds_per_iteration").at("mean").get<double>();
        error += std::abs(estimate / device.truth(model).seconds - 1.0);
        ++n;
      }
    return 100 * error / n;
  };
  std::vector<KindProgressInfo> progress;
  const double smooth = mape(ChannelStepSearch::Off, nullptr), stepped = mape(ChannelStepSearch::Probe, &progress);
  CAPTURE(smooth);
  CAPTURE(stepped);
  CHECK(stepped < 3.0);
  CHECK(stepped < smooth / 2);
  bool hidden_steps_at_16 = false;
  for (const KindProgressInfo& p : progress)
    if (p.role == BlockRole::Hidden && !p.steps.empty()) hidden_steps_at_16 = p.steps[0].block == 16;
  CHECK(hidden_steps_at_16);
  CHECK(parse_channel_step_search("probe") == ChannelStepSearch::Probe);
  CHECK_THROWS_WITH_AS(parse_channel_step_search("on"), doctest::Contains("unknown 'on' (known: off, probe)"), InputError);
}

namespace {
Measurement scaled(Measurement m, double factor) {
  for (double& s : m.seconds_per_iteration) s *= factor;
  for (double& j : m.joules_per_iteration) j *= factor;
  return m;
}
}  // namespace

TEST_CASE("a result far from its kind's fit is held out of it until measured again, then the readings decide") {
  const SimulatedDevice device(simulated_profile("tx2"));
  CampaignSettings settings;
  settings.budget_per_kind = 24;
  Campaign campaign(1, family("cnn5"), "sim-tx2", settings);
  std::uint64_t seed = 0;
  const auto points_of = [&](const KindKey& key) {
    for (const KindProgressInfo& p : campaign.progress())
      if (p.key == key) return p;
    FAIL("no kind ", key.str());
    return KindProgressInfo{};
  };
  // Profiles until a kind is profiling with the quorum, and returns a job of it (the others fitted).
  std::vector<PlannedJob> pending;
  const auto next_job_of_a_judged_kind = [&]() -> std::optional<PlannedJob> {
    for (int round = 0; round < 500 && !campaign.done(); ++round) {
      if (pending.empty()) pending = campaign.plan(4);
      while (!pending.empty()) {
        PlannedJob job = pending.back();
        pending.pop_back();
        const Measurement m = device.measure(job.variant, 3, ++seed);
        if (campaign.check_far(job.kind, job.channels, m).judged) return job;  // its latest fit holds the quorum
        campaign.add_result(job.kind, job.channels, m);
      }
    }
    return std::nullopt;
  };

  SUBCASE("a forged tenfold reading: another agent's reading is kept, the forged one discarded") {
    const auto job = next_job_of_a_judged_kind();
    REQUIRE(job);
    const Measurement honest = device.measure(job->variant, 3, ++seed);
    const Measurement forged = scaled(honest, 10);
    CHECK_FALSE(campaign.check_far(job->kind, job->channels, honest).far());
    const FarCheck far = campaign.check_far(job->kind, job->channels, forged);
    CHECK(far.far());
    CHECK(far.share > 5);
    const std::size_t before = points_of(job->kind).points;
    REQUIRE(campaign.hold_far(job->kind, job->channels, forged, 101, "liar"));
    CHECK(points_of(job->kind).points == before);  // not in the fit
    CHECK(campaign.held_agent(job->kind, job->channels) == "liar");
    // the point is planned once more, not for the agent that measured it (once the kind's
    // outstanding jobs are back)
    std::optional<PlannedJob> again;
    for (int round = 0; round < 50 && !again; ++round) {
      for (const PlannedJob& p : pending) campaign.add_result(p.kind, p.channels, device.measure(p.variant, 3, ++seed));
      pending.clear();
      for (const PlannedJob& p : campaign.plan(4)) {
        if (p.kind == job->kind && p.channels == job->channels) again = p;
        else pending.push_back(p);
      }
    }
    REQUIRE(again);
    CHECK(again->not_agent == "liar");
    const std::size_t fitted = points_of(job->kind).points;
    const auto resolution = campaign.confirm_far(job->kind, job->channels, device.measure(job->variant, 3, ++seed), 102);
    REQUIRE(resolution);
    CHECK(resolution->outcome == FarOutcome::KeptSecond);
    CHECK(resolution->held_job == 101);
    CHECK(resolution->discarded_job == 101);
    CHECK(resolution->ratio == doctest::Approx(0.1).epsilon(0.05));
    CHECK(points_of(job->kind).points == fitted + 1);  // the second reading alone
    CHECK(campaign.held_agent(job->kind, job->channels).empty());
    // a second result there is no confirmation any more: the caller fits it
    CHECK_FALSE(campaign.confirm_far(job->kind, job->channels, honest, 103));
  }
  SUBCASE("two agents agree on a far reading: the fit was wrong, both enter it") {
    const auto job = next_job_of_a_judged_kind();
    REQUIRE(job);
    const Measurement high = scaled(device.measure(job->variant, 3, ++seed), 8);
    REQUIRE(campaign.hold_far(job->kind, job->channels, high, 201, "a"));
    const std::size_t before = points_of(job->kind).points;
    const auto resolution = campaign.confirm_far(job->kind, job->channels, scaled(high, 1.1), 202);
    REQUIRE(resolution);
    CHECK(resolution->outcome == FarOutcome::Agreed);
    CHECK(resolution->discarded_job == 0);
    CHECK(points_of(job->kind).points == before + 2);
  }
  SUBCASE("when its confirmation fails for good, the far point enters the fit unconfirmed") {
    const auto job = next_job_of_a_judged_kind();
    REQUIRE(job);
    REQUIRE(campaign.hold_far(job->kind, job->channels, scaled(device.measure(job->variant, 3, ++seed), 10), 301, "a"));
    CHECK_FALSE(campaign.hold_far(job->kind, job->channels, device.measure(job->variant, 3, ++seed), 302, "b"));  // once
    const std::size_t before = points_of(job->kind).points;
    const auto resolution = campaign.job_failed(job->kind, job->channels);
    REQUIRE(resolution);
    CHECK(resolution->outcome == FarOutcome::Unconfirmed);
    CHECK(resolution->held_job == 301);
    CHECK(points_of(job->kind).points == before + 1);
  }
}

TEST_CASE("honest results on the shipped families and simulated devices are seldom judged far") {
  std::size_t judged = 0, far = 0;
  for (const char* profile : {"tx2"})
    for (const char* name : {"cnn5", "lenet5", "lstm", "har", "resnet"}) {
      
      const SimulatedDevice device(simulated_profile(profile));
      CampaignSettings settings;
      settings.budget_per_kind = 20;
      Campaign campaign(1, family(name), "sim", settings);
      std::uint64_t seed = 0;
      for (int round = 0; round < 500 && !campaign.done(); ++round)
        for (const PlannedJob& job : campaign.plan(4)) {
          const Measurement m = device.measure(job.variant, 3, ++seed);
          const FarCheck check = campaign.check_far(job.kind, job.channels, m);
          judged += check.judged;
          far += check.far();
          campaign.add_result(job.kind, job.channels, m);
        }
    }
  MESSAGE("honest results judged: ", judged, ", far: ", far);
  CHECK(judged > 50);
  CHECK(static_cast<double>(far) <= 0.02 * static_cast<double>(judged));
}
