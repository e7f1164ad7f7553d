// ampere-trainer: LibTorch in its own process. `serve` trains the jobs an agent sends on a pipe
// (docs/trainer-protocol.md); `measure` trains one model here with a meter of its own and prints
// its figures, on a machine that has nothing but this binary and LibTorch.
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <optional>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "agent/meters/meter.hpp"
#include "agent/trainer/allocator.hpp"
#include "agent/trainer/torch_trainer.hpp"
#include "agent/trainer_link/line_pipe.hpp"
#include "agent/trainer_link/messages.hpp"
#include "common/comma_list.hpp"
#include "common/error.hpp"
#include "program/command_line.hpp"

namespace {

using namespace ampere;

/// The options of `serve` and `measure` (CLI11: usage errors exit 2, as every ampere binary's).
struct TrainerOptions {
  TorchOptions torch;
  std::string model, meter = "auto", sysfs_root = "/", rails, current_sign = "auto";
  double watts = 10, min_window = 0, idle_seconds = 3;
  bool allow_charging = false;
  std::uint32_t iterations = 0, repeats = 5, warmup = 5;
  std::optional<std::uint32_t> sample;
  std::string allocator = "pinned";
};

/// Forwards to a meter and keeps a composite's part joules and the minor page faults of every
/// window, for the measurement.
class PartRecordingMeter final : public Meter {
 public:
  explicit PartRecordingMeter(MeterPtr inner) : inner_(std::move(inner)) {}
  MeterSource source() const override { return inner_->source(); }
  void begin() override {
    inner_->begin();
    faults_at_begin_ = minor_faults();
  }
  double end(double seconds) override {
    const long faults = minor_faults() - faults_at_begin_;
    const double joules = inner_->end(seconds);
    windows_.push_back(inner_->last_part_joules());
    window_faults_.push_back(faults);
    return joules;
  }
  /// The fewest minor page faults a window took (the allocator's churn; docs/method.md §16).
  long fewest_window_faults() const {
    return window_faults_.empty() ? 0 : *std::min_element(window_faults_.begin(), window_faults_.end());
  }
  std::optional<WindowConditions> window_conditions() const override { return inner_->window_conditions(); }
  std::vector<MeterSource> part_sources() const override { return inner_->part_sources(); }
  std::vector<double> last_part_joules() const override { return inner_->last_part_joules(); }
  void attach_parts(Measurement& m) const { attach_meter_parts(m, inner_->part_sources(), windows_); }

 private:
  static long minor_faults() {
    rusage usage{};
    getrusage(RUSAGE_SELF, &usage);
    return usage.ru_minflt;
  }
  MeterPtr inner_;
  std::vector<std::vector<double>> windows_;
  std::vector<long> window_faults_;
  long faults_at_begin_ = 0;
};

void add_torch_options(CLI::App& command, TrainerOptions& o) {
  command.add_option("--device", o.torch.device, "cpu | cuda | cuda:N")->capture_default_str();
  command.add_option("--threads", o.torch.threads, "LibTorch intra-op threads")->capture_default_str()->check(CLI::Range(1, 1024));
  command.add_option("--allocator", o.allocator,
                     "pinned: glibc's mmap and trim thresholds fixed (steady timings; what agents run); glibc: glibc's "
                     "defaults, as a plain PyTorch process on glibc runs (for benches; in serve they adapt over the "
                     "trainer's life; docs/method.md §16)")
      ->capture_default_str()
      ->check(CLI::IsMember({"pinned", "glibc"}));
}

/// The agent's meter, across the pipe: a window's begin and end are messages, and the agent
/// answers with go and the window's joules (or the meter's error). Its label is the job's.
class PipeMeter final : public Meter {
 public:
  explicit PipeMeter(LinePipe& pipe) : pipe_(pipe) {}
  void set_source(MeterSource source) { source_ = source; }
  MeterSource source() const override { return source_; }
  void begin() override {
    pipe_.write_line(encode_window_begin());
    const TrainerMessage reply = await();
    if (reply.type == "window-error") throw error_of(reply);
    AMPERE_REQUIRE(reply.type == "window-go", "trainer pipe: expected window-go, got ", reply.type);
  }
  double end(double seconds) override {
    pipe_.write_line(encode_window_end(seconds));
    const TrainerMessage reply = await();
    if (reply.type == "window-error") throw error_of(reply);
    AMPERE_REQUIRE(reply.type == "window-joules", "trainer pipe: expected window-joules, got ", reply.type);
    return window_joules_of(reply);
  }

