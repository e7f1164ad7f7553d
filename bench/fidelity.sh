#!/usr/bin/env bash
# Fidelity to PyTorch (docs/method.md §16): our reconstruction of a torchvision classifier, trained
# by ampere-trainer, against PyTorch's own training of the original, both glibc allocator regimes,
# in interleaved rounds of fresh processes (one process per figure), one core, 1 thread, batch 8.
#   bench/fidelity.sh [MODELS (resnet18,resnet50,mobilenet_v2)] [ROUNDS (4)] [SIZE (32)]
# Per model and side: the median over the rounds of each process's fastest repeat (ms per
# iteration) and its minor page faults per iteration. The four sides:
#   ours-pinned   ampere-trainer as agents run it (glibc's thresholds pinned)
#   ours-glibc    ampere-trainer --allocator glibc (glibc's defaults)
#   py-glibc      PyTorch as a plain process runs (glibc's defaults): the user's truth
#   py-pinned     PyTorch with the thresholds pinned as ampere-trainer pins them
# Steady state: 30 warm-up iterations, 5 repeats of >= 0.5 s. Needs Debian's python3-torch and
# python3-torchvision (the reference side only) and a build in build/ (or AMPERE_BIN).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BIN="${AMPERE_BIN:-$ROOT/build/bin}"
MODELS="${1:-resnet18,resnet50,mobilenet_v2}"; ROUNDS="${2:-4}"; SIZE="${3:-32}"
PY=/usr/bin/python3
WORK="$(mktemp -d)"; trap 'rm -rf "$WORK"' EXIT

ours() {  # SPEC ALLOCATOR -> "ms faults"
  taskset -c 0 "$BIN/ampere-trainer" measure --threads 1 --meter time-surrogate --idle-seconds 0 --warmup 30 \
    --repeats 5 --min-window 0.5 --model "$1" --allocator "$2" 2>/dev/null |
    $PY -c 'import json,sys; j=json.load(sys.stdin); print("%.3f %.0f" % (1000*j["seconds_per_iteration"]["value"], j["minor_faults_per_iteration"]))'
}
py() {  # NAME [--pin-allocator] -> "ms faults"
  taskset -c 0 $PY "$ROOT/scripts/measure-torchvision.py" "$@" --size "$SIZE" --warmup 30 --window 0.5 |
    $PY -c 'import json,sys; j=json.load(sys.stdin); print("%.3f %.0f" % (1000*j["minimum"], j["minor_faults_per_iteration"]))'
}

echo "bench/fidelity.sh $MODELS $ROUNDS $SIZE: 3x${SIZE}x${SIZE}, batch 8, 1 thread on core 0; $(date -u +%FT%TZ)"
for m in ${MODELS//,/ }; do
  $PY "$ROOT/scripts/export-torchvision.py" "$WORK" --models "$m" --size "$SIZE" >/dev/null 2>&1
  "$BIN/ampere" model import "$WORK/$m.onnx" >"$WORK/$m.spec.json"
  : >"$WORK/$m.rounds"
  for r in $(seq "$ROUNDS"); do
    echo "$(ours "$WORK/$m.spec.json" pinned) $(ours "$WORK/$m.spec.json" glibc) $(py "$m") $(py "$m" --pin-allocator)" |
      tee -a "$WORK/$m.rounds" | sed "s/^/  $m round $r: /"
  done
  $PY - "$m" "$WORK/$m.rounds" <<'PY'
import statistics, sys
name, rows = sys.argv[1], [list(map(float, l.split())) for l in open(sys.argv[2]) if l.strip()]
sides = ["ours-pinned", "ours-glibc", "py-glibc", "py-pinned"]
ms = {s: statistics.median(r[2 * i] for r in rows) for i, s in enumerate(sides)}
faults = {s: statistics.median(r[2 * i + 1] for r in rows) for i, s in enumerate(sides)}
spread = {s: (max(r[2 * i] for r in rows) - min(r[2 * i] for r in rows)) / ms[s] for i, s in enumerate(sides)}
for s in sides:
    print("%-14s %-12s %9.2f ms  %7.0f faults/iter  spread %5.1f%%" % (name, s, ms[s], faults[s], 100 * spread[s]))
print("%-14s ours-pinned vs py-glibc (the user's truth) %+.1f%%; like for like: pinned %+.1f%%, glibc %+.1f%%" % (
    name, 100 * (ms["ours-pinned"] / ms["py-glibc"] - 1), 100 * (ms["ours-pinned"] / ms["py-pinned"] - 1),
    100 * (ms["ours-glibc"] / ms["py-glibc"] - 1)))
PY
done
