// ampere-trainer: LibTorch in its own process. `serve` trains the jobs an agent sends on a pipe
// (docs/trainer-protocol.md); `measure` trains one model here with a meter of its own and prints
// its figures, on a machine that has nothing but this binary and LibTorch.
#include <unistd.h>

#include <cmath>
#include <cstdlib>
#include <iostream>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "agent/meters/meter.hpp"
#include "agent/trainer/allocator.hpp"
#include "agent/trainer/torch_trainer.hpp"
#include "agent/trainer_link/line_pipe.hpp"
#include "agent/trainer_link/messages.hpp"
#include "common/comma_list.hpp"
#include "common/error.hpp"

namespace {

using namespace ampere;

constexpr const char* kUsage = R"(ampere-trainer: trains variant networks with LibTorch

  ampere-trainer serve [--device cpu|cuda[:N]] [--threads T]
      jobs in on stdin, results out on stdout, one JSON message per line (docs/trainer-protocol.md);
      the agent that started it reads the meter around each window
  ampere-trainer measure --model M.json [--device cpu|cuda[:N]] [--threads T]
      [--meter auto|rapl|nvml|jetson-ina|android-battery|time-surrogate] [--watts W]
      [--sysfs-root DIR] [--rails A,B] [--current-sign auto|discharge-negative|discharge-positive]
      [--allow-charging] [--iterations N] [--repeats N] [--warmup N] [--min-window S] [--sample SEED]
      [--idle-seconds S]
      trains one model here and prints its figures as JSON (a family: its member drawn with --sample)
  ampere-trainer --version
)";

/// `--name value` options and `--flag`s after the subcommand; throws InputError naming an unknown
/// option or a missing value.
struct Arguments {
  std::map<std::string, std::string> values;
  std::set<std::string> flags;

  Arguments(int argc, char** argv, const std::set<std::string>& options, const std::set<std::string>& known_flags) {
    for (int i = 2; i < argc; ++i) {
      std::string a = argv[i], value;
      const auto eq = a.find('=');
      if (eq != std::string::npos) {
        value = a.substr(eq + 1);
        a = a.substr(0, eq);
      }
      if (a == "--help" || a == "-h") {
        std::cout << kUsage;
        std::exit(0);
      }
      if (known_flags.count(a) && eq == std::string::npos) {
        flags.insert(a);
        continue;
      }
      AMPERE_REQUIRE(options.count(a), "unknown option '", a, "' for ", argv[1], "\n", kUsage);
      if (eq == std::string::npos) {
        AMPERE_REQUIRE(i + 1 < argc, "option ", a, " needs a value");
        value = argv[++i];
      }
      values[a] = value;
    }
  }
  std::string text(const std::string& name, const std::string& fallback) const {
    const auto it = values.find(name);
    return it == values.end() ? fallback : it->second;
  }
  double number(const std::string& name, double fallback) const {
    const auto it = values.find(name);
    if (it == values.end()) return fallback;
    char* end = nullptr;
    const double x = std::strtod(it->second.c_str(), &end);
    AMPERE_REQUIRE(end && *end == '\0' && !it->second.empty(), "option ", name, ": '", it->second, "' is not a number");
    return x;
  }
  std::uint32_t count(const std::string& name, std::uint32_t fallback, std::uint32_t low, std::uint32_t high) const {
    const double x = number(name, fallback);
    AMPERE_REQUIRE(x == static_cast<double>(static_cast<std::int64_t>(x)) && x >= low && x <= high, "option ", name, ": ",
                   text(name, ""), " is not a whole number in ", low, "..", high);
    return static_cast<std::uint32_t>(x);
  }
};

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

TorchOptions torch_options(const Arguments& args) {
  TorchOptions o;
  o.device = args.text("--device", "cpu");
  o.threads = static_cast<int>(args.count("--threads", 1, 1, 1024));
  return o;
}

