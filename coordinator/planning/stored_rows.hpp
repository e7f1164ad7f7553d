// What a restart (and a bridge snapshot) may use of what is stored. A stored row that cannot be
// used (it does not decode, its JSON or spec does not parse, its measurement is not plausible, it
// names a job its campaign does not hold) is quarantined: set aside, named with why, and left in
// the store untouched, while everything else is restored. A restart never refuses to start
// because of stored data (docs/security.md).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "coordinator/store/records.hpp"

namespace ampere {

/// One stored row set aside.
struct QuarantinedRow {
  std::uint64_t campaign_id = 0;
  std::uint64_t job_id = 0;  ///< 0 for a campaign or a kind model
  std::string row;           ///< "campaign", "job", "result" or "kind model"
  std::string kind_key;      ///< a kind model's kind
  std::string reason;
  /// "campaign 3, result of job 17: measurement: seconds of repeat 0 must be within ..."
  std::string describe() const;
};

struct UsableStore {
  std::vector<StoredCampaign> campaigns;  ///< only usable rows
  std::vector<QuarantinedRow> quarantined;
};

/// Splits what was read from the store into what may be used and what is set aside: a campaign
/// whose record does not decode, whose family is not a profilable spec or whose settings do not
/// parse (all its rows go with it); a job that does not decode or whose model does not parse (its
/// result goes with it); a result that does not decode, fails validate_measurement, or names a
/// job not held (its job then reads as failed: it is over, never measured again); a kind model
/// whose JSON is not a kind model.
UsableStore set_aside_unusable(std::vector<StoredCampaign> stored);

}  // namespace ampere
