#include "wire_convert.hpp"

namespace ampere {

wire::MeterSource to_wire(MeterSource source) {
  switch (source) {
    case MeterSource::Rapl: return wire::MeterSource::RAPL;
    case MeterSource::Nvml: return wire::MeterSource::NVML;
    case MeterSource::JetsonIna: return wire::MeterSource::JETSON_INA;
    case MeterSource::AndroidBattery: return wire::MeterSource::ANDROID_BATTERY;
    case MeterSource::TimeSurrogate: return wire::MeterSource::TIME_SURROGATE;
    case MeterSource::Simulated: return wire::MeterSource::SIMULATED;
    case MeterSource::Composite: return wire::MeterSource::COMPOSITE;
  }
  return wire::MeterSource::TIME_SURROGATE;
}

MeterSource from_wire(wire::MeterSource source) {
  switch (source) {
    case wire::MeterSource::RAPL: return MeterSource::Rapl;
    case wire::MeterSource::NVML: return MeterSource::Nvml;
    case wire::MeterSource::JETSON_INA: return MeterSource::JetsonIna;
    case wire::MeterSource::ANDROID_BATTERY: return MeterSource::AndroidBattery;
    case wire::MeterSource::TIME_SURROGATE: return MeterSource::TimeSurrogate;
    case wire::MeterSource::SIMULATED: return MeterSource::Simulated;
    case wire::MeterSource::COMPOSITE: return MeterSource::Composite;
  }
  return MeterSource::TimeSurrogate;
}

wire::ErrorCode to_wire(ErrorCode code) {
  switch (code) {
    case ErrorCode::InvalidInput: return wire::ErrorCode::INVALID_INPUT;
    case ErrorCode::NotFound: return wire::ErrorCode::NOT_FOUND;
    case ErrorCode::Unprocessable: return wire::ErrorCode::UNPROCESSABLE;
    case ErrorCode::Unauthorized: return wire::ErrorCode::UNAUTHORIZED;
    case ErrorCode::Forbidden: return wire::ErrorCode::FORBIDDEN;
    case ErrorCode::Conflict: return wire::ErrorCode::CONFLICT;
    case ErrorCode::Unavailable: return wire::ErrorCode::UNAVAILABLE;
    case ErrorCode::Internal: return wire::ErrorCode::INTERNAL;
    case ErrorCode::NotLeader: return wire::ErrorCode::NOT_LEADER;
  }
  return wire::ErrorCode::INTERNAL;
}

ErrorCode from_wire(wire::ErrorCode code) {
  switch (code) {
    case wire::ErrorCode::INVALID_INPUT: return ErrorCode::InvalidInput;
    case wire::ErrorCode::NOT_FOUND: return ErrorCode::NotFound;
    case wire::ErrorCode::UNPROCESSABLE: return ErrorCode::Unprocessable;
    case wire::ErrorCode::UNAUTHORIZED: return ErrorCode::Unauthorized;
    case wire::ErrorCode::FORBIDDEN: return ErrorCode::Forbidden;
    case wire::ErrorCode::CONFLICT: return ErrorCode::Conflict;
    case wire::ErrorCode::UNAVAILABLE: return ErrorCode::Unavailable;
    case wire::ErrorCode::INTERNAL: return ErrorCode::Internal;
    case wire::ErrorCode::NOT_LEADER: return ErrorCode::NotLeader;
  }
  return ErrorCode::Internal;  // a code from a newer peer
}

std::string error_frame(ErrorCode code, const std::string& message, const std::string& request) {
  return make_frame([&](wire::Envelope::Body::Builder body) {
    auto e = body.initError();
    e.setMessage(message);
    e.setRequestType(request);
    e.setCode(to_wire(code));
  });
}

void fill_result(wire::Result::Builder result, const Measurement& m) {
  auto seconds = result.initSecondsPerIteration(static_cast<unsigned>(m.seconds_per_iteration.size()));
  for (unsigned i = 0; i < seconds.size(); ++i) seconds.set(i, m.seconds_per_iteration[i]);
  auto joules = result.initJoulesPerIteration(static_cast<unsigned>(m.joules_per_iteration.size()));
  for (unsigned i = 0; i < joules.size(); ++i) joules.set(i, m.joules_per_iteration[i]);
  result.setMeter(to_wire(m.meter));
  result.setIdleWatts(m.idle_watts);
  result.setIterations(m.iterations);
  result.setThreads(m.threads);
  result.setReferenceSeconds(m.reference_seconds);
  result.setReferenceJoules(m.reference_joules);
  auto parts = result.initMeterParts(static_cast<unsigned>(m.meter_parts.size()));
  for (unsigned p = 0; p < parts.size(); ++p) {
    parts[p].setMeter(to_wire(m.meter_parts[p].source));
    const std::vector<double>& values = m.meter_parts[p].joules_per_iteration;
    auto list = parts[p].initJoulesPerIteration(static_cast<unsigned>(values.size()));
    for (unsigned i = 0; i < list.size(); ++i) list.set(i, values[i]);
  }
}

Measurement measurement_of(wire::Result::Reader result) {
  Measurement m;
  for (double s : result.getSecondsPerIteration()) m.seconds_per_iteration.push_back(s);
  for (double j : result.getJoulesPerIteration()) m.joules_per_iteration.push_back(j);
  m.meter = from_wire(result.getMeter());
  m.idle_watts = result.getIdleWatts();
  m.iterations = result.getIterations();
  m.threads = result.getThreads();
  m.reference_seconds = result.getReferenceSeconds();
  m.reference_joules = result.getReferenceJoules();
  for (auto part : result.getMeterParts()) {
    MeterPart p{from_wire(part.getMeter()), {}};
    for (double j : part.getJoulesPerIteration()) p.joules_per_iteration.push_back(j);
    m.meter_parts.push_back(std::move(p));
  }
  return m;
}

}  // namespace ampere
