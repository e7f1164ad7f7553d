#include "coordinator/server/status_encoding.hpp"

#include <cmath>

#include "protocol.capnp.h"
#include "wire_convert.hpp"

namespace ampere {

std::string ack_frame(std::uint64_t job_id, bool stored, const std::string& reason, ErrorCode code) {
  return make_frame([&](wire::Envelope::Body::Builder body) {
    auto a = body.initAck();
    a.setJobId(job_id);
    a.setStored(stored);
    a.setReason(reason);
    if (!stored) a.setCode(to_wire(code));
  });
}

std::string campaign_status_frame(const std::vector<const CampaignEntry*>& selected,
                                  const std::vector<QuarantinedRow>& quarantined, std::uint64_t campaign_id,
                                  const JobQueue& jobs, const FleetRegistry& fleet) {
  const auto rows_of = [&](std::uint64_t id) {
    std::vector<std::string> rows;
    for (const QuarantinedRow& q : quarantined)
      if (q.campaign_id == id) rows.push_back(q.describe());
    return rows;
  };
  std::vector<const QuarantinedRow*> whole;  // campaigns set aside whole: listed with state "quarantined"
  for (const QuarantinedRow& q : quarantined)
    if (q.row == "campaign" && (campaign_id == 0 || q.campaign_id == campaign_id)) whole.push_back(&q);
  return make_frame([&](wire::Envelope::Body::Builder body) {
    auto list = body.initCampaignStatus().initCampaigns(static_cast<unsigned>(selected.size() + whole.size()));
    const auto set_rows = [](wire::CampaignInfo::Builder info, const std::vector<std::string>& rows) {
      auto out = info.initQuarantined(static_cast<unsigned>(rows.size()));
      for (unsigned r = 0; r < rows.size(); ++r) out.set(r, rows[r]);
    };
    for (unsigned w = 0; w < whole.size(); ++w) {
      auto info = list[static_cast<unsigned>(selected.size()) + w];
      info.setCampaignId(whole[w]->campaign_id);
      info.setFamily("?");
      info.setState("quarantined");
      info.setEtaSeconds(std::nan(""));
      set_rows(info, rows_of(whole[w]->campaign_id));
    }
    for (unsigned i = 0; i < selected.size(); ++i) {
      const CampaignEntry& entry = *selected[i];
      auto info = list[i];
      set_rows(info, rows_of(entry.record.id));
      info.setCampaignId(entry.record.id);
      info.setFamily(entry.campaign->family().name);
      info.setDeviceClass(entry.record.device_class);
      info.setState(campaign_state_name(entry.record.state));
      const JobQueue::Counts counts = jobs.counts_for_campaign(entry.record.id);
      info.setJobsQueued(static_cast<std::uint32_t>(counts.queued));
      info.setJobsRunning(static_cast<std::uint32_t>(counts.running));
      const auto progress = entry.campaign->progress();
      std::uint32_t points = 0;
      const std::size_t remaining = CampaignService::points_remaining_at_most(entry);
      auto kinds = info.initKinds(static_cast<unsigned>(progress.size()));
      for (unsigned k = 0; k < progress.size(); ++k) {
        const KindProgressInfo& p = progress[k];
        kinds[k].setKindKey(p.key.str());
        kinds[k].setRole(block_role_name(p.role));
        kinds[k].setPoints(static_cast<std::uint32_t>(p.points));
        kinds[k].setBudget(entry.record.budget_per_kind);
        kinds[k].setMaxRelativeStd(p.max_relative_std);
        auto convergence = kinds[k].initConvergence(static_cast<unsigned>(p.convergence.size()));
        for (unsigned c = 0; c < p.convergence.size(); ++c) {
          convergence[c].setPoints(static_cast<std::uint32_t>(p.convergence[c].first));
          convergence[c].setMaxRelativeStd(p.convergence[c].second);
        }
        kinds[k].setState(p.state == KindState::Done ? stop_reason_name(p.stop) : kind_state_name(p.state));
        kinds[k].setFitError(p.fit_error);
        points += static_cast<std::uint32_t>(p.points);
      }
      info.setJobsDone(points);
      info.setPointsRemainingAtMost(static_cast<std::uint32_t>(remaining));
      const std::size_t agents = fleet.connected(entry.record.device_class);
      const auto mean = jobs.mean_job_seconds(entry.record.device_class);
      info.setEtaSeconds(!mean || agents == 0 ? std::nan("")
                                              : static_cast<double>(remaining) * *mean / static_cast<double>(agents));
    }
  });
}

std::string device_classes_frame(const FleetRegistry& fleet, const Estimator& estimator) {
  std::map<std::string, std::size_t> classes = fleet.connected_per_class();
  for (const std::string& name : estimator.device_classes()) classes[name];
  return make_frame([&](wire::Envelope::Body::Builder body) {
    auto list = body.initDeviceClasses().initClasses(static_cast<unsigned>(classes.size()));
    unsigned i = 0;
    for (const auto& [name, agents] : classes) {
      list[i].setName(name);
      list[i].setAgents(static_cast<std::uint32_t>(agents));
      ++i;
    }
  });
}

}  // namespace ampere
