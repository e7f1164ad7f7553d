#!/usr/bin/env bash
# Every metric the coordinator registers is in docs/operations.md's table (operators alert on what
# they find documented; a metric added without a row fails here).
set -euo pipefail
src="$1"
missing=0
for metric in $(grep -o 'Name("ampere_[a-z_]*")' "$src/coordinator/metrics/coordinator_metrics.cpp" | sed 's/Name("//;s/")//'); do
  if ! grep -q "\`$metric\`" "$src/docs/operations.md"; then
    echo "metric $metric is not documented in docs/operations.md" >&2
    missing=1
  fi
done
exit "$missing"
