#!/usr/bin/env bash
# -DAMPERE_TRAINER_ONLY=ON configures without the fleet's other libraries and builds ampere-trainer
# alone, for a device that has only LibTorch, nlohmann-json and CLI11 (header-only).
set -euo pipefail
source_dir="$1"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
cmake -S "$source_dir" -B "$work" -G Ninja -DAMPERE_TRAINER_ONLY=ON > "$work/configure.log"
for package in Eigen3 CapnProto cppzmq doctest spdlog SQLite3 prometheus-cpp ONNX; do
  if grep -q "^${package}_DIR:PATH=/" "$work/CMakeCache.txt"; then
    echo "the trainer-only configure looked up ${package}" >&2
    exit 1
  fi
done
grep -q '^Torch_DIR:PATH=/' "$work/CMakeCache.txt" || { echo "the trainer-only configure found no LibTorch" >&2; exit 1; }
ninja -C "$work" -j2 > "$work/build.log"
built="$(ls "$work/bin")"
[ "$built" = "ampere-trainer" ] || { printf 'built more than the trainer:\n%s\n' "$built" >&2; exit 1; }
"$work/bin/ampere-trainer" --version
