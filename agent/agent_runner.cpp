#include "agent/agent_runner.hpp"

#include <unistd.h>

#include <fstream>
#include <optional>
#include <thread>

#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "common/error.hpp"
#include "common/json_text.hpp"
#include "protocol.capnp.h"
#include "wire_codec.hpp"
#include "wire_convert.hpp"

namespace ampere {
namespace {

/// Waits up to `timeout` for one frame on `socket`.
std::optional<std::string> receive(zmq::socket_t& socket, std::chrono::milliseconds timeout) {
  zmq::pollitem_t item{socket.handle(), 0, ZMQ_POLLIN, 0};
  zmq::poll(&item, 1, timeout);
  if ((item.revents & ZMQ_POLLIN) == 0) return std::nullopt;
  zmq::message_t message;
  if (!socket.recv(message, zmq::recv_flags::dontwait)) return std::nullopt;
  return message.to_string();
}

}  // namespace

HardwareFacts read_hardware_facts() {
  HardwareFacts facts;
  std::ifstream cpuinfo("/proc/cpuinfo");
  for (std::string line; std::getline(cpuinfo, line);)
    if (line.rfind("model name", 0) == 0) {
      facts.cpu_model = line.substr(line.find(':') + 2);
      break;
    }
  facts.cores = std::thread::hardware_concurrency();
  facts.memory_bytes = static_cast<std::uint64_t>(sysconf(_SC_PHYS_PAGES)) * static_cast<std::uint64_t>(sysconf(_SC_PAGE_SIZE));
  char host[256] = {0};
  gethostname(host, sizeof host - 1);
  facts.hostname = host;
  return facts;
}

void AgentTally::acknowledged(bool stored, std::chrono::steady_clock::duration round_trip, std::uint64_t job_id) {
  (stored ? stored_ : refused_)++;
  const std::lock_guard<std::mutex> lock(mutex_);
  round_trips_ms_.push_back(std::chrono::duration<double, std::milli>(round_trip).count());
  if (stored) stored_job_ids_.push_back(job_id);
}

std::vector<std::uint64_t> AgentTally::stored_job_ids() const {
  const std::lock_guard<std::mutex> lock(mutex_);
  return stored_job_ids_;
}

std::vector<double> AgentTally::round_trips_ms() const {
  const std::lock_guard<std::mutex> lock(mutex_);
  return round_trips_ms_;
}

AgentRunner::AgentRunner(zmq::context_t& context, Trainer& trainer, AgentConfig config)
    : context_(context),
      trainer_(trainer),
      config_(std::move(config)),
      endpoints_(config_.coordinator),
      reference_(clock_, std::max<std::uint32_t>(1, config_.reference_every_jobs), config_.reference_every) {
  AMPERE_REQUIRE(!config_.agent_id.empty(), "agent: an agent id is required");
  AMPERE_REQUIRE(!config_.device_class.empty(), "agent: a device class is required");
}

std::string AgentRunner::register_frame() const {
  const HardwareFacts hw = read_hardware_facts();
  return make_frame([&](wire::Envelope::Body::Builder body) {
    auto r = body.initRegister();
    r.setAgentId(config_.agent_id);
    r.setDeviceClass(config_.device_class);
    r.setThreads(static_cast<std::uint32_t>(config_.threads));
    r.setBackend(trainer_.backend());
    auto h = r.initHardware();
    h.setCpuModel(hw.cpu_model);
    h.setCores(hw.cores);
    h.setMemoryBytes(config_.memory_bytes > 0 ? config_.memory_bytes : hw.memory_bytes);
    h.setHostname(hw.hostname);
    const auto libs = trainer_.libraries();
    auto list = r.initLibraries(static_cast<unsigned>(libs.size()));
    for (unsigned i = 0; i < libs.size(); ++i) {
      list[i].setName(libs[i].first);
      list[i].setVersion(libs[i].second);
    }
  });
}

void AgentRunner::heartbeat(const std::atomic<bool>& stop, const std::atomic<bool>& done) {
  const auto connect = [&] {
    zmq::socket_t hb(context_, zmq::socket_type::dealer);
    hb.set(zmq::sockopt::routing_id, config_.agent_id + "#heartbeat");
    if (config_.curve) apply_curve_client(hb, *config_.curve);
    hb.set(zmq::sockopt::linger, 0);
    hb.set(zmq::sockopt::sndhwm, 4);
    hb.connect(endpoints_.current());
    return hb;
  };
  std::size_t endpoint = endpoints_.index();
  zmq::socket_t hb = connect();
  while (!stop.load() && !done.load()) {
    if (endpoints_.index() != endpoint) {  // the job socket failed over: heartbeats follow it
      endpoint = endpoints_.index();
      hb.close();
      hb = connect();
    }
    if (config_.alive) config_.alive();
    const std::string frame = make_frame([&](wire::Envelope::Body::Builder body) {
      auto h = body.initHeartbeat();
      h.setAgentId(config_.agent_id);
      h.setRunningJobId(running_job_.load());
      h.setUnixMillis(unix_millis(clock_.wall_now()));
    });
    (void)hb.send(zmq::buffer(frame), zmq::send_flags::dontwait);
    for (int i = 0; i < 10 && !stop.load() && !done.load(); ++i) std::this_thread::sleep_for(config_.heartbeat_interval / 10);
    while (receive(hb, std::chrono::milliseconds(0))) {}  // the coordinator never answers; drain anyway
  }
}

zmq::socket_t AgentRunner::job_socket() {
  zmq::socket_t socket(context_, zmq::socket_type::dealer);
  socket.set(zmq::sockopt::routing_id, config_.agent_id);
  socket.set(zmq::sockopt::linger, 0);
  socket.set(zmq::sockopt::maxmsgsize, kMaxReplyFrameBytes);
  // several endpoints: queue only to a connection that is up, so a dead endpoint is seen at once
  if (endpoints_.several()) socket.set(zmq::sockopt::immediate, 1);
  if (config_.curve) apply_curve_client(socket, *config_.curve);
  socket.connect(endpoints_.current());
  return socket;
}

bool AgentRunner::fail_over(zmq::socket_t& socket, const std::string& why) {
  if (!endpoints_.several()) return false;
  const std::string left = endpoints_.current();
  const bool round = endpoints_.advance();
  spdlog::warn("coordinator {}: {}; trying {}", left, why, endpoints_.current());
  socket.close();  // before the next one: a fleet in one process has a socket budget
  socket = job_socket();
  if (round) std::this_thread::sleep_for(std::chrono::milliseconds(250));  // every one tried: none leads yet
  return true;
}

bool AgentRunner::send(zmq::socket_t& socket, const std::string& frame) {
  // One endpoint: queued as before (ZeroMQ delivers it when the coordinator is back; never a spin
  // on a full queue). Several: only on a connection that is up, else the next endpoint.
  if (!endpoints_.several()) return socket.send(zmq::buffer(frame), zmq::send_flags::none).has_value();
  if (!wait_connected(socket, config_.connect_timeout)) return false;
  return socket.send(zmq::buffer(frame), zmq::send_flags::dontwait).has_value();
}

namespace {

/// The code of an Error reply (nullopt for any other reply).
std::optional<ErrorCode> error_code_of(const DecodedEnvelope& d) {
  if (d.envelope().getBody().which() != wire::Envelope::Body::ERROR) return std::nullopt;
  return from_wire(d.envelope().getBody().getError().getCode());
}

}  // namespace

bool AgentRunner::register_agent(zmq::socket_t& socket, const std::atomic<bool>& stop) {
  while (!stop.load()) {
    if (config_.alive) config_.alive();
    if (!send(socket, register_frame())) {
      fail_over(socket, "cannot be reached");
      continue;
    }
    auto reply = receive(socket, config_.reply_timeout);
    if (!reply) {
      fail_over(socket, "no answer to Register");
      continue;
    }
    try {
      DecodedEnvelope d(*reply);
      if (d.envelope().getBody().which() == wire::Envelope::Body::ACK) {
        spdlog::info("registered with {} as {} (class {})", endpoints_.current(), config_.agent_id, config_.device_class);
        return true;
      }
      if (error_code_of(d) == ErrorCode::NotLeader) {
        fail_over(socket, "a standby");
        continue;
      }
      if (d.envelope().getBody().which() == wire::Envelope::Body::ERROR) {
        spdlog::error("registration refused: {}", d.envelope().getBody().getError().getMessage().cStr());
        std::this_thread::sleep_for(std::chrono::seconds(1));
      }
    } catch (const InputError& e) {
      spdlog::warn("bad reply to Register: {}", e.what());
    }
  }
  return false;
}

AgentRunner::Reply AgentRunner::request_work(zmq::socket_t& socket, std::string& job_frame) {
  const std::string work_request =
      make_frame([&](wire::Envelope::Body::Builder body) { body.initWorkRequest().setAgentId(config_.agent_id); });
  if (!send(socket, work_request)) return fail_over(socket, "cannot be reached") ? Reply::Unregistered : Reply::NoWork;
  auto reply = receive(socket, config_.reply_timeout);
  if (!reply) return fail_over(socket, "no answer to WorkRequest") ? Reply::Unregistered : Reply::NoWork;
  std::unique_ptr<DecodedEnvelope> d;
  try {
    d = std::make_unique<DecodedEnvelope>(*reply);
  } catch (const InputError& e) {
    spdlog::warn("bad reply to WorkRequest: {}", e.what());
    return Reply::NoWork;
  }
  const auto body = d->envelope().getBody();
  switch (body.which()) {
    case wire::Envelope::Body::ERROR:
      if (error_code_of(*d) == ErrorCode::NotLeader && fail_over(socket, "a standby")) return Reply::Unregistered;
      spdlog::warn("coordinator: {}; registering again", body.getError().getMessage().cStr());
      return Reply::Unregistered;
    case wire::Envelope::Body::NO_WORK:
      std::this_thread::sleep_for(std::chrono::milliseconds(body.getNoWork().getRetryAfterMillis()));
      return Reply::NoWork;
    case wire::Envelope::Body::JOB: job_frame = *reply; return Reply::Job;
    default: return Reply::NoWork;  // a late Ack from before a restart
  }
}

std::string AgentRunner::execute(const std::string& job_frame, std::uint64_t& job_id) {
  const DecodedEnvelope d(job_frame);
  const auto job = d.envelope().getBody().getJob();
  job_id = job.getJobId();
  running_job_ = job_id;
  Measurement m;
  std::string error;
  try {
    const ModelSpec model = parse_model_spec(parse_json(job.getVariantSpecJson().cStr(), "job variant spec"));
    JobSettings settings;
    settings.warmup = job.getWarmupIterations();
    settings.iterations = job.getIterations();
    // The job's repeat rule: `repeats` alone is a fixed count (an older coordinator's jobs); with a
    // cap, repeat until the repeats agree within `agreement` or the cap.
    const std::uint32_t repeats = job.getRepeats() == 0 ? 5 : job.getRepeats();
    settings.repeats = RepeatRule::fixed(repeats);
    if (job.getRepeatCap() > repeats && job.getAgreement() > 0) {
      settings.repeats.max_repeats = job.getRepeatCap();
      settings.repeats.relative_half_width = job.getAgreement();
    }
    settings.window_seconds = job.getWindowSeconds() > 0 ? job.getWindowSeconds() : config_.min_window_seconds;
    settings.seed = job_id;
    settings.deadline_unix_millis = job.getDeadlineUnixMillis();
    // The reference reading, when due, right before the job: it sees what the job will.
    bool reference_ok = config_.reference_every_jobs > 0;
    if (reference_ok) {
      try {
        refresh_reference(reference_, [&] {
          JobSettings r = settings;
          r.iterations = 0;
          r.seed = 1;
          return trainer_.measure(reference_network(), r);
        });
      } catch (const std::exception& e) {
        reference_ok = false;
        spdlog::warn("reference reading failed: {}; job {} goes without one", e.what(), job_id);
      }
    }
    m = trainer_.measure(model, settings);
    if (reference_ok) {
      m.reference_seconds = reference_.seconds();
      m.reference_joules = reference_.joules();
    }
    reference_.job_done();
  } catch (const std::exception& e) {
    error = e.what();
    spdlog::error("job {} failed: {}", job_id, error);
  }
  return make_frame([&](wire::Envelope::Body::Builder b) {
    auto r = b.initResult();
    r.setJobId(job_id);
    r.setAgentId(config_.agent_id);
    if (error.empty()) fill_result(r, m);
    else r.setError(error);
  });
}

void AgentRunner::report(zmq::socket_t& socket, std::uint64_t job_id, const std::string& result,
                         const std::atomic<bool>& stop, std::chrono::steady_clock::time_point asked) {
  // Sent until a coordinator acknowledges it: after a failover or a restart the agent registers
  // with the one that now leads and sends it again (acknowledged once, stored once: docs/architecture.md).
  bool acked = false;
  bool registered = true;
  while (!acked && !stop.load()) {
    if (!registered && !(registered = register_agent(socket, stop))) break;
    if (!send(socket, result)) {
      registered = !fail_over(socket, "cannot be reached");
      continue;
    }
    auto ack = receive(socket, config_.reply_timeout);
    if (!ack) {
      registered = !fail_over(socket, "no answer to Result");
      continue;
    }
    try {
      DecodedEnvelope a(*ack);
      const auto ab = a.envelope().getBody();
      if (error_code_of(a) == ErrorCode::NotLeader) {
        registered = !fail_over(socket, "a standby");
        continue;
      }
      if (ab.which() == wire::Envelope::Body::ACK && ab.getAck().getJobId() == job_id) {
        if (!ab.getAck().getStored() && from_wire(ab.getAck().getCode()) == ErrorCode::NotFound) {
          spdlog::warn("job {}: {}: registering again to send the result again", job_id, ab.getAck().getReason().cStr());
          registered = false;  // a coordinator that restarted or took over does not know this agent yet
          continue;
        }
        acked = true;
        if (config_.tally) config_.tally->acknowledged(ab.getAck().getStored(), std::chrono::steady_clock::now() - asked, job_id);
        if (!ab.getAck().getStored()) spdlog::warn("job {} result not stored: {}", job_id, ab.getAck().getReason().cStr());
      }
    } catch (const InputError& e) {
      spdlog::warn("bad reply to Result: {}", e.what());
    }
  }
  running_job_ = 0;
}

void AgentRunner::run(const std::atomic<bool>& stop) {
  zmq::socket_t socket = job_socket();
  std::atomic<bool> done{false};
  std::thread heartbeats([&] { heartbeat(stop, done); });
  bool registered = false;
  std::string job_frame;
  while (!stop.load()) {
    if (!registered) {
      registered = register_agent(socket, stop);
      continue;
    }
    const auto asked = std::chrono::steady_clock::now();
    switch (request_work(socket, job_frame)) {
      case Reply::Unregistered: registered = false; break;
      case Reply::NoWork: break;
      case Reply::Job: {
        std::uint64_t job_id = 0;
        const std::string result = execute(job_frame, job_id);
        report(socket, job_id, result, stop, asked);
        break;
      }
    }
  }
  done = true;
  heartbeats.join();
}

}  // namespace ampere