 private:
  TrainerMessage await() {
    const auto line = pipe_.read_line(std::chrono::milliseconds(-1));
    return decode_trainer_message(*line);
  }
  LinePipe& pipe_;
  MeterSource source_ = MeterSource::TimeSurrogate;
};

/// serve: one job at a time until the agent closes stdin. stdout carries the protocol only:
/// anything a library prints there goes to stderr instead.
int serve(const TorchOptions& options) {
  const int protocol_out = dup(STDOUT_FILENO);
  dup2(STDERR_FILENO, STDOUT_FILENO);
  LinePipe pipe(STDIN_FILENO, protocol_out);
  TrainerInfo info;
  PipeMeter meter(pipe);
  TrainerPtr trainer;
  try {
    info = torch_trainer_info(options);
    trainer = make_torch_trainer(options, meter);
  } catch (const InputError& e) {  // an unknown device, no CUDA: the agent refuses to start, saying why
    pipe.write_line(encode_error(e.code(), e.what()));
    return exit_code(e.code());
  }
  pipe.write_line(encode_ready(info));
  try {
    while (true) {
      const auto line = pipe.read_line(std::chrono::milliseconds(-1));
      try {
        const TrainerMessage message = decode_trainer_message(*line);
        AMPERE_REQUIRE(message.type == "job", "trainer: expected a job, got ", message.type);
        const TrainerJob job = job_of(message);
        meter.set_source(job.meter);
        pipe.write_line(encode_result(trainer->measure(job.model, job.settings)));
      } catch (const InputError& e) {
        pipe.write_line(encode_error(e.code(), e.what()));
      } catch (const PipeClosed&) {
        throw;
      } catch (const std::exception& e) {  // LibTorch's own errors (c10::Error): out of memory, a bad shape
        pipe.write_line(encode_error(ErrorCode::Internal, std::string("libtorch: ") + e.what()));
      }
    }
  } catch (const PipeClosed&) {
    return 0;  // the agent closed the pipe: done
  }
}

int measure(const TrainerOptions& args) {
  const TorchOptions& options = args.torch;
  const TrainerInfo info = torch_trainer_info(options);
  MeterOptions meters;
  meters.surrogate_watts = args.watts;
  meters.android.sysfs_root = meters.jetson.sysfs_root = args.sysfs_root;
  meters.android.sign = parse_current_sign(args.current_sign);
  meters.android.allow_charging = args.allow_charging;
  meters.jetson.rails = split_comma_list(args.rails);
  meters.nvml.device_uuid = info.device_uuid;  // the GPU it trains on, whatever its NVML index
  meters.powercap_root = (std::filesystem::path(args.sysfs_root) / "sys/class/powercap").string();
  meters.cuda_trainer = info.device != "cpu";
  meters.phone = std::filesystem::exists(std::filesystem::path(args.sysfs_root) / "system/build.prop");  // Android
  MeterChoice choice = choose_meter(args.meter, meters);
  std::cerr << "energy meter: " << choice.reason << "\n";
  PartRecordingMeter recorded(std::move(choice.meter));
  Meter* meter = &recorded;
  if (meter->source() == MeterSource::TimeSurrogate)
    std::cerr << "energy: time-surrogate at " << meters.surrogate_watts << " W (seconds x watts; not a measured joule)\n";
  TrainerPtr trainer = make_torch_trainer(options, *meter);
  // The idle baseline first, with nothing training (a meter that reads energy live only).
  const double idle_watts = args.idle_seconds > 0 ? measure_idle_watts(*meter, args.idle_seconds) : std::nan("");
  ModelSpec model = load_model_spec(args.model);
  if (args.sample) {
    AMPERE_REQUIRE(model.is_family(), "--sample draws a member of a family; ", model.name, " is a concrete model");
    model = sample_model(model, *args.sample);
  }
  JobSettings settings;
  settings.warmup = args.warmup;
  settings.iterations = args.iterations;
  settings.repeats = RepeatRule::fixed(args.repeats);
  settings.window_seconds = args.min_window;
  Measurement m = trainer->measure(model, settings);
  m.idle_watts = idle_watts;
  recorded.attach_parts(m);
  nlohmann::json out = measurement_report(model.name, trainer->backend(), m);
  out["device"] = info.device;
  if (!info.device_name.empty()) out["device_name"] = info.device_name;
  if (!info.device_uuid.empty()) out["device_uuid"] = info.device_uuid;
  if (m.parameters > 0) out["parameters"] = m.parameters;  // as LibTorch counts the network it built
  if (m.iterations > 0)
    out["minor_faults_per_iteration"] = static_cast<double>(recorded.fewest_window_faults()) / m.iterations;
  std::cout << out.dump(2) << "\n";
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"ampere-trainer: trains variant networks with LibTorch (docs/trainer-protocol.md)"};
  app.require_subcommand(1);
  TrainerOptions o;
  CLI::App* serve_command = app.add_subcommand(
      "serve", "jobs in on stdin, results out on stdout, one JSON message per line; the agent that started it reads "
               "the meter around each window");
  add_torch_options(*serve_command, o);
  CLI::App* measure_command = app.add_subcommand(
      "measure", "train one model here with a meter of its own and print its figures as JSON (a family: the member "
                 "drawn with --sample)");
  add_torch_options(*measure_command, o);
  measure_command->add_option("--model", o.model, "model or family JSON")->required();
  measure_command->add_option("--meter", o.meter,
                               "auto | rapl | nvml | jetson-ina | android-battery | time-surrogate, or physical meters joined "
                               "by '+' (rapl+nvml)")
      ->capture_default_str();
  measure_command->add_option("--watts", o.watts, "watts of the time-surrogate meter")->capture_default_str()->check(CLI::Range(0.0, 1e6));
  measure_command->add_option("--sysfs-root", o.sysfs_root, "where sysfs is mounted (a fake tree in tests)")->capture_default_str();
  measure_command->add_option("--rails", o.rails, "jetson-ina: comma list of INA3221 rails to sum");
  measure_command->add_option("--current-sign", o.current_sign, "android-battery: auto | discharge-negative | discharge-positive")
      ->capture_default_str();
  measure_command->add_flag("--allow-charging", o.allow_charging, "android-battery: measure while on USB/AC power");
  measure_command->add_option("--iterations", o.iterations, "iterations per repeat (0: >= --min-window)")
      ->capture_default_str()
      ->check(CLI::Range(0u, 100000000u));
  measure_command->add_option("--repeats", o.repeats, "repeats")->capture_default_str()->check(CLI::Range(1u, 1000u));
  measure_command->add_option("--warmup", o.warmup, "warm-up iterations")->capture_default_str()->check(CLI::Range(0u, 100000u));
  measure_command->add_option("--min-window", o.min_window, "seconds per repeat at least (0: the meter's default)")
      ->capture_default_str()
      ->check(CLI::Range(0.0, 3600.0));
  measure_command->add_option("--sample", o.sample, "seed of the family member to draw")->check(CLI::Range(0u, 1u << 31));
  measure_command->add_option("--idle-seconds", o.idle_seconds, "idle baseline before the model (meters that read energy live)")
      ->capture_default_str()
      ->check(CLI::Range(0.0, 600.0));
  const ParsedCommandLine parsed = parse_command_line(
      app, argc, argv,
      {"ampere-trainer", {{"trainer pipe protocol", std::to_string(kTrainerProtocolVersion)}, {"libtorch", libtorch_version()}}});
  if (parsed.exit_status) return *parsed.exit_status;
  if (o.allocator == "pinned") pin_allocator();
  return run_reporting_errors([&] {
    if (serve_command->parsed()) {
      const int rc = serve(o.torch);
      if (rc != 0) std::exit(rc);
      return;
    }
    measure(o);
  });
}
