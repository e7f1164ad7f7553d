#!/usr/bin/env bash
# Small seed corpora for the libFuzzer harnesses (fuzz/), one directory per harness under $1:
# valid inputs of each kind, so the fuzzers start from what the parsers accept. Called by
# `./run fuzz` with the fuzz build's bin/ as $2 (its onnx_seeds writes the ONNX models);
# regenerated each time (nothing here is committed).
set -euo pipefail
OUT="$1"
BIN="${2:-}"
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
rm -rf "$OUT" && mkdir -p "$OUT"/{wire,dispatch,model_spec,trainer_pipe,spool,csv,http,onnx}

# model specs: every shipped family and the test models
cp "$ROOT"/models/*.json "$OUT/model_spec/"
cp "$ROOT"/tests/data/models/*.json "$OUT/model_spec/" 2>/dev/null || true

# wire frames: Envelopes written as Cap'n Proto text and encoded by the capnp tool
encode() {  # name, text
  printf '%s' "$2" | capnp encode --flat "$ROOT/schemas/protocol.capnp" Envelope >"$OUT/wire/$1" 2>/dev/null ||
    printf '%s' "$2" | capnp encode "$ROOT/schemas/protocol.capnp" Envelope >"$OUT/wire/$1"
}
encode register '(version = 2, body = (register = (agentId = "a-1", deviceClass = "sim-x", backend = "simulated", threads = 1)))'
encode heartbeat '(version = 2, body = (heartbeat = (agentId = "a-1")))'
encode work '(version = 2, body = (workRequest = (agentId = "a-1")))'
encode result '(version = 2, body = (result = (jobId = 7, agentId = "a-1", secondsPerIteration = [0.01, 0.011], joulesPerIteration = [0.1, 0.11], iterations = 10)))'
encode start '(version = 2, body = (startCampaign = (familySpecJson = "{}", deviceClass = "sim-x", budgetPerKind = 4)))'
encode status '(version = 2, body = (campaignStatusRequest = (campaignId = 0)))'
encode estimate '(version = 2, body = (estimateRequest = (modelSpecJson = "{}", deviceClass = "sim-x", iterations = 1)))'

# dispatch: the same frames, the first byte picking the socket (even: agents, odd: clients)
for f in register heartbeat work result; do { printf '\x00'; cat "$OUT/wire/$f"; } >"$OUT/dispatch/$f"; done
for f in start status estimate; do { printf '\x01'; cat "$OUT/wire/$f"; } >"$OUT/dispatch/$f"; done

# trainer pipe lines (docs/trainer-protocol.md)
printf '%s' '{"type":"ready","protocol":1}' >"$OUT/trainer_pipe/ready"
printf '%s' '{"type":"window-joules","joules":1.5}' >"$OUT/trainer_pipe/joules"
printf '%s' '{"type":"error","code":"not-found","message":"no such thing"}' >"$OUT/trainer_pipe/error"

# spool files: framed records (CRC-32 LENGTH JSON) and an older unframed line
/usr/bin/python3 - "$OUT/spool" <<'PY'
import json, sys, zlib
out = sys.argv[1]
def record(job, seconds):
    j = json.dumps({"job_id": job, "agent_id": "a-1", "seconds_per_iteration": seconds, "joules_per_iteration": [],
                    "meter": "simulated", "iterations": 10, "threads": 1, "idle_watts": None,
                    "reference_seconds": 0.002, "reference_joules": None}, separators=(",", ":"))
    return "%08x %d %s\n" % (zlib.crc32(j.encode()) & 0xffffffff, len(j.encode()), j), j
a, ja = record(1, [0.01, 0.011])
b, _ = record(2, [0.02])
open(out + "/two", "w").write(a + b)
open(out + "/torn", "w").write(a + b[:20])
open(out + "/unframed", "w").write(ja + "\n")
PY

# CSV: the GP test data
cp "$ROOT"/tests/data/gp/*.csv "$OUT/csv/" 2>/dev/null || printf 'c,y\n1,0.5\n2,0.7\n' >"$OUT/csv/small.csv"
# HTTP requests (fuzz/http_fuzz.cpp): a route byte (route_table's order), a header byte (bit 0:
# JSON content type, bit 1: the write token), a path parameter line where the route has one, a body
http() {  # name, route index, header byte (octal), body
  printf "\\$(printf '%03o' "$2")\\$3%s" "$4" >"$OUT/http/$1"
}
RESNET="$(tr -d '\n' <"$ROOT/tests/data/models/mini-resnet.json")"
http estimate 3 001 '{"model": '"$RESNET"', "device_class": "sim-tx2", "iterations": 10}'
http estimate-profile 3 003 '{"model": '"$RESNET"', "device_class": "sim-tx2", "profile": true, "budget": 4}'
http batch 4 001 '{"requests": [{"model": '"$RESNET"', "device_class": "sim-tx2"}, {"model": {}, "device_class": "x"}]}'
http prune 5 001 '{"model": '"$RESNET"', "device_class": "sim-tx2", "budget": {"seconds": 0.01}, "by": "time"}'
http campaign 12 003 '{"family": '"$RESNET"', "device_class": "sim-tx2", "budget": 8, "acquisition": "max-variance"}'
http accuracy 8 000 $'sim-tx2\n'
http campaign-id 11 000 $'42\n'

# ONNX models, written by the fuzz build's onnx_seeds
if [[ -n "$BIN" && -x "$BIN/onnx_seeds" ]]; then "$BIN/onnx_seeds" "$OUT/onnx"; fi
echo "$OUT"
