// The trainer supervisor against a fake trainer (tests/support/fake_trainer.cpp) that speaks the
// pipe protocol and crashes, hangs, grows or refuses on cue: our supervision, not LibTorch.
#include "agent/trainer_process.hpp"

#include <signal.h>

#include <chrono>
#include <cmath>
#include <doctest/doctest.h>

#include "common/error.hpp"

using namespace ampere;

namespace {

/// A meter that counts its windows and reports 2 J each (or refuses, when asked).
struct CountingMeter final : Meter {
  int* windows;
  bool refuse;
  CountingMeter(int* w, bool r) : windows(w), refuse(r) {}
  MeterSource source() const override { return MeterSource::Rapl; }
  void begin() override {
    if (refuse) throw InputError("meter android-battery: battery/status reads Charging");
  }
  double end(double) override {
    ++*windows;
    return 2.0;
  }
};

/// A physical meter's stand-in: `joules` every window, labeled `source`.
struct FixedMeter final : Meter {
  FixedMeter(MeterSource s, double j) : source_(s), joules(j) {}
  MeterSource source() const override { return source_; }
  void begin() override {}
  double end(double) override { return joules; }
  MeterSource source_;
  double joules;
};

TrainerProcessConfig fake_config(const std::string& device = "cpu") {
  TrainerProcessConfig c;
  c.command = {AMPERE_FAKE_TRAINER, "serve", "--device", device, "--threads", "1"};
  c.memory_factor = 1;
  c.memory_slack_bytes = 200ull << 20;
  c.start_timeout = std::chrono::seconds(10);
  c.idle_seconds = 0;  // no idle baseline unless a test asks
  return c;
}

ModelSpec model_named(const std::string& name) {
  ModelSpec m = parse_model_spec(nlohmann::json{{"name", name},
                                                {"input", {{"shape", {8}}}},
                                                {"batch_size", 4},
                                                {"classes", 2},
                                                {"layers", {{{"type", "linear"}, {"out_features", 2}}}}});
  return m;
}

JobSettings three_repeats() {
  JobSettings s;
  s.repeats = RepeatRule::fixed(3);
  return s;
}

std::int64_t millis_from_now(int ms) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             (std::chrono::system_clock::now() + std::chrono::milliseconds(ms)).time_since_epoch())
      .count();
}

}  // namespace

TEST_CASE("the trainer process measures a job, the agent's meter reading each window the trainer opens") {
  int windows = 0;
  TrainerProcess trainer(fake_config(), [&](const TrainerInfo&) { return std::make_unique<CountingMeter>(&windows, false); });
  CHECK(trainer.backend() == "torch");
  CHECK(trainer.info().libraries.front().first == "fake-trainer");
  const Measurement m = trainer.measure(model_named("plain"), three_repeats());
  CHECK(windows == 3);
  REQUIRE(m.joules_per_iteration.size() == 3);
  CHECK(m.joules_per_iteration[0] == doctest::Approx(2.0));
  CHECK(m.meter == MeterSource::Rapl);  // the job carried the agent's meter label
  const pid_t first = trainer.pid();
  trainer.measure(model_named("again"), three_repeats());
  CHECK(trainer.pid() == first);  // one long-lived trainer, not one per job
  CHECK(trainer.restarts() == 0);
}

TEST_CASE("a trainer that crashes mid-window becomes an error naming the signal, and a fresh trainer takes the next job") {
  int windows = 0;
  TrainerProcess trainer(fake_config(), [&](const TrainerInfo&) { return std::make_unique<CountingMeter>(&windows, false); });
  const pid_t first = trainer.pid();
  CHECK_THROWS_WITH_AS(trainer.measure(model_named("fake-crash"), three_repeats()),
                       doctest::Contains("was killed by signal 11"), InputError);
  CHECK(trainer.restarts() == 1);
  CHECK(trainer.pid() != first);
  CHECK(trainer.measure(model_named("plain"), three_repeats()).seconds_per_iteration.size() == 3);
}

TEST_CASE("a trainer that exits mid-job is named with its status, and a trainer killed from outside too") {
  int windows = 0;
  TrainerProcess trainer(fake_config(), [&](const TrainerInfo&) { return std::make_unique<CountingMeter>(&windows, false); });
  CHECK_THROWS_WITH_AS(trainer.measure(model_named("fake-exit"), three_repeats()), doctest::Contains("exited with status 3"),
                       InputError);
  ::kill(trainer.pid(), SIGKILL);  // an operator, or the kernel's OOM killer, between jobs
  CHECK_THROWS_WITH_AS(trainer.measure(model_named("plain"), three_repeats()), doctest::Contains("signal 9"), InputError);
  CHECK(trainer.measure(model_named("plain"), three_repeats()).seconds_per_iteration.size() == 3);
  CHECK(trainer.restarts() == 2);
}

