#!/usr/bin/python3
"""Times training iterations of a torchvision classifier in PyTorch itself (the reference side of
bench/byom: the original model, not our reconstruction of it). Same set-up as ampere-trainer:
random weights, random data, cross-entropy, plain SGD (lr 0.01), one thread by default.

Usage: measure-torchvision.py NAME [--size 32] [--batch 8] [--classes 10] [--threads 1]
                              [--warmup 3] [--repeats 5] [--window 0.2] [--pin-allocator]
                              [--set-to-none] [--no-inplace] [--foreach]
--pin-allocator fixes glibc's mmap and trim thresholds as ampere-trainer does (agent/trainer/
allocator.cpp); --set-to-none, --no-inplace and --foreach change one thing of PyTorch's training
step each (zero_grad(set_to_none=True), ReLU(inplace=False), SGD(foreach=True)), to find where a
difference from our reconstruction lies (docs/method.md §15).
Prints JSON: {"name", "seconds_per_iteration": [one per repeat], "minimum",
"minor_faults_per_iteration" (the fewest over the repeats: the allocator's page-fault churn)}.
A reference script for benches (Debian's python3-torch and python3-torchvision), never part of the product.
"""
import argparse
import ctypes
import json
import resource
import time

import torch
import torchvision


def main():
    p = argparse.ArgumentParser()
    p.add_argument("name")
    p.add_argument("--size", type=int, default=32)
    p.add_argument("--batch", type=int, default=8)
    p.add_argument("--classes", type=int, default=10)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--warmup", type=int, default=3)
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--window", type=float, default=0.2, help="seconds per repeat, at least")
    p.add_argument("--pin-allocator", action="store_true", help="glibc thresholds as ampere-trainer pins them")
    p.add_argument("--set-to-none", action="store_true", help="zero_grad(set_to_none=True)")
    p.add_argument("--no-inplace", action="store_true", help="every ReLU out of place")
    p.add_argument("--foreach", action="store_true", help="SGD(foreach=True)")
    a = p.parse_args()
    if a.pin_allocator:
        libc = ctypes.CDLL("libc.so.6")
        M_TRIM_THRESHOLD, M_MMAP_THRESHOLD = -1, -3
        ok = libc.mallopt(M_MMAP_THRESHOLD, 32 * 1024 * 1024) == 1 and libc.mallopt(M_TRIM_THRESHOLD, 1024 * 1024 * 1024) == 1
        if not ok:
            raise SystemExit("mallopt refused the thresholds")
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    model = getattr(torchvision.models, a.name)(weights=None, num_classes=a.classes)
    if a.no_inplace:
        for m in model.modules():
            if isinstance(m, (torch.nn.ReLU, torch.nn.ReLU6)):
                m.inplace = False
    model.train()
    x = torch.randn(a.batch, 3, a.size, a.size)
    y = torch.randint(a.classes, (a.batch,))
    opt = torch.optim.SGD(model.parameters(), lr=0.01, foreach=True if a.foreach else None)
    loss_fn = torch.nn.CrossEntropyLoss()

    def step():
        opt.zero_grad(set_to_none=a.set_to_none)
        loss_fn(model(x), y).backward()
        opt.step()

    for _ in range(a.warmup):
        step()
    start = time.perf_counter()
    step()
    one = time.perf_counter() - start
    iterations = max(1, int(a.window / max(one, 1e-6)))
    per_iteration = []
    faults = []
    for _ in range(a.repeats):
        faults_before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
        start = time.perf_counter()
        for _ in range(iterations):
            step()
        per_iteration.append((time.perf_counter() - start) / iterations)
        faults.append((resource.getrusage(resource.RUSAGE_SELF).ru_minflt - faults_before) / iterations)
    print(json.dumps({"name": a.name, "iterations": iterations, "seconds_per_iteration": per_iteration,
                      "minimum": min(per_iteration), "minor_faults_per_iteration": min(faults)}))


if __name__ == "__main__":
    main()
