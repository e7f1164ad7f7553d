# Every message between agents, the coordinator and clients (docs/architecture.md, "Wire").
# One Envelope per ZeroMQ frame; `version` lets either side refuse what it cannot read.
# Evolve by adding fields and union members only (Cap'n Proto's compatibility rules).
@0x8bfb6b5b3af9757f;

using Cxx = import "/capnp/c++.capnp";
$Cxx.namespace("ampere::wire");

# 2: Error carries a typed code.
const protocolVersion :UInt16 = 2;

struct Envelope {
  version @0 :UInt16;
  body :union {
    register @1 :Register;
    heartbeat @2 :Heartbeat;
    workRequest @3 :WorkRequest;
    job @4 :Job;
    result @5 :Result;
    ack @6 :Ack;
    noWork @7 :NoWork;
    startCampaign @8 :StartCampaign;
    stopCampaign @9 :StopCampaign;
    campaignStatusRequest @10 :CampaignStatusRequest;
    campaignStatus @11 :CampaignStatus;
    estimateRequest @12 :EstimateRequest;
    estimateReply @13 :EstimateReply;
    error @14 :Error;
    deviceClassesRequest @15 :DeviceClassesRequest;
    deviceClasses @16 :DeviceClasses;
    planPruneRequest @17 :PlanPruneRequest;
    planPruneReply @18 :PlanPruneReply;
  }
}

# Where an energy figure came from (docs/meters.md); never blurred into "measured".
enum MeterSource {
  rapl @0;
  nvml @1;
  jetsonIna @2;
  androidBattery @3;
  timeSurrogate @4;
  simulated @5;
  composite @6;   # several meters summed over the same window: Result.meterParts names them
                  # (a coordinator older than this reads it as the time surrogate: never as measured)
}

struct MeterPart {
  meter @0 :MeterSource;
  joulesPerIteration @1 :List(Float64);    # one per repeat
}

struct LibraryVersion {
  name @0 :Text;
  version @1 :Text;
}

# Agent -> coordinator, first message and after every reconnect.
struct Register {
  agentId @0 :Text;
  deviceClass @1 :Text;
  hardware @2 :Hardware;
  meters @3 :List(MeterSource);
  threads @4 :UInt32;
  libraries @5 :List(LibraryVersion);
  backend @6 :Text;            # "torch" or "simulated"
}

struct Hardware {
  cpuModel @0 :Text;
  cores @1 :UInt32;
  memoryBytes @2 :UInt64;
  gpuModel @3 :Text;           # empty when none
  hostname @4 :Text;
}

struct Heartbeat {
  agentId @0 :Text;
  runningJobId @1 :UInt64;     # 0 when idle
  unixMillis @2 :Int64;
}

# Pull-based: an idle agent asks; the coordinator answers with a Job or NoWork.
struct WorkRequest {
  agentId @0 :Text;
}

struct NoWork {
  retryAfterMillis @0 :UInt32;
}

struct Job {
  jobId @0 :UInt64;
  campaignId @1 :UInt64;
  variantSpecJson @2 :Text;    # the variant network, a model spec (docs/model-spec.md)
  warmupIterations @3 :UInt32;
  iterations @4 :UInt32;       # per repeat; 0 = enough for one window, at least 10
  repeats @5 :UInt32;          # the fewest repeats; alone (repeatCap 0) an exact count
  deadlineUnixMillis @6 :Int64;
  repeatCap @7 :UInt32;        # > repeats: repeat until the repeats agree, or this many
  agreement @8 :Float64;       # agree = 90% bootstrap half-width of the minimum <= this share of it
  windowSeconds @9 :Float64;   # one repeat's window; 0 = the agent's (its meter's default)
}

struct Result {
  jobId @0 :UInt64;
  agentId @1 :Text;
  secondsPerIteration @2 :List(Float64);   # one per repeat
  joulesPerIteration @3 :List(Float64);    # one per repeat; empty when no meter reads energy
  meter @4 :MeterSource;
  idleWatts @5 :Float64;                   # NaN when not calibrated
  iterations @6 :UInt32;
  threads @7 :UInt32;
  error @8 :Text;                          # non-empty: the job failed, the lists are empty
  referenceSeconds @9 :Float64 = nan;      # the reference network beside this job (docs/method.md §5); nan: none
  referenceJoules @10 :Float64 = nan;      # nan: none, or no live energy meter
  meterParts @11 :List(MeterPart);         # meter = composite: each part's joules (they sum to joulesPerIteration)
}

