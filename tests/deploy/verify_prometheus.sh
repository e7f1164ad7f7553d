#!/usr/bin/env bash
# promtool on the shipped Prometheus files: the scrape snippet, pasted under scrape_configs: of a
# stock config beside another job (as an operator adds it to theirs), parses with the alert rules;
# the rules parse; and the alert unit tests in alerts_test.yml pass (each alert fires on the
# series that should fire it and stays quiet otherwise).
set -euo pipefail
DIR="$1"   # deploy/prometheus
DOCS="$2"  # docs/operations.md: every alert's runbook_url names one of its sections
command -v promtool >/dev/null || { echo "promtool missing: install the Debian package 'prometheus' (./run setup)"; exit 1; }
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
cp "$DIR/alerts.yml" "$WORK/ampere-alerts.yml"
{
  printf 'global:\n  scrape_interval: 15s\nrule_files:\n  - ampere-alerts.yml\nscrape_configs:\n'
  printf '  - job_name: node\n    static_configs:\n      - targets: ["localhost:9100"]\n'
  cat "$DIR/scrape-ampere.yml"
} > "$WORK/prometheus.yml"
promtool check config "$WORK/prometheus.yml"
grep -q 'job_name: ampere-coordinator' "$WORK/prometheus.yml"
cd "$DIR"
promtool check rules alerts.yml
promtool test rules alerts_test.yml
# Every alert says what it means and where its runbook is, and that runbook exists.
alerts=$(grep -c '^      - alert: ' alerts.yml)
[ "$(grep -c '^          description: ' alerts.yml)" -eq "$alerts" ] || { echo "an alert has no description"; exit 1; }
[ "$(grep -c '^          runbook_url: ' alerts.yml)" -eq "$alerts" ] || { echo "an alert has no runbook_url"; exit 1; }
for alert in $(grep '^      - alert: ' alerts.yml | sed 's/.*alert: //'); do
  anchor="$(echo "$alert" | tr 'A-Z' 'a-z')"
  grep -q "runbook_url: \"file:///usr/share/doc/ampere-coordinator/operations.md#$anchor\"" alerts.yml ||
    { echo "$alert: its runbook_url is not operations.md#$anchor"; exit 1; }
  grep -q "^### $alert\$" "$DOCS" || { echo "$alert: no runbook section '### $alert' in $DOCS"; exit 1; }
done
