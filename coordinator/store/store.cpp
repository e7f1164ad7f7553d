#include <regex>

#include "common/error.hpp"
#include "coordinator/store/backends.hpp"

namespace ampere {

std::string redact_store_url(const std::string& url) {
  return std::regex_replace(url, std::regex(R"(://([^:/@]+):[^@]*@)"), "://$1:***@");
}

StorePtr open_store(const std::string& url) {
  if (url.rfind("sqlite:", 0) == 0) {
    const std::string path = url.substr(7);
    AMPERE_REQUIRE(!path.empty(), "store ", url, ": needs a path (sqlite:PATH)");
    return open_sqlite_store(path);
  }
  if (url.rfind("postgresql://", 0) == 0 || url.rfind("postgres://", 0) == 0) return open_postgres_store(url);
  throw InputError("store " + url + ": unknown scheme (known: sqlite:PATH, postgresql://USER@HOST:PORT/DB)");
}

void Store::set_job_states(const std::vector<JobStateChange>& changes) {
  for (const JobStateChange& c : changes) set_job_state(c.job_id, c.state, c.agent_id);
}

std::vector<GroupedResultOutcome> Store::store_results(const std::vector<ResultRecord>& results) {
  std::vector<GroupedResultOutcome> out;
  for (const ResultRecord& r : results) {
    try {
      store_result(r);
      out.push_back({GroupedResultOutcome::Kind::Stored, ""});
    } catch (const DuplicateResult& e) {
      out.push_back({GroupedResultOutcome::Kind::Duplicate, e.what()});
    } catch (const InputError& e) {
      out.push_back({GroupedResultOutcome::Kind::Refused, e.what()});
    }
  }
  return out;
}

std::vector<StoredCampaign> read_stored_campaigns(Store& store) {
  std::vector<StoredCampaign> out;
  for (CampaignRecord& record : store.campaigns()) {
    StoredCampaign c;
    c.jobs = store.jobs(record.id);
    c.results = store.results(record.id);
    c.kind_models = store.kind_models(record.id);
    c.record = std::move(record);
    out.push_back(std::move(c));
  }
  return out;
}

}  // namespace ampere
