#include "coordinator/coordinator_server.hpp"

#include <cmath>

#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "common/error.hpp"
#include "common/layer_shapes.hpp"
#include "protocol.capnp.h"
#include "wire_codec.hpp"
#include "wire_convert.hpp"

namespace ampere {
namespace {

using Clock = std::chrono::steady_clock;

std::string error_frame(const std::string& message, const std::string& request) {
  return make_frame([&](wire::Envelope::Body::Builder body) {
    auto e = body.initError();
    e.setMessage(message);
    e.setRequestType(request);
  });
}

std::string ack_frame(std::uint64_t job_id, bool stored, const std::string& reason) {
  return make_frame([&](wire::Envelope::Body::Builder body) {
    auto a = body.initAck();
    a.setJobId(job_id);
    a.setStored(stored);
    a.setReason(reason);
  });
}

/// Every frame of one multipart message waiting on `socket`.
std::vector<zmq::message_t> receive_multipart(zmq::socket_t& socket) {
  std::vector<zmq::message_t> frames;
  zmq::recv_result_t got;
  do {
    zmq::message_t part;
    got = socket.recv(part, zmq::recv_flags::dontwait);
    if (got) frames.push_back(std::move(part));
  } while (got && frames.back().more());
  return frames;
}

const char* kind_state_name(KindState s) {
  switch (s) {
    case KindState::Waiting: return "waiting";
    case KindState::Profiling: return "profiling";
    case KindState::Done: return "done";
  }
  return "?";
}

}  // namespace

CoordinatorServer::CoordinatorServer(zmq::context_t& context, Store& store, CoordinatorConfig config,
                                     CoordinatorMetrics* metrics)
    : store_(store),
      config_(std::move(config)),
      own_metrics_(metrics == nullptr ? std::make_unique<CoordinatorMetrics>() : nullptr),
      metrics_(metrics == nullptr ? *own_metrics_ : *metrics),
      agents_(context, zmq::socket_type::router),
      clients_(context, zmq::socket_type::router) {
  agents_.set(zmq::sockopt::linger, 0);
  clients_.set(zmq::sockopt::linger, 0);
  agents_.set(zmq::sockopt::router_mandatory, 1);  // a vanished agent is an error we log, not a silent drop
  try {
    agents_.bind(config_.agents_endpoint);
    clients_.bind(config_.clients_endpoint);
  } catch (const zmq::error_t& e) {
    throw InputError("coordinator: cannot bind " + config_.agents_endpoint + " / " + config_.clients_endpoint + ": " +
                     e.what());
  }
  if (!config_.spool_path.empty()) {
    spool_ = std::make_unique<ResultSpool>(config_.spool_path, config_.spool_capacity);
    if (spool_->size() > 0) {
      spdlog::warn("spool {} holds {} result(s) from before; writing them to the store first", spool_->path(), spool_->size());
      const SpoolReplay r = spool_->replay(store_);
      AMPERE_REQUIRE(r.left == 0, "spool ", spool_->path(), ": the store went away while replaying (", r.left,
                     " result(s) left); not starting on a partial store");
      metrics_.spool_replayed(r.stored);
    }
  }
  reload();
  update_metrics();
}

template <class Write>
bool CoordinatorServer::try_store(const char* operation, Write&& write) {
  if (!store_may_be_tried()) return false;  // away: not retried before its next probe
  try {
    write();
    store_back();
    return true;
  } catch (const StoreUnavailable& e) {
    store_down(operation, e);
    return false;
  }
}

void CoordinatorServer::store_down(const char* operation, const std::exception& e) {
  metrics_.store_error(operation);
  if (store_up_) spdlog::error("store unreachable ({}): {}; results go to the spool until it is back", operation, e.what());
  store_up_ = false;
  metrics_.set_store_up(false);
  // Probe again later, backing off: a store that does not answer can hold the loop for the
  // connect timeout on every try.
  store_retry_at_ = Clock::now() + store_backoff_;
  store_backoff_ = std::min<std::chrono::milliseconds>(store_backoff_ * 2, kMaxStoreBackoff);
}

void CoordinatorServer::store_back() {
  if (!store_up_) spdlog::info("store reachable again");
  store_up_ = true;
  store_backoff_ = kMinStoreBackoff;
  metrics_.set_store_up(true);
}

bool CoordinatorServer::store_may_be_tried() const { return store_up_ || Clock::now() >= store_retry_at_; }

void CoordinatorServer::probe_store() {
  if (store_up_ ? !(spool_ && spool_->size() > 0) : Clock::now() < store_retry_at_) return;
  if (spool_ && spool_->size() > 0) replay_spool();
  else try_store("probe", [&] { store_.fingerprint(); });
}

void CoordinatorServer::replay_spool() {
  if (!spool_ || spool_->size() == 0) return;
  const std::size_t before = spool_->size();
  SpoolReplay r;
  try {
    r = spool_->replay(store_);
  } catch (const std::exception& e) {  // the spool file itself (disk): keep the records, say so
    spdlog::error("spool {}: replay failed: {}", spool_->path(), e.what());
    return;
  }
  metrics_.spool_replayed(r.stored);
  if (r.stored + r.duplicate + r.rejected > 0) {
    store_back();
    spdlog::info("spool: {} of {} result(s) written to the store ({} already there, {} rejected), {} left", r.stored,
                 before, r.duplicate, r.rejected, r.left);
  }
  if (r.left > 0 && r.stored + r.duplicate + r.rejected == 0)
    store_down("spool_replay", StoreUnavailable("the store is still unreachable"));
}

void CoordinatorServer::reload() {
  for (const CampaignRecord& record : store_.campaigns()) {
    CampaignEntry entry;
    entry.record = record;
    class_seen_[record.device_class] = Clock::now();
    CampaignSettings settings;
    settings.budget_per_kind = record.budget_per_kind;
    settings.acquisition = parse_acquisition(record.acquisition);
    settings.seed = config_.seed;
    entry.campaign = std::make_unique<Campaign>(record.id, parse_model_spec(nlohmann::json::parse(record.family_json)),
                                                record.device_class, settings);
    std::map<std::uint64_t, ResultRecord> results;
    for (ResultRecord& r : store_.results(record.id)) results.emplace(r.job_id, std::move(r));
    std::size_t replayed = 0, requeued = 0;
    for (JobRecord& job : store_.jobs(record.id)) {
      const bool holdout = job.kind_key == kHoldoutKind;  // measured whole, not a profiled kind
      if (job.state == JobState::Done && results.count(job.id) == 1) {
        const Measurement& m = results.at(job.id).measurement;
        if (holdout) {
          entry.holdout.emplace_back(parse_model_spec(nlohmann::json::parse(job.variant_json)), m);
        } else {
          entry.campaign->add_result(KindKey(job.kind_key), job.channels, m);
          record_baseline_point(record.device_class, job, m);
        }
        ++replayed;
      } else if (job.state == JobState::Failed) {
        if (!holdout) entry.campaign->job_failed(KindKey(job.kind_key), job.channels);
      } else if (record.state == "running" || (holdout && record.state == "done")) {
        // a finished campaign's held-out models still score its estimates: measure them too
        if (!holdout) entry.campaign->restore_outstanding(KindKey(job.kind_key), job.channels);
        if (job.state == JobState::Running) store_.set_job_state(job.id, JobState::Queued, "");
        job.state = JobState::Queued;
        queues_[record.device_class].push_back(job.id);
        jobs_[job.id] = job;
        ++requeued;
      }
    }
    std::size_t restored = 0;
    for (const auto& [kind_key, model_json] : store_.kind_models(record.id)) {
      entry.campaign->restore_model(KindKey(kind_key), nlohmann::json::parse(model_json));
      entry.saved_models.insert(kind_key);
      ++restored;
    }
    spdlog::info("reloaded campaign {} ({} on {}, {}): {} results, {} jobs re-queued, {} fitted kind models restored",
                 record.id, entry.campaign->family().name, record.device_class, record.state, replayed, requeued, restored);
    const std::uint64_t id = record.id;
    campaigns_[id] = std::move(entry);
    if (record.state == "running") {
      std::vector<PlannedJob> jobs = campaigns_[id].campaign->plan(1);
      enqueue(campaigns_[id], std::move(jobs));
    } else {
      campaigns_[id].campaign->plan(1);  // rebuild kind states; no new work for a finished campaign
    }
    after_progress(campaigns_[id]);
  }
}

void CoordinatorServer::run(const std::atomic<bool>& stop) {
  spdlog::info("coordinator serving agents on {} and clients on {}", config_.agents_endpoint, config_.clients_endpoint);
  auto last_maintenance = Clock::now();
  while (!stop.load()) {
    zmq::pollitem_t items[] = {{agents_.handle(), 0, ZMQ_POLLIN, 0}, {clients_.handle(), 0, ZMQ_POLLIN, 0}};
    zmq::poll(items, 2, std::chrono::milliseconds(100));
    if ((items[0].revents & ZMQ_POLLIN) != 0) {
      std::vector<zmq::message_t> frames = receive_multipart(agents_);
      if (frames.size() >= 2) {
        try {
          handle_agent(frames.front().to_string(), frames.back().to_string());
        } catch (const std::exception& e) {
          spdlog::warn("agent message dropped: {}", e.what());
        }
      } else {
        spdlog::warn("agent message dropped: {} frame(s), expected identity + payload", frames.size());
      }
    }
    if ((items[1].revents & ZMQ_POLLIN) != 0) {
      std::vector<zmq::message_t> frames = receive_multipart(clients_);
      if (frames.size() >= 3) {  // REQ: identity, empty delimiter, payload
        std::string reply;
        try {
          reply = handle_client(frames.back().to_string());
        } catch (const std::exception& e) {
          spdlog::warn("client request refused: {}", e.what());
          reply = error_frame(e.what(), "");
        }
        clients_.send(frames.front(), zmq::send_flags::sndmore);
        clients_.send(zmq::message_t(), zmq::send_flags::sndmore);
        clients_.send(zmq::buffer(reply), zmq::send_flags::none);
      } else {
        spdlog::warn("client message dropped: {} frame(s)", frames.size());
      }
    }
    if (Clock::now() - last_maintenance > std::chrono::milliseconds(500)) {
      expire_agents();
      probe_store();
      update_metrics();
      last_maintenance = Clock::now();
    }
  }
  spdlog::info("coordinator stopped");
}

void CoordinatorServer::send_agent(const std::string& routing_id, const std::string& frame) {
  try {
    agents_.send(zmq::buffer(routing_id), zmq::send_flags::sndmore);
    agents_.send(zmq::buffer(frame), zmq::send_flags::none);
  } catch (const zmq::error_t& e) {
    spdlog::warn("cannot reach agent {}: {}", routing_id, e.what());
  }
}

void CoordinatorServer::handle_agent(const std::string& routing_id, const std::string& frame) {
  std::unique_ptr<DecodedEnvelope> decoded;
  try {
    decoded = std::make_unique<DecodedEnvelope>(frame);
  } catch (const InputError& e) {
    spdlog::warn("agent {}: {}", routing_id, e.what());
    send_agent(routing_id, error_frame(e.what(), "?"));
    return;
  }
  const auto body = decoded->envelope().getBody();
  switch (body.which()) {
    case wire::Envelope::Body::REGISTER: on_register(routing_id, frame); return;
    case wire::Envelope::Body::HEARTBEAT: {
      auto it = agents_by_id_.find(body.getHeartbeat().getAgentId().cStr());
      if (it != agents_by_id_.end()) it->second.last_seen = Clock::now();
      return;
    }
    case wire::Envelope::Body::WORK_REQUEST: on_work_request(routing_id, body.getWorkRequest().getAgentId().cStr()); return;
    case wire::Envelope::Body::RESULT: on_result(routing_id, frame); return;
    default:
      spdlog::warn("agent {}: unexpected message type {}", routing_id, static_cast<int>(body.which()));
      send_agent(routing_id, error_frame("unexpected message type on the agent socket", "?"));
  }
}

void CoordinatorServer::on_register(const std::string& routing_id, const std::string& frame) {
  DecodedEnvelope decoded(frame);
  const auto r = decoded.envelope().getBody().getRegister();
  Agent agent;
  agent.id = r.getAgentId().cStr();
  agent.routing_id = routing_id;
  agent.device_class = r.getDeviceClass().cStr();
  agent.backend = r.getBackend().cStr();
  agent.last_seen = Clock::now();
  if (agent.id.empty() || agent.device_class.empty()) {
    send_agent(routing_id, error_frame("register: agentId and deviceClass must be non-empty", "register"));
    return;
  }
  auto existing = agents_by_id_.find(agent.id);
  if (existing != agents_by_id_.end() && existing->second.running_job != 0)
    requeue(existing->second.running_job, "agent " + agent.id + " registered again");
  spdlog::info("agent {} registered: class {}, backend {}, {} threads, cpu '{}'", agent.id, agent.device_class,
               agent.backend, r.getThreads(), r.getHardware().getCpuModel().cStr());
  class_seen_[agent.device_class] = Clock::now();
  agents_by_id_[agent.id] = agent;
  send_agent(routing_id, ack_frame(0, true, "registered"));
}

std::size_t CoordinatorServer::idle_agents(const std::string& device_class) const {
  std::size_t n = 0;
  for (const auto& [id, a] : agents_by_id_)
    if (a.device_class == device_class && a.running_job == 0) ++n;
  return n;
}

void CoordinatorServer::on_work_request(const std::string& routing_id, const std::string& agent_id) {
  auto it = agents_by_id_.find(agent_id);
  if (it == agents_by_id_.end()) {
    send_agent(routing_id, error_frame("unregistered agent '" + agent_id + "': send Register first", "workRequest"));
    return;
  }
  Agent& agent = it->second;
  agent.last_seen = Clock::now();
  agent.routing_id = routing_id;
  if (agent.running_job != 0) requeue(agent.running_job, "agent " + agent.id + " asked for work while holding it");
  auto& queue = queues_[agent.device_class];
  if (queue.empty()) plan(agent.device_class);
  while (!queue.empty() && jobs_.count(queue.front()) == 0) queue.pop_front();
  if (queue.empty()) {
    send_agent(routing_id, make_frame([](wire::Envelope::Body::Builder body) { body.initNoWork().setRetryAfterMillis(300); }));
    return;
  }
  const std::uint64_t job_id = queue.front();
  queue.pop_front();
  JobRecord& job = jobs_.at(job_id);
  job.state = JobState::Running;
  job.agent_id = agent.id;
  ++job.attempts;
  try_store("set_job_state", [&] { store_.set_job_state(job_id, JobState::Running, agent.id); });
  agent.running_job = job_id;
  job_started_[job_id] = Clock::now();
  const auto deadline = std::chrono::duration_cast<std::chrono::milliseconds>(
                            std::chrono::system_clock::now().time_since_epoch() + std::chrono::minutes(10))
                            .count();
  send_agent(routing_id, make_frame([&](wire::Envelope::Body::Builder body) {
    auto j = body.initJob();
    j.setJobId(job_id);
    j.setCampaignId(job.campaign_id);
    j.setVariantSpecJson(job.variant_json);
    j.setWarmupIterations(config_.warmup_iterations);
    j.setIterations(config_.iterations);
    j.setRepeats(config_.repeats);
    j.setDeadlineUnixMillis(deadline);
  }));
}

void CoordinatorServer::on_result(const std::string& routing_id, const std::string& frame) {
  DecodedEnvelope decoded(frame);
  const auto r = decoded.envelope().getBody().getResult();
  const std::uint64_t job_id = r.getJobId();
  const std::string agent_id = r.getAgentId().cStr();
  auto agent = agents_by_id_.find(agent_id);
  if (agent != agents_by_id_.end()) agent->second.last_seen = Clock::now();
  auto it = jobs_.find(job_id);
  if (it == jobs_.end()) {
    spdlog::warn("result from {} for unknown or finished job {} dropped", agent_id, job_id);
    send_agent(routing_id, ack_frame(job_id, false, "unknown or already finished job"));
    return;
  }
  JobRecord& job = it->second;
  CampaignEntry& entry = campaigns_.at(job.campaign_id);
  const bool holdout = job.kind_key == kHoldoutKind;
  const std::string error = r.getError().cStr();
  const Measurement m = measurement_of(r);
  std::string invalid = error;
  if (invalid.empty()) {
    try {
      validate_measurement(m);
    } catch (const InputError& e) {
      invalid = e.what();
    }
  }
  if (agent != agents_by_id_.end() && agent->second.running_job == job_id) agent->second.running_job = 0;
  if (!invalid.empty()) {
    spdlog::warn("job {} from {}: {}", job_id, agent_id, invalid);
    send_agent(routing_id, ack_frame(job_id, false, invalid));
    if (job.attempts >= config_.max_attempts) {
      try_store("set_job_state", [&] { store_.set_job_state(job_id, JobState::Failed, agent_id); });
      metrics_.job_failed(entry.record.device_class);
      if (!holdout) entry.campaign->job_failed(KindKey(job.kind_key), job.channels);
      jobs_.erase(it);
      after_progress(entry);
    } else {
      requeue(job_id, "failed attempt " + std::to_string(job.attempts));
    }
    return;
  }
  ResultRecord record{job_id, agent_id, m};
  // Committed (or spooled to disk) before the ack; with neither, no ack: the agent sends it again.
  const bool tried = store_may_be_tried();
  try {
    if (!tried) throw StoreUnavailable("away since an earlier failure; next probe pending");
    store_.store_result(record);
    store_back();
  } catch (const DuplicateResult& e) {
    spdlog::warn("job {}: {}; acknowledging", job_id, e.what());
  } catch (const StoreUnavailable& e) {
    if (tried) store_down("store_result", e);
    if (!spool_) {
      spdlog::error("job {} from {}: not acknowledged (store unreachable, no spool); the agent will send it again", job_id,
                    agent_id);
      return;
    }
    if (!spool_->append(record)) {
      spdlog::error("job {} from {}: not acknowledged: store unreachable and spool {} full ({} results); the agent will "
                    "send it again",
                    job_id, agent_id, spool_->path(), spool_->capacity());
      return;
    }
    spdlog::warn("job {} result spooled to {} ({} waiting for the store)", job_id, spool_->path(), spool_->size());
    metrics_.set_spool(spool_->size(), spool_->capacity());
  }
  metrics_.result_stored(entry.record.device_class, meter_label(m.meter));
  metrics_.job_done(entry.record.device_class);
  if (auto started = job_started_.find(job_id); started != job_started_.end()) {
    const double seconds = std::chrono::duration<double>(Clock::now() - started->second).count();
    auto [mean, fresh] = mean_job_seconds_.try_emplace(entry.record.device_class, seconds);
    if (!fresh) mean->second = 0.8 * mean->second + 0.2 * seconds;
    job_started_.erase(started);
  }
  send_agent(routing_id, ack_frame(job_id, true, ""));
  if (holdout) {
    entry.holdout.emplace_back(parse_model_spec(nlohmann::json::parse(job.variant_json)), m);
  } else {
    entry.campaign->add_result(KindKey(job.kind_key), job.channels, m);
    record_baseline_point(entry.record.device_class, job, m);
  }
  jobs_.erase(it);
  after_progress(entry);
}

void CoordinatorServer::requeue(std::uint64_t job_id, const std::string& why) {
  for (auto& [id, agent] : agents_by_id_)
    if (agent.running_job == job_id) agent.running_job = 0;
  auto it = jobs_.find(job_id);
  if (it == jobs_.end()) return;
  it->second.state = JobState::Queued;
  try_store("set_job_state", [&] { store_.set_job_state(job_id, JobState::Queued, ""); });
  const std::string& device_class = campaigns_.at(it->second.campaign_id).record.device_class;
  queues_[device_class].push_front(job_id);
  metrics_.job_requeued(device_class);
  spdlog::warn("job {} re-queued: {}", job_id, why);
}

void CoordinatorServer::expire_agents() {
  const auto now = Clock::now();
  for (auto it = agents_by_id_.begin(); it != agents_by_id_.end();) {
    if (now - it->second.last_seen > config_.heartbeat_timeout) {
      spdlog::warn("agent {} lost (no heartbeat for {} ms)", it->first, config_.heartbeat_timeout.count());
      metrics_.agent_lost(it->second.device_class);
      const std::uint64_t job = it->second.running_job;
      it = agents_by_id_.erase(it);
      if (job != 0) requeue(job, "its agent was lost");
    } else {
      ++it;
    }
  }
}

void CoordinatorServer::plan(const std::string& device_class) {
  const std::size_t batch = std::max<std::size_t>(1, idle_agents(device_class));
  for (auto& [id, entry] : campaigns_) {
    if (entry.record.state != "running" || entry.record.device_class != device_class) continue;
    std::vector<PlannedJob> jobs = entry.campaign->plan(batch);
    enqueue(entry, std::move(jobs));
    after_progress(entry);
  }
}

void CoordinatorServer::enqueue(CampaignEntry& entry, std::vector<PlannedJob> planned) {
  if (planned.empty()) return;
  std::vector<JobRecord> records;
  for (const PlannedJob& p : planned) {
    JobRecord j;
    j.campaign_id = entry.record.id;
    j.kind_key = p.kind.str();
    j.channels = p.channels;
    j.variant_json = to_json(p.variant).dump();
    records.push_back(std::move(j));
  }
  if (!queue_jobs(entry, std::move(records)))
    for (const PlannedJob& p : planned) entry.campaign->withdraw(p.kind, p.channels);  // planned again later
}

bool CoordinatorServer::queue_jobs(CampaignEntry& entry, std::vector<JobRecord> records) {
  std::vector<std::uint64_t> ids;
  if (!try_store("create_jobs", [&] { ids = store_.create_jobs(records); })) return false;
  for (std::size_t i = 0; i < ids.size(); ++i) {
    records[i].id = ids[i];
    jobs_[ids[i]] = records[i];
    queues_[entry.record.device_class].push_back(ids[i]);
  }
  return true;
}

void CoordinatorServer::after_progress(CampaignEntry& entry) {
  const std::map<KindKey, KindModel> models = entry.campaign->models();
  for (const auto& [key, model] : models)
    if (entry.saved_models.count(key.str()) == 0 &&
        try_store("save_kind_model",
                  [&] { store_.save_kind_model(entry.record.id, key.str(), kind_model_to_json(model).dump()); }))
      entry.saved_models.insert(key.str());
  estimator_.set_models(entry.record.device_class, models);
  update_heldout_mape(entry.record.device_class);
  if (entry.record.state == "running" && entry.campaign->done()) {
    entry.record.state = "done";
    try_store("set_campaign_state", [&] { store_.set_campaign_state(entry.record.id, "done"); });
    spdlog::info("campaign {} done ({} kinds on {})", entry.record.id, entry.campaign->plan_kinds().size(),
                 entry.record.device_class);
  }
}

void CoordinatorServer::record_baseline_point(const std::string& device_class, const JobRecord& job,
                                              const Measurement& m) {
  baselines_.add(device_class, parse_model_spec(nlohmann::json::parse(job.variant_json)), m);
  if (const auto baseline = baselines_.baseline(device_class)) estimator_.set_flops_baseline(device_class, *baseline);
}

std::string CoordinatorServer::handle_client(const std::string& frame) {
  std::unique_ptr<DecodedEnvelope> decoded;
  try {
    decoded = std::make_unique<DecodedEnvelope>(frame);
  } catch (const InputError& e) {
    return error_frame(e.what(), "?");
  }
  const auto body = decoded->envelope().getBody();
  switch (body.which()) {
    case wire::Envelope::Body::START_CAMPAIGN: return start_campaign(frame);
    case wire::Envelope::Body::STOP_CAMPAIGN: return stop_campaign(body.getStopCampaign().getCampaignId());
    case wire::Envelope::Body::CAMPAIGN_STATUS_REQUEST:
      return campaign_status(body.getCampaignStatusRequest().getCampaignId());
    case wire::Envelope::Body::ESTIMATE_REQUEST: {
      const auto e = body.getEstimateRequest();
      return estimate(e.getModelSpecJson().cStr(), e.getDeviceClass().cStr(), e.getIterations());
    }
    case wire::Envelope::Body::DEVICE_CLASSES_REQUEST: return device_classes();
    default: return error_frame("unexpected message type on the client socket", "?");
  }
}

std::string CoordinatorServer::start_campaign(const std::string& frame) {
  DecodedEnvelope decoded(frame);
  const auto s = decoded.envelope().getBody().getStartCampaign();
  const std::string device_class = s.getDeviceClass().cStr();
  try {
    if (class_seen_.count(device_class) == 0) {
      std::string known;
      for (const auto& [name, when] : class_seen_) known += (known.empty() ? "" : ", ") + name;
      throw InputError("device class '" + device_class + "' has no registered agents (known: " +
                       (known.empty() ? "none yet" : known) + ")");
    }
    nlohmann::json family_json;
    try {
      family_json = nlohmann::json::parse(s.getFamilySpecJson().cStr());
    } catch (const nlohmann::json::parse_error& e) {
      throw InputError(std::string("family: not valid JSON: ") + e.what());
    }
    ModelSpec family = parse_model_spec(family_json);
    CampaignSettings settings;
    settings.budget_per_kind = s.getBudgetPerKind() == 0 ? 30 : s.getBudgetPerKind();
    const std::string acquisition = s.getAcquisition().size() == 0 ? "max-variance" : s.getAcquisition().cStr();
    settings.acquisition = parse_acquisition(acquisition);
    settings.seed = config_.seed;
    auto campaign = std::make_unique<Campaign>(0, family, device_class, settings);  // validates before storing
    CampaignRecord record{0, to_json(family).dump(), device_class, settings.budget_per_kind, acquisition, "running"};
    if (!store_may_be_tried()) return error_frame("not started, the store is unreachable; try again shortly", "startCampaign");
    record.id = store_.create_campaign(record);
    campaign = std::make_unique<Campaign>(record.id, family, device_class, settings);
    spdlog::info("campaign {} started: {} on {}, {} kinds, budget {} per kind", record.id, family.name, device_class,
                 campaign->plan_kinds().size(), settings.budget_per_kind);
    campaigns_[record.id] = CampaignEntry{record, std::move(campaign), {}, {}};
    plan(device_class);
    enqueue_holdout(campaigns_[record.id]);
    return campaign_status(record.id);
  } catch (const InputError& e) {
    return error_frame(e.what(), "startCampaign");
  } catch (const StoreUnavailable& e) {
    store_down("create_campaign", e);
    return error_frame(std::string("not started, the store is unreachable: ") + e.what(), "startCampaign");
  }
}

std::string CoordinatorServer::stop_campaign(std::uint64_t campaign_id) {
  auto it = campaigns_.find(campaign_id);
  if (it == campaigns_.end()) return error_frame("no campaign " + std::to_string(campaign_id), "stopCampaign");
  if (it->second.record.state == "running") {
    if (!try_store("set_campaign_state", [&] { store_.set_campaign_state(campaign_id, "stopped"); }))
      return error_frame("not stopped, the store is unreachable; try again", "stopCampaign");
    it->second.record.state = "stopped";
    for (auto j = jobs_.begin(); j != jobs_.end();)
      j = j->second.campaign_id == campaign_id && j->second.state == JobState::Queued ? jobs_.erase(j) : std::next(j);
  }
  return campaign_status(campaign_id);
}

std::string CoordinatorServer::campaign_status(std::uint64_t campaign_id) {
  if (campaign_id != 0 && campaigns_.count(campaign_id) == 0)
    return error_frame("no campaign " + std::to_string(campaign_id), "campaignStatus");
  std::vector<const CampaignEntry*> selected;
  for (const auto& [id, entry] : campaigns_)
    if (campaign_id == 0 || id == campaign_id) selected.push_back(&entry);
  return make_frame([&](wire::Envelope::Body::Builder body) {
    auto list = body.initCampaignStatus().initCampaigns(static_cast<unsigned>(selected.size()));
    for (unsigned i = 0; i < selected.size(); ++i) {
      const CampaignEntry& entry = *selected[i];
      auto info = list[i];
      info.setCampaignId(entry.record.id);
      info.setFamily(entry.campaign->family().name);
      info.setDeviceClass(entry.record.device_class);
      info.setState(entry.record.state);
      std::uint32_t queued = 0, running = 0;
      for (const auto& [id, job] : jobs_)
        if (job.campaign_id == entry.record.id) (job.state == JobState::Running ? running : queued)++;
      info.setJobsQueued(queued);
      info.setJobsRunning(running);
      const auto progress = entry.campaign->progress();
      std::uint32_t points = 0;
      const std::size_t remaining = points_remaining_at_most(entry);
      auto kinds = info.initKinds(static_cast<unsigned>(progress.size()));
      for (unsigned k = 0; k < progress.size(); ++k) {
        const KindProgressInfo& p = progress[k];
        kinds[k].setKindKey(p.key.str());
        kinds[k].setRole(block_role_name(p.role));
        kinds[k].setPoints(static_cast<std::uint32_t>(p.points));
        kinds[k].setBudget(entry.record.budget_per_kind);
        kinds[k].setMaxRelativeStd(p.max_relative_std);
        auto convergence = kinds[k].initConvergence(static_cast<unsigned>(p.convergence.size()));
        for (unsigned c = 0; c < p.convergence.size(); ++c) {
          convergence[c].setPoints(static_cast<std::uint32_t>(p.convergence[c].first));
          convergence[c].setMaxRelativeStd(p.convergence[c].second);
        }
        kinds[k].setState(p.state == KindState::Done ? stop_reason_name(p.stop) : kind_state_name(p.state));
        points += static_cast<std::uint32_t>(p.points);
      }
      info.setJobsDone(points);
      info.setPointsRemainingAtMost(static_cast<std::uint32_t>(remaining));
      std::size_t agents = 0;
      for (const auto& [id, a] : agents_by_id_) agents += a.device_class == entry.record.device_class ? 1 : 0;
      const auto mean = mean_job_seconds_.find(entry.record.device_class);
      info.setEtaSeconds(mean == mean_job_seconds_.end() || agents == 0
                             ? std::nan("")
                             : static_cast<double>(remaining) * mean->second / static_cast<double>(agents));
    }
  });
}

std::string CoordinatorServer::estimate(const std::string& spec_json, const std::string& device_class,
                                        std::uint64_t iterations) {
  const auto started = Clock::now();
  auto served = [&](int status) {
    metrics_.estimate_served("zmq", status, std::chrono::duration<double>(Clock::now() - started).count());
  };
  try {
    nlohmann::json spec;
    try {
      spec = nlohmann::json::parse(spec_json);
    } catch (const nlohmann::json::parse_error& e) {
      throw InputError(std::string("model: not valid JSON: ") + e.what());
    }
    const nlohmann::json out = estimator_.estimate(parse_model_spec(spec), device_class, iterations == 0 ? 1 : iterations);
    served(200);
    return make_frame([&](wire::Envelope::Body::Builder body) { body.initEstimateReply().setJson(out.dump()); });
  } catch (const InputError& e) {
    served(400);
    return error_frame(e.what(), "estimate");
  }
}

std::string CoordinatorServer::device_classes() {
  std::map<std::string, std::uint32_t> classes;
  for (const auto& [name, when] : class_seen_) classes[name] = 0;
  for (const std::string& name : estimator_.device_classes()) classes[name];
  for (const auto& [id, a] : agents_by_id_) classes[a.device_class]++;
  return make_frame([&](wire::Envelope::Body::Builder body) {
    auto list = body.initDeviceClasses().initClasses(static_cast<unsigned>(classes.size()));
    unsigned i = 0;
    for (const auto& [name, agents] : classes) {
      list[i].setName(name);
      list[i].setAgents(agents);
      ++i;
    }
  });
}

std::size_t CoordinatorServer::points_remaining_at_most(const CampaignEntry& entry) {
  std::size_t remaining = 0;  // the budget left of every unfinished kind
  for (const KindProgressInfo& p : entry.campaign->progress())
    if (p.state != KindState::Done)
      remaining += entry.record.budget_per_kind - std::min<std::size_t>(entry.record.budget_per_kind, p.points);
  return remaining;
}

void CoordinatorServer::enqueue_holdout(CampaignEntry& entry) {
  std::vector<JobRecord> records;
  for (std::uint32_t i = 0; i < config_.holdout_models; ++i) {
    JobRecord j;
    j.campaign_id = entry.record.id;
    j.kind_key = kHoldoutKind;
    ModelSpec model = sample_model(entry.campaign->family(), config_.seed * 1000003ULL + entry.record.id * 7919ULL + i);
    model.name = entry.campaign->family().name + "-holdout-" + std::to_string(i);
    j.variant_json = to_json(model).dump();
    records.push_back(std::move(j));
  }
  if (!records.empty()) queue_jobs(entry, std::move(records));  // store away: this campaign has no live MAPE
}

void CoordinatorServer::update_heldout_mape(const std::string& device_class) {
  std::vector<std::pair<nlohmann::json, Measurement>> scored;
  for (const auto& [id, entry] : campaigns_) {
    if (entry.record.device_class != device_class) continue;
    for (const auto& [model, m] : entry.holdout) {
      try {
        scored.emplace_back(estimator_.estimate(model, device_class, 1), m);
      } catch (const InputError&) {
        // its kinds are not all profiled yet
      }
    }
  }
  const AccuracyScore score = score_estimates(scored);
  const std::pair<const char*, const char*> names[] = {
      {"ampere", "seconds"}, {"flops", "seconds"}, {"ampere", "joules"}, {"flops", "joules"}};
  const std::optional<double> values[] = {score.seconds, score.flops_seconds, score.joules, score.flops_joules};
  for (std::size_t i = 0; i < 4; ++i)
    if (values[i])
      metrics_.set_heldout_mape(device_class, names[i].first, names[i].second, score.meter, *values[i], score.models);
}

void CoordinatorServer::update_metrics() {
  std::map<std::string, std::size_t> agents, queued, running;
  for (const auto& [name, when] : class_seen_) agents[name] = queued[name] = running[name] = 0;
  for (const auto& [id, a] : agents_by_id_) ++agents[a.device_class];
  for (const auto& [id, job] : jobs_) {
    const std::string& device_class = campaigns_.at(job.campaign_id).record.device_class;
    ++(job.state == JobState::Running ? running : queued)[device_class];
  }
  for (const auto& [name, count] : agents) {
    metrics_.device_class_seen(name);
    metrics_.set_agents(name, count);
  }
  for (const auto& [name, count] : queued) metrics_.set_jobs(name, count, running[name]);
  if (spool_) metrics_.set_spool(spool_->size(), spool_->capacity());
  for (const auto& [id, entry] : campaigns_) {
    const std::string campaign = std::to_string(id);
    for (const KindProgressInfo& p : entry.campaign->progress())
      if (!std::isnan(p.max_relative_std))  // not fitted yet: no std to report
        metrics_.set_kind({campaign, entry.record.device_class, p.key.str(), block_role_name(p.role)}, p.points,
                          p.max_relative_std, p.state == KindState::Done);
    metrics_.set_campaign(campaign, entry.record.device_class, entry.campaign->family().name, entry.record.state == "running",
                          points_remaining_at_most(entry));
  }
}

}  // namespace ampere
