// The LibTorch trainer as a supervised child process (docs/trainer-protocol.md): one long-lived
// ampere-trainer per agent (fresh processes differ by a few percent; one process is steady), jobs
// and results over its stdin/stdout, the meter read here around each window the trainer opens.
// A job that outruns its deadline or grows past its memory ceiling is stopped; a trainer that
// crashes or is killed becomes an error result naming the cause, and a fresh trainer is started.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <functional>
#include <limits>
#include <optional>
#include <string>
#include <vector>

#include "agent/meters/meter.hpp"
#include "agent/trainer.hpp"
#include "agent/trainer_link/line_pipe.hpp"
#include "agent/trainer_link/messages.hpp"

namespace ampere {

struct TrainerProcessConfig {
  /// The trainer and its arguments, e.g. {".../ampere-trainer", "serve", "--device", "cpu", "--threads", "1"}.
  std::vector<std::string> command;
  /// A job's memory ceiling: the trainer's resident memory when the job starts, plus
  /// factor × the job's estimated training memory (training_memory of its shapes), plus slack
  /// (the library's workspaces and caches the estimate leaves out).
  double memory_factor = 4;
  std::uint64_t memory_slack_bytes = 1ull << 30;
  std::chrono::milliseconds watch_interval{50};  ///< how often deadline and memory are checked
  std::chrono::seconds start_timeout{120};      ///< for the trainer's ready message
  /// Idle baseline (docs/meters.md): the meter read this long with the trainer waiting, at start
  /// and then before a job once `idle_every` has passed; 0: never (results carry no idle watts).
  /// Only meters that read energy live take one.
  double idle_seconds = 3;
  std::chrono::seconds idle_every{600};
  /// The trainer's resident memory, given the child's pid here and the pid the trainer reported
  /// (they differ when the child is `adb shell` and the trainer runs on a phone). Default: this
  /// machine's /proc for the child.
  std::function<std::uint64_t(pid_t child, long trainer)> memory_of;
  std::chrono::milliseconds memory_check_every{50};
  /// Called with the trainer's reported pid before the child is killed (a phone's trainer is
  /// killed there too). Default: nothing.
  std::function<void(long trainer)> before_kill;
};

/// Makes the meter once the trainer has said what it trains on (the nvml meter needs the GPU's UUID).
using MeterFactory = std::function<MeterPtr(const TrainerInfo&)>;

class TrainerProcess final : public Trainer {
 public:
  /// Starts the trainer and waits for its ready message. Throws InputError with the reason when it
  /// cannot start: the binary missing, a device it refuses (unknown, no CUDA), no ready in time.
  TrainerProcess(TrainerProcessConfig config, MeterFactory make_meter);
  ~TrainerProcess() override;
  TrainerProcess(const TrainerProcess&) = delete;
  TrainerProcess& operator=(const TrainerProcess&) = delete;

  /// Sends the job, reads the meter around each window, returns the result. Throws InputError:
  /// the trainer's own refusal (with its code), or the job stopped — deadline passed, memory
  /// ceiling crossed, trainer crashed or killed, a malformed message — after which the trainer
  /// has been restarted (or will be before the next job, if restarting failed too).
  Measurement measure(const ModelSpec& model, const JobSettings& settings) override;
  std::string backend() const override { return info_.backend; }
  std::vector<std::pair<std::string, std::string>> libraries() const override { return info_.libraries; }

  const TrainerInfo& info() const { return info_; }
  pid_t pid() const { return pid_; }
  /// Trainers started after the first (each crash, kill or stop restarts one).
  unsigned restarts() const { return restarts_; }
  /// The meter's label (what the results carry).
  MeterSource meter_source() const { return meter_->source(); }
  /// A composite meter's parts (empty for a single meter).
  std::vector<MeterSource> meter_part_sources() const { return meter_->part_sources(); }
  /// The latest idle baseline in watts; NaN when none was taken.
  double idle_watts() const { return idle_watts_; }

 private:
  void start();
  std::uint64_t memory() const;
  /// Kills the child (if alive) and reaps it; returns how it ended, in words.
  std::string stop_child(bool kill_first);
  /// Stops the job: kills and reaps the trainer, restarts it, and throws InputError(reason).
  [[noreturn]] void fail(const std::string& reason, bool kill_first);

  TrainerProcessConfig config_;
  MeterFactory make_meter_;
  MeterPtr meter_;
  TrainerInfo info_;
  pid_t pid_ = -1;
  int to_child_ = -1, from_child_ = -1;
  std::optional<LinePipe> pipe_;
  unsigned starts_ = 0, restarts_ = 0;
  bool window_open_ = false;
  double idle_watts_ = std::numeric_limits<double>::quiet_NaN();
  std::chrono::steady_clock::time_point idle_at_{};
  std::chrono::steady_clock::time_point memory_checked_{};
  /// Takes the idle baseline now (the trainer is between jobs); a failure leaves the last one.
  void refresh_idle();
};

/// Resident memory of process `pid` in bytes (VmRSS of /proc/PID/status); 0 when unreadable.
std::uint64_t resident_bytes(pid_t pid);

}  // namespace ampere
