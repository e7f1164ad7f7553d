#include "coordinator/planning/stored_rows.hpp"

#include <map>
#include <utility>

#include "common/json_text.hpp"
#include "common/model_spec.hpp"
#include "coordinator/planning/campaign.hpp"
#include "coordinator/planning/kind_model.hpp"
#include "gp/acquisition.hpp"

namespace ampere {
namespace {

/// Empty when `check` passes, else what it threw.
template <class Check>
std::string failure_of(Check&& check) {
  try {
    check();
    return {};
  } catch (const std::exception& e) {
    return e.what();
  }
}

}  // namespace

std::string QuarantinedRow::describe() const {
  std::string out = "campaign " + std::to_string(campaign_id) + ", ";
  if (row == "campaign") out = "campaign " + std::to_string(campaign_id);
  else if (row == "kind model") out += "kind model " + kind_key;
  else out += row + (row == "job" ? " " : " of job ") + std::to_string(job_id);
  return out + ": " + reason;
}

UsableStore set_aside_unusable(std::vector<StoredCampaign> stored) {
  UsableStore out;
  for (StoredCampaign& c : stored) {
    const std::uint64_t id = c.record.id;
    std::string why = c.record.unreadable;
    if (why.empty())
      why = failure_of([&] {
        const ModelSpec family = parse_model_spec(parse_json(c.record.family_json, "stored family"));
        AMPERE_REQUIRE(family.is_family(), "stored family ", family.name, " has no channel ranges");
        parse_acquisition(c.record.acquisition);
        parse_estimator_method(c.record.estimator);
      });
    if (!why.empty()) {
      out.quarantined.push_back({id, 0, "campaign", "", why});
      continue;
    }
    StoredCampaign usable;
    usable.record = std::move(c.record);
    std::map<std::uint64_t, bool> held;  // usable job ids
    for (JobRecord& job : c.jobs) {
      std::string job_why = job.unreadable;
      if (job_why.empty()) job_why = failure_of([&] { parse_model_spec(parse_json(job.variant_json, "stored job model")); });
      if (!job_why.empty()) {
        out.quarantined.push_back({id, job.id, "job", "", job_why});
        continue;
      }
      held[job.id] = true;
      usable.jobs.push_back(std::move(job));
    }
    for (ResultRecord& result : c.results) {
      std::string result_why = result.unreadable;
      if (result_why.empty() && held.count(result.job_id) == 0) result_why = "its job is not held (or was set aside)";
      if (result_why.empty()) result_why = failure_of([&] { validate_measurement(result.measurement); });
      if (!result_why.empty()) {
        out.quarantined.push_back({id, result.job_id, "result", "", result_why});
        // its job is over (a result is stored for it): failed, never measured again or replayed
        for (JobRecord& job : usable.jobs)
          if (job.id == result.job_id) job.state = JobState::Failed;
        continue;
      }
      usable.results.push_back(std::move(result));
    }
    for (auto& [kind_key, model_json] : c.kind_models) {
      const std::string& text = model_json;  // a plain reference: lambdas may capture it (C++17)
      const std::string model_why = failure_of([&] { kind_model_from_json(parse_json(text, "stored kind model")); });
      if (!model_why.empty()) {
        out.quarantined.push_back({id, 0, "kind model", kind_key, model_why});
        continue;
      }
      usable.kind_models.emplace_back(std::move(kind_key), std::move(model_json));
    }
    out.campaigns.push_back(std::move(usable));
  }
  return out;
}

}  // namespace ampere
