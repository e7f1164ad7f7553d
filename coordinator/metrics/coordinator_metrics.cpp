#include "coordinator/metrics/coordinator_metrics.hpp"

#include <map>
#include <set>

#include <prometheus/counter.h>
#include <prometheus/exposer.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>
#include <prometheus/text_serializer.h>

#include "common/error.hpp"
#include "program/version.hpp"

namespace ampere {

using prometheus::BuildCounter;
using prometheus::BuildGauge;
using prometheus::BuildHistogram;
using prometheus::Counter;
using prometheus::Family;
using prometheus::Gauge;
using prometheus::Histogram;

struct CoordinatorMetrics::Impl {
  std::shared_ptr<prometheus::Registry> registry = std::make_shared<prometheus::Registry>();
  std::unique_ptr<prometheus::Exposer> exposer;

  Family<Counter>& results_stored = BuildCounter()
                                        .Name("ampere_results_stored_total")
                                        .Help("Measurements of variant and held-out networks committed to the store")
                                        .Register(*registry);
  Family<Counter>& jobs_done = BuildCounter().Name("ampere_jobs_done_total").Help("Jobs whose result was stored").Register(*registry);
  Family<Counter>& jobs_failed =
      BuildCounter().Name("ampere_jobs_failed_total").Help("Jobs given up after their last attempt failed").Register(*registry);
  Family<Counter>& joint_fits = BuildCounter()
                                    .Name("ampere_joint_fits_total")
                                    .Help("Joint additive GP fits, by outcome: installed; kept-subtractive (the calibration check preferred the subtractive fits); failed (the subtractive models stay)")
                                    .Register(*registry);
  Family<Counter>& joint_fit_seconds = BuildCounter()
                                           .Name("ampere_joint_fit_seconds_total")
                                           .Help("Seconds spent in joint fits (off the loop thread)")
                                           .Register(*registry);
  Family<Counter>& calibration_refused = BuildCounter()
                                             .Name("ampere_calibration_refused_total")
                                             .Help("Calibration models whose result a campaign refused")
                                             .Register(*registry);
  Family<Counter>& reference_readings = BuildCounter()
                                            .Name("ampere_reference_readings_total")
                                            .Help("Results by what their reference reading said: normal, missing, drift (measured again), off-class (refused)")
                                            .Register(*registry);
  Family<Counter>& far_points = BuildCounter()
                                            .Name("ampere_far_points_total")
                                            .Help("Results far from their kind's fit (docs/method.md §5) by what became of them: held (measured again by another agent), alone (no other agent: fitted), agreed, kept-first, kept-second, unconfirmed")
                                            .Register(*registry);
  Family<Counter>& jobs_requeued = BuildCounter()
                                       .Name("ampere_jobs_requeued_total")
                                       .Help("Jobs put back in the queue (agent lost, failed attempt)")
                                       .Register(*registry);
  Family<Counter>& agents_lost =
      BuildCounter().Name("ampere_agents_lost_total").Help("Agents dropped after missing heartbeats").Register(*registry);
  Family<Counter>& store_errors = BuildCounter()
                                      .Name("ampere_store_errors_total")
                                      .Help("Store operations that failed because the store was unreachable")
                                      .Register(*registry);
  Family<Counter>& spool_replayed = BuildCounter()
                                        .Name("ampere_spool_replayed_total")
                                        .Help("Spooled results written to the store once it was back")
                                        .Register(*registry);
  Family<Counter>& estimate_requests =
      BuildCounter().Name("ampere_estimate_requests_total").Help("Estimates asked for, by source and status code").Register(*registry);
  Family<Histogram>& estimate_latency = BuildHistogram()
                                            .Name("ampere_estimate_latency_seconds")
                                            .Help("Time to answer an estimate, by source")
                                            .Register(*registry);
  Family<Gauge>& agents = BuildGauge().Name("ampere_agents_connected").Help("Agents connected, by device class").Register(*registry);
  Family<Gauge>& jobs = BuildGauge().Name("ampere_jobs").Help("Jobs not finished, by device class and state").Register(*registry);
  Family<Gauge>& spool = BuildGauge()
                             .Name("ampere_spool_results")
                             .Help("Results waiting in the on-disk spool for the store to come back")
                             .Register(*registry);
  Family<Gauge>& spool_capacity =
      BuildGauge().Name("ampere_spool_capacity_results").Help("Results the spool holds at most").Register(*registry);
  Family<Gauge>& leader = BuildGauge()
                              .Name("ampere_coordinator_leader")
                              .Help("1 while this coordinator leads (holds the lease, --ha; always 1 without --ha), 0 while it stands by")
                              .Register(*registry);
  Family<Gauge>& leadership_epoch = BuildGauge()
                                        .Name("ampere_leadership_epoch")
                                        .Help("The leadership epoch this coordinator last led at (--ha; 0: it has not led)")
                                        .Register(*registry);
  Family<Counter>& takeovers = BuildCounter()
                                   .Name("ampere_leadership_takeovers_total")
                                   .Help("Times this coordinator took the lease (--ha)")
                                   .Register(*registry);
  Family<Counter>& step_downs = BuildCounter()
                                    .Name("ampere_leadership_step_downs_total")
                                    .Help("Times this coordinator stopped leading while running, by reason: fenced (a write found a newer epoch), session-lost (the lease's session ended), store-away (the store went away while loading)")
                                    .Register(*registry);
  Family<Counter>& results_resent = BuildCounter()
                                        .Name("ampere_results_resent_total")
                                        .Help("Results an agent sent again that the store held already (its Ack was lost in a restart or a failover): acknowledged, not stored twice")
                                        .Register(*registry);
  Family<Gauge>& store_up =
      BuildGauge().Name("ampere_store_up").Help("1 when the last store operation succeeded, else 0").Register(*registry);
  Family<Gauge>& kind_points =
      BuildGauge().Name("ampere_kind_points").Help("Profiled points of a layer kind in a campaign").Register(*registry);
  Family<Gauge>& kind_std = BuildGauge()
                                .Name("ampere_kind_max_relative_std_ratio")
                                .Help("Largest predictive std over the channel grid relative to the data, at the last fit")
                                .Register(*registry);
  Family<Gauge>& kind_done =
      BuildGauge().Name("ampere_kind_done").Help("1 when a kind has stopped profiling, else 0").Register(*registry);
  Family<Gauge>& campaign_running =
      BuildGauge().Name("ampere_campaign_running").Help("1 while a campaign profiles, else 0").Register(*registry);
  Family<Gauge>& campaign_remaining = BuildGauge()
                                          .Name("ampere_campaign_points_remaining")
                                          .Help("Points a campaign may still measure (budget left of unfinished kinds)")
                                          .Register(*registry);
  Family<Gauge>& heldout_mape = BuildGauge()
                                    .Name("ampere_heldout_mape_ratio")
                                    .Help("Mean absolute percentage error (as a ratio) on held-out models measured on the class")
                                    .Register(*registry);
  Family<Gauge>& heldout_models =
      BuildGauge().Name("ampere_heldout_models").Help("Held-out models measured and estimable on the class").Register(*registry);
  Family<Counter>& results_refused = BuildCounter()
                                         .Name("ampere_results_refused_total")
                                         .Help("Results refused before they were stored, by reason (docs/security.md)")
                                         .Register(*registry);
  Family<Counter>& registrations_refused = BuildCounter()
                                               .Name("ampere_registrations_refused_total")
                                               .Help("Agent registrations refused, by reason (docs/security.md)")
                                               .Register(*registry);
  Family<Counter>& deadlines_passed = BuildCounter()
                                          .Name("ampere_job_deadlines_passed_total")
                                          .Help("Running jobs whose deadline passed without a result")
                                          .Register(*registry);
  Family<Gauge>& quarantined = BuildGauge()
                                   .Name("ampere_stored_rows_quarantined")
                                   .Help("Stored rows set aside at the last start because they cannot be used, by row")
                                   .Register(*registry);
  Family<Gauge>& registry_entries =
      BuildGauge().Name("ampere_registry_entries").Help("Entries in a bounded registry").Register(*registry);
  Family<Gauge>& registry_limit =
      BuildGauge().Name("ampere_registry_limit").Help("The most entries a bounded registry holds").Register(*registry);
  Family<Gauge>& kind_fit_failures = BuildGauge()
                                         .Name("ampere_kind_fit_failures")
                                         .Help("Fits of a layer kind that failed (its last good fit serves)")
                                         .Register(*registry);
  Family<Gauge>& build_info =
      BuildGauge().Name("ampere_build_info").Help("Always 1; labels say what runs").Register(*registry);

