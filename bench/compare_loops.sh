#!/usr/bin/env bash
# Does a change to the coordinator's loop change what a campaign does? The simulated device is
# deterministic (its noise is seeded by job id), so two builds whose loops behave alike produce the
# same campaign, point for point, and the same estimate to the last digit.
#   bench/compare_loops.sh OLD_BIN_DIR NEW_BIN_DIR [FAMILY ...]   (default: cnn5 lstm resnet)
# Both builds must speak the same protocol version to themselves only (each runs on its own).
set -euo pipefail
OLD="$1"; NEW="$2"; shift 2
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
[ $# -gt 0 ] || set -- cnn5 lstm resnet

campaign() {  # BIN FAMILY -> final status (ETA cut) and the estimate of one sampled model
  local bin="$1" family="$2" work port coordinator agent
  work="$(mktemp -d)"
  port=$((30000 + RANDOM % 20000))
  "$bin/ampere-coordinator" --store "sqlite:$work/a.db" --agents "tcp://127.0.0.1:$port" \
    --clients "tcp://127.0.0.1:$((port + 1))" 2>"$work/coordinator.log" &
  coordinator=$!
  "$bin/ampere-agent" --coordinator "tcp://127.0.0.1:$port" --backend simulated --profile xavier --agent-id x \
    2>"$work/agent.log" &
  agent=$!
  local cli=("$bin/ampere" --coordinator "tcp://127.0.0.1:$((port + 1))")
  for _ in $(seq 100); do "${cli[@]}" --timeout 1 device-classes 2>/dev/null | grep -q sim-xavier && break; sleep 0.2; done
  "${cli[@]}" campaign start --family "$ROOT/models/$family.json" --device-class sim-xavier --budget 16 >/dev/null
  while "${cli[@]}" campaign status --id 1 --json | grep -q '"state": "running"'; do sleep 0.3; done
  "${cli[@]}" campaign status --id 1 | sed 's/, ETA.*//'
  "$bin/ampere" model sample --family "$ROOT/models/$family.json" --seed 5 >"$work/m.json"
  "${cli[@]}" estimate --model "$work/m.json" --device-class sim-xavier --json | grep -A2 '"seconds_per_iteration": {' | tail -2
  kill "$agent" "$coordinator"
  wait "$agent" "$coordinator" 2>/dev/null || true
  rm -rf "$work"
}

# One campaign at a time: run side by side they would share the CPU and draw the same $RANDOM port.
status=0
out="$(mktemp -d)"
for family in "$@"; do
  campaign "$OLD" "$family" >"$out/old"
  campaign "$NEW" "$family" >"$out/new"
  if [ -s "$out/old" ] && diff "$out/old" "$out/new" >"$out/diff"; then
    echo "$family: identical campaigns and estimates"
  else
    echo "$family: DIFFERENT"; cat "$out/diff"; status=1
  fi
done
rm -rf "$out"
exit $status
