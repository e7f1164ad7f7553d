#!/usr/bin/env bash
# The ampere CLI is a thin client: ldd must show none of the server-side libraries.
set -euo pipefail
binary="$1"
build_dir="${2:-}"
libs="$(ldd "$binary")"
bad="$(printf '%s\n' "$libs" | grep -E 'libsqlite3|libpq\.|libpqxx|libhttplib|libcpp-httplib|libprometheus' || true)"
if [ -n "$bad" ]; then
  printf 'ampere links server libraries:\n%s\n' "$bad" >&2
  exit 1
fi
# the check itself must see a real dynamic binary (a static or missing one would pass vacuously)
printf '%s\n' "$libs" | grep -q 'libzmq' || { echo "ldd shows no libzmq: not the ampere client?" >&2; exit 1; }
# ldd alone can pass by luck (--as-needed drops a library no symbol uses): with Ninja, also read
# the link command, which shows what the target graph hands the linker.
if [ -n "$build_dir" ] && [ -f "$build_dir/build.ninja" ] && command -v ninja >/dev/null; then
  link="$(ninja -C "$build_dir" -t commands bin/ampere | tail -n 1)"
  case "$link" in *"-o bin/ampere"*) ;; *) echo "cannot find the link command of bin/ampere" >&2; exit 1 ;; esac
  bad="$(printf '%s\n' "$link" | tr ' ' '\n' | grep -E 'sqlite|pqxx|libpq|httplib|prometheus' || true)"
  if [ -n "$bad" ]; then
    printf 'the ampere link command names server libraries:\n%s\n' "$bad" >&2
    exit 1
  fi
fi
echo "ampere links none of: libsqlite3, libpq, libpqxx, libhttplib, libprometheus"
