#include "coordinator/store.hpp"

#include <cmath>
#include <unistd.h>

#include <filesystem>

#include <doctest/doctest.h>

#include "common/error.hpp"

using namespace ampere;

namespace {
struct TempFile {
  std::string path = (std::filesystem::temp_directory_path() / ("ampere-store-" + std::to_string(::getpid()) + ".db")).string();
  ~TempFile() {
    for (const char* suffix : {"", "-wal", "-shm"}) std::filesystem::remove(path + suffix);
  }
};
}  // namespace

TEST_CASE("the SQLite store keeps campaigns, jobs and results across reopening") {
  TempFile file;
  std::uint64_t campaign = 0, job = 0;
  {
    StorePtr store = open_store("sqlite:" + file.path);
    campaign = store->create_campaign({0, "{}", "server", 20, "max-variance", "running"});
    JobRecord j;
    j.campaign_id = campaign;
    j.kind_key = "v1|output|in=flat|linear(bias=1)|classes=10|batch=10|dtype=float32";
    j.channels = {12};
    j.variant_json = "{\"name\": \"v\"}";
    const auto ids = store->create_jobs({j, j});
    REQUIRE(ids.size() == 2);
    job = ids[0];
    store->set_job_state(job, JobState::Running, "agent-1");
    Measurement m;
    m.seconds_per_iteration = {0.1, 0.11};
    m.joules_per_iteration = {1.0, 1.1};
    m.meter = MeterSource::Simulated;
    m.iterations = 10;
    m.threads = 1;
    m.idle_watts = std::nan("");
    store->store_result({job, "agent-1", m});
    CHECK_THROWS_AS(store->store_result({job, "agent-1", m}), std::exception);  // never twice
    CHECK_THROWS_AS(store->store_result({999, "agent-1", m}), InputError);
    store->save_kind_model(campaign, "k", "{\"v\": 1}");
    store->save_kind_model(campaign, "k", "{\"v\": 2}");  // replaced, not duplicated
  }
  StorePtr store = open_store("sqlite:" + file.path);
  REQUIRE(store->campaigns().size() == 1);
  CHECK(store->campaigns()[0].device_class == "server");
  const auto jobs = store->jobs(campaign);
  REQUIRE(jobs.size() == 2);
  CHECK(jobs[0].state == JobState::Done);
  CHECK(jobs[0].attempts == 1);
  CHECK(jobs[0].channels == std::vector<std::int64_t>{12});
  CHECK(jobs[1].state == JobState::Queued);
  const auto results = store->results(campaign);
  REQUIRE(results.size() == 1);
  CHECK(results[0].measurement.joules_per_iteration[1] == 1.1);
  CHECK(results[0].measurement.meter == MeterSource::Simulated);
  CHECK(std::isnan(results[0].measurement.idle_watts));
  const auto models = store->kind_models(campaign);
  REQUIRE(models.size() == 1);
  CHECK(models[0].second == "{\"v\": 2}");
}

TEST_CASE("store URLs are checked") {
  CHECK_THROWS_WITH_AS(open_store("mysql://x"), doctest::Contains("unknown scheme"), InputError);
  CHECK_THROWS_WITH_AS(open_store("sqlite:/nonexistent-dir/x.db"), doctest::Contains("cannot open"), InputError);
}
