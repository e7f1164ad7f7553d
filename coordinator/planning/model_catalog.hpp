// The one piece that turns what is stored into what answers: fitted kind models into estimators,
// measured variant networks into FLOPs lines, measured held-out models into live accuracy
// scores. The coordinator's loop keeps one up to date as results arrive (and rebuilds it on
// reload); the HTTP bridge builds one per snapshot with from_stored(). Written once, so both
// readers answer alike.
//
// Thread safety: none for changes; a catalog nobody changes any more (a bridge snapshot) may be
// read from many threads.
#pragma once

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "coordinator/planning/accuracy.hpp"
#include "coordinator/planning/estimator.hpp"
#include "coordinator/store/records.hpp"

namespace ampere {

class ModelCatalog {
 public:
  /// Everything stored: each campaign's saved kind models and its measured jobs, less the rows
  /// set_aside_unusable sets aside (a restart sets them aside too).
  static ModelCatalog from_stored(const std::vector<StoredCampaign>& campaigns);

  /// Adds or replaces fitted kinds of a device class.
  void set_models(const std::string& device_class, const std::map<KindKey, KindModel>& models);
  /// A job measured on `device_class`: a variant network feeds the class's FLOPs line, a held-out
  /// model (JobRecord::holdout) its live accuracy and nothing else, a calibration model nothing
  /// here (the campaign's joint fit reads it).
  void add_measured(const std::string& device_class, std::uint64_t campaign_id, const JobRecord& job,
                    const Measurement& measurement);

  /// The estimator, its FLOPs lines refitted first where results came since (a line is refitted
  /// when read, not per result: a fleet's results would make that quadratic).
  const Estimator& estimator() const;
  /// The class's held-out models scored against their estimates (those whose kinds are all
  /// profiled); empty figures before any can be scored.
  AccuracyScore heldout_score(const std::string& device_class) const;
  /// Per device class, the accuracy route's JSON: every measured network (held-out and profiled
  /// variants) measured vs estimated vs FLOPs line, and the held-out MAPE with its meter label.
  std::map<std::string, nlohmann::json> accuracy_report() const;

 private:
  struct Measured {
    std::string device_class;
    std::uint64_t campaign = 0;
    bool heldout = false;
    ModelSpec model;
    Measurement measurement;
  };

  /// Keeps a measured job (parsing its model) without refitting the FLOPs line.
  void record(const std::string& device_class, std::uint64_t campaign_id, const JobRecord& job,
              const Measurement& measurement);
  void refit_flops_line(const std::string& device_class) const;

  // mutable: the FLOPs lines of stale classes are refitted on first read. A snapshot built by
  // from_stored() has none stale, so reading it from many threads changes nothing.
  mutable Estimator estimator_;
  FlopsBaselineBuilder baselines_;
  mutable std::set<std::string> stale_flops_lines_;
  std::vector<Measured> measured_;
  std::map<std::string, std::vector<std::size_t>> heldout_models_;
  std::map<std::string, std::vector<double>> idle_watts_;  ///< per class: the idle baselines results carried  ///< per class: which of measured_ are held out
};

}  // namespace ampere
