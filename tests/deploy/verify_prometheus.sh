#!/usr/bin/env bash
# promtool on the shipped Prometheus files: the config (and the rule file it names) parses, the
# alert rules parse, and the alert unit tests in alerts_test.yml pass (each alert fires on the
# series that should fire it and stays quiet otherwise).
set -euo pipefail
DIR="$1"   # deploy/prometheus
command -v promtool >/dev/null || { echo "promtool missing: install the Debian package 'prometheus' (./run setup)"; exit 1; }
cd "$DIR"
promtool check config prometheus.yml
promtool check rules alerts.yml
promtool test rules alerts_test.yml
