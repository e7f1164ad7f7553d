// Test doubles for the store room: a temp dir, a measurement, and a store that is away until told.
#pragma once

#include <unistd.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include "coordinator/store/store.hpp"

namespace ampere::testing {

struct Dir {  // a temp dir, removed with everything in it
  std::filesystem::path path = std::filesystem::temp_directory_path() /
                               ("ampere-spool-" + std::to_string(::getpid()) + "-" + std::to_string(std::rand()));
  Dir() { std::filesystem::create_directories(path); }
  ~Dir() { std::filesystem::remove_all(path); }
  std::string file(const std::string& name) const { return (path / name).string(); }
};

inline Measurement measurement(double seconds) {
  Measurement m;
  m.seconds_per_iteration = {seconds, seconds * 1.1};
  m.joules_per_iteration = {seconds * 20, seconds * 22};
  m.meter = MeterSource::Simulated;
  m.iterations = 10;
  m.threads = 1;
  m.idle_watts = std::nan("");
  return m;
}

/// A store that is away until `up` is set; records what it was given.
class FlakyStore final : public Store {
 public:
  bool up = false;
  std::vector<ResultRecord> stored;
  std::uint64_t create_campaign(const CampaignRecord&) override { return 1; }
  void set_campaign_state(std::uint64_t, CampaignState) override {}
  std::vector<CampaignRecord> campaigns() override { return {}; }
  std::vector<std::uint64_t> create_jobs(const std::vector<JobRecord>&) override { return {}; }
  void set_job_state(std::uint64_t, JobState, const std::string&) override {}
  void discard_result(std::uint64_t) override {}
  std::vector<JobRecord> jobs(std::uint64_t) override { return {}; }
  int result_tries = 0;  ///< store_result calls, stored or not
  int probes = 0;        ///< fingerprint calls
  void store_result(const ResultRecord& r) override {
    ++result_tries;
    if (!up) throw StoreUnavailable("connection refused");
    if (r.job_id == 666) throw InputError("result for unknown job 666");
    for (const ResultRecord& s : stored)
      if (s.job_id == r.job_id) throw DuplicateResult("job has a stored result already");
    stored.push_back(r);
  }
  std::vector<ResultRecord> results(std::uint64_t) override { return stored; }
  std::optional<std::string> result_agent(std::uint64_t job_id) override {
    for (const ResultRecord& s : stored)
      if (s.job_id == job_id) return s.agent_id;
    return std::nullopt;
  }
  void save_kind_model(std::uint64_t, const std::string&, const std::string&) override {}
  std::vector<std::pair<std::string, std::string>> kind_models(std::uint64_t) override { return {}; }
  std::string fingerprint() override {
    ++probes;
    if (!up) throw StoreUnavailable("connection refused");
    return std::to_string(stored.size());
  }
};

}  // namespace ampere::testing
