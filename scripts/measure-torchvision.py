#!/usr/bin/python3
"""Times training iterations of a torchvision classifier in PyTorch itself (the reference side of
bench/byom: the original model, not our reconstruction of it). Same set-up as ampere-trainer:
random weights, random data, cross-entropy, plain SGD (lr 0.01), one thread by default.

Usage: measure-torchvision.py NAME [--size 32] [--batch 8] [--classes 10] [--threads 1]
                              [--warmup 3] [--repeats 5] [--window 0.2]
Prints JSON: {"name", "seconds_per_iteration": [one per repeat], "minimum"}.
A reference script for benches (Debian's python3-torch and python3-torchvision), never part of the product.
"""
import argparse
import json
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
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    model = getattr(torchvision.models, a.name)(weights=None, num_classes=a.classes)
    model.train()
    x = torch.randn(a.batch, 3, a.size, a.size)
    y = torch.randint(a.classes, (a.batch,))
    opt = torch.optim.SGD(model.parameters(), lr=0.01)
    loss_fn = torch.nn.CrossEntropyLoss()

    def step():
        opt.zero_grad()
        loss_fn(model(x), y).backward()
        opt.step()

    for _ in range(a.warmup):
        step()
    start = time.perf_counter()
    step()
    one = time.perf_counter() - start
    iterations = max(1, int(a.window / max(one, 1e-6)))
    per_iteration = []
    for _ in range(a.repeats):
        start = time.perf_counter()
        for _ in range(iterations):
            step()
        per_iteration.append((time.perf_counter() - start) / iterations)
    print(json.dumps({"name": a.name, "iterations": iterations, "seconds_per_iteration": per_iteration,
                      "minimum": min(per_iteration)}))


if __name__ == "__main__":
    main()