/// serve: one job at a time until the agent closes stdin. stdout carries the protocol only:
/// anything a library prints there goes to stderr instead.
int serve(const Arguments& args) {
  const int protocol_out = dup(STDOUT_FILENO);
  dup2(STDERR_FILENO, STDOUT_FILENO);
  LinePipe pipe(STDIN_FILENO, protocol_out);
  const TorchOptions options = torch_options(args);
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

int measure(const Arguments& args) {
  const TorchOptions options = torch_options(args);
  const TrainerInfo info = torch_trainer_info(options);
  MeterOptions meters;
  meters.surrogate_watts = args.number("--watts", 10);
  meters.android.sysfs_root = meters.jetson.sysfs_root = args.text("--sysfs-root", "/");
  meters.android.sign = parse_current_sign(args.text("--current-sign", "auto"));
  meters.android.allow_charging = args.flags.count("--allow-charging") > 0;
  meters.jetson.rails = split_comma_list(args.text("--rails", ""));
  meters.nvml.device_uuid = info.device_uuid;  // the GPU it trains on, whatever its NVML index
  const std::string meter_name = args.text("--meter", "auto");
  MeterPtr meter = make_meter(meter_name, meters);
  if (meter->source() == MeterSource::TimeSurrogate)
    std::cerr << "energy: time-surrogate at " << meters.surrogate_watts << " W (seconds x watts; not a measured joule)\n";
  TrainerPtr trainer = make_torch_trainer(options, *meter);
  AMPERE_REQUIRE(args.values.count("--model"), "measure needs --model M.json");
  // The idle baseline first, with nothing training (a meter that reads energy live only).
  const double idle_seconds = args.number("--idle-seconds", 3);
  AMPERE_REQUIRE(idle_seconds >= 0 && idle_seconds <= 600, "--idle-seconds must be in 0..600");
  const double idle_watts = idle_seconds > 0 ? measure_idle_watts(*meter, idle_seconds) : std::nan("");
  ModelSpec model = load_model_spec(args.text("--model", ""));
  if (args.values.count("--sample")) {
    AMPERE_REQUIRE(model.is_family(), "--sample draws a member of a family; ", model.name, " is a concrete model");
    model = sample_model(model, args.count("--sample", 0, 0, 1u << 31));
  }
  JobSettings settings;
  settings.warmup = args.count("--warmup", 5, 0, 100000);
  settings.iterations = args.count("--iterations", 0, 0, 100000000);
  settings.repeats = RepeatRule::fixed(args.count("--repeats", 5, 1, 1000));
  settings.window_seconds = args.number("--min-window", 0);
  AMPERE_REQUIRE(settings.window_seconds >= 0 && settings.window_seconds <= 3600, "--min-window must be in 0..3600 s");
  Measurement m = trainer->measure(model, settings);
  m.idle_watts = idle_watts;
  nlohmann::json out = measurement_report(model.name, trainer->backend(), m);
  out["device"] = info.device;
  if (!info.device_name.empty()) out["device_name"] = info.device_name;
  if (!info.device_uuid.empty()) out["device_uuid"] = info.device_uuid;
  if (m.parameters > 0) out["parameters"] = m.parameters;  // as LibTorch counts the network it built
  std::cout << out.dump(2) << "\n";
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  const std::string command = argc > 1 ? argv[1] : "";
  if (command == "--version") {
    std::cout << "ampere-trainer, pipe protocol " << kTrainerProtocolVersion << "\n";
    return 0;
  }
  if (command == "--help" || command == "-h" || command.empty()) {
    std::cout << kUsage;
    return command.empty() ? 2 : 0;
  }
  pin_allocator();
  return run_reporting_errors([&] {
    if (command == "serve") {
      const int rc = serve(Arguments(argc, argv, {"--device", "--threads"}, {}));
      if (rc != 0) std::exit(rc);
      return;
    }
    AMPERE_REQUIRE(command == "measure", "unknown command '", command, "'\n", kUsage);
    measure(Arguments(argc, argv,
                      {"--model", "--device", "--threads", "--meter", "--watts", "--sysfs-root", "--rails", "--current-sign",
                       "--iterations", "--repeats", "--warmup", "--min-window", "--sample", "--idle-seconds"},
                      {"--allow-charging"}));
  });
}
