#include "coordinator/store/records.hpp"

#include <doctest/doctest.h>

using namespace ampere;

TEST_CASE("campaign and job states keep the spellings stored and shown in campaign status --json") {
  CHECK(std::string(campaign_state_name(CampaignState::Running)) == "running");
  CHECK(std::string(campaign_state_name(CampaignState::Done)) == "done");
  CHECK(std::string(campaign_state_name(CampaignState::Stopped)) == "stopped");
  for (CampaignState s : {CampaignState::Running, CampaignState::Done, CampaignState::Stopped})
    CHECK(parse_campaign_state(campaign_state_name(s)) == s);
  CHECK_THROWS_WITH_AS(parse_campaign_state("Running"), doctest::Contains("unknown campaign state 'Running'"), InputError);
  for (JobState s : {JobState::Queued, JobState::Running, JobState::Done, JobState::Failed})
    CHECK(parse_job_state(job_state_name(s)) == s);
  CHECK(std::string(job_state_name(JobState::Failed)) == "failed");
  CHECK_THROWS_WITH_AS(parse_job_state(""), doctest::Contains("unknown job state ''"), InputError);
}

TEST_CASE("a duplicate result is a conflict, and a held-out job is known by its kind key") {
  CHECK(DuplicateResult("again").code() == ErrorCode::Conflict);
  JobRecord job;
  job.kind_key = kHoldoutKind;
  CHECK(job.holdout());
  job.kind_key = "v1|output|...";
  CHECK_FALSE(job.holdout());
}
