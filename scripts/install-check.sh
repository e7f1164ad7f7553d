#!/usr/bin/env bash
# CI only (a disposable machine): `./run package`, then the four packages really installed with
# apt (dependencies resolved, maintainer scripts run), the installed binaries and units checked,
# and everything purged again. Run as root or with sudo.
set -euo pipefail
cd "$(dirname "$0")/.."
as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }
debs=$(./run package)
echo "$debs"
export DEBIAN_FRONTEND=noninteractive
# shellcheck disable=SC2086
as_root apt-get install -y --no-install-recommends $debs > /tmp/ampere-install.log 2>&1 || { cat /tmp/ampere-install.log; exit 1; }
trap 'as_root apt-get purge -y ampere ampere-coordinator ampere-agent ampere-trainer > /dev/null 2>&1 || true' EXIT
version=$(sed -n 's/^project(ampere_fleet VERSION \([0-9.]*\).*/\1/p' CMakeLists.txt)
for binary in ampere ampere-coordinator ampere-bridge ampere-agent ampere-trainer; do
  [ "$(command -v "$binary")" = "/usr/bin/$binary" ] || { echo "$binary is not installed in /usr/bin"; exit 1; }
  [ "$("$binary" --version | head -1)" = "$binary $version" ] || { echo "$binary --version: $("$binary" --version)"; exit 1; }
done
id ampere > /dev/null || { echo "postinst created no user ampere"; exit 1; }
getent group ampere-energy > /dev/null || { echo "postinst created no group ampere-energy"; exit 1; }
[ "$(stat -c %G /etc/ampere/coordinator.toml)" = ampere ] || { echo "/etc/ampere/coordinator.toml is not the ampere group's"; exit 1; }
ampere-coordinator --config /etc/ampere/coordinator.toml --print-config > /dev/null
ampere-agent --config /etc/ampere/agent-main.toml --print-config > /dev/null
man -w ampere-coordinator > /dev/null 2>&1 || [ -f /usr/share/man/man1/ampere-coordinator.1.gz ]
if command -v systemd-analyze > /dev/null; then
  cp /usr/lib/systemd/system/ampere-agent@.service /tmp/ampere-agent@check.service
  SYSTEMD_LOG_LEVEL=notice systemd-analyze verify --man=no /usr/lib/systemd/system/ampere-coordinator.service /usr/lib/systemd/system/ampere-bridge.service /tmp/ampere-agent@check.service
fi
echo "installed, checked and purged: $(echo $debs | xargs -n1 basename | tr '\n' ' ')"
