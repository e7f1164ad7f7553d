#include "agent/trainer_link/messages.hpp"

#include <unistd.h>

#include <cmath>
#include <doctest/doctest.h>

#include "agent/trainer_link/line_pipe.hpp"

using namespace ampere;

TEST_CASE("a job crosses the pipe with its model, settings and meter intact") {
  TrainerJob job;
  job.model = parse_model_spec(nlohmann::json{{"name", "m"},
                                              {"input", {{"shape", {8}}}},
                                              {"batch_size", 4},
                                              {"classes", 2},
                                              {"layers", {{{"type", "linear"}, {"out_features", 2}}}}});
  job.settings.warmup = 2;
  job.settings.iterations = 7;
  job.settings.repeats.min_repeats = 3;
  job.settings.repeats.max_repeats = 9;
  job.settings.repeats.relative_half_width = 0.02;
  job.settings.window_seconds = 0.5;
  job.settings.seed = 42;
  job.meter = MeterSource::JetsonIna;
  const std::string line = encode_job(job);
  CHECK(line.find('\n') == std::string::npos);  // one message, one line
  const TrainerJob back = job_of(decode_trainer_message(line));
  CHECK(to_json(back.model) == to_json(job.model));
  CHECK(back.settings.iterations == 7);
  CHECK(back.settings.repeats.max_repeats == 9);
  CHECK(back.settings.repeats.relative_half_width == doctest::Approx(0.02));
  CHECK(back.settings.seed == 42);
  CHECK(back.meter == MeterSource::JetsonIna);
}

TEST_CASE("a result crosses with NaN idle watts as null, and errors keep their code") {
  Measurement m;
  m.seconds_per_iteration = {0.1, 0.2};
  m.joules_per_iteration = {1, 2};
  m.meter = MeterSource::Nvml;
  m.iterations = 10;
  m.threads = 2;
  m.idle_watts = std::nan("");
  const Measurement back = measurement_of(decode_trainer_message(encode_result(m)));
  CHECK(back.seconds_per_iteration == m.seconds_per_iteration);
  CHECK(back.meter == MeterSource::Nvml);
  CHECK(std::isnan(back.idle_watts));
  const InputError e = error_of(decode_trainer_message(encode_error(ErrorCode::NotFound, "no such thing")));
  CHECK(e.code() == ErrorCode::NotFound);
  CHECK(std::string(e.what()) == "no such thing");
}

TEST_CASE("bad lines on the pipe are refused naming what is wrong") {
  CHECK_THROWS_WITH_AS(decode_trainer_message("not json"), doctest::Contains("not JSON"), InputError);
  CHECK_THROWS_WITH_AS(decode_trainer_message("{\"x\":1}"), doctest::Contains("without a string 'type'"), InputError);
  CHECK_THROWS_WITH_AS(decode_trainer_message("{\"type\":\"dance\"}"), doctest::Contains("unknown message type 'dance'"), InputError);
  CHECK_THROWS_WITH_AS(window_joules_of(decode_trainer_message("{\"type\":\"window-joules\"}")), doctest::Contains("no field 'joules'"),
                       InputError);
  TrainerInfo other;
  nlohmann::json ready = nlohmann::json::parse(encode_ready(other));
  ready["protocol"] = 99;
  CHECK_THROWS_WITH_AS(ready_info(decode_trainer_message(ready.dump())), doctest::Contains("protocol 99"), InputError);
}

TEST_CASE("the line pipe frames messages and reports a closed end") {
  int fds[2];
  REQUIRE(pipe(fds) == 0);
  LinePipe writer(-1, fds[1]), reader(fds[0], -1);
  writer.write_line("{\"a\":1}");
  writer.write_line("{\"b\":2}");
  CHECK(*reader.read_line(std::chrono::milliseconds(100)) == "{\"a\":1}");
  CHECK(reader.line_buffered());
  CHECK(*reader.read_line(std::chrono::milliseconds(100)) == "{\"b\":2}");
  CHECK_FALSE(reader.read_line(std::chrono::milliseconds(10)).has_value());  // nothing yet: a timeout
  close(fds[1]);
  CHECK_THROWS_AS(reader.read_line(std::chrono::milliseconds(100)), PipeClosed);
  close(fds[0]);
}

TEST_CASE("measure's report gives gross joules and, with an idle baseline, joules above idle repeat by repeat") {
  Measurement m;
  m.seconds_per_iteration = {0.1, 0.2};
  m.joules_per_iteration = {3.0, 5.0};
  m.meter = MeterSource::Rapl;
  m.idle_watts = 10;
  const nlohmann::json r = measurement_report("m", "torch", m);
  CHECK(r.at("joules_per_iteration").at("value").get<double>() == doctest::Approx(3.0));  // gross stays gross
  CHECK(r.at("idle_watts").get<double>() == doctest::Approx(10));
  const auto above = r.at("joules_above_idle_per_iteration").at("per_repeat").get<std::vector<double>>();
  REQUIRE(above.size() == 2);
  CHECK(above[0] == doctest::Approx(2.0));  // 3 J - 10 W x 0.1 s
  CHECK(above[1] == doctest::Approx(3.0));  // 5 J - 10 W x 0.2 s
  m.idle_watts = std::nan("");
  CHECK(measurement_report("m", "torch", m).at("joules_above_idle_per_iteration").is_null());
}

TEST_CASE("measure's report lists what the GPU did in each window, and says which windows throttled") {
  Measurement m;
  m.seconds_per_iteration = {0.1, 0.1};
  m.joules_per_iteration = {3.0, 3.1};
  m.meter = MeterSource::Nvml;
  m.idle_watts = std::nan("");
  WindowConditions cool, hot;
  cool.sm_clock_mhz = 1980;
  cool.temperature_c = 55;
  hot.sm_clock_mhz = 1410;
  hot.temperature_c = 84;
  hot.throttle_reasons = 0x40;
  m.windows = {cool, hot};
  const nlohmann::json r = measurement_report("m", "torch", m);
  REQUIRE(r.at("windows").size() == 2);
  CHECK(r.at("windows")[0].at("throttled") == false);
  CHECK(r.at("windows")[0].at("throttle_reasons") == "none");
  CHECK(r.at("windows")[1].at("sm_clock_mhz").get<double>() == doctest::Approx(1410));
  CHECK(r.at("windows")[1].at("throttle_reasons") == "hw-thermal-slowdown");
  CHECK(r.at("windows")[1].at("throttled") == true);
  m.windows.clear();
  CHECK(measurement_report("m", "torch", m).at("windows").is_null());
}
