#include "coordinator/planning/campaign.hpp"

#include <algorithm>
#include <set>
#include <cmath>
#include <random>

#include "common/error.hpp"
#include "common/layer_parser.hpp"
#include "common/layer_shapes.hpp"
#include "coordinator/planning/channel_step_search.hpp"
#include "coordinator/planning/estimator.hpp"
#include "coordinator/planning/interval_calibration.hpp"
#include "coordinator/planning/kind_work.hpp"

namespace ampere {
namespace {

bool contains(const std::vector<Channels>& list, const Channels& c) {
  return std::find(list.begin(), list.end(), c) != list.end();
}

Channels row_channels(const Eigen::MatrixXd& m, Eigen::Index row) {
  Channels c;
  for (Eigen::Index d = 0; d < m.cols(); ++d) c.push_back(static_cast<std::int64_t>(m(row, d)));
  return c;
}

/// The helper kinds and channels whose estimates are subtracted from a variant's measurement
/// (the same list variant_network() returns, without building the network).
std::vector<std::pair<KindKey, Channels>> subtractions(const ProfileKind& kind, const Channels& channels) {
  switch (kind.role) {
    case BlockRole::Output: return {};
    case BlockRole::Input: return {{kind.output_helper, {channels[0]}}};
    case BlockRole::Hidden: return {{kind.input_helper, {channels.front()}}, {kind.output_helper, {channels.back()}}};
  }
  return {};
}


}  // namespace

const char* kind_state_name(KindState state) {
  switch (state) {
    case KindState::Waiting: return "waiting";
    case KindState::Profiling: return "profiling";
    case KindState::Done: return "done";
  }
  return "?";
}

Campaign::Campaign(std::uint64_t id, ModelSpec family, std::string device_class, CampaignSettings settings)
    : id_(id), family_(std::move(family)), device_class_(std::move(device_class)), settings_(settings) {
  AMPERE_REQUIRE(family_.is_family(), family_.name,
                 ": the family has no channel ranges ({\"min\": a, \"max\": b}), so there is nothing to profile");
  require_budget(settings_.budget_per_kind);
  plan_ = derive_profile_kinds(family_);
  if (!settings_.only_kinds.empty()) {
    std::set<std::string> keep(settings_.only_kinds.begin(), settings_.only_kinds.end());
    for (const std::string& key : settings_.only_kinds)
      AMPERE_REQUIRE(std::any_of(plan_.begin(), plan_.end(), [&](const ProfileKind& p) { return p.key.str() == key; }),
                     family_.name, ": '", key, "' is not a kind of this family");
    for (bool grew = true; grew;) {  // the helpers the kept kinds subtract, and theirs
      grew = false;
      for (const ProfileKind& p : plan_)
        if (keep.count(p.key.str()))
          for (const KindKey& helper : {p.input_helper, p.output_helper})
            if (!helper.str().empty() && keep.insert(helper.str()).second) grew = true;
    }
    plan_.erase(std::remove_if(plan_.begin(), plan_.end(), [&](const ProfileKind& p) { return keep.count(p.key.str()) == 0; }),
                plan_.end());
  }
  for (const ProfileKind& profile : plan_) {
    Kind k;
    k.profile = profile;
    k.candidates = candidate_grid(profile.bounds());
    kinds_.push_back(std::move(k));
  }
  if (settings_.acquisition == Acquisition::EstimateVariance) build_demand();
}

void Campaign::build_demand() {
  // Models drawn as a user's would be; each weighs 1/FLOPs² (normalized to mean 1), a stand-in for
  // 1/cost² before any cost is known: a relative objective, as MAPE is.
  std::map<KindKey, std::vector<std::pair<Channels, std::size_t>>> rows;
  std::vector<double> weight;
  for (std::size_t i = 0; i < kDemandModels; ++i) {
    const ModelSpec model = sample_model(family_, 7000000 + settings_.seed * kDemandModels + i);
    const double flops = model_cost(model).training_flops_per_iteration;
    weight.push_back(flops > 0 ? 1.0 / (flops * flops) : 1.0);
    for (const Block& block : parse_blocks(model)) rows[block.kind].emplace_back(block.channel_values(), i);
  }
  double mean = 0;
  for (double w : weight) mean += w / static_cast<double>(weight.size());
  for (double& w : weight) w /= mean;
  for (Kind& k : kinds_) {
    const auto found = rows.find(k.profile.key);
    if (found == rows.end()) continue;  // an auxiliary helper: no model asks for it
    k.demand.points.resize(static_cast<Eigen::Index>(found->second.size()), static_cast<Eigen::Index>(k.profile.bounds().size()));
    for (std::size_t r = 0; r < found->second.size(); ++r) {
      const Channels& c = found->second[r].first;
      if (c.size() != k.profile.bounds().size()) {  // a shape this kind's GP does not take: no demand
        k.demand = EstimateDemand();
        break;
      }
      for (std::size_t d = 0; d < c.size(); ++d) k.demand.points(static_cast<Eigen::Index>(r), static_cast<Eigen::Index>(d)) = static_cast<double>(c[d]);
      k.demand.model.push_back(found->second[r].second);
    }
    if (!k.demand.points.size()) continue;
    k.demand.weight = weight;
  }
}

Campaign::Kind& Campaign::kind(const KindKey& key) {
  for (Kind& k : kinds_)
    if (k.profile.key == key) return k;
  throw InputError("campaign " + std::to_string(id_) + ": unknown kind " + key.str());
}

bool Campaign::ready(const Kind& k) const {
  auto done = [this](const KindKey& key) {
    for (const Kind& other : kinds_)
      if (other.profile.key == key) return other.state == KindState::Done;
    return false;
  };
  switch (k.profile.role) {
    case BlockRole::Output: return true;
    case BlockRole::Input: return done(k.profile.output_helper);
    case BlockRole::Hidden: return done(k.profile.input_helper) && done(k.profile.output_helper);
  }
  return false;
}

void Campaign::fit(Kind& k) {
  if (k.points.empty() || k.fitted_points == k.points.size()) return;
  try {
    refit(k);
    k.fit_error.clear();
  } catch (const std::exception& e) {
    // contained to this kind: its last good fit (if any) keeps serving, the same points are not
    // fitted again, and the failure is reported with the kind's progress
    k.fit_error = e.what();
    k.fitted_points = k.points.size();
    ++k.fit_failures;
  }
}

Campaign::HelperSum Campaign::helpers_at(const Kind& k, const Channels& channels, bool energy) {
  HelperSum sum;
  for (const auto& [helper_key, at] : subtractions(k.profile, channels)) {
    const Kind& helper = kind(helper_key);
    const std::shared_ptr<const GaussianProcess>& gp = energy ? helper.joules_gp : helper.seconds_gp;
    if (gp == nullptr) {
      sum.unfitted = helper_key.str();
      return sum;
    }
    Eigen::MatrixXd q(1, 1);
    q(0, 0) = static_cast<double>(at[0]);
    const GpPrediction t = gp->predict(q);
    sum.mean += t.mean[0];
    sum.variance += t.variance[0];
  }
  return sum;
}

void Campaign::refit(Kind& k) {
  const Eigen::Index n = static_cast<Eigen::Index>(k.points.size());
  const Eigen::Index dims = static_cast<Eigen::Index>(k.profile.bounds().size());
  Eigen::MatrixXd x(n, dims);
  Eigen::VectorXd seconds(n), joules(n), seconds_noise(n), joules_noise(n);
  const double seconds_median = reference_median(false), joules_median = reference_median(true);
  bool has_energy = true;
  for (Eigen::Index i = 0; i < n; ++i) {
    const Point& p = k.points[static_cast<std::size_t>(i)];
    for (Eigen::Index d = 0; d < dims; ++d) x(i, d) = static_cast<double>(p.channels[static_cast<std::size_t>(d)]);
    const RepeatSummary s = fitted(p.measurement, false, seconds_median);
    seconds[i] = s.value;
    seconds_noise[i] = s.spread_variance;
    if (p.measurement.joules_per_iteration.empty()) {
      has_energy = false;
    } else {
      const RepeatSummary e = fitted(p.measurement, true, joules_median);
      joules[i] = e.value;
      joules_noise[i] = e.spread_variance;
    }
    const HelperSum t = helpers_at(k, p.channels, false);
    AMPERE_REQUIRE(t.unfitted.empty(), "campaign: helper kind not fitted: ", t.unfitted);
    seconds[i] -= t.mean;
    seconds_noise[i] += t.variance;
    if (has_energy) {
      const HelperSum e = helpers_at(k, p.channels, true);
      has_energy = e.unfitted.empty();
      joules[i] -= e.mean;
      joules_noise[i] += e.variance;
    }
  }
  const std::vector<std::pair<double, double>> bounds = gp_bounds(k.profile.bounds());
  GpFitOptions options;
  options.seed = settings_.seed;
  std::shared_ptr<const GaussianProcess> chosen_seconds;
  if (settings_.channel_steps == ChannelStepSearch::Probe) {
    // the quantization is chosen on time (always measured) and read by both quantities
    ChannelStepChoice choice = choose_channel_steps(bounds, candidate_channel_steps(k.profile.bounds()), settings_.trend,
                                                    settings_.warp, x, seconds, seconds_noise, options);
    k.steps = choice.steps;
    chosen_seconds = std::move(choice.gp);
  }
  auto fit_one = [&](const Eigen::VectorXd& y, const Eigen::VectorXd& noise,
                     const std::shared_ptr<const GaussianProcess>& previous) {
    auto gp = std::make_shared<GaussianProcess>(bounds, settings_.trend, settings_.warp, k.steps);
    // warm start (a model saved before the warp existed is linear: its length-scales mean other distances)
    if (previous && previous->warp() == settings_.warp && previous->steps() == gp->steps())
      gp->set_hyperparameters(previous->hyperparameters());
    gp->set_data(x, y, noise);
    gp->fit(options);
    return std::shared_ptr<const GaussianProcess>(gp);
  };
  k.seconds_gp = chosen_seconds ? chosen_seconds : fit_one(seconds, seconds_noise, k.seconds_gp);
  k.joules_gp = has_energy ? fit_one(joules, joules_noise, k.joules_gp) : nullptr;
  k.model.seconds = k.seconds_gp;
  k.model.joules = k.joules_gp;
  k.model.meter = meter_label_of(k.points.front().measurement);
  k.model.points = k.points.size();
  k.model.variance_scale = leave_one_out_variance_scale(*k.seconds_gp);
  k.fitted_points = k.points.size();
  ++k.fits;
}

PlannedJob Campaign::planned(Kind& k, const Channels& channels) {
  if (!contains(k.asked, channels)) k.asked.push_back(channels);
  ++k.outstanding;
  return PlannedJob{k.profile.key, channels, variant_network(k.profile, channels, plan_).model};
}

std::vector<PlannedJob> Campaign::next_points(Kind& k, std::size_t batch_size) {
  std::vector<PlannedJob> jobs;
  const std::size_t budget = settings_.budget_per_kind;
  if (!k.again.empty()) {  // points measured during a drift spike, once more, outside the budget
    for (const Channels& c : k.again) {
      k.remeasured.push_back(c);
      jobs.push_back(planned(k, c));
      for (const Kind::Held& h : k.held)
        if (h.channels == c) jobs.back().not_agent = h.agent_id;  // a far point: another agent measures it
    }
    k.again.clear();
    return jobs;
  }
  if (k.asked.empty()) {
    const Eigen::MatrixXd starts = start_points(k.profile.bounds());
    for (Eigen::Index r = 0; r < starts.rows() && k.asked.size() < budget; ++r) jobs.push_back(planned(k, row_channels(starts, r)));
    if (settings_.channel_steps == ChannelStepSearch::Probe) {
      // probe pairs beside step edges (docs/method.md §14): at most half of what the budget leaves
      const std::size_t room = budget > k.asked.size() ? (budget - k.asked.size()) / 2 : 0;
      for (const Channels& c : step_probe_points(k.profile.bounds(), std::min<std::size_t>(10, room)))
        if (!contains(k.asked, c) && k.asked.size() < budget) jobs.push_back(planned(k, c));
    }
    return jobs;
  }
  auto finish = [&](StopReason reason) {
    k.state = KindState::Done;
    k.stop = reason;
  };
  if (k.points.empty()) {  // every point so far failed
    finish(StopReason::NoCandidates);
    return jobs;
  }
  fit(k);
  if (k.seconds_gp == nullptr) {  // never fitted: nothing to guide on
    finish(StopReason::FitFailed);
    return jobs;
  }
  // Candidates not yet asked for (profiled, outstanding or failed).
  std::vector<Eigen::Index> open;
  for (Eigen::Index r = 0; r < k.candidates.rows(); ++r)
    if (!contains(k.asked, row_channels(k.candidates, r))) open.push_back(r);
  const Eigen::MatrixXd candidates = k.candidates(open, Eigen::all);
  const bool guide_on_energy = k.joules_gp != nullptr && reads_energy_live(k.model.meter.source);
  const GaussianProcess& guide = guide_on_energy ? *k.joules_gp : *k.seconds_gp;
  if (candidates.rows() == 0) {
    finish(StopReason::NoCandidates);
    return jobs;
  }
  const StopDecision decision =
      stop_rule(guide, candidates, budget, settings_.converged_relative_std, settings_.guided_factor);
  k.relative_std = decision.relative_std;
  k.convergence.emplace_back(k.points.size(), decision.relative_std);
  if (k.asked.size() >= budget) {
    finish(StopReason::BudgetSpent);
  } else if (decision.reason != StopReason::KeepGoing) {
    finish(decision.reason);
  }
  if (k.state == KindState::Done) return jobs;
  const std::size_t count = std::min(batch_size, budget - k.asked.size());
  const std::uint64_t draw_seed = settings_.seed * 1000003ULL + k.asked.size() * 7919ULL + std::hash<std::string>{}(k.profile.key.str());
  for (Eigen::Index r : select_batch(guide, candidates, count, settings_.acquisition, draw_seed, &k.demand))
    jobs.push_back(planned(k, row_channels(candidates, r)));
  return jobs;
}

std::vector<PlannedJob> Campaign::plan(std::size_t batch_size) {
  std::vector<PlannedJob> jobs;
  batch_size = std::max<std::size_t>(1, batch_size);
  // Plan order is dependency order, so a kind finishing here unlocks later ones in this pass.
  for (Kind& k : kinds_) {
    if (k.state == KindState::Done || !ready(k)) continue;
    k.state = KindState::Profiling;
    if (k.outstanding > 0) continue;
    for (PlannedJob& job : next_points(k, batch_size)) jobs.push_back(std::move(job));
    if (k.state == KindState::Done) fit(k);
  }
  ++plans_;
  if (settings_.interleave && jobs.size() > 1) {
    std::mt19937_64 rng(settings_.seed * 1000003ULL + plans_);
    std::shuffle(jobs.begin(), jobs.end(), rng);
  }
  return jobs;
}

void Campaign::restore_outstanding(const KindKey& key, const Channels& channels) {
  Kind& k = kind(key);
  if (!contains(k.asked, channels)) k.asked.push_back(channels);
  ++k.outstanding;
}

void Campaign::add_result(const KindKey& key, const Channels& channels, const Measurement& measurement) {
  Kind& k = kind(key);
  validate_measurement(measurement);
  AMPERE_REQUIRE(channels.size() == k.profile.bounds().size(), "campaign ", id_, ": result for ", key.str(), " has ",
                 channels.size(), " channel values, the kind has ", k.profile.bounds().size());
  if (!contains(k.asked, channels)) k.asked.push_back(channels);  // replayed from the store
  if (k.outstanding > 0) --k.outstanding;
  k.points.push_back(Point{channels, measurement});
  references_.note(measurement);
}

double Campaign::reference_median(bool energy) const { return references_.median(energy); }

RepeatSummary Campaign::fitted(const Measurement& m, bool energy, double median) const {
  RepeatSummary s = summarize_repeats(energy ? m.joules_per_iteration : m.seconds_per_iteration, settings_.statistic);
  if (!settings_.normalize_reference) return s;
  const double reading = energy ? m.reference_joules : m.reference_seconds;
  if (!(reading > 0) || !(median > 0)) return s;  // no reading, or too few to normalize to
  const double scale = median / reading;
  s.value *= scale;
  s.spread_variance *= scale * scale;
  return s;
}

ReferenceCheck Campaign::check_reference(const Measurement& m) const { return references_.check(m); }

bool Campaign::remeasure(const KindKey& key, const Channels& channels) {
  Kind& k = kind(key);
  // A finished kind keeps its fit: the drifted point stays, normalized like every other.
  if (k.state == KindState::Done || contains(k.remeasured, channels) || contains(k.again, channels)) return false;
  k.again.push_back(channels);
  return true;
}

void Campaign::withdraw(const KindKey& key, const Channels& channels) {
  Kind& k = kind(key);
  const auto it = std::find(k.asked.begin(), k.asked.end(), channels);
  if (it != k.asked.end()) k.asked.erase(it);
  if (k.outstanding > 0) --k.outstanding;
}

std::optional<FarResolution> Campaign::job_failed(const KindKey& key, const Channels& channels) {
  Kind& k = kind(key);
  if (!contains(k.asked, channels)) k.asked.push_back(channels);
  if (k.outstanding > 0) --k.outstanding;
  const auto held = std::find_if(k.held.begin(), k.held.end(), [&](const Kind::Held& h) { return h.channels == channels; });
  if (held == k.held.end()) return std::nullopt;
  // nobody could measure it again: the far point enters the fit as it came
  FarResolution resolution;
  resolution.outcome = FarOutcome::Unconfirmed;
  resolution.held_job = held->job_id;
  k.points.push_back(Point{held->channels, held->measurement});
  k.held.erase(held);
  return resolution;
}

const char* far_outcome_name(FarOutcome outcome) {
  switch (outcome) {
    case FarOutcome::Agreed: return "agreed";
    case FarOutcome::KeptFirst: return "kept-first";
    case FarOutcome::KeptSecond: return "kept-second";
    case FarOutcome::Unconfirmed: return "unconfirmed";
  }
  return "?";
}

FarCheck Campaign::check_far(const KindKey& key, const Channels& channels, const Measurement& measurement) {
  Kind& k = kind(key);
  FarCheck check;
  // judged against the kind's latest fit as it stands: refitting here (hyper-parameters, O(n³)
  // restarts) for every result cost the loop 4x its throughput in bench_fleet
  if (k.state != KindState::Profiling || k.points.size() < kFarQuorum) return check;
  if (k.seconds_gp == nullptr || !k.fit_error.empty() || k.seconds_gp->size() < kFarQuorum) return check;
  const GaussianProcess& gp = *k.seconds_gp;
  // the result on the fit's scale: its time (normalized like every point), less the helpers' estimates
  double observed = fitted(measurement, false, reference_median(false)).value;
  const HelperSum helper_sum = helpers_at(k, channels, false);
  if (!helper_sum.unfitted.empty()) return check;
  const double helpers = helper_sum.mean;
  double predicted = 0, variance = helper_sum.variance;
  Eigen::MatrixXd x(1, static_cast<Eigen::Index>(channels.size()));
  for (std::size_t d = 0; d < channels.size(); ++d) x(0, static_cast<Eigen::Index>(d)) = static_cast<double>(channels[d]);
  const GpPrediction at = gp.predict(x, true);
  predicted = at.mean[0];
  variance += at.variance[0];
  // how much larger the fit's own misses are than it says: the median leave-one-out miss over its
  // spread (1.4826: the median absolute value of a standard normal is 1/1.4826), at least 1;
  // computed once per fit
  if (k.far_widen_of != k.fits) {
    const GpPrediction loo = gp.leave_one_out();
    std::vector<double> standardized;
    for (Eigen::Index i = 0; i < loo.mean.size(); ++i)
      if (loo.variance[i] > 0) standardized.push_back(std::abs(gp.targets()[i] - loo.mean[i]) / std::sqrt(loo.variance[i]));
    k.far_widen = std::nan("");
    if (!standardized.empty()) {
      std::nth_element(standardized.begin(), standardized.begin() + static_cast<std::ptrdiff_t>(standardized.size() / 2),
                       standardized.end());
      k.far_widen = std::max(1.0, 1.4826 * standardized[standardized.size() / 2]);
    }
    k.far_widen_of = k.fits;
  }
  const double widen = k.far_widen;
  if (!(widen >= 1) || !(variance > 0)) return check;
  const double miss = std::abs(observed - helpers - predicted);
  const double total = predicted + helpers;
  if (!(total > 0) || !std::isfinite(miss)) return check;
  check.judged = true;
  check.score = miss / (std::sqrt(variance) * widen);
  check.share = miss / total;
  check.predicted_seconds = total;
  return check;
}

bool Campaign::hold_far(const KindKey& key, const Channels& channels, const Measurement& measurement, std::uint64_t job_id,
                        const std::string& agent_id, bool restored) {
  Kind& k = kind(key);
  validate_measurement(measurement);
  if (!restored && (k.state != KindState::Profiling || contains(k.remeasured, channels) || contains(k.again, channels)))
    return false;
  for (const Kind::Held& h : k.held)
    if (h.channels == channels) return false;
  if (!contains(k.asked, channels)) k.asked.push_back(channels);
  if (!restored) {
    if (k.outstanding > 0) --k.outstanding;  // its result came
    k.again.push_back(channels);             // planned once more, outside the budget
  }
  k.held.push_back({channels, measurement, job_id, agent_id});
  references_.note(measurement);
  return true;
}

std::string Campaign::held_agent(const KindKey& key, const Channels& channels) const {
  for (const Kind& k : kinds_)
    if (k.profile.key == key)
      for (const Kind::Held& h : k.held)
        if (h.channels == channels) return h.agent_id;
  return "";
}

std::optional<FarResolution> Campaign::confirm_far(const KindKey& key, const Channels& channels,
                                                   const Measurement& measurement, std::uint64_t job_id) {
  Kind& k = kind(key);
  const auto held = std::find_if(k.held.begin(), k.held.end(),
                                 [&](const Kind::Held& h) { return h.channels == channels && h.job_id != job_id; });
  if (held == k.held.end()) return std::nullopt;
  validate_measurement(measurement);
  const double median = reference_median(false);
  const double first = fitted(held->measurement, false, median).value, second = fitted(measurement, false, median).value;
  FarResolution resolution;
  resolution.held_job = held->job_id;
  resolution.ratio = second / first;
  if (k.outstanding > 0) --k.outstanding;  // the confirmation's result came
  references_.note(measurement);
  if (std::abs(std::log(resolution.ratio)) <= std::log(kFarAgreement)) {  // two agents agree: the fit was wrong
    resolution.outcome = FarOutcome::Agreed;
    k.points.push_back(Point{held->channels, held->measurement});
    k.points.push_back(Point{channels, measurement});
  } else {
    // they disagree: the one nearer the fit (made without either) enters it
    const FarCheck a = check_far(key, channels, held->measurement), b = check_far(key, channels, measurement);
    const double predicted = a.judged ? a.predicted_seconds : b.predicted_seconds;
    const bool keep_first =
        predicted > 0 ? std::abs(std::log(first / predicted)) < std::abs(std::log(second / predicted)) : false;
    resolution.outcome = keep_first ? FarOutcome::KeptFirst : FarOutcome::KeptSecond;
    resolution.discarded_job = keep_first ? job_id : held->job_id;
    k.points.push_back(keep_first ? Point{held->channels, held->measurement} : Point{channels, measurement});
  }
  k.held.erase(held);
  return resolution;
}

bool Campaign::done() const {
  return std::all_of(kinds_.begin(), kinds_.end(), [](const Kind& k) { return k.state == KindState::Done; });
}

std::vector<KindProgressInfo> Campaign::progress() const {
  std::vector<KindProgressInfo> out;
  for (const Kind& k : kinds_)
    out.push_back({k.profile.key, k.profile.role, k.profile.auxiliary, k.state, k.stop, k.points.size(), k.outstanding,
                   k.relative_std, k.convergence, k.steps, k.fit_error, k.fit_failures});
  return out;
}

std::map<KindKey, KindModel> Campaign::models() {
  std::map<KindKey, KindModel> out;
  // The joint models serve only as a whole: a set missing a done kind (a restart between the
  // writes of its kinds) would leave that kind unestimable, so the subtractive ones serve instead.
  bool joint_whole = settings_.estimator == EstimatorMethod::Joint && !joint_models_.empty();
  for (const Kind& k : kinds_)
    if (k.state == KindState::Done && !joint_models_.count(k.profile.key)) joint_whole = false;
  if (joint_whole) {
    for (const Kind& k : kinds_)
      if (k.state == KindState::Done) out[k.profile.key] = joint_models_.at(k.profile.key);
    return served_joint(std::move(out));
  }
  for (Kind& k : kinds_) {
    if (k.state != KindState::Done || k.points.empty()) continue;
    fit(k);
    if (k.seconds_gp == nullptr) continue;  // its fit failed: the kind cannot be estimated
    out[k.profile.key] = k.model;
  }
  const CalibrationCorrection correction = calibration_correction(out);
  for (auto& [key, model] : out) model.calibration = correction;
  set_whole_model_residual(out);
  set_reference_log_variance(out);
  return out;
}

std::map<KindKey, KindModel> Campaign::served_joint(std::map<KindKey, KindModel> joint) const {
  set_whole_model_residual(joint, true);  // the check's out-of-sample residual stays when larger
  set_reference_log_variance(joint);
  return joint;
}

void Campaign::set_reference_log_variance(std::map<KindKey, KindModel>& served) const {
  // only a normalizing campaign answers in its readings' units (the paper's protocol has none)
  const bool normalized = settings_.normalize_reference;
  const double seconds = normalized ? references_.log_variance(false) : 0.0;
  const double joules = normalized ? references_.log_variance(true) : 0.0;
  for (auto& [key, model] : served) {
    model.reference_seconds_log_variance = seconds;
    model.reference_joules_log_variance = model.joules ? joules : 0.0;
  }
}

void Campaign::set_whole_model_residual(std::map<KindKey, KindModel>& served, bool keep_larger) const {
  const double median = reference_median(false);
  std::vector<std::pair<ModelSpec, double>> measured;
  for (const Calibration& c : calibration_) measured.emplace_back(c.model, fitted(c.measurement, false, median).value);
  const double residual = whole_model_residual(served, measured);
  for (auto& [key, model] : served)
    model.whole_model_residual = keep_larger ? std::max(model.whole_model_residual, residual) : residual;
}

CalibrationCorrection Campaign::calibration_correction(const std::map<KindKey, KindModel>& subtractive) const {
  CalibrationCorrection out;
  if (!settings_.calibration_correction || calibration_.size() < 2) return out;
  Estimator estimator;
  estimator.set_models("campaign", subtractive);
  const double seconds_median = reference_median(false), joules_median = reference_median(true);
  std::vector<double> seconds_estimated, seconds_measured, joules_estimated, joules_measured;
  bool energy = true;
  try {
    for (const Calibration& c : calibration_) {
      const nlohmann::json e = estimator.estimate(c.model, "campaign", 1);
      seconds_estimated.push_back(e.at("seconds_per_iteration").at("mean").get<double>());
      seconds_measured.push_back(fitted(c.measurement, false, seconds_median).value);
      if (e.at("joules_per_iteration").is_null() || c.measurement.joules_per_iteration.empty()) {
        energy = false;
        continue;
      }
      joules_estimated.push_back(e.at("joules_per_iteration").at("mean").get<double>());
      joules_measured.push_back(fitted(c.measurement, true, joules_median).value);
    }
    out.seconds = fit_log_correction(seconds_estimated, seconds_measured);
    if (energy) out.joules = fit_log_correction(joules_estimated, joules_measured);
  } catch (const InputError&) {
    return {};  // a kind of a calibration model not done yet, or an estimate that is not positive
  }
  out.campaign = id_;
  out.models = calibration_.size();
  return out;
}

void Campaign::restore_model(const KindKey& key, const nlohmann::json& json) {
  Kind& k = kind(key);
  KindModel model = kind_model_from_json(json);
  if (kind_model_fit(model) == EstimatorMethod::Joint) {
    joint_models_[key] = model;
    joint_measurements_ = model.points;
    return;
  }
  k.model = model;
  k.model.calibration = {};  // a kind's own fit is uncorrected; models() applies the campaign's correction
  k.seconds_gp = std::dynamic_pointer_cast<const GaussianProcess>(model.seconds);
  k.joules_gp = std::dynamic_pointer_cast<const GaussianProcess>(model.joules);
  if (k.seconds_gp != nullptr) k.steps = k.seconds_gp->steps();
  k.fitted_points = k.model.points;
}

void Campaign::add_calibration(const ModelSpec& model, const Measurement& measurement) {
  AMPERE_REQUIRE(!model.is_family(), "campaign ", id_, ": a calibration model must be concrete, ", model.name, " is a family");
  validate_measurement(measurement);
  for (const Block& b : parse_blocks(model)) {
    bool known = false;
    for (const Kind& k : kinds_) known = known || k.profile.key == b.kind;
    AMPERE_REQUIRE(known, "campaign ", id_, ": calibration model ", model.name, " has a block of kind ", b.kind.str(),
                   ", which the campaign's plan does not profile");
  }
  calibration_.push_back({model, measurement});
  references_.note(measurement);
}

std::size_t Campaign::measurement_count() const {
  std::size_t count = calibration_.size();
  for (const Kind& k : kinds_) count += k.points.size();
  return count;
}

void Campaign::set_joint_models(std::map<KindKey, KindModel> models, std::size_t measurements) {
  joint_models_ = std::move(models);
  joint_measurements_ = measurements;
}

JointProblem Campaign::joint_problem() {
  JointProblem problem;
  problem.seed = settings_.seed;
  std::map<KindKey, std::size_t> index;
  for (const Kind& k : kinds_) {
    index[k.profile.key] = problem.keys.size();
    problem.keys.push_back(k.profile.key);
    JointKind joint{k.profile.key.str(), gp_bounds(k.profile.bounds()), settings_.trend, {}, settings_.warp, {}};
    if (settings_.work_mean) joint.work_polynomial = work_polynomial(k.profile, plan_);
    problem.kinds.push_back(std::move(joint));
  }
  bool has_energy = true;
  bool first = true;
  const double seconds_median = reference_median(false), joules_median = reference_median(true);
  auto add = [&](const ModelSpec& network, const Measurement& m) {
    JointMeasurement time, energy;
    for (const Block& b : parse_blocks(network)) {
      const auto found = index.find(b.kind);
      AMPERE_REQUIRE(found != index.end(), "campaign ", id_, ": ", network.name, " has a block of kind ", b.kind.str(),
                     ", which the campaign's plan does not profile");
      std::vector<double> channels;
      for (std::int64_t c : b.channel_values()) channels.push_back(static_cast<double>(c));
      time.blocks.push_back({found->second, channels});
    }
    energy.blocks = time.blocks;
    const RepeatSummary t = fitted(m, false, seconds_median);
    time.value = t.value;
    time.noise_variance = t.spread_variance;
    problem.seconds.push_back(std::move(time));
    if (first) problem.meter = meter_label_of(m);
    first = false;
    if (m.joules_per_iteration.empty()) {
      has_energy = false;
      return;
    }
    const RepeatSummary e = fitted(m, true, joules_median);
    energy.value = e.value;
    energy.noise_variance = e.spread_variance;
    problem.joules.push_back(std::move(energy));
  };
  for (Kind& k : kinds_)
    for (const Point& p : k.points) add(variant_network(k.profile, p.channels, plan_).model, p.measurement);
  problem.variants = problem.seconds.size();
  for (const Calibration& c : calibration_) {
    add(c.model, c.measurement);
    problem.calibration_models.push_back(c.model);
  }
  if (!has_energy) problem.joules.clear();
  problem.measurements = problem.seconds.size();
  // Starts: each kind's subtractive fit where it has one (kinds fit in dependency order).
  auto start = [&](const std::vector<JointMeasurement>& data, bool energy) {
    double typical = 0;
    for (const JointMeasurement& m : data) typical += m.value / static_cast<double>(data.size());
    JointHyperparameters h;
    h.absolute_noise_variance = 1e-4 * typical * typical;
    for (Kind& k : kinds_) {
      JointKindHyperparameters kh{0.0, typical * typical, std::vector<double>(k.profile.bounds().size(), 1.0),
                                  settings_.trend == GpTrend::Quadratic ? typical * typical : 0.0};
      const std::shared_ptr<const GaussianProcess>& gp = energy ? k.joules_gp : k.seconds_gp;
      if (gp != nullptr) {
        kh.mean = gp->targets().mean();
        kh.signal_variance = gp->hyperparameters().signal_variance * gp->target_variance_scale();
        if (gp->warp() == settings_.warp) kh.length_scales = gp->hyperparameters().length_scales;
        if (gp->trend() == settings_.trend && settings_.trend == GpTrend::Quadratic)
          kh.trend_variance = gp->hyperparameters().trend_variance * gp->target_variance_scale();
      }
      h.kinds.push_back(std::move(kh));
    }
    return h;
  };
  for (Kind& k : kinds_) {
    if (k.points.empty()) continue;
    fit(k);  // a kind whose fit fails (a helper never fitted) starts from the defaults
  }
  for (std::size_t i = 0; i < kinds_.size(); ++i) {
    const Kind& k = kinds_[i];
    problem.kinds[i].steps = k.steps;  // the joint kernels read channels as the kind's own fit does
    if (k.seconds_gp != nullptr) problem.subtractive[k.profile.key] = k.model;
  }
  problem.correct_subtractive = settings_.calibration_correction;
  if (!problem.seconds.empty()) problem.seconds_start = start(problem.seconds, false);
  if (!problem.joules.empty()) problem.joules_start = start(problem.joules, true);
  return problem;
}

}  // namespace ampere

