#!/usr/bin/env bash
# The agent links no LibTorch (ampere-trainer does): ldd and the link command must show none,
# and the trainer must show it (so the check cannot pass on a binary that is not what we think).
set -euo pipefail
agent="$1"
trainer="$2"
build_dir="${3:-}"
# ldd's output is read whole first and grepped without a pipe: `ldd | grep -q` under pipefail fails
# at random when grep quits at its first match and ldd, still writing, dies of SIGPIPE (seen in CI).
agent_libs="$(ldd "$agent")"
trainer_libs="$(ldd "$trainer")"
if grep -E 'libtorch|libc10' <<<"$agent_libs"; then
  echo "ampere-agent links LibTorch" >&2
  exit 1
fi
grep -q 'libzmq' <<<"$agent_libs" || { echo "ldd shows no libzmq: not the agent?" >&2; exit 1; }
grep -qE 'libtorch|libc10' <<<"$trainer_libs" || { echo "ampere-trainer shows no LibTorch: not the trainer?" >&2; exit 1; }
if [ -n "$build_dir" ] && [ -f "$build_dir/build.ninja" ] && command -v ninja >/dev/null; then
  link="$(ninja -C "$build_dir" -t commands bin/ampere-agent | tail -n 1)"
  case "$link" in *"-o bin/ampere-agent"*) ;; *) echo "cannot find the link command of bin/ampere-agent" >&2; exit 1 ;; esac
  if printf '%s\n' "$link" | tr ' ' '\n' | grep -E 'torch|libc10'; then
    echo "the ampere-agent link command names LibTorch" >&2
    exit 1
  fi
fi
echo "ampere-agent links no LibTorch; ampere-trainer does"
