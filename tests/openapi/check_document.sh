#!/usr/bin/env bash
# ampere-coordinator --print-openapi through tests/openapi/validate.cjs (a standard OpenAPI 3.0
# validator; npm tools installed by ./run test under the build's test-tools/).
set -euo pipefail
COORDINATOR="$1" VALIDATOR="$2" TOOLS="$3"
[ -d "$TOOLS/@apidevtools/swagger-parser" ] || { echo "the test tools are missing in $TOOLS: run ./run test (it installs them with npm ci)"; exit 1; }
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
"$COORDINATOR" --print-openapi > "$WORK/openapi.json"
NODE_PATH="$TOOLS" node "$VALIDATOR" "$WORK/openapi.json"
