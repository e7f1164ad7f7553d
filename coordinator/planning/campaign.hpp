// A campaign: profile one model family on one device class (docs/method.md §2, §4).
//
// Pure logic, no sockets and no store: the coordinator asks it for work, hands it results, and
// persists what it returns. Kinds are profiled in dependency order (outputs, inputs, hidden), all
// kinds whose helpers are finished at once; each round fits the kind's GPs on targets with the
// helpers' estimates subtracted and picks the next batch by max variance. Not thread safe.
#pragma once

#include <cmath>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/campaign_budget.hpp"
#include "gp/acquisition.hpp"
#include "common/layer_parser.hpp"
#include "common/measurement.hpp"
#include "common/model_spec.hpp"
#include "coordinator/planning/channel_step_search.hpp"
#include "coordinator/planning/joint_additive_gp.hpp"
#include "coordinator/planning/joint_fit.hpp"
#include "coordinator/planning/kind_model.hpp"
#include "coordinator/planning/reference_readings.hpp"

namespace ampere {

/// A point of a kind's GP: its channels (the GP's inputs), in the kind's dimension order.
using Channels = std::vector<std::int64_t>;

struct CampaignSettings {
  std::uint32_t budget_per_kind = kDefaultBudget;  ///< points per kind, start points included
  Acquisition acquisition = Acquisition::MaxVariance;
  RepeatStatistic statistic = RepeatStatistic::Minimum;
  double converged_relative_std = kConvergedRelativeStd;
  std::uint64_t seed = 0;  ///< GP restarts
  EstimatorMethod estimator = EstimatorMethod::Subtractive;
  /// The kernels' trend (docs/method.md §9); GpTrend::None is the paper's Matérn alone.
  GpTrend trend = GpTrend::Quadratic;
  /// How channels enter the kernels (docs/method.md §12); GpWarp::Linear is the paper's.
  GpWarp warp = GpWarp::Log;
  /// Joint fits: every kind's mean follows its block's FLOPs with one slope shared by the class
  /// (docs/method.md §9: measured, no better on the shipped families, so off by default); false is
  /// a constant mean per kind, as the paper's.
  bool work_mean = false;
  /// A kind may converge after its start points and guided_factor·d² guided points (8; 3 before
  /// docs/method.md §9).
  std::size_t guided_factor = kGuidedPointsBeforeConvergence;
  /// Randomly interleave the jobs of one plan (start points of a kind, several kinds), so that what
  /// the machine drifts through does not line up with channel size (docs/method.md §5).
  bool interleave = true;
  /// Fit measurements divided by the reference reading taken beside them and multiplied by the
  /// campaign's median reading (docs/method.md §5): estimates stay in the device's own units.
  bool normalize_reference = true;
  /// Subtractive fits carry a correction fitted on the campaign's calibration models
  /// (docs/method.md §11); false (the default: measured worse) serves them as fitted, as the paper does.
  bool calibration_correction = false;
  /// Profile-on-demand (docs/byom.md §3): profile only these kinds of the family, and the helper
  /// kinds their variant networks subtract; empty: every kind.
  std::vector<std::string> only_kinds;
  /// Channel quantization (docs/method.md §14); Probe since measured here side by side with Off
  /// (the steps family 3.4% against 21.7%, resnet 10.2% against 11.4%).
  ChannelStepSearch channel_steps = ChannelStepSearch::Probe;
};

/// A point far from its kind's fit (docs/method.md §5, "Far points"): judged once the kind has
/// kFarQuorum points, far when its miss is over kFarScore times what the fit expects there (the
/// predictive spread, widened by how much larger the fit's leave-one-out misses are than it says)
/// and over kFarShare of the predicted time. Such a point is measured again by another agent
/// before it enters the fit; two readings agree within kFarAgreement (a ratio).
constexpr std::size_t kFarQuorum = 8;
constexpr double kFarScore = 5.0;
constexpr double kFarShare = 0.5;
constexpr double kFarAgreement = 1.25;

/// How far a result lies from its kind's current fit.
struct FarCheck {
  bool judged = false;          ///< false: too few points, no fit yet, or the kind is not profiling
  double score = std::nan("");  ///< |miss| over the expected spread
  double share = std::nan("");  ///< |miss| over the predicted time
  double predicted_seconds = std::nan("");  ///< the variant's time the fit predicts
  bool far() const { return judged && score > kFarScore && share > kFarShare; }
};

/// What became of a far point once measured again (the metric's label: "agreed", "kept-first",
/// "kept-second", "unconfirmed").
enum class FarOutcome { Agreed, KeptFirst, KeptSecond, Unconfirmed };
const char* far_outcome_name(FarOutcome outcome);
struct FarResolution {
  FarOutcome outcome = FarOutcome::Agreed;
  std::uint64_t held_job = 0;       ///< the far point's job
  std::uint64_t discarded_job = 0;  ///< 0: none (both entered the fit)
  double ratio = std::nan("");      ///< the second reading over the first
};

/// Models sampled from the family for the estimate-variance acquisition's demand.
constexpr std::size_t kDemandModels = 200;

/// A variant network to measure.
struct PlannedJob {
  KindKey kind;
  Channels channels;
  ModelSpec variant;
  std::string not_agent{};  ///< a far point's confirmation: not for the agent that measured it
};

enum class KindState { Waiting, Profiling, Done };
/// "waiting", "profiling", "done" (a done kind is shown by its stop reason instead).
const char* kind_state_name(KindState state);

struct KindProgressInfo {
  KindKey key;
  BlockRole role = BlockRole::Output;
  bool auxiliary = false;
  KindState state = KindState::Waiting;
  StopReason stop = StopReason::KeepGoing;
  std::size_t points = 0;
  std::size_t outstanding = 0;
  double max_relative_std = 0;  ///< of the guiding GP, at the last fit (NaN before the first)
  std::vector<std::pair<std::size_t, double>> convergence;  ///< (points, max relative std) per evaluation
  ChannelSteps steps;  ///< the quantization its fit chose (empty: none, or not looked for)
  std::string fit_error;  ///< why its last fit failed (empty: it did not); its last good fit serves
  std::size_t fit_failures = 0;
};

class Campaign {
 public:
  /// Throws InputError when the family has no ranges or its plan cannot be derived.
  Campaign(std::uint64_t id, ModelSpec family, std::string device_class, CampaignSettings settings);

