#!/usr/bin/env bash
# The Debian packages (cmake/packaging.cmake), built from this build by CPack as `./run package`
# builds them, then unpacked into a scratch root (nothing is installed on this machine):
# four packages, each depending only on what its binary runs with; the installed binaries answer
# --version; the agent trains a model through the trainer installed beside it; units, conffiles,
# man pages and maintainer scripts are where dpkg and systemd look; apt resolves their
# dependencies (simulated).
set -euo pipefail
BUILD="$1"     # the build directory (configured with CMAKE_INSTALL_PREFIX=/usr, as ./run does)
SRC="$2"       # the source tree
VERSION="$3"   # CMake's project version
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

(cd "$BUILD" && cpack -G DEB -B "$WORK/out" > "$WORK/cpack.log" 2>&1) || { cat "$WORK/cpack.log"; fail "cpack"; }
arch="$(dpkg --print-architecture)"
for package in ampere ampere-coordinator ampere-agent ampere-trainer; do
  deb="$WORK/out/${package}_${VERSION}_${arch}.deb"
  [ -f "$deb" ] || fail "no $deb (built: $(ls "$WORK/out"))"
  [ "$(dpkg-deb -f "$deb" Package)" = "$package" ] || fail "$deb is not $package"
  dpkg-deb -x "$deb" "$WORK/root"
  mkdir -p "$WORK/control/$package"
  dpkg-deb -e "$deb" "$WORK/control/$package"
  [ -f "$WORK/root/usr/share/man/man1/$package.1.gz" ] || fail "$package carries no man page"
  [ -f "$WORK/root/usr/share/doc/$package/copyright" ] || fail "$package carries no copyright"
done
[ "$(ls "$WORK/out"/*.deb | wc -l)" -eq 4 ] || fail "more than four packages: $(ls "$WORK/out")"

# Each binary, installed, answers --version: its name and this release first.
for binary in ampere ampere-coordinator ampere-bridge ampere-agent ampere-trainer; do
  out="$("$WORK/root/usr/bin/$binary" --version)" || fail "$binary --version exited $?"
  [ "$(head -1 <<<"$out")" = "$binary $VERSION" ] || fail "$binary --version: $out"
done

# Dependencies: what each runs with, and nothing of the build's test tools.
depends() { dpkg-deb -f "$WORK/out/${1}_${VERSION}_${arch}.deb" Depends; }
for package in ampere ampere-coordinator ampere-agent ampere-trainer; do
  for never in postgresql prometheus chromium python3 cmake doctest; do
    if depends "$package" | tr ',' '\n' | grep -q "^ *$never\( \|$\)"; then fail "$package depends on $never"; fi
  done
done
for library in libtorch libpq libsqlite3 libprometheus libcpp-httplib; do
  depends ampere | grep -q "$library" && fail "ampere (the CLI) depends on $library: $(depends ampere)"
done
depends ampere-agent | grep -q libtorch && fail "ampere-agent depends on LibTorch: $(depends ampere-agent)"
depends ampere-agent | grep -q "ampere-trainer (= $VERSION)" || fail "ampere-agent does not depend on its trainer"
depends ampere-trainer | grep -q libtorch || fail "ampere-trainer does not depend on LibTorch: $(depends ampere-trainer)"
depends ampere-coordinator | grep -q libsqlite3 || fail "ampere-coordinator does not depend on SQLite"
depends ampere-coordinator | grep -q libpqxx || fail "ampere-coordinator does not depend on libpqxx"

# The daemons' units, configs (conffiles) and maintainer scripts.
for unit in ampere-coordinator.service ampere-bridge.service ampere-agent@.service; do
  [ -f "$WORK/root/usr/lib/systemd/system/$unit" ] || fail "no unit $unit"
  exec_start="$(grep '^ExecStart=' "$WORK/root/usr/lib/systemd/system/$unit" | cut -d= -f2 | cut -d' ' -f1)"
  [ -x "$WORK/root$exec_start" ] || fail "$unit starts $exec_start, which the packages do not install"
done
grep -qx /etc/ampere/coordinator.toml "$WORK/control/ampere-coordinator/conffiles" || fail "coordinator.toml is no conffile"
grep -qx /etc/ampere/bridge.toml "$WORK/control/ampere-coordinator/conffiles" || fail "bridge.toml is no conffile"
[ -f "$WORK/root/usr/share/man/man1/ampere-bridge.1.gz" ] || fail "ampere-bridge carries no man page"
grep -qx /etc/ampere/agent-main.toml "$WORK/control/ampere-agent/conffiles" || fail "agent-main.toml is no conffile"
for package in ampere-coordinator ampere-agent; do
  sh -n "$WORK/control/$package/postinst" || fail "$package's postinst does not parse"
  [ -x "$WORK/control/$package/postinst" ] || fail "$package's postinst is not executable"
done
# The shipped configs are read by the installed binaries.
"$WORK/root/usr/bin/ampere-coordinator" --config "$WORK/root/etc/ampere/coordinator.toml" --print-config > /dev/null ||
  fail "the installed coordinator refuses its installed config"
"$WORK/root/usr/bin/ampere-agent" --config "$WORK/root/etc/ampere/agent-main.toml" --print-config > /dev/null ||
  fail "the installed agent refuses its installed config"

# The installed agent finds the installed trainer beside it and trains a model.
"$WORK/root/usr/bin/ampere" model sample --family "$SRC/models/lenet5.json" --seed 1 > "$WORK/model.json"
"$WORK/root/usr/bin/ampere-agent" --meter time-surrogate --idle-seconds 0 measure --model "$WORK/model.json" \
  --iterations 2 --repeats 1 --warmup 0 > "$WORK/measured.json" 2> "$WORK/measure.log" || { cat "$WORK/measure.log"; fail "measure"; }
grep -q '"meter": "time-surrogate"' "$WORK/measured.json" || fail "measure printed: $(cat "$WORK/measured.json")"

# apt resolves every dependency (simulated: nothing is installed).
if apt-get -s -q install "$WORK"/out/*.deb > "$WORK/apt.log" 2>&1; then
  grep -q "^Conf ampere-agent" "$WORK/apt.log" || { cat "$WORK/apt.log"; fail "apt would not configure ampere-agent"; }
else
  cat "$WORK/apt.log"; fail "apt cannot resolve the packages' dependencies"
fi
echo "four packages built, unpacked and checked: $(cd "$WORK/out" && ls *.deb | tr '\n' ' ')"
