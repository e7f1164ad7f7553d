#include "coordinator/server/coordinator_server.hpp"

#include <spdlog/spdlog.h>

#include "common/error.hpp"
#include "common/input_limits.hpp"
#include "coordinator/server/status_encoding.hpp"
#include "protocol.capnp.h"
#include "wire_codec.hpp"
#include "wire_convert.hpp"

namespace ampere {
namespace {

/// The campaign service's settings from the coordinator's; the rest keep the service's defaults.
CampaignService::Settings service_settings(const CoordinatorConfig& config) {
  CampaignService::Settings settings;
  settings.seed = config.seed;
  settings.holdout_models = config.holdout_models;
  settings.calibration_correction = config.calibration_correction;
  settings.channel_steps = config.channel_steps;
  settings.max_job_memory_bytes = config.max_job_memory_bytes;
  return settings;
}

}  // namespace

/// The store's health as metrics.
class CoordinatorServer::MetricsListener final : public StoreHealthListener {
 public:
  explicit MetricsListener(CoordinatorMetrics& metrics) : metrics_(metrics) {}
  void store_error(const std::string& operation) override { metrics_.store_error(operation); }
  void store_up(bool up) override { metrics_.set_store_up(up); }
  void spool_replayed(std::size_t results) override { metrics_.spool_replayed(results); }
  void spool_depth(std::size_t results, std::size_t capacity) override { metrics_.set_spool(results, capacity); }

