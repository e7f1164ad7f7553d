#include <regex>

#include "common/error.hpp"
#include "coordinator/store_backends.hpp"

namespace ampere {

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
  throw std::runtime_error("store: unknown job state '" + name + "'");
}

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

}  // namespace ampere
