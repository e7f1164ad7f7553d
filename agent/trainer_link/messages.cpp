#include "agent/trainer_link/messages.hpp"
#include "common/json_text.hpp"

#include <cmath>
#include <limits>

namespace ampere {
namespace {

std::string line(nlohmann::json body) { return body.dump(); }

/// NaN travels as null (JSON has no NaN).
nlohmann::json number_or_null(double x) { return std::isnan(x) ? nlohmann::json(nullptr) : nlohmann::json(x); }
double number_from(const nlohmann::json& j) {
  return j.is_null() ? std::numeric_limits<double>::quiet_NaN() : j.get<double>();
}

template <typename F>
auto field(const TrainerMessage& m, const char* name, F read) -> decltype(read(m.body.at(name))) {
  if (!m.body.contains(name)) throw InputError(detail::concat("trainer message '", m.type, "': no field '", name, "'"));
  try {
    return read(m.body.at(name));
  } catch (const nlohmann::json::exception& e) {
    throw InputError(detail::concat("trainer message '", m.type, "': field '", name, "': ", e.what()));
  }
}

ErrorCode code_named(const std::string& name) {
  for (ErrorCode c : {ErrorCode::InvalidInput, ErrorCode::NotFound, ErrorCode::Unprocessable, ErrorCode::Unauthorized,
                      ErrorCode::Conflict, ErrorCode::Unavailable, ErrorCode::Internal})
    if (name == error_code_name(c)) return c;
  return ErrorCode::Internal;
}

nlohmann::json figures(const std::vector<double>& repeats) {
  return {{"value", summarize_repeats(repeats, RepeatStatistic::Minimum).value},
          {"statistic", "minimum"},
          {"median", summarize_repeats(repeats, RepeatStatistic::Median).value},
          {"per_repeat", repeats}};
}

}  // namespace

std::string encode_ready(const TrainerInfo& info) {
  nlohmann::json libs = nlohmann::json::array();
  for (const auto& [name, version] : info.libraries) libs.push_back({{"name", name}, {"version", version}});
  return line({{"type", "ready"},
               {"protocol", kTrainerProtocolVersion},
               {"backend", info.backend},
               {"libraries", libs},
               {"device", info.device},
               {"device_name", info.device_name},
               {"device_uuid", info.device_uuid},
               {"threads", info.threads},
               {"pid", info.pid}});
}

std::string encode_job(const TrainerJob& job) {
  const RepeatRule& r = job.settings.repeats;
  return line({{"type", "job"},
               {"model", to_json(job.model)},
               {"meter", meter_label(job.meter)},
               {"settings",
                {{"warmup", job.settings.warmup},
                 {"iterations", job.settings.iterations},
                 {"repeats",
                  {{"min", r.min_repeats},
                   {"max", r.max_repeats},
                   {"relative_half_width", r.relative_half_width},
                   {"statistic", r.statistic == RepeatStatistic::Median ? "median" : "minimum"}}},
                 {"window_seconds", job.settings.window_seconds},
                 {"seed", job.settings.seed}}}});
}

std::string encode_window_begin() { return line({{"type", "window-begin"}}); }
std::string encode_window_go() { return line({{"type", "window-go"}}); }
std::string encode_window_end(double seconds) { return line({{"type", "window-end"}, {"seconds", seconds}}); }
std::string encode_window_joules(double joules) { return line({{"type", "window-joules"}, {"joules", joules}}); }

std::string encode_result(const Measurement& m) {
  return line({{"type", "result"},
               {"seconds_per_iteration", m.seconds_per_iteration},
               {"joules_per_iteration", m.joules_per_iteration},
               {"meter", meter_label(m.meter)},
               {"iterations", m.iterations},
               {"threads", m.threads},
               {"idle_watts", number_or_null(m.idle_watts)}});
}

std::string encode_error(ErrorCode code, const std::string& message, bool window) {
  return line({{"type", window ? "window-error" : "error"}, {"code", error_code_name(code)}, {"message", message}});
}

TrainerMessage decode_trainer_message(const std::string& text) {
  nlohmann::json body;
  try {
    body = parse_json(text, "trainer pipe line");
  } catch (const InputError& e) {
    throw InputError(detail::concat("trainer pipe: a line that is not JSON (", e.what(), "): ", text.substr(0, 200)));
  }
  if (!body.is_object() || !body.contains("type") || !body.at("type").is_string())
    throw InputError(detail::concat("trainer pipe: a message without a string 'type': ", text.substr(0, 200)));
  const std::string type = body.at("type").get<std::string>();
  static const char* known[] = {"ready",         "job",          "window-begin", "window-go", "window-end",
                                "window-joules", "window-error", "result",       "error"};
  bool ok = false;
  for (const char* k : known) ok = ok || type == k;
  if (!ok) throw InputError(detail::concat("trainer pipe: unknown message type '", type, "'"));
  return {type, std::move(body)};
}

TrainerInfo ready_info(const TrainerMessage& m) {
  const int protocol =
      static_cast<int>(field(m, "protocol", [](const nlohmann::json& j) { return whole_number<std::uint16_t>(j, "protocol"); }));
  if (protocol != kTrainerProtocolVersion)
    throw InputError(detail::concat("the trainer speaks pipe protocol ", protocol, ", this agent ", kTrainerProtocolVersion,
                                    ": build both from the same source"));
  TrainerInfo info;
  info.backend = field(m, "backend", [](const nlohmann::json& j) { return j.get<std::string>(); });
  for (const nlohmann::json& lib : field(m, "libraries", [](const nlohmann::json& j) { return j; }))
    info.libraries.emplace_back(lib.at("name").get<std::string>(), lib.at("version").get<std::string>());
  info.device = field(m, "device", [](const nlohmann::json& j) { return j.get<std::string>(); });
  info.device_name = field(m, "device_name", [](const nlohmann::json& j) { return j.get<std::string>(); });
  info.device_uuid = field(m, "device_uuid", [](const nlohmann::json& j) { return j.get<std::string>(); });
  info.threads = static_cast<int>(field(m, "threads", [](const nlohmann::json& j) { return whole_number<std::uint16_t>(j, "threads"); }));
  info.pid = field(m, "pid", [](const nlohmann::json& j) { return j.get<long>(); });
  return info;
}

TrainerJob job_of(const TrainerMessage& m) {
  TrainerJob job;
  job.model = parse_model_spec(field(m, "model", [](const nlohmann::json& j) { return j; }));
  job.meter = parse_meter_label(field(m, "meter", [](const nlohmann::json& j) { return j.get<std::string>(); }));
  field(m, "settings", [&](const nlohmann::json& s) {
    job.settings.warmup = whole_number<std::uint32_t>(s.at("warmup"), "settings.warmup");
    job.settings.iterations = whole_number<std::uint32_t>(s.at("iterations"), "settings.iterations");
    const nlohmann::json& r = s.at("repeats");
    job.settings.repeats.min_repeats = whole_number<std::uint32_t>(r.at("min"), "settings.repeats.min");
    job.settings.repeats.max_repeats = whole_number<std::uint32_t>(r.at("max"), "settings.repeats.max");
    job.settings.repeats.relative_half_width = r.at("relative_half_width").get<double>();
    job.settings.repeats.statistic = r.at("statistic").get<std::string>() == "median" ? RepeatStatistic::Median : RepeatStatistic::Minimum;
    job.settings.window_seconds = s.at("window_seconds").get<double>();
    job.settings.seed = whole_number<std::uint64_t>(s.at("seed"), "settings.seed");
    return 0;
  });
  return job;
}

double window_seconds_of(const TrainerMessage& m) {
  return field(m, "seconds", [](const nlohmann::json& j) { return j.get<double>(); });
}
double window_joules_of(const TrainerMessage& m) {
  return field(m, "joules", [](const nlohmann::json& j) { return j.get<double>(); });
}

Measurement measurement_of(const TrainerMessage& m) {
  Measurement out;
  out.seconds_per_iteration = field(m, "seconds_per_iteration", [](const nlohmann::json& j) { return j.get<std::vector<double>>(); });
  out.joules_per_iteration = field(m, "joules_per_iteration", [](const nlohmann::json& j) { return j.get<std::vector<double>>(); });
  out.meter = parse_meter_label(field(m, "meter", [](const nlohmann::json& j) { return j.get<std::string>(); }));
  out.iterations = field(m, "iterations", [](const nlohmann::json& j) { return whole_number<std::uint32_t>(j, "iterations"); });
  out.threads = field(m, "threads", [](const nlohmann::json& j) { return whole_number<std::uint32_t>(j, "threads"); });
  out.idle_watts = field(m, "idle_watts", [](const nlohmann::json& j) { return number_from(j); });
  return out;
}

InputError error_of(const TrainerMessage& m) {
  const std::string code = m.body.value("code", std::string("internal"));
  const std::string message = m.body.value("message", std::string("(no message)"));
  return InputError(message, code_named(code));
}

nlohmann::json measurement_report(const std::string& model_name, const std::string& backend, const Measurement& m) {
  nlohmann::json above_idle = nullptr;  // gross joules minus idle watts x seconds, repeat by repeat
  if (!m.joules_per_iteration.empty() && std::isfinite(m.idle_watts)) {
    std::vector<double> above;
    for (std::size_t i = 0; i < m.joules_per_iteration.size(); ++i)
      above.push_back(m.joules_per_iteration[i] - m.idle_watts * m.seconds_per_iteration[i]);
    above_idle = figures(above);
  }
  nlohmann::json windows = nullptr;  // what the GPU did in each window (nvml)
  if (!m.windows.empty()) {
    windows = nlohmann::json::array();
    for (const WindowConditions& w : m.windows)
      windows.push_back({{"sm_clock_mhz", number_or_null(w.sm_clock_mhz)},
                         {"temperature_c", number_or_null(w.temperature_c)},
                         {"throttle_reasons", throttle_reason_names(w.throttle_reasons)},
                         {"throttled", w.throttled()}});
  }
  nlohmann::json parts = nullptr;  // a composite meter's: each part's own figures, labeled
  if (!m.meter_parts.empty()) {
    parts = nlohmann::json::array();
    for (const MeterPart& part : m.meter_parts)
      parts.push_back({{"meter", meter_label(part.source)}, {"joules_per_iteration", figures(part.joules_per_iteration)}});
  }
  return {{"model", model_name},
          {"backend", backend},
          {"meter", meter_label_of(m).str()},
          {"meter_parts", parts},
          {"threads", m.threads},
          {"iterations_per_repeat", m.iterations},
          {"repeats", m.seconds_per_iteration.size()},
          {"seconds_per_iteration", figures(m.seconds_per_iteration)},
          {"joules_per_iteration", m.joules_per_iteration.empty() ? nlohmann::json(nullptr) : figures(m.joules_per_iteration)},
          {"idle_watts", number_or_null(m.idle_watts)},
          {"joules_above_idle_per_iteration", above_idle},
          {"windows", windows}};
}

}  // namespace ampere