 private:
  CoordinatorMetrics& metrics_;
};

CoordinatorServer::CoordinatorServer(Transport& transport, Store& store, const Clock& clock, std::unique_ptr<ResultSpool> spool,
                                     CoordinatorConfig config, CoordinatorMetrics& metrics)
    : transport_(transport),
      clock_(clock),
      config_(config),
      metrics_(metrics),
      listener_(std::make_unique<MetricsListener>(metrics)),
      store_(store, clock, std::move(spool), *listener_),
      fleet_(clock, config.heartbeat_timeout),
      jobs_(clock, config.max_attempts),
      campaigns_(store_, jobs_, fleet_, metrics, service_settings(config)),
      last_maintenance_(clock.now()) {
  store_.replay_on_start();
  campaigns_.reload();
  update_metrics();
}

CoordinatorServer::~CoordinatorServer() = default;

void CoordinatorServer::run(const std::atomic<bool>& stop, const std::function<void()>& after_turn) {
  while (!stop.load()) {
    turn(std::chrono::milliseconds(100));
    if (after_turn) after_turn();
  }
  spdlog::info("coordinator stopped");
}

void CoordinatorServer::turn(std::chrono::milliseconds wait) {
  if (campaigns_.ended_to_load() > 0) {  // after a start: the ended campaigns, a slice per turn
    try {
      if (campaigns_.load_ended(config_.load_slice)) update_metrics();
    } catch (const StoreUnavailable& e) {
      spdlog::warn("loading ended campaigns: {} (next turn)", e.what());
    }
  }
  if (campaigns_.ended_to_load() > 0) wait = std::chrono::milliseconds(0);  // idle time goes to loading
  for (std::size_t taken = 0; taken < std::max<std::size_t>(1, config_.messages_per_turn); ++taken) {
    std::optional<Incoming> in = transport_.receive(taken == 0 ? wait : std::chrono::milliseconds(0));
    if (!in) break;
    sender_key_ = in->key;
    if (in->from == Incoming::From::Agent) {
      try {
        handle_agent(in->peer, in->frame);
      } catch (const std::exception& e) {
        spdlog::warn("agent message dropped: {}", e.what());
      } catch (...) {  // nothing a peer sends may end the loop
        spdlog::error("agent message dropped: an unexpected exception");
      }
    } else {
      std::string reply;
      try {
        reply = handle_client(in->frame);
      } catch (const InputError& e) {
        spdlog::warn("client request refused: {}", e.what());
        reply = error_frame(e.code(), e.what(), "");
      } catch (const std::exception& e) {
        spdlog::error("client request failed: {}", e.what());
        reply = error_frame(ErrorCode::Internal, e.what(), "");
      } catch (...) {  // nothing a peer sends may end the loop
        spdlog::error("client request failed: an unexpected exception");
        reply = error_frame(ErrorCode::Internal, "internal error", "");
      }
      transport_.reply_to_client(in->peer, reply);
    }
  }
  // Order matters: a job handed out and finished within this turn (a fast agent) has its running
  // state written before its result marks it done.
  write_job_states();
  commit_results();
  serve_parked();  // the results may have unlocked planning
  write_job_states();
  campaigns_.poll_joint_fits();  // fits finished on their worker threads
  if (clock_.now() - last_maintenance_ > std::chrono::milliseconds(500)) {
    maintain();
    last_maintenance_ = clock_.now();
  }
}

void CoordinatorServer::maintain() {
  for (const AgentInfo& lost : fleet_.expire()) {
    spdlog::warn("agent {} lost (no heartbeat for {} ms)", lost.id, config_.heartbeat_timeout.count());
    metrics_.agent_lost(lost.device_class);
    if (JobRecord* job = lost.running_job != 0 ? jobs_.find(lost.running_job) : nullptr)
      attempt_failed(*job, lost.id, "its agent was lost");
  }
  expire_overdue_jobs();
  for (const std::uint64_t id : jobs_.orphans_older_than(config_.orphan_wait))
    requeue(id, "its agent did not come back within " + std::to_string(config_.orphan_wait.count()) + " ms of this start");
  store_.maintain();
  update_metrics();
}

void CoordinatorServer::expire_overdue_jobs() {
  for (const std::uint64_t id : jobs_.overdue(deadline_with_grace())) {
    JobRecord* job = jobs_.find(id);
    if (job == nullptr) continue;
    metrics_.job_deadline_passed(jobs_.device_class_of(id));
    const std::string agent_id = job->agent_id;
    fleet_.release_job(id);
    attempt_failed(*job, agent_id, "its deadline passed without a result");
  }
}

bool CoordinatorServer::agent_key_allowed(const std::string& peer) {
  if (peers_ == nullptr || peers_->agent(sender_key_).has_value()) return true;
  spdlog::warn("agent message from {} refused: its key is not (or no longer) an authorized agent's", peer);
  metrics_.registration_refused("key-not-listed");
  transport_.send_to_agent(peer, error_frame(ErrorCode::Unauthorized, "this key is not an authorized agent's", "?"));
  return false;
}

void CoordinatorServer::handle_agent(const std::string& peer, const std::string& frame) {
  if (!agent_key_allowed(peer)) return;
  std::unique_ptr<DecodedEnvelope> decoded;
  try {
    decoded = std::make_unique<DecodedEnvelope>(frame);
  } catch (const InputError& e) {
    spdlog::warn("agent {}: {}", peer, e.what());
    transport_.send_to_agent(peer, error_frame(ErrorCode::InvalidInput, e.what(), "?"));
    return;
  }
  const auto body = decoded->envelope().getBody();
  switch (body.which()) {
    case wire::Envelope::Body::REGISTER: on_register(peer, *decoded); return;
    case wire::Envelope::Body::HEARTBEAT: {
      // only from the agent's own connections (its job socket, or its heartbeat socket beside it)
      const std::string id = body.getHeartbeat().getAgentId().cStr();
      if (const AgentInfo* agent = fleet_.find(id);
          agent != nullptr && (peer == agent->routing_id || peer == id + "#heartbeat") && agent->key == sender_key_)
        fleet_.heard_from(id);
      return;
    }
    case wire::Envelope::Body::WORK_REQUEST: on_work_request(peer, body.getWorkRequest().getAgentId().cStr()); return;
    case wire::Envelope::Body::RESULT: on_result(peer, *decoded); return;
    default:
      spdlog::warn("agent {}: unexpected message type {}", peer, static_cast<int>(body.which()));
      transport_.send_to_agent(peer, error_frame(ErrorCode::InvalidInput, "unexpected message type on the agent socket", "?"));
  }
}

void CoordinatorServer::on_register(const std::string& peer, const DecodedEnvelope& decoded) {
  const auto r = decoded.envelope().getBody().getRegister();
  AgentInfo agent;
  agent.id = r.getAgentId().cStr();
  agent.routing_id = peer;
  agent.device_class = r.getDeviceClass().cStr();
  agent.backend = r.getBackend().cStr();
  agent.memory_bytes = r.getHardware().getMemoryBytes();
  const auto refuse = [&](const char* reason, const std::string& why) {
    metrics_.registration_refused(reason);
    spdlog::warn("registration from {} refused ({}): {}", peer, reason, why);
    transport_.send_to_agent(peer, error_frame(ErrorCode::InvalidInput, "register: " + why, "register"));
  };
  try {
    require_name(agent.id, "agentId");
    require_name(agent.device_class, "deviceClass");
    if (!agent.backend.empty()) require_name(agent.backend, "backend");
  } catch (const InputError& e) {
    return refuse("invalid", e.what());
  }
  // a claim no device makes is refused: one agent's claim must not shape its class (docs/security.md)
  if (agent.memory_bytes != 0 && (agent.memory_bytes < kMinAgentMemoryBytes || agent.memory_bytes > kMaxAgentMemoryBytes))
    return refuse("implausible", "hardware.memoryBytes " + std::to_string(agent.memory_bytes) + " is not plausible (0 for unknown, else " +
                                     std::to_string(kMinAgentMemoryBytes) + ".." + std::to_string(kMaxAgentMemoryBytes) + ")");
  if (r.getThreads() > PlausibleBounds::max_threads)
    return refuse("implausible", "threads " + std::to_string(r.getThreads()) + " is not plausible (at most " +
                                     std::to_string(PlausibleBounds::max_threads) + ")");
  agent.key = sender_key_;
  if (peers_ != nullptr) {  // an agent id belongs to the key that first registered it
    const auto bound = agent_keys_.find(agent.id);
    if (bound != agent_keys_.end() && bound->second != sender_key_)
      return refuse("key-mismatch", "agent id '" + agent.id + "' is bound to another key");
    if (bound == agent_keys_.end() && agent_keys_.size() >= config_.max_agents)
      return refuse("registry-full", "the coordinator binds " + std::to_string(config_.max_agents) + " agent ids, its limit");
    agent_keys_.emplace(agent.id, sender_key_);
  }
  if (fleet_.find(agent.id) == nullptr && fleet_.size() >= config_.max_agents)
    return refuse("registry-full", "the coordinator holds " + std::to_string(config_.max_agents) + " agents, its limit");
  if (!fleet_.knows_class(agent.device_class) && fleet_.classes() >= config_.max_device_classes)
    return refuse("registry-full",
                  "the coordinator knows " + std::to_string(config_.max_device_classes) + " device classes, its limit");
  std::string cpu = r.getHardware().getCpuModel().cStr();
  if (cpu.size() > 256 || !valid_utf8(cpu)) cpu = "(unprintable)";
  spdlog::info("agent {} registered: class {}, backend {}, {} threads, cpu '{}'", agent.id, agent.device_class,
               agent.backend, r.getThreads(), cpu);
  const std::string id = agent.id;
  if (const std::uint64_t held = fleet_.register_agent(std::move(agent)); held != 0)
    requeue(held, "agent " + id + " registered again for another class");
  // Back after a restart or a takeover: the job the last coordinator handed it is its again, so
  // the result it sends again is taken.
  if (AgentInfo* back = fleet_.find(id); back != nullptr && back->running_job == 0)
    if (const std::uint64_t orphan = jobs_.claim_orphan(id, back->device_class); orphan != 0) {
      back->running_job = orphan;
      spdlog::info("agent {} is back: job {} is running on it again", id, orphan);
    }
  transport_.send_to_agent(peer, ack_frame(0, true, "registered"));
}

void CoordinatorServer::on_work_request(const std::string& peer, const std::string& agent_id) {
  AgentInfo* agent = fleet_.find(agent_id);
  if (agent == nullptr || agent->routing_id != peer || agent->key != sender_key_) {  // unknown, or not whom it registered as
    transport_.send_to_agent(peer, error_frame(ErrorCode::NotFound,
                                               "unregistered agent '" + agent_id.substr(0, kMaxNameBytes) +
                                                   "' on this connection: send Register first",
                                               "workRequest"));
    return;
  }
  fleet_.heard_from(agent_id);
  if (agent->running_job != 0) requeue(agent->running_job, "agent " + agent_id + " asked for work while holding it");
  if (hand_out_job(peer, *agent)) return;
  if (config_.park_work_requests.count() <= 0) {  // no long poll: ask again later
    transport_.send_to_agent(peer, make_frame([](wire::Envelope::Body::Builder body) { body.initNoWork().setRetryAfterMillis(300); }));
    return;
  }
  // None now: the request waits (parked) for a job planned meanwhile, up to park_work_requests.
  auto& parked = parked_[agent->device_class];
  for (auto it = parked.begin(); it != parked.end(); ++it)
    if (it->agent_id == agent_id) {  // asked again (its earlier request timed out on its side)
      parked.erase(it);
      break;
    }
  parked.push_back({peer, agent_id, clock_.now()});
}

bool CoordinatorServer::hand_out_job(const std::string& peer, AgentInfo& agent) {
  const std::string device_class = agent.device_class;
  if (!jobs_.has_queued(device_class)) campaigns_.plan(device_class);
  // a far point's confirmation goes to another agent of the class, unless this one is alone there
  JobRecord* job = jobs_.start_next(device_class, agent.id, fleet_.connected(device_class) <= 1);
  if (job == nullptr) return false;
  pending_states_.push_back({job->id, JobState::Running, agent.id});  // written with the turn's others
  agent.running_job = job->id;  // map nodes are stable: planning and re-queueing keep `agent` valid
  const std::int64_t deadline = unix_millis(clock_.wall_now() + config_.job_deadline);
  transport_.send_to_agent(peer, make_frame([&](wire::Envelope::Body::Builder body) {
    auto j = body.initJob();
    j.setJobId(job->id);
    j.setCampaignId(job->campaign_id);
    j.setVariantSpecJson(job->variant_json);
    j.setWarmupIterations(config_.warmup_iterations);
    j.setIterations(config_.iterations);
    j.setRepeats(config_.repeats);
    j.setRepeatCap(config_.repeat_cap);
    j.setAgreement(config_.agreement);
    j.setWindowSeconds(config_.window_seconds);
    j.setDeadlineUnixMillis(deadline);
  }));
  return true;
}

void CoordinatorServer::serve_parked() {
  const auto no_work = [](wire::Envelope::Body::Builder body) { body.initNoWork().setRetryAfterMillis(0); };
  for (auto& [device_class, parked] : parked_) {
    for (auto it = parked.begin(); it != parked.end();) {
      const ParkedRequest request = *it;
      AgentInfo* agent = fleet_.find(request.agent_id);
      if (agent == nullptr || agent->routing_id != request.peer || agent->running_job != 0) {
        it = parked.erase(it);  // lost, registered again elsewhere, or already busy: nothing to answer
        continue;
      }
      if (hand_out_job(request.peer, *agent)) {
        it = parked.erase(it);
        continue;
      }
      if (!jobs_.has_queued(device_class)) break;  // no job for this class now
      ++it;  // what is queued is not for this agent (a far point it measured): the next one may take it
    }
    // Those parked too long hear NoWork and ask again at once (retry 0).
    while (!parked.empty() && clock_.now() - parked.front().since >= config_.park_work_requests) {
      transport_.send_to_agent(parked.front().peer, make_frame(no_work));
      parked.pop_front();
    }
  }
}

void CoordinatorServer::refuse_result(const std::string& peer, std::uint64_t job_id, const char* reason,
                                      const std::string& why, ErrorCode code) {
  metrics_.result_refused(reason);
  spdlog::warn("result for job {} from {} refused ({}): {}", job_id, peer, reason, why);
  transport_.send_to_agent(peer, ack_frame(job_id, false, why, code));
}

bool CoordinatorServer::stored_before(const std::string& peer, std::uint64_t job_id, const std::string& agent_id) {
  std::optional<std::string> owner;
  try {
    owner = store_.store().result_agent(job_id);
  } catch (const StoreUnavailable&) {  // it cannot say now: refused as unknown (never stored twice)
    return false;
  }
  if (owner != agent_id) return false;
  spdlog::info("job {}: agent {} sent its result again (stored before its Ack was lost); acknowledging", job_id, agent_id);
  metrics_.result_resent();
  transport_.send_to_agent(peer, ack_frame(job_id, true, "stored before"));
  return true;
}

void CoordinatorServer::on_result(const std::string& peer, const DecodedEnvelope& decoded) {
  const auto r = decoded.envelope().getBody().getResult();
  const std::uint64_t job_id = r.getJobId();
  const std::string agent_id = r.getAgentId().cStr();
  // A result counts only from the agent that runs the job (docs/security.md): refused before
  // anything else, so nobody else can store, fail or keep alive another agent's work.
  AgentInfo* agent = fleet_.find(agent_id);
  if (agent == nullptr)  // NotFound: a coordinator that restarted or took over; the agent registers and sends it again
    return refuse_result(peer, job_id, "unregistered", "agent '" + agent_id.substr(0, 128) + "' is not registered",
                         ErrorCode::NotFound);
  if (agent->routing_id != peer || agent->key != sender_key_)
    return refuse_result(peer, job_id, "wrong-sender", "not sent by agent " + agent_id + "'s connection and key");
  JobRecord* job = jobs_.find(job_id);
  if (job == nullptr) {
    // A result sent again after its Ack was lost (the coordinator that stored it died before
    // answering, or this one restarted): acknowledged, never stored twice.
    if (stored_before(peer, job_id, agent_id)) return;
    return refuse_result(peer, job_id, "unknown-job", "unknown or already finished job");
  }
  if (job->state != JobState::Running) return refuse_result(peer, job_id, "not-running", "the job is not running (re-queued)");
  if (job->agent_id != agent_id) return refuse_result(peer, job_id, "wrong-agent", "the job was handed to another agent");
  if (jobs_.is_overdue(job_id, deadline_with_grace()))
    return refuse_result(peer, job_id, "past-deadline", "the job's deadline passed");
  fleet_.heard_from(agent_id);
  const Measurement m = measurement_of(r);
  std::string invalid = r.getError().cStr();
  const char* reason = "failed";
  if (invalid.empty()) {
    try {
      validate_measurement(m);
    } catch (const InputError& e) {
      invalid = e.what();
      reason = "implausible";
    }
  }
  const std::string device_class = jobs_.device_class_of(job_id);
  ReferenceCheck reference;
  if (invalid.empty()) {  // a reference reading far off the class's: another kind of machine
    reference = campaigns_.check_reference(*job, m);
    if (reference.verdict == ReferenceVerdict::OffClass) {
      metrics_.reference_reading(device_class, reference_verdict_name(reference.verdict));
      reason = "off-class";
      invalid = "the reference network ran at " + std::to_string(reference.ratio).substr(0, 5) +
                "x the median of class " + device_class + ": agent " + agent_id +
                " looks like another kind of machine (refused; check its --device-class)";
    }
  }
  if (agent->running_job == job_id) agent->running_job = 0;
  if (!invalid.empty()) {
    refuse_result(peer, job_id, reason, invalid);
    attempt_failed(*job, agent_id, invalid);
    return;
  }
  for (const PendingResult& p : pending_results_)
    if (p.record.job_id == job_id) return;  // sent twice within a turn: the first one counts, acked after the commit
  pending_results_.push_back({peer, {job_id, agent_id, m}, reference, device_class});
}

void CoordinatorServer::commit_results() {
  if (pending_results_.empty()) return;
  std::vector<PendingResult> group;
  group.swap(pending_results_);
  std::vector<ResultRecord> records;
  for (const PendingResult& p : group) records.push_back(p.record);
  // Committed (or spooled to disk) before any ack; with neither, no ack: the agent sends it again.
  const std::vector<ResultFate> fates = store_.store_results(records);
  for (std::size_t i = 0; i < group.size(); ++i) {
    const PendingResult& p = group[i];
    const std::uint64_t job_id = p.record.job_id;
    if (fates[i] == ResultFate::NotAcknowledged) continue;
    if (fates[i] == ResultFate::Refused) {
      refuse_result(p.peer, job_id, "store-refused", "the store refused the result (its job is unknown there)");
      continue;
    }
    metrics_.result_stored(p.device_class, meter_label_of(p.record.measurement).str());
    metrics_.job_done(p.device_class);
    metrics_.reference_reading(p.device_class, reference_verdict_name(p.reference.verdict));  // once, stored
    transport_.send_to_agent(p.peer, ack_frame(job_id, true, ""));
    const JobRecord* job = jobs_.find(job_id);
    if (job == nullptr) continue;  // finished meanwhile (cannot happen within a turn; kept safe)
    const JobRecord done = *job;
    jobs_.finish(job_id);
    campaigns_.job_done(done, p.record.measurement, p.reference);
  }
}

void CoordinatorServer::write_job_states() {
  if (pending_states_.empty()) return;
  std::vector<JobStateChange> changes;
  changes.swap(pending_states_);
  store_.try_write("set_job_state", [&] { store_.store().set_job_states(changes); });
}

void CoordinatorServer::attempt_failed(JobRecord& job, const std::string& agent_id, const std::string& why) {
  write_job_states();  // its running state first, then what follows it
  if (jobs_.may_retry(job)) {
    requeue(job.id, "failed attempt " + std::to_string(job.attempts) + ": " + why);
    return;
  }
  store_.try_write("set_job_state", [&] { store_.store().set_job_state(job.id, JobState::Failed, agent_id); });
  const JobRecord failed = job;
  jobs_.give_up(job.id);
  spdlog::warn("job {} given up after {} attempts", failed.id, failed.attempts);
  campaigns_.job_failed(failed);
}

void CoordinatorServer::requeue(std::uint64_t job_id, const std::string& why) {
  fleet_.release_job(job_id);
  const std::string device_class = jobs_.device_class_of(job_id);
  if (!jobs_.requeue(job_id)) return;
  write_job_states();  // its running state first
  store_.try_write("set_job_state", [&] { store_.store().set_job_state(job_id, JobState::Queued, ""); });
  metrics_.job_requeued(device_class);
  spdlog::warn("job {} re-queued: {}", job_id, why);
}

std::string CoordinatorServer::handle_client(const std::string& frame) {
  std::unique_ptr<DecodedEnvelope> decoded;
  try {
    decoded = std::make_unique<DecodedEnvelope>(frame);
  } catch (const InputError& e) {
    return error_frame(ErrorCode::InvalidInput, e.what(), "?");
  }
  const auto body = decoded->envelope().getBody();
  if (peers_ != nullptr) {  // readers ask; operators also change what the fleet does
    const std::optional<PeerRole> role = peers_->client(sender_key_);
    if (!role) return error_frame(ErrorCode::Unauthorized, "this key is not (or no longer) an authorized client's", "?");
    const bool writes = body.which() == wire::Envelope::Body::START_CAMPAIGN ||
                        body.which() == wire::Envelope::Body::STOP_CAMPAIGN ||
                        (body.which() == wire::Envelope::Body::ESTIMATE_REQUEST && body.getEstimateRequest().getProfileMissing());
    if (writes && *role != PeerRole::Operator)
      return error_frame(ErrorCode::Forbidden,
                         std::string("a ") + peer_role_name(*role) +
                             " may not start or stop campaigns or profile on demand (an operator certificate may)",
                         "?");
  }
  const auto loading = [&](const char* request) {
    return error_frame(ErrorCode::Unavailable,
                       "the coordinator is still loading " + std::to_string(campaigns_.ended_to_load()) +
                           " ended campaign(s) after its start: try again in a few seconds",
                       request);
  };
  auto status = [&](std::uint64_t campaign_id, const char* request) {
    std::vector<const CampaignEntry*> selected;
    for (const auto& [id, entry] : campaigns_.campaigns())
      if (campaign_id == 0 || id == campaign_id) selected.push_back(&entry);
    bool set_aside = false;  // a campaign set aside whole at the last start is listed, quarantined
    for (const QuarantinedRow& q : campaigns_.quarantined()) set_aside = set_aside || (q.row == "campaign" && q.campaign_id == campaign_id);
    if (campaign_id != 0 && selected.empty() && !set_aside)
      return campaigns_.ended_to_load() > 0 ? loading(request)
                                            : error_frame(ErrorCode::NotFound, "no campaign " + std::to_string(campaign_id), request);
    return campaign_status_frame(selected, campaigns_.quarantined(), campaign_id, jobs_, fleet_);
  };
  switch (body.which()) {
    case wire::Envelope::Body::START_CAMPAIGN: {
      const auto s = body.getStartCampaign();
      try {
        const std::uint64_t id = campaigns_.start(
            {s.getFamilySpecJson().cStr(), s.getDeviceClass().cStr(), s.getBudgetPerKind(), s.getAcquisition().cStr(),
             s.getEstimator().cStr()});
        return status(id, "startCampaign");
      } catch (const InputError& e) {
        return error_frame(e.code(), e.what(), "startCampaign");
      }
    }
    case wire::Envelope::Body::STOP_CAMPAIGN: {
      const std::uint64_t id = body.getStopCampaign().getCampaignId();
      try {
        campaigns_.stop(id);
      } catch (const InputError& e) {
        return error_frame(e.code(), e.what(), "stopCampaign");
      }
      return status(id, "stopCampaign");
    }
    case wire::Envelope::Body::CAMPAIGN_STATUS_REQUEST:
      return status(body.getCampaignStatusRequest().getCampaignId(), "campaignStatus");
    case wire::Envelope::Body::ESTIMATE_REQUEST: {
      // not before every fitted model is back: an estimate would miss kinds, and profiling on
      // demand would measure again what an ended campaign has
      if (campaigns_.ended_to_load() > 0) return loading("estimate");
      const auto started = clock_.now();
      const auto e = body.getEstimateRequest();
      int code = 200;
      std::string reply;
      try {
        const EstimateOutcome out = campaigns_.estimate_or_profile(e.getModelSpecJson().cStr(), e.getDeviceClass().cStr(),
                                                                   e.getIterations(), e.getProfileMissing(), e.getBudgetPerKind());
        if (out.accepted) code = 202;
        reply = make_frame([&](wire::Envelope::Body::Builder b) {
          auto r = b.initEstimateReply();
          r.setJson(out.json.dump());
          r.setAccepted(out.accepted);
        });
      } catch (const InputError& error) {
        code = http_status(error.code());
        reply = error_frame(error.code(), error.what(), "estimate");
      }
      metrics_.estimate_served("zmq", code, std::chrono::duration<double>(clock_.now() - started).count());
      return reply;
    }
    case wire::Envelope::Body::PLAN_PRUNE_REQUEST: {
      if (campaigns_.ended_to_load() > 0) return loading("planPrune");
      try {
        const nlohmann::json out = campaigns_.plan_prune(body.getPlanPruneRequest().getRequestJson().cStr());
        return make_frame([&](wire::Envelope::Body::Builder b) { b.initPlanPruneReply().setJson(out.dump()); });
      } catch (const InputError& error) {
        return error_frame(error.code(), error.what(), "planPrune");
      }
    }
    case wire::Envelope::Body::DEVICE_CLASSES_REQUEST:
      return device_classes_frame(fleet_, campaigns_.catalog().estimator());
    default: return error_frame(ErrorCode::InvalidInput, "unexpected message type on the client socket", "?");
  }
}

void CoordinatorServer::update_metrics() {
  const std::map<std::string, JobQueue::Counts> counts = jobs_.counts_per_class();
  for (const auto& [name, agents] : fleet_.connected_per_class()) {
    metrics_.device_class_seen(name);
    metrics_.set_agents(name, agents);
    const auto c = counts.find(name);
    metrics_.set_jobs(name, c == counts.end() ? 0 : c->second.queued, c == counts.end() ? 0 : c->second.running);
  }
  campaigns_.report_metrics(clock_.now());
  std::size_t parked = 0;
  for (const auto& [device_class, requests] : parked_) parked += requests.size();
  metrics_.set_registry("agents", fleet_.size(), config_.max_agents);
  metrics_.set_registry("classes", fleet_.classes(), config_.max_device_classes);
  metrics_.set_registry("parked-requests", parked, config_.max_agents);  // one per agent at most
  metrics_.set_registry("running-campaigns", campaigns_.running_campaigns(), campaigns_.max_running_campaigns());
}

}  // namespace ampere
