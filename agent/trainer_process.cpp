#include "agent/trainer_process.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmath>
#include <cstring>
#include <fstream>
#include <thread>

#include "common/clock.hpp"
#include "common/error.hpp"
#include "common/layer_shapes.hpp"

#include <spdlog/spdlog.h>

namespace ampere {
namespace {

std::string mebibytes(double bytes) {
  return std::to_string(static_cast<long long>(std::llround(bytes / (1024.0 * 1024.0)))) + " MiB";
}

}  // namespace

std::uint64_t resident_bytes(pid_t pid) {
  std::ifstream status("/proc/" + std::to_string(pid) + "/status");
  for (std::string line; std::getline(status, line);)
    if (line.rfind("VmRSS:", 0) == 0) return std::stoull(line.substr(6)) * 1024;  // "VmRSS:  1234 kB"
  return 0;
}

TrainerProcess::TrainerProcess(TrainerProcessConfig config, MeterFactory make_meter)
    : config_(std::move(config)), make_meter_(std::move(make_meter)) {
  AMPERE_REQUIRE(!config_.command.empty(), "trainer: no command to start it with");
  AMPERE_REQUIRE(config_.memory_factor > 0 && std::isfinite(config_.memory_factor), "trainer: the memory factor must be positive");
  ::signal(SIGPIPE, SIG_IGN);  // a trainer that died mid-write is seen as a closed pipe, not a signal here
  start();
  meter_ = make_meter_(info_);
  refresh_idle();
}

void TrainerProcess::refresh_idle() {
  if (config_.idle_seconds <= 0) return;
  idle_at_ = std::chrono::steady_clock::now();
  try {
    const double watts = measure_idle_watts(*meter_, config_.idle_seconds);
    if (!std::isnan(watts)) {
      idle_watts_ = watts;
      spdlog::info("idle baseline: {:.2f} W ({} over {} s)", watts, meter_label(meter_->source()), config_.idle_seconds);
    }
  } catch (const std::exception& e) {
    spdlog::warn("idle baseline not taken: {}", e.what());
  }
}

TrainerProcess::~TrainerProcess() {
  if (pid_ > 0) {
    ::close(to_child_);  // end of input: the trainer exits on its own
    for (int i = 0; i < 50 && ::waitpid(pid_, nullptr, WNOHANG) == 0; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(20));
    if (::kill(pid_, 0) == 0) stop_child(true);
    ::close(from_child_);
  }
}

void TrainerProcess::start() {
  int in[2], out[2];  // in: agent → trainer's stdin; out: trainer's stdout → agent
  AMPERE_REQUIRE(::pipe2(in, O_CLOEXEC) == 0 && ::pipe2(out, O_CLOEXEC) == 0, "trainer: cannot create pipes: ", std::strerror(errno));
  std::vector<char*> argv;
  for (const std::string& a : config_.command) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  const pid_t pid = ::fork();
  AMPERE_REQUIRE(pid >= 0, "trainer: cannot fork: ", std::strerror(errno));
  if (pid == 0) {
    ::dup2(in[0], STDIN_FILENO);
    ::dup2(out[1], STDOUT_FILENO);
    ::execv(argv[0], argv.data());
    const std::string why = std::string("error: cannot run the trainer ") + argv[0] + ": " + std::strerror(errno) + "\n";
    (void)!::write(STDERR_FILENO, why.data(), why.size());
    ::_exit(127);
  }
  ::close(in[0]);
  ::close(out[1]);
  pid_ = pid;
  to_child_ = in[1];
  from_child_ = out[0];
  pipe_.emplace(from_child_, to_child_);
  if (starts_++ > 0) ++restarts_;
  std::optional<std::string> line;
  try {
    line = pipe_->read_line(std::chrono::duration_cast<std::chrono::milliseconds>(config_.start_timeout));
  } catch (const PipeClosed&) {
    const std::string how = stop_child(false);
    throw InputError("trainer " + config_.command.front() + " " + how + " before it was ready (its stderr says why)");
  }
  if (!line) {
    stop_child(true);
    throw InputError("trainer " + config_.command.front() + ": no ready message within " +
                     std::to_string(config_.start_timeout.count()) + " s");
  }
  try {
    const TrainerMessage ready = decode_trainer_message(*line);
    if (ready.type == "error") throw error_of(ready);  // the trainer's own refusal: unknown device, no CUDA
    AMPERE_REQUIRE(ready.type == "ready", "trainer: expected ready, got ", ready.type);
    info_ = ready_info(ready);
  } catch (const InputError& e) {
    stop_child(true);
    throw InputError(std::string("trainer refused to start: ") + e.what(), e.code());
  }
}

std::string TrainerProcess::stop_child(bool kill_first) {
  if (pid_ <= 0) return "was not running";
  if (kill_first) {
    if (config_.before_kill) config_.before_kill(info_.pid);
    ::kill(pid_, SIGKILL);
  }
  int status = 0;
  // A trainer that closed its stdout may still be exiting: wait up to 2 s, then kill it.
  pid_t done = 0;
  for (int i = 0; i < 100 && (done = ::waitpid(pid_, &status, WNOHANG)) == 0; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  if (done == 0) {
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, &status, 0);
  }
  ::close(to_child_);
  ::close(from_child_);
  pipe_.reset();
  pid_ = -1;
  if (WIFSIGNALED(status)) {
    const int sig = WTERMSIG(status);
    return "was killed by signal " + std::to_string(sig) + " (" + ::strsignal(sig) + ")";
  }
  if (WIFEXITED(status)) return "exited with status " + std::to_string(WEXITSTATUS(status));
  return "ended";
}

void TrainerProcess::fail(const std::string& reason, bool kill_first) {
  if (window_open_) {  // stop the meter's window (its sampling thread) without using its figure
    window_open_ = false;
    try {
      meter_->end(0);
    } catch (const std::exception&) {
    }
  }
  stop_child(kill_first);
  std::string restart = "; a fresh trainer was started";
  try {
    start();
  } catch (const std::exception& e) {
    restart = std::string("; restarting the trainer failed too (") + e.what() + "), the next job tries again";
  }
  throw InputError(reason + restart);
}

std::uint64_t TrainerProcess::memory() const {
  return config_.memory_of ? config_.memory_of(pid_, info_.pid) : resident_bytes(pid_);
}

Measurement TrainerProcess::measure(const ModelSpec& model, const JobSettings& settings) {
  if (pid_ <= 0) start();  // the last restart failed: try again now
  if (config_.idle_seconds > 0 && std::chrono::steady_clock::now() - idle_at_ > config_.idle_every) refresh_idle();
  const double estimate = training_memory(model).bytes;
  const double ceiling = static_cast<double>(memory()) + config_.memory_factor * estimate +
                         static_cast<double>(config_.memory_slack_bytes);
  std::vector<WindowConditions> windows;  // what the GPU did in each window (nvml)
  std::vector<std::vector<double>> part_windows;  // a composite meter's joules per part, per window
  // The trainer closed its end: it exited or was killed (by a signal, the kernel's OOM killer, a person).
  auto crashed = [&]() {
    const pid_t pid = pid_;
    const std::string how = stop_child(false);
    fail(model.name + ": the trainer (pid " + std::to_string(pid) + ") " + how + " during the job", false);
  };
  try {
    pipe_->write_line(encode_job(TrainerJob{model, settings, meter_->source()}));
  } catch (const PipeClosed&) {
    crashed();
  }
  while (true) {
    if (settings.deadline_unix_millis > 0 && unix_millis(std::chrono::system_clock::now()) >= settings.deadline_unix_millis)
      fail(model.name + ": the job outran its deadline; the trainer (pid " + std::to_string(pid_) + ") was stopped", true);
    if (const auto now = std::chrono::steady_clock::now(); now - memory_checked_ >= config_.memory_check_every) {
      memory_checked_ = now;
      if (const std::uint64_t rss = memory(); static_cast<double>(rss) > ceiling)
        fail(model.name + ": the trainer grew to " + mebibytes(static_cast<double>(rss)) + ", past the job's memory ceiling of " +
                 mebibytes(ceiling) + " (estimated training memory " + mebibytes(estimate) + "); it was stopped",
             true);
    }
    std::optional<std::string> line;
    try {
      line = pipe_->read_line(config_.watch_interval);
    } catch (const PipeClosed&) {
      crashed();
    }
    if (!line) continue;
    TrainerMessage message;
    try {
      message = decode_trainer_message(*line);
    } catch (const InputError& e) {
      fail(model.name + ": " + e.what(), true);
    }
    try {
      if (message.type == "window-begin") {
        try {
          meter_->begin();
          window_open_ = true;
          pipe_->write_line(encode_window_go());
        } catch (const InputError& e) {  // the meter refuses (charging, a vanished file): the trainer stops the job
          pipe_->write_line(encode_error(e.code(), e.what(), true));
        }
      } else if (message.type == "window-end") {
        const double seconds = window_seconds_of(message);
        window_open_ = false;
        try {
          const double joules = meter_->end(seconds);
          if (const auto conditions = meter_->window_conditions()) windows.push_back(*conditions);
          part_windows.push_back(meter_->last_part_joules());  // a composite's parts (empty otherwise)
          pipe_->write_line(encode_window_joules(joules));
        } catch (const InputError& e) {
          pipe_->write_line(encode_error(e.code(), e.what(), true));
        }
      } else if (message.type == "result") {
        Measurement m = measurement_of(message);
        m.idle_watts = idle_watts_;
        m.windows = windows;
        try {
          attach_meter_parts(m, meter_->part_sources(), part_windows);
        } catch (const InputError& e) {  // parts read over the very windows: a mismatch is a bug, the job fails
          throw InputError(model.name + ": " + e.what(), ErrorCode::Internal);
        }
        unsigned long long reasons = 0;
        std::size_t throttled = 0;
        for (const WindowConditions& w : windows)
          if (w.throttled()) {
            ++throttled;
            reasons |= w.throttle_reasons;
          }
        if (throttled > 0)
          spdlog::warn("{}: {} of {} windows ran throttled ({})", model.name, throttled, windows.size(), throttle_reason_names(reasons));
        return m;
      } else if (message.type == "error") {
        throw error_of(message);
      } else {
        fail(model.name + ": the trainer sent an unexpected " + message.type + " message", true);
      }
    } catch (const PipeClosed&) {
      crashed();
    }
  }
}

}  // namespace ampere
