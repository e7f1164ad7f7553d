#!/usr/bin/env bash
# GPU check (run on a machine with an NVIDIA GPU, a driver and a CUDA PyTorch wheel): builds the
# trainer alone against the wheel's LibTorch, then trains a cnn5 member on cuda with the nvml meter
# and prints seconds and joules per iteration with the GPU's name. Not a test: CI has no GPU.
#   scripts/gpu-check.sh [BUILD_DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
build="${1:-build-gpu-check}"
prefix="$(python3 -c 'import torch; print(torch.utils.cmake_prefix_path)')"
python3 -c 'import torch; print("torch", torch.__version__, "cuda", torch.version.cuda, "available", torch.cuda.is_available())'
nvidia-smi --query-gpu=name,driver_version,power.limit,clocks.sm --format=csv,noheader || true
# The wheel's LibTorch was built with the pre-C++11 string ABI on older wheels; its cmake config says
# which through TORCH_CXX_FLAGS, and CMake passes it on to our targets.
cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DAMPERE_TRAINER_ONLY=ON -DCMAKE_PREFIX_PATH="$prefix" > "$build.configure.log" 2>&1 \
  || { tail -40 "$build.configure.log"; exit 1; }
ninja -C "$build" -j"$(nproc)" > "$build.build.log" 2>&1 || { tail -40 "$build.build.log"; exit 1; }
trainer="$build/bin/ampere-trainer"
for meter in nvml; do
  echo "== cnn5 (member 1) on cuda, meter $meter"
  "$trainer" measure --model models/cnn5.json --sample 1 --device cuda --meter "$meter" --repeats 5 --min-window 1 \
    | python3 -c '
import json, sys
r = json.load(sys.stdin)
s, j = r["seconds_per_iteration"], r["joules_per_iteration"]
print(json.dumps(r, indent=1))
print("GPU %s (%s): %.6f s/iteration (min of %d repeats, median %.6f); %.4f J/iteration [%s] (median %.4f)" % (
    r.get("device_name", "?"), r["device"], s["value"], r["repeats"], s["median"], j["value"], r["meter"], j["median"]))'
done
echo "== the same on the cpu, time surrogate, for scale"
"$trainer" measure --model models/cnn5.json --sample 1 --device cpu --threads 4 --meter time-surrogate --repeats 3 \
  | python3 -c 'import json,sys; r=json.load(sys.stdin); print("cpu: %.6f s/iteration" % r["seconds_per_iteration"]["value"])'
