// The coordinator's Prometheus metrics (prometheus-cpp), served on their own port with
// `--metrics ADDR:PORT`. Names follow Prometheus conventions: `ampere_` prefix, base units
// (seconds, joules, ratios), `_total` for counters. Every method is thread safe (the loop and the
// HTTP bridge's handler threads both record).
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <string>

namespace ampere {

class CoordinatorMetrics {
 public:
  /// What the metrics are of: the coordinator, or `ampere-bridge` (build info and the bridge's
  /// estimate series only; the loop's series never appear).
  enum class Component { Coordinator, Bridge };
  explicit CoordinatorMetrics(Component component = Component::Coordinator);
  ~CoordinatorMetrics();
  CoordinatorMetrics(const CoordinatorMetrics&) = delete;
  CoordinatorMetrics& operator=(const CoordinatorMetrics&) = delete;

  /// Serves `/metrics` on ADDR:PORT; throws InputError when it cannot bind.
  void serve(const std::string& address);
  /// The exposition text of every metric (what `/metrics` answers).
  std::string text() const;

  // Events (counters).
  void result_stored(const std::string& device_class, const std::string& meter);
  void job_done(const std::string& device_class);
  void job_failed(const std::string& device_class);
  void job_requeued(const std::string& device_class);
  void agent_lost(const std::string& device_class);
  void store_error(const std::string& operation);
  void spool_replayed(std::size_t results);
  /// A joint fit ended: installed, fitted but kept out by the calibration check, or failed.
  enum class JointFitOutcome { Installed, KeptSubtractive, Failed };
  void joint_fit(const std::string& device_class, JointFitOutcome outcome, double seconds);
  /// A calibration model's result the campaign refused (logged with its reason).
  void calibration_refused(const std::string& device_class);
  /// A result's reference reading judged (docs/method.md §5): verdict normal | missing | drift |
  /// off-class (off-class results are refused, drift ones measured again).
  void reference_reading(const std::string& device_class, const std::string& verdict);
  /// A result far from its kind's fit: "held", "alone", or how its second reading resolved it.
  void far_point(const std::string& device_class, const std::string& outcome);
  /// One estimate answered: `source` is http or zmq, `status` its HTTP-like code.
  void estimate_served(const std::string& source, int status, double seconds);

  /// A result refused before it was stored, by reason (docs/security.md: unknown-job,
  /// not-running, wrong-agent, unregistered, wrong-sender, past-deadline, implausible, failed,
  /// off-class, store-refused).
  void result_refused(const std::string& reason);
  /// A registration refused, by reason (invalid, implausible, registry-full, key-mismatch).
  void registration_refused(const std::string& reason);
  /// A running job whose deadline passed without a result (re-queued or given up).
  void job_deadline_passed(const std::string& device_class);
  /// Stored rows set aside at the last start, by row (campaign, job, result, kind model).
  void set_quarantined(const std::map<std::string, std::size_t>& rows);
  /// How full a bounded registry is (agents, classes, parked-requests, running-campaigns).
  void set_registry(const std::string& registry, std::size_t entries, std::size_t limit);

  /// Creates a class's counters at zero (so rates and alerts see them before the first event).
  void device_class_seen(const std::string& device_class);

  // Current state (gauges), set by the loop every maintenance tick.
  void set_agents(const std::string& device_class, std::size_t connected);
  void set_jobs(const std::string& device_class, std::size_t queued, std::size_t running);
  void set_spool(std::size_t results, std::size_t capacity);
  void set_store_up(bool up);
  /// --ha: this coordinator leads now (at `epoch`: counted as a takeover) or stands by.
  void set_leader(bool leading, std::uint64_t epoch = 0);
  /// --ha: it stopped leading while running: fenced or session-lost.
  void stepped_down(const std::string& reason);
  /// A result sent again after its Ack was lost, acknowledged as stored before.
  void result_resent();
  struct KindLabels {
    std::string campaign, device_class, kind, role;
  };
  void set_kind(const KindLabels& labels, std::size_t points, double max_relative_std, bool done,
                std::size_t fit_failures = 0);
  void set_campaign(const std::string& campaign, const std::string& device_class, const std::string& family,
                    bool running, std::size_t points_remaining_at_most);
  /// Removes every series labelled with `campaign` (set_kind's and set_campaign's): an ended
  /// campaign's series do not stay in every scrape forever.
  void remove_campaign(const std::string& campaign);
  /// Held-out MAPE (a ratio) of `estimator` (ampere or flops) for `quantity` (seconds or joules)
  /// over `models` held-out models measured on the class with `meter` (its label: energy figures
  /// say where they came from).
  void set_heldout_mape(const std::string& device_class, const std::string& estimator, const std::string& quantity,
                        const std::string& meter, double mape_ratio, std::size_t models);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace ampere