struct Ack {
  jobId @0 :UInt64;
  stored @1 :Bool;
  reason @2 :Text;                         # why not stored
  code @3 :ErrorCode;                      # what kind of refusal (notFound: the agent is not registered here: register, send again)
}

# What kind of refusal an Error is: the HTTP bridge maps it to a status, the CLI to an exit code
# (docs/architecture.md, "Errors"). Nobody decides by the message's text.
enum ErrorCode {
  internal @0;        # the zero value: a peer that set no code reads as an internal error
  invalidInput @1;    # malformed request: bad frame, bad JSON, a bad field
  notFound @2;        # names a campaign or device class that does not exist
  unprocessable @3;   # well formed but cannot be done: unprofiled kinds, a family without ranges
  unauthorized @4;
  conflict @5;        # clashes with what is stored
  unavailable @6;     # the store (or another service) is away for now: try again
  forbidden @7;       # authenticated, but its role may not do this (a reader starting a campaign)
  notLeader @8;       # a standby coordinator (--ha) answered: ask the next endpoint of the list
}

struct Error {
  message @0 :Text;
  requestType @1 :Text;
  code @2 :ErrorCode;
}

# Client (ampere CLI, HTTP bridge) -> coordinator.
struct StartCampaign {
  familySpecJson @0 :Text;
  deviceClass @1 :Text;
  budgetPerKind @2 :UInt32;                # points per kind, 1..10000 (0 and larger are refused: send 30 for the default)
  acquisition @3 :Text;                    # "max-variance" (paper) or "max-relative-std"
  estimator @4 :Text;                      # "joint" (default when empty) or "subtractive" (paper)
}

struct StopCampaign {
  campaignId @0 :UInt64;
}

struct CampaignStatusRequest {
  campaignId @0 :UInt64;                   # 0 = all campaigns
}

struct KindProgress {
  kindKey @0 :Text;
  role @1 :Text;
  points @2 :UInt32;
  budget @3 :UInt32;
  maxRelativeStd @4 :Float64;
  state @5 :Text;                          # waiting, profiling, converged, budget-spent, no-candidates
  convergence @6 :List(StdAtPoints);       # the stop rule's max relative std at each evaluation
  fitError @7 :Text;                       # why its last fit failed (empty: it did not); its last good fit serves
}

struct StdAtPoints {
  points @0 :UInt32;
  maxRelativeStd @1 :Float64;
}

struct CampaignInfo {
  campaignId @0 :UInt64;
  family @1 :Text;
  deviceClass @2 :Text;
  state @3 :Text;                          # running, done, stopped
  kinds @4 :List(KindProgress);
  jobsQueued @5 :UInt32;
  jobsRunning @6 :UInt32;
  jobsDone @7 :UInt32;
  etaSeconds @8 :Float64;                  # upper bound: remaining points x mean job time / agents
  pointsRemainingAtMost @9 :UInt32;
  quarantined @10 :List(Text);             # its stored rows set aside at the coordinator's last start
                                           # (state "quarantined": the whole campaign was)
}

struct CampaignStatus {
  campaigns @0 :List(CampaignInfo);
}

struct EstimateRequest {
  modelSpecJson @0 :Text;
  deviceClass @1 :Text;
  iterations @2 :UInt64;
  profileMissing @3 :Bool;                 # kinds never profiled: start a campaign for them (docs/byom.md)
  budgetPerKind @4 :UInt32;                # of that campaign; 0: the default
}

struct EstimateReply {
  json @0 :Text;                           # the same JSON as `ampere estimate --json`
  accepted @1 :Bool;                       # profiling started or running: json is {campaign_id, missing_kinds, state}
}

# Client -> coordinator: plan a pruned model under a budget where the fitted models are
# (docs/method.md §13). The request is the JSON of `POST /v1/plan:prune`.
struct PlanPruneRequest {
  requestJson @0 :Text;
}

struct PlanPruneReply {
  json @0 :Text;                           # the same JSON as `ampere plan prune --json`
}

struct DeviceClassesRequest {}

struct DeviceClass {
  name @0 :Text;
  agents @1 :UInt32;
  meters @2 :List(MeterSource);
}

struct DeviceClasses {
  classes @0 :List(DeviceClass);
}
