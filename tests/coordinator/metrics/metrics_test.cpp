#include <doctest/doctest.h>

#include "common/error.hpp"
#include "coordinator/metrics/coordinator_metrics.hpp"

using namespace ampere;

TEST_CASE("coordinator metrics follow Prometheus naming and carry their labels") {
  CoordinatorMetrics metrics;
  metrics.result_stored("sim-xavier", "simulated");
  metrics.result_stored("sim-xavier", "simulated");
  metrics.job_failed("sim-xavier");
  metrics.agent_lost("sim-xavier");
  metrics.store_error("store_result");
  metrics.estimate_served("http", 200, 0.0004);
  metrics.estimate_served("http", 422, 0.02);
  metrics.set_agents("sim-xavier", 2);
  metrics.set_jobs("sim-xavier", 5, 2);
  metrics.set_spool(7, 100);
  metrics.set_kind({"1", "sim-xavier", "v1|output|k", "output"}, 12, 0.034, false);
  metrics.set_campaign("1", "sim-xavier", "cnn5", true, 40);
  metrics.set_heldout_mape("sim-xavier", "ampere", "seconds", "simulated", 0.031, 3);
  const std::string text = metrics.text();
  CAPTURE(text);
  CHECK(text.find("ampere_results_stored_total{device_class=\"sim-xavier\",meter=\"simulated\"} 2") != std::string::npos);
  CHECK(text.find("ampere_jobs_failed_total{device_class=\"sim-xavier\"} 1") != std::string::npos);
  CHECK(text.find("ampere_agents_lost_total{device_class=\"sim-xavier\"} 1") != std::string::npos);
  CHECK(text.find("ampere_store_errors_total{operation=\"store_result\"} 1") != std::string::npos);
  CHECK(text.find("ampere_estimate_requests_total{code=\"422\",source=\"http\"} 1") != std::string::npos);
  CHECK(text.find("ampere_estimate_latency_seconds_bucket{source=\"http\",le=\"0.0005\"} 1") != std::string::npos);
  CHECK(text.find("ampere_estimate_latency_seconds_count{source=\"http\"} 2") != std::string::npos);
  CHECK(text.find("ampere_agents_connected{device_class=\"sim-xavier\"} 2") != std::string::npos);
  CHECK(text.find("ampere_jobs{device_class=\"sim-xavier\",state=\"queued\"} 5") != std::string::npos);
  CHECK(text.find("ampere_spool_results 7") != std::string::npos);
  CHECK(text.find("ampere_kind_points{campaign=\"1\",device_class=\"sim-xavier\",kind=\"v1|output|k\",role=\"output\"} 12") !=
        std::string::npos);
  CHECK(text.find("ampere_kind_max_relative_std_ratio{") != std::string::npos);
  CHECK(text.find("ampere_heldout_mape_ratio{device_class=\"sim-xavier\",estimator=\"ampere\",meter=\"simulated\","
                  "quantity=\"seconds\"} 0.031") != std::string::npos);
  CHECK(text.find("ampere_campaign_running{campaign=\"1\",device_class=\"sim-xavier\",family=\"cnn5\"} 1") != std::string::npos);
  // no label named `job`: Prometheus would rename it to exported_job on scrape
  CHECK(text.find("{job=") == std::string::npos);
  CHECK(text.find(",job=") == std::string::npos);
}

TEST_CASE("a metrics address that cannot be served is refused with its name") {
  CoordinatorMetrics metrics;
  CHECK_THROWS_WITH_AS(metrics.serve("256.1.1.1:99999"), doctest::Contains("--metrics 256.1.1.1:99999"), InputError);
}
