#include "coordinator/store/records.hpp"

namespace ampere {

const char* campaign_state_name(CampaignState state) {
  switch (state) {
    case CampaignState::Running: return "running";
    case CampaignState::Done: return "done";
    case CampaignState::Stopped: return "stopped";
  }
  return "?";
}

CampaignState parse_campaign_state(const std::string& name) {
  for (CampaignState state : {CampaignState::Running, CampaignState::Done, CampaignState::Stopped})
    if (name == campaign_state_name(state)) return state;
  throw InputError("store: unknown campaign state '" + name + "' (known: running, done, stopped)");
}

const char* job_state_name(JobState state) {
  switch (state) {
    case JobState::Queued: return "queued";
    case JobState::Running: return "running";
    case JobState::Done: return "done";
    case JobState::Failed: return "failed";
  }
  return "?";
}

JobState parse_job_state(const std::string& name) {
  for (JobState state : {JobState::Queued, JobState::Running, JobState::Done, JobState::Failed})
    if (name == job_state_name(state)) return state;
  throw InputError("store: unknown job state '" + name + "' (known: queued, running, done, failed)");
}

}  // namespace ampere
