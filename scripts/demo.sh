#!/usr/bin/env bash
# The main job on this machine: a local coordinator (SQLite in a temp dir) and one real LibTorch
# agent profile cnn5, then 5 random cnn5 models are estimated, measured for real, and compared
# with the FLOPs baseline. Everything started here is stopped here. Called by `./run demo`.
set -euo pipefail
BIN="$1"
ROOT="$2"
BUDGET="${AMPERE_DEMO_BUDGET:-16}"
THREADS="${AMPERE_DEMO_THREADS:-1}"
CLASS="local-cpu-${THREADS}t"
WORK="$(mktemp -d)"
PIDS=()
cleanup() {
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
  rm -rf "$WORK"
}
trap cleanup EXIT

say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

# CURVE keys, as a lab would deploy them (docs/security.md): the coordinator's pair, one agent's,
# one operator's; allow-lists are directories of public certificates.
KEYS="$WORK/keys"
"$BIN/ampere" keys generate "$KEYS/coordinator" >/dev/null
"$BIN/ampere" keys generate "$KEYS/agents/demo-agent" >/dev/null
"$BIN/ampere" keys generate "$KEYS/clients/demo-operator" --role operator >/dev/null
CURVE=(--curve-secret-key "$KEYS/coordinator.key_secret" --authorized-agents "$KEYS/agents"
       --authorized-clients "$KEYS/clients")

# Free loopback ports: try random ones until the coordinator binds.
for attempt in 1 2 3 4 5; do
  AGENTS="tcp://127.0.0.1:$((20000 + RANDOM % 20000))"
  CLIENTS="tcp://127.0.0.1:$((20000 + RANDOM % 20000))"
  HTTP="127.0.0.1:$((20000 + RANDOM % 20000))"
  METRICS="127.0.0.1:$((20000 + RANDOM % 20000))"
  "$BIN/ampere-coordinator" --store "sqlite:$WORK/ampere.db" --agents "$AGENTS" --clients "$CLIENTS" --http "$HTTP" \
    --metrics "$METRICS" "${CURVE[@]}" 2>>"$WORK/coordinator.log" &
  COORD=$!
  sleep 0.5
  kill -0 "$COORD" 2>/dev/null && break
done
PIDS+=("$COORD")
AMPERE=("$BIN/ampere" --coordinator "$CLIENTS" --key "$KEYS/clients/demo-operator.key_secret"
        --coordinator-key "$KEYS/coordinator.key")
for i in $(seq 50); do "${AMPERE[@]}" --timeout 1 device-classes >/dev/null 2>&1 && break; sleep 0.2; done

say "Coordinator on $CLIENTS (store sqlite:$WORK/ampere.db, CURVE: listed keys only); starting one LibTorch agent ($THREADS thread)"
echo "  convergence page  http://$HTTP/          (HTTP bridge; API: http://$HTTP/openapi.json)"
echo "  Prometheus        http://$METRICS/metrics"
"$BIN/ampere-agent" --coordinator "$AGENTS" --key "$KEYS/agents/demo-agent.key_secret" \
  --coordinator-key "$KEYS/coordinator.key" --threads "$THREADS" --agent-id demo-agent 2>>"$WORK/agent.log" &
AGENT=$!
PIDS+=("$AGENT")
for i in $(seq 100); do "${AMPERE[@]}" device-classes 2>/dev/null | grep -q "^$CLASS" && break; sleep 0.2; done
"${AMPERE[@]}" device-classes
grep -h "energy:" "$WORK/agent.log" || true

say "Profiling cnn5 (channels up to 64) on $CLASS, budget $BUDGET points per kind"
START=$(date +%s)
"${AMPERE[@]}" campaign start --family "$ROOT/models/cnn5.json" --device-class "$CLASS" --budget "$BUDGET" >/dev/null
"${AMPERE[@]}" campaign status --id 1 --watch --interval 15
echo "profiling took $(( $(date +%s) - START )) s"
kill "$AGENT"
wait "$AGENT" 2>/dev/null || true

say "One estimate in full (1000 iterations)"
"$BIN/ampere" model sample --family "$ROOT/models/cnn5.json" --seed 7001 >"$WORK/m1.json"
"${AMPERE[@]}" estimate --model "$WORK/m1.json" --device-class "$CLASS" --iterations 1000

say "5 random cnn5 models: estimated, then trained here for real, twice each (ampere-agent measure)"
PAIRS=()
for i in 1 2 3 4 5; do
  "$BIN/ampere" model sample --family "$ROOT/models/cnn5.json" --seed $((7000 + i)) >"$WORK/m$i.json"
  "$BIN/ampere-agent" --threads "$THREADS" measure --model "$WORK/m$i.json" >"$WORK/r$i.json" 2>>"$WORK/agent.log"
  "$BIN/ampere-agent" --threads "$THREADS" measure --model "$WORK/m$i.json" >"$WORK/s$i.json" 2>>"$WORK/agent.log"
  PAIRS+=("$WORK/m$i.json=$WORK/r$i.json,$WORK/s$i.json")
done
"${AMPERE[@]}" compare --device-class "$CLASS" "${PAIRS[@]}"

say "Live accuracy the coordinator exports (3 held-out cnn5 models measured during the campaign)"
if command -v curl >/dev/null; then
  curl -s "http://$METRICS/metrics" | grep -E '^ampere_(heldout_mape_ratio|results_stored_total|jobs_done_total)' || true
fi
if [ -n "${AMPERE_DEMO_KEEP:-}" ]; then
  say "Coordinator kept running (AMPERE_DEMO_KEEP): http://$HTTP/ and http://$METRICS/metrics; Ctrl-C stops it"
  wait "$COORD" || true
fi