  /// Each campaign's series (kind and campaign gauges), so that remove_campaign finds them all.
  std::map<std::string, std::set<std::pair<Family<Gauge>*, Gauge*>>> campaign_series;
  void set_campaign_gauge(const std::string& campaign, Family<Gauge>& family, const prometheus::Labels& labels, double value) {
    Gauge& gauge = family.Add(labels);
    gauge.Set(value);
    campaign_series[campaign].insert({&family, &gauge});
  }
};

CoordinatorMetrics::CoordinatorMetrics(Component component) : impl_(std::make_unique<Impl>()) {
  impl_->build_info.Add({{"component", component == Component::Bridge ? "bridge" : "coordinator"}, {"version", release_version()},
                         {"revision", build_revision()}})
      .Set(1);
  if (component == Component::Bridge) return;  // its estimate series only: no loop, store, spool or lease of its own
  impl_->store_up.Add({}).Set(1);
  impl_->leader.Add({}).Set(1);
  impl_->leadership_epoch.Add({}).Set(0);
  impl_->takeovers.Add({});
  impl_->step_downs.Add({{"reason", "fenced"}});
  impl_->step_downs.Add({{"reason", "session-lost"}});
  impl_->step_downs.Add({{"reason", "store-away"}});
  impl_->results_resent.Add({});
  impl_->spool.Add({}).Set(0);
  impl_->spool_replayed.Add({});
  impl_->store_errors.Add({{"operation", "store_result"}});
}

CoordinatorMetrics::~CoordinatorMetrics() = default;

void CoordinatorMetrics::serve(const std::string& address) {
  try {
    impl_->exposer = std::make_unique<prometheus::Exposer>(address);
  } catch (const std::exception& e) {
    throw InputError("--metrics " + address + ": cannot serve: " + e.what());
  }
  impl_->exposer->RegisterCollectable(impl_->registry);
}

std::string CoordinatorMetrics::text() const { return prometheus::TextSerializer().Serialize(impl_->registry->Collect()); }

void CoordinatorMetrics::result_stored(const std::string& device_class, const std::string& meter) {
  impl_->results_stored.Add({{"device_class", device_class}, {"meter", meter}}).Increment();
}
void CoordinatorMetrics::job_done(const std::string& device_class) {
  impl_->jobs_done.Add({{"device_class", device_class}}).Increment();
}
void CoordinatorMetrics::job_failed(const std::string& device_class) {
  impl_->jobs_failed.Add({{"device_class", device_class}}).Increment();
}
void CoordinatorMetrics::joint_fit(const std::string& device_class, JointFitOutcome outcome, double seconds) {
  const char* name = outcome == JointFitOutcome::Installed         ? "installed"
                     : outcome == JointFitOutcome::KeptSubtractive ? "kept-subtractive"
                                                                   : "failed";
  impl_->joint_fits.Add({{"device_class", device_class}, {"outcome", name}}).Increment();
  impl_->joint_fit_seconds.Add({{"device_class", device_class}}).Increment(seconds);
}
void CoordinatorMetrics::calibration_refused(const std::string& device_class) {
  impl_->calibration_refused.Add({{"device_class", device_class}}).Increment();
}
void CoordinatorMetrics::result_refused(const std::string& reason) {
  impl_->results_refused.Add({{"reason", reason}}).Increment();
}
void CoordinatorMetrics::registration_refused(const std::string& reason) {
  impl_->registrations_refused.Add({{"reason", reason}}).Increment();
}
void CoordinatorMetrics::job_deadline_passed(const std::string& device_class) {
  impl_->deadlines_passed.Add({{"device_class", device_class}}).Increment();
}
void CoordinatorMetrics::set_quarantined(const std::map<std::string, std::size_t>& rows) {
  for (const char* row : {"campaign", "job", "result", "kind model"}) {
    const auto found = rows.find(row);
    impl_->quarantined.Add({{"row", row}}).Set(found == rows.end() ? 0.0 : static_cast<double>(found->second));
  }
}
void CoordinatorMetrics::set_registry(const std::string& registry, std::size_t entries, std::size_t limit) {
  impl_->registry_entries.Add({{"registry", registry}}).Set(static_cast<double>(entries));
  impl_->registry_limit.Add({{"registry", registry}}).Set(static_cast<double>(limit));
}
void CoordinatorMetrics::far_point(const std::string& device_class, const std::string& outcome) {
  impl_->far_points.Add({{"device_class", device_class}, {"outcome", outcome}}).Increment();
}

void CoordinatorMetrics::reference_reading(const std::string& device_class, const std::string& verdict) {
  impl_->reference_readings.Add({{"device_class", device_class}, {"verdict", verdict}}).Increment();
}
void CoordinatorMetrics::job_requeued(const std::string& device_class) {
  impl_->jobs_requeued.Add({{"device_class", device_class}}).Increment();
}
void CoordinatorMetrics::agent_lost(const std::string& device_class) {
  impl_->agents_lost.Add({{"device_class", device_class}}).Increment();
}
void CoordinatorMetrics::store_error(const std::string& operation) {
  impl_->store_errors.Add({{"operation", operation}}).Increment();
}
void CoordinatorMetrics::spool_replayed(std::size_t results) {
  impl_->spool_replayed.Add({}).Increment(static_cast<double>(results));
}

void CoordinatorMetrics::estimate_served(const std::string& source, int status, double seconds) {
  impl_->estimate_requests.Add({{"source", source}, {"code", std::to_string(status)}}).Increment();
  static const Histogram::BucketBoundaries buckets = {0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005,
                                                      0.01,   0.025,   0.05,   0.1,   0.25,   1.0};
  impl_->estimate_latency.Add({{"source", source}}, buckets).Observe(seconds);
}

void CoordinatorMetrics::device_class_seen(const std::string& device_class) {
  const prometheus::Labels labels{{"device_class", device_class}};
  impl_->jobs_done.Add(labels);
  impl_->jobs_failed.Add(labels);
  impl_->jobs_requeued.Add(labels);
  impl_->agents_lost.Add(labels);
}

void CoordinatorMetrics::set_agents(const std::string& device_class, std::size_t connected) {
  impl_->agents.Add({{"device_class", device_class}}).Set(static_cast<double>(connected));
}
void CoordinatorMetrics::set_jobs(const std::string& device_class, std::size_t queued, std::size_t running) {
  impl_->jobs.Add({{"device_class", device_class}, {"state", "queued"}}).Set(static_cast<double>(queued));
  impl_->jobs.Add({{"device_class", device_class}, {"state", "running"}}).Set(static_cast<double>(running));
}
void CoordinatorMetrics::set_spool(std::size_t results, std::size_t capacity) {
  impl_->spool.Add({}).Set(static_cast<double>(results));
  impl_->spool_capacity.Add({}).Set(static_cast<double>(capacity));
}
void CoordinatorMetrics::set_store_up(bool up) { impl_->store_up.Add({}).Set(up ? 1 : 0); }

void CoordinatorMetrics::set_leader(bool leading, std::uint64_t epoch) {
  impl_->leader.Add({}).Set(leading ? 1 : 0);
  if (leading) {
    impl_->leadership_epoch.Add({}).Set(static_cast<double>(epoch));
    impl_->takeovers.Add({}).Increment();
  }
}

void CoordinatorMetrics::stepped_down(const std::string& reason) {
  impl_->leader.Add({}).Set(0);
  impl_->step_downs.Add({{"reason", reason}}).Increment();
}

void CoordinatorMetrics::result_resent() { impl_->results_resent.Add({}).Increment(); }

void CoordinatorMetrics::set_kind(const KindLabels& l, std::size_t points, double max_relative_std, bool done,
                                  std::size_t fit_failures) {
  const prometheus::Labels labels{{"campaign", l.campaign}, {"device_class", l.device_class}, {"kind", l.kind}, {"role", l.role}};
  impl_->set_campaign_gauge(l.campaign, impl_->kind_points, labels, static_cast<double>(points));
  impl_->set_campaign_gauge(l.campaign, impl_->kind_std, labels, max_relative_std);
  impl_->set_campaign_gauge(l.campaign, impl_->kind_done, labels, done ? 1 : 0);
  impl_->set_campaign_gauge(l.campaign, impl_->kind_fit_failures, labels, static_cast<double>(fit_failures));
}

void CoordinatorMetrics::set_campaign(const std::string& campaign, const std::string& device_class,
                                      const std::string& family, bool running, std::size_t points_remaining_at_most) {
  const prometheus::Labels labels{{"campaign", campaign}, {"device_class", device_class}, {"family", family}};
  impl_->set_campaign_gauge(campaign, impl_->campaign_running, labels, running ? 1 : 0);
  impl_->set_campaign_gauge(campaign, impl_->campaign_remaining, labels, static_cast<double>(points_remaining_at_most));
}

void CoordinatorMetrics::remove_campaign(const std::string& campaign) {
  const auto it = impl_->campaign_series.find(campaign);
  if (it == impl_->campaign_series.end()) return;
  for (const auto& [family, gauge] : it->second) family->Remove(gauge);
  impl_->campaign_series.erase(it);
}

void CoordinatorMetrics::set_heldout_mape(const std::string& device_class, const std::string& estimator,
                                          const std::string& quantity, const std::string& meter, double mape_ratio,
                                          std::size_t models) {
  impl_->heldout_mape
      .Add({{"device_class", device_class}, {"estimator", estimator}, {"quantity", quantity}, {"meter", meter}})
      .Set(mape_ratio);
  impl_->heldout_models.Add({{"device_class", device_class}}).Set(static_cast<double>(models));
}

}  // namespace ampere