  std::uint64_t id() const { return id_; }
  const ModelSpec& family() const { return family_; }
  const std::string& device_class() const { return device_class_; }
  const CampaignSettings& settings() const { return settings_; }

  /// New jobs for kinds that are ready and have nothing outstanding: start points first, then up
  /// to `batch_size` max-variance points per kind. Fits GPs as needed (O(n³) per kind).
  std::vector<PlannedJob> plan(std::size_t batch_size);

  /// A job planned earlier (e.g. before a restart) is still to come back.
  void restore_outstanding(const KindKey& kind, const Channels& channels);
  /// A job's result. Throws InputError for an unknown kind or an invalid measurement.
  void add_result(const KindKey& kind, const Channels& channels, const Measurement& measurement);
  /// A planned job that never reached the queue (the store was away): its point may be planned again.
  void withdraw(const KindKey& kind, const Channels& channels);
  /// A job that failed for good: its point is skipped (a far point held there enters the fit
  /// unconfirmed: returned, with its job).
  std::optional<FarResolution> job_failed(const KindKey& kind, const Channels& channels);
  /// How far a result lies from its kind's latest fit (never refits: points since count at the
  /// next plan, as they do for guiding).
  FarCheck check_far(const KindKey& kind, const Channels& channels, const Measurement& measurement);
  /// Holds a far result out of the fit and plans its point once more, for another agent than
  /// `agent_id`. False (nothing held) when the kind is not profiling or the point was measured
  /// again already. `restored`: held again after a restart, its confirmation job already stored.
  bool hold_far(const KindKey& kind, const Channels& channels, const Measurement& measurement, std::uint64_t job_id,
                const std::string& agent_id, bool restored = false);
  /// The agent that measured the far point held at `channels` (empty: none held there).
  std::string held_agent(const KindKey& kind, const Channels& channels) const;
  /// A result at a held far point: the two readings decide (agreeing: both enter the fit; else the
  /// one nearer the fit, the other is returned as discarded). Nullopt when no point is held there
  /// (the result is then the caller's to add_result).
  std::optional<FarResolution> confirm_far(const KindKey& kind, const Channels& channels, const Measurement& measurement,
                                           std::uint64_t job_id);
  /// Judges a result's reference reading against the campaign's readings so far (before it is added).
  ReferenceCheck check_reference(const Measurement& measurement) const;
  /// Plans `channels` of `kind` once more (a point measured during a drift spike); both results are
  /// fitted. A point is measured again at most once, and only while its kind is profiling; returns
  /// false when it is not planned again.
  bool remeasure(const KindKey& kind, const Channels& channels);
  /// The median of the reference readings (time, or energy) over every result so far; NaN below
  /// kReferenceQuorum readings.
  double reference_median(bool energy) const;

  /// A whole model of the family measured for calibration (the joint fit reads it). Throws
  /// InputError for a family, an invalid measurement, or a block whose kind the plan lacks.
  void add_calibration(const ModelSpec& model, const Measurement& measurement);
  std::size_t calibration_models() const { return calibration_.size(); }

  /// The campaign's measurements as a joint fit's input (fits the subtractive GPs it starts from).
  JointProblem joint_problem();
  /// Installs a joint fit of `measurements` measurements: models() returns it from now on. An empty
  /// map (a fit the calibration check kept out) puts the subtractive fits back.
  void set_joint_models(std::map<KindKey, KindModel> models, std::size_t measurements);
  /// Measurements (variant points and calibration models) so far, and in the installed joint fit.
  std::size_t measurement_count() const;
  std::size_t joint_measurements() const { return joint_measurements_; }

