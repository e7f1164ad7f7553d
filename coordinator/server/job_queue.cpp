#include "coordinator/server/job_queue.hpp"

namespace ampere {

JobQueue::JobQueue(const Clock& clock, std::uint32_t max_attempts) : clock_(clock), max_attempts_(max_attempts) {}

void JobQueue::add(const std::string& device_class, JobRecord job) {
  job.state = JobState::Queued;
  const std::uint64_t id = job.id;
  jobs_[id] = Entry{std::move(job), device_class, {}};
  queues_[device_class].push_back(id);
}

JobRecord* JobQueue::start_next(const std::string& device_class, const std::string& agent_id, bool alone) {
  auto& queue = queues_[device_class];
  for (auto q = queue.begin(); q != queue.end();) {
    const auto it = jobs_.find(*q);
    if (it == jobs_.end() || it->second.job.state != JobState::Queued) {  // finished or dropped meanwhile
      q = queue.erase(q);
      continue;
    }
    JobRecord& job = it->second.job;
    if (!alone && !job.not_agent.empty() && job.not_agent == agent_id) {  // another agent measures it again
      ++q;
      continue;
    }
    queue.erase(q);
    job.state = JobState::Running;
    job.agent_id = agent_id;
    ++job.attempts;
    it->second.started = clock_.now();
    return &job;
  }
  return nullptr;
}

void JobQueue::adopt_running(const std::string& device_class, JobRecord job) {
  job.state = JobState::Running;
  const std::uint64_t id = job.id;
  jobs_[id] = Entry{std::move(job), device_class, clock_.now(), true};
}

std::uint64_t JobQueue::claim_orphan(const std::string& agent_id, const std::string& device_class) {
  for (auto& [id, e] : jobs_)
    if (e.orphan && e.job.state == JobState::Running && e.job.agent_id == agent_id && e.device_class == device_class) {
      e.orphan = false;
      return id;
    }
  return 0;
}

std::vector<std::uint64_t> JobQueue::orphans_older_than(std::chrono::milliseconds limit) const {
  std::vector<std::uint64_t> out;
  for (const auto& [id, e] : jobs_)
    if (e.orphan && e.job.state == JobState::Running && clock_.now() - e.started > limit) out.push_back(id);
  return out;
}

JobRecord* JobQueue::find(std::uint64_t job_id) {
  const auto it = jobs_.find(job_id);
  return it == jobs_.end() ? nullptr : &it->second.job;
}

bool JobQueue::requeue(std::uint64_t job_id) {
  const auto it = jobs_.find(job_id);
  if (it == jobs_.end()) return false;
  it->second.job.state = JobState::Queued;
  it->second.orphan = false;
  queues_[it->second.device_class].push_front(job_id);
  return true;
}

void JobQueue::finish(std::uint64_t job_id) {
  const auto it = jobs_.find(job_id);
  if (it == jobs_.end()) return;
  if (it->second.started != Clock::TimePoint{}) {
    const double seconds = std::chrono::duration<double>(clock_.now() - it->second.started).count();
    auto [mean, fresh] = mean_job_seconds_.try_emplace(it->second.device_class, seconds);
    if (!fresh) mean->second = 0.8 * mean->second + 0.2 * seconds;
  }
  jobs_.erase(it);
}

void JobQueue::give_up(std::uint64_t job_id) { jobs_.erase(job_id); }

void JobQueue::drop_queued(std::uint64_t campaign_id) {
  for (auto it = jobs_.begin(); it != jobs_.end();)
    it = it->second.job.campaign_id == campaign_id && it->second.job.state == JobState::Queued ? jobs_.erase(it) : std::next(it);
}

JobQueue::Counts JobQueue::counts_for_campaign(std::uint64_t campaign_id) const {
  Counts c;
  for (const auto& [id, e] : jobs_)
    if (e.job.campaign_id == campaign_id) ++(e.job.state == JobState::Running ? c.running : c.queued);
  return c;
}

std::map<std::string, JobQueue::Counts> JobQueue::counts_per_class() const {
  std::map<std::string, Counts> out;
  for (const auto& [id, e] : jobs_) ++(e.job.state == JobState::Running ? out[e.device_class].running : out[e.device_class].queued);
  return out;
}

bool JobQueue::has_queued(const std::string& device_class) const {
  const auto q = queues_.find(device_class);
  if (q == queues_.end()) return false;
  for (std::uint64_t id : q->second) {
    const auto it = jobs_.find(id);
    if (it != jobs_.end() && it->second.job.state == JobState::Queued) return true;
  }
  return false;
}

std::optional<double> JobQueue::mean_job_seconds(const std::string& device_class) const {
  const auto it = mean_job_seconds_.find(device_class);
  return it == mean_job_seconds_.end() ? std::nullopt : std::optional<double>(it->second);
}

std::vector<std::uint64_t> JobQueue::overdue(std::chrono::milliseconds limit) const {
  std::vector<std::uint64_t> out;
  for (const auto& [id, e] : jobs_)
    if (is_overdue(id, limit)) out.push_back(id);
  return out;
}

bool JobQueue::is_overdue(std::uint64_t job_id, std::chrono::milliseconds limit) const {
  const auto it = jobs_.find(job_id);
  return it != jobs_.end() && it->second.job.state == JobState::Running && it->second.started != Clock::TimePoint{} &&
         clock_.now() - it->second.started > limit;
}

std::string JobQueue::device_class_of(std::uint64_t job_id) const {
  const auto it = jobs_.find(job_id);
  return it == jobs_.end() ? std::string() : it->second.device_class;
}

}  // namespace ampere
