// The loop's state as wire replies: campaign status (per-kind progress, convergence, ETA),
// device classes, acknowledgements.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "coordinator/server/campaign_service.hpp"

namespace ampere {

/// A CampaignStatus frame for `selected` (campaign state and kind states by their names), each
/// with its stored rows set aside at the last start; campaigns set aside whole (all when
/// `campaign_id` is 0, else that one) follow with state "quarantined".
std::string campaign_status_frame(const std::vector<const CampaignEntry*>& selected,
                                  const std::vector<QuarantinedRow>& quarantined, std::uint64_t campaign_id,
                                  const JobQueue& jobs, const FleetRegistry& fleet);
/// A DeviceClasses frame: every class known to the fleet or profiled, with its connected agents.
std::string device_classes_frame(const FleetRegistry& fleet, const Estimator& estimator);
/// An Ack frame (`stored` false: `reason` says why).
/// `code` says what kind of refusal a not-stored Ack is (NotFound: the agent is not registered
/// here, so it registers and sends the result again; anything else: the result is refused).
std::string ack_frame(std::uint64_t job_id, bool stored, const std::string& reason, ErrorCode code = ErrorCode::InvalidInput);

}  // namespace ampere