TEST_CASE("a job that outruns its deadline is stopped, the trainer restarted") {
  int windows = 0;
  TrainerProcess trainer(fake_config(), [&](const TrainerInfo&) { return std::make_unique<CountingMeter>(&windows, false); });
  JobSettings s = three_repeats();
  s.deadline_unix_millis = millis_from_now(300);
  const auto start = std::chrono::steady_clock::now();
  CHECK_THROWS_WITH_AS(trainer.measure(model_named("fake-hang"), s), doctest::Contains("outran its deadline"), InputError);
  CHECK(std::chrono::steady_clock::now() - start < std::chrono::seconds(5));
  CHECK(trainer.restarts() == 1);
  CHECK(trainer.measure(model_named("plain"), three_repeats()).seconds_per_iteration.size() == 3);
}

TEST_CASE("a job that grows past its memory ceiling is stopped with the sizes named") {
  int windows = 0;
  TrainerProcess trainer(fake_config(), [&](const TrainerInfo&) { return std::make_unique<CountingMeter>(&windows, false); });
  CHECK_THROWS_WITH_AS(trainer.measure(model_named("fake-grow"), three_repeats()),
                       doctest::Contains("past the job's memory ceiling of"), InputError);
  CHECK(trainer.restarts() == 1);
  CHECK(trainer.measure(model_named("plain"), three_repeats()).seconds_per_iteration.size() == 3);
}

TEST_CASE("the trainer's own refusal and a meter's refusal come back as errors without a restart") {
  int windows = 0;
  {
    TrainerProcess trainer(fake_config(), [&](const TrainerInfo&) { return std::make_unique<CountingMeter>(&windows, false); });
    try {
      trainer.measure(model_named("fake-refuse"), three_repeats());
      FAIL("no error");
    } catch (const InputError& e) {
      CHECK(e.code() == ErrorCode::Unprocessable);  // the code crossed the pipe
      CHECK(std::string(e.what()) == "fake-refuse: refused as asked");
    }
    CHECK(trainer.restarts() == 0);
  }
  TrainerProcess charging(fake_config(), [&](const TrainerInfo&) { return std::make_unique<CountingMeter>(&windows, true); });
  CHECK_THROWS_WITH_AS(charging.measure(model_named("plain"), three_repeats()), doctest::Contains("reads Charging"), InputError);
  CHECK(charging.restarts() == 0);
}

TEST_CASE("a trainer that refuses its device, or cannot be run, is refused at start with the reason") {
  auto meter = [](const TrainerInfo&) { return make_time_surrogate_meter(1); };
  CHECK_THROWS_WITH_AS(TrainerProcess(fake_config("tpu"), meter), doctest::Contains("unknown device 'tpu'"), InputError);
  TrainerProcessConfig missing = fake_config();
  missing.command.front() = "/nonexistent/ampere-trainer";
  CHECK_THROWS_WITH_AS(TrainerProcess(missing, meter), doctest::Contains("exited with status 127 before it was ready"), InputError);
}

TEST_CASE("the idle baseline is read with nothing training, at start and when due, and results carry it") {
  int windows = 0;
  TrainerProcessConfig c = fake_config();
  c.idle_seconds = 0.1;
  c.idle_every = std::chrono::seconds(3600);
  TrainerProcess trainer(c, [&](const TrainerInfo&) { return std::make_unique<CountingMeter>(&windows, false); });
  CHECK(windows == 1);                                        // the baseline's own window
  CHECK(trainer.idle_watts() == doctest::Approx(20.0).epsilon(0.3));  // 2 J over about 0.1 s
  const Measurement m = trainer.measure(model_named("plain"), three_repeats());
  CHECK(windows == 4);  // not due again within the hour
  CHECK(m.idle_watts == doctest::Approx(trainer.idle_watts()));
  // A meter that reads no energy live (the time surrogate) takes none: its watts are a setting.
  TrainerProcess surrogate(c, [](const TrainerInfo&) { return make_time_surrogate_meter(10); });
  CHECK(std::isnan(surrogate.idle_watts()));
  CHECK(std::isnan(surrogate.measure(model_named("plain"), three_repeats()).idle_watts));
}

TEST_CASE("a composite meter's reading reaches the result as its sum, each part's joules kept and labeled") {
  TrainerProcess trainer(fake_config(), [](const TrainerInfo&) {
    std::vector<MeterPtr> parts;
    parts.push_back(std::make_unique<FixedMeter>(MeterSource::Rapl, 1.5));
    parts.push_back(std::make_unique<FixedMeter>(MeterSource::Nvml, 0.25));
    return make_composite_meter(std::move(parts));
  });
  const Measurement m = trainer.measure(model_named("node"), three_repeats());
  CHECK(m.meter == MeterSource::Composite);
  CHECK(meter_label_of(m).str() == "rapl+nvml");
  REQUIRE(m.meter_parts.size() == 2);
  REQUIRE(m.joules_per_iteration.size() == 3);
  REQUIRE(m.meter_parts[0].joules_per_iteration.size() == 3);
  const double iterations = m.iterations;
  CHECK(m.meter_parts[0].joules_per_iteration[0] == doctest::Approx(1.5 / iterations));
  CHECK(m.meter_parts[1].joules_per_iteration[2] == doctest::Approx(0.25 / iterations));
  CHECK(m.joules_per_iteration[1] == doctest::Approx(1.75 / iterations));
  validate_measurement(m);  // the coordinator's check: parts sum to the total
}
