#include "agent/agent_runner.hpp"

#include <unistd.h>

#include <fstream>
#include <optional>
#include <thread>

#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "common/error.hpp"
#include "protocol.capnp.h"
#include "wire_codec.hpp"
#include "wire_convert.hpp"

namespace ampere {
namespace {

std::int64_t unix_millis() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

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

AgentRunner::AgentRunner(zmq::context_t& context, Trainer& trainer, AgentConfig config)
    : context_(context), trainer_(trainer), config_(std::move(config)) {
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
    h.setMemoryBytes(hw.memory_bytes);
    h.setHostname(hw.hostname);
    const auto libs = trainer_.libraries();
    auto list = r.initLibraries(static_cast<unsigned>(libs.size()));
    for (unsigned i = 0; i < libs.size(); ++i) {
      list[i].setName(libs[i].first);
      list[i].setVersion(libs[i].second);
    }
  });
}

void AgentRunner::run(const std::atomic<bool>& stop) {
  zmq::socket_t socket(context_, zmq::socket_type::dealer);
  socket.set(zmq::sockopt::routing_id, config_.agent_id);
  socket.set(zmq::sockopt::linger, 0);
  socket.connect(config_.coordinator);

  // Heartbeats from their own socket, so they flow while a job trains on this thread.
  std::atomic<bool> stop_heartbeat{false};
  std::thread heartbeat([&] {
    zmq::socket_t hb(context_, zmq::socket_type::dealer);
    hb.set(zmq::sockopt::routing_id, config_.agent_id + "#heartbeat");
    hb.set(zmq::sockopt::linger, 0);
    hb.set(zmq::sockopt::sndhwm, 4);
    hb.connect(config_.coordinator);
    while (!stop.load() && !stop_heartbeat.load()) {
      const std::string frame = make_frame([&](wire::Envelope::Body::Builder body) {
        auto h = body.initHeartbeat();
        h.setAgentId(config_.agent_id);
        h.setRunningJobId(running_job_.load());
        h.setUnixMillis(unix_millis());
      });
      (void)hb.send(zmq::buffer(frame), zmq::send_flags::dontwait);
      for (int i = 0; i < 10 && !stop.load() && !stop_heartbeat.load(); ++i)
        std::this_thread::sleep_for(config_.heartbeat_interval / 10);
      while (receive(hb, std::chrono::milliseconds(0))) {}  // the coordinator never answers; drain anyway
    }
  });

  bool registered = false;
  const std::string work_request = make_frame([&](wire::Envelope::Body::Builder body) {
    body.initWorkRequest().setAgentId(config_.agent_id);
  });
  while (!stop.load()) {
    if (!registered) {
      socket.send(zmq::buffer(register_frame()), zmq::send_flags::none);
      auto reply = receive(socket, config_.reply_timeout);
      if (!reply) continue;
      try {
        DecodedEnvelope d(*reply);
        if (d.envelope().getBody().which() == wire::Envelope::Body::ACK) {
          registered = true;
          spdlog::info("registered with {} as {} (class {})", config_.coordinator, config_.agent_id, config_.device_class);
        } else if (d.envelope().getBody().which() == wire::Envelope::Body::ERROR) {
          spdlog::error("registration refused: {}", d.envelope().getBody().getError().getMessage().cStr());
          std::this_thread::sleep_for(std::chrono::seconds(1));
        }
      } catch (const InputError& e) {
        spdlog::warn("bad reply to Register: {}", e.what());
      }
      continue;
    }
    socket.send(zmq::buffer(work_request), zmq::send_flags::none);
    auto reply = receive(socket, config_.reply_timeout);
    if (!reply) continue;
    std::unique_ptr<DecodedEnvelope> d;
    try {
      d = std::make_unique<DecodedEnvelope>(*reply);
    } catch (const InputError& e) {
      spdlog::warn("bad reply to WorkRequest: {}", e.what());
      continue;
    }
    const auto body = d->envelope().getBody();
    if (body.which() == wire::Envelope::Body::ERROR) {
      spdlog::warn("coordinator: {}; registering again", body.getError().getMessage().cStr());
      registered = false;
      continue;
    }
    if (body.which() == wire::Envelope::Body::NO_WORK) {
      std::this_thread::sleep_for(std::chrono::milliseconds(body.getNoWork().getRetryAfterMillis()));
      continue;
    }
    if (body.which() != wire::Envelope::Body::JOB) continue;  // a late Ack from before a restart
    const auto job = body.getJob();
    const std::uint64_t job_id = job.getJobId();
    running_job_ = job_id;
    Measurement m;
    std::string error;
    try {
      const ModelSpec model = parse_model_spec(nlohmann::json::parse(job.getVariantSpecJson().cStr()));
      JobSettings settings;
      settings.warmup = job.getWarmupIterations();
      settings.iterations = job.getIterations();
      settings.repeats = job.getRepeats() == 0 ? 5 : job.getRepeats();
      settings.min_window_seconds = config_.min_window_seconds;
      settings.seed = job_id;
      m = trainer_.measure(model, settings);
    } catch (const std::exception& e) {
      error = e.what();
      spdlog::error("job {} failed: {}", job_id, error);
    }
    const std::string result = make_frame([&](wire::Envelope::Body::Builder b) {
      auto r = b.initResult();
      r.setJobId(job_id);
      r.setAgentId(config_.agent_id);
      if (error.empty()) fill_result(r, m);
      else r.setError(error);
    });
    // Until acknowledged: a coordinator that restarted in between gets it again.
    bool acked = false;
    while (!acked && !stop.load()) {
      socket.send(zmq::buffer(result), zmq::send_flags::none);
      auto ack = receive(socket, config_.reply_timeout);
      if (!ack) continue;
      try {
        DecodedEnvelope a(*ack);
        const auto ab = a.envelope().getBody();
        if (ab.which() == wire::Envelope::Body::ACK && ab.getAck().getJobId() == job_id) {
          acked = true;
          if (!ab.getAck().getStored()) spdlog::warn("job {} result not stored: {}", job_id, ab.getAck().getReason().cStr());
        }
      } catch (const InputError& e) {
        spdlog::warn("bad reply to Result: {}", e.what());
      }
    }
    running_job_ = 0;
  }
  stop_heartbeat = true;
  heartbeat.join();
}

}  // namespace ampere
