#!/usr/bin/env bash
# systemd-analyze verify on the shipped units, with ExecStart pointed at the freshly built binaries.
# A parse error, an unknown option or a missing binary fails the test.
set -euo pipefail
SRC="$1"   # deploy/systemd
BIN="$2"   # the build's bin directory
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
for unit in "$SRC"/*.service; do
  sed "s|/usr/bin/ampere|$BIN/ampere|g" "$unit" > "$WORK/$(basename "$unit")"
done
cp "$WORK/ampere-agent@.service" "$WORK/ampere-agent@check.service"
out="$(SYSTEMD_LOG_LEVEL=notice systemd-analyze verify --man=no "$WORK/ampere-coordinator.service" "$WORK/ampere-bridge.service" "$WORK/ampere-agent@check.service" 2>&1)" || {
  echo "$out"; exit 1; }
if [ -n "$out" ]; then echo "$out"; exit 1; fi  # warnings count as failures
echo "units verified"