  bool done() const;
  std::vector<KindProgressInfo> progress() const;
  /// Fitted models of finished kinds: the installed joint fit when the campaign's estimator is joint
  /// and one is installed, else each kind's subtractive fit (fitted here if not yet), carrying the
  /// correction from the calibration models once every kind they hold is done (docs/method.md §11).
  std::map<KindKey, KindModel> models();
  /// A joint fit's models as the campaign serves them: with the interval terms of its calibration
  /// models (the larger of the fit's own out-of-sample residual and theirs) and of its reference
  /// readings (docs/method.md §14, §17). What models() returns for an installed joint fit.
  std::map<KindKey, KindModel> served_joint(std::map<KindKey, KindModel> joint) const;
  /// A fitted kind model (see kind_model_from_json): a subtractive one is used without refitting
  /// while the kind holds exactly the points it was fitted on; a joint one is installed as the
  /// joint fit of every measurement the campaign held when it was saved.
  void restore_model(const KindKey& kind, const nlohmann::json& json);
  const std::vector<ProfileKind>& plan_kinds() const { return plan_; }

 private:
  struct Point {
    Channels channels;
    Measurement measurement;
  };
  struct Kind {
    ProfileKind profile;
    Eigen::MatrixXd candidates;
    std::vector<Point> points;
    std::vector<Channels> asked;  ///< every point planned, returned or failed (never re-planned)
    std::size_t outstanding = 0;
    KindState state = KindState::Waiting;
    StopReason stop = StopReason::KeepGoing;
    double relative_std = std::nan("");
    std::vector<std::pair<std::size_t, double>> convergence;
    KindModel model;  ///< the subtractive fit
    std::shared_ptr<const GaussianProcess> seconds_gp, joules_gp;  ///< the same, as GPs (helpers, guide)
    std::size_t fitted_points = 0;  ///< points in `model` (refit when more arrive)
    std::string fit_error;          ///< why the last fit failed (empty: it did not)
    std::size_t fit_failures = 0;
    EstimateDemand demand;  ///< where the family's models need this kind (estimate-variance only)
    ChannelSteps steps;     ///< the quantization of the latest fit (docs/method.md §14)
    std::vector<Channels> again;       ///< points to measure once more (drift, far), not yet planned
    std::vector<Channels> remeasured;  ///< points already measured again
    struct Held {
      Channels channels;
      Measurement measurement;
      std::uint64_t job_id = 0;
      std::string agent_id;
    };
    std::vector<Held> held;  ///< far points out of the fit until measured again
    std::uint64_t fits = 0;          ///< fits so far (refit counts them)
    std::uint64_t far_widen_of = 0;  ///< the fit far_widen was computed for (0: none yet)
    double far_widen = 1;            ///< how much larger that fit's leave-one-out misses are than it says
  };
  struct Calibration {
    ModelSpec model;
    Measurement measurement;
  };

  Kind& kind(const KindKey& key);
  bool ready(const Kind& k) const;
  /// Refits the kind's GPs when points came since; a failure is contained to the kind
  /// (fit_error, fit_failures) and never thrown.
  void fit(Kind& k);
  void refit(Kind& k);  ///< throws what the fit throws
  /// The helpers' estimates a variant network of `k` at `channels` carries, summed (time, or
  /// energy): what refit subtracts from its points and check_far from a new result.
  struct HelperSum {
    double mean = 0, variance = 0;
    std::string unfitted;  ///< a helper without a fit of that quantity (the sum is then partial)
  };
  HelperSum helpers_at(const Kind& k, const Channels& channels, bool energy);
  std::vector<PlannedJob> next_points(Kind& k, std::size_t batch_size);
  PlannedJob planned(Kind& k, const Channels& channels);
  void build_demand();

  std::uint64_t id_;
  ModelSpec family_;
  std::string device_class_;
  CampaignSettings settings_;
  std::vector<ProfileKind> plan_;
  std::vector<Kind> kinds_;
  std::vector<Calibration> calibration_;
  std::map<KindKey, KindModel> joint_models_;
  std::size_t joint_measurements_ = 0;
  std::uint64_t plans_ = 0;  ///< plan() calls, seeding the interleaving
  ReferenceReadings references_;  ///< every result's reading, as added
  /// The fitted statistic of `m`'s repeats, normalized by its reference reading when the
  /// campaign normalizes and both readings exist (value × median / reading; noise × the square).
  /// `median` is reference_median(energy), computed once by the caller for all its results.
  RepeatSummary fitted(const Measurement& m, bool energy, double median) const;
  /// The correction of `subtractive` by the calibration models (inactive when it cannot estimate them all).
  CalibrationCorrection calibration_correction(const std::map<KindKey, KindModel>& subtractive) const;
  /// Sets every served model's whole_model_residual: the mean over the calibration models of their
  /// squared log miss beyond what the estimate's own variance explains (docs/method.md §14); 0
  /// below 2 calibration models or while one cannot be estimated. `keep_larger`: a model's own
  /// residual stays when larger (a joint fit's, measured out of sample by its check).
  void set_whole_model_residual(std::map<KindKey, KindModel>& served, bool keep_larger = false) const;
  /// Sets every served model's reference log variances from the campaign's reference readings
  /// (docs/method.md §17): how much the device's speed moved while it measured; 0 when the
  /// campaign does not normalize.
  void set_reference_log_variance(std::map<KindKey, KindModel>& served) const;
};

}  // namespace ampere
