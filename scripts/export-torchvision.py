#!/usr/bin/python3
"""Writes ONNX files of torchvision classifiers with random weights (nothing is downloaded), exported
for training so BatchNormalization and Dropout stay in the graph (docs/byom.md), and a JSON file
per model with torchvision's own parameter count and per-layer weight shapes, which the import
tests compare against.

Usage: export-torchvision.py OUT_DIR [--models resnet18,resnet50,mobilenet_v2] [--size 32]
                             [--batch 8] [--classes 10]
A reference script for tests and benches (Debian's python3-torch and python3-torchvision), never
part of the product.
"""
import argparse
import json
import os
import sys

import torch
import torchvision


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("out_dir")
    parser.add_argument("--models", default="resnet18,resnet50,mobilenet_v2")
    parser.add_argument("--size", type=int, default=32)
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--classes", type=int, default=10)
    parser.add_argument("--dynamic-batch", action="store_true",
                        help="export the batch dimension as symbolic")
    parser.add_argument("--dynamic-size", action="store_true",
                        help="export H and W as symbolic too (an import then needs --input-shape)")
    args = parser.parse_args()
    os.makedirs(args.out_dir, exist_ok=True)
    torch.manual_seed(0)
    for name in args.models.split(","):
        model = getattr(torchvision.models, name)(weights=None, num_classes=args.classes)
        model.train()
        x = torch.randn(args.batch, 3, args.size, args.size)
        path = os.path.join(args.out_dir, name + ".onnx")
        dynamic = None
        if args.dynamic_batch or args.dynamic_size:
            axes = {0: "batch"}
            if args.dynamic_size:
                axes.update({2: "height", 3: "width"})
            dynamic = {"input": axes}
        torch.onnx.export(model, x, path, training=torch.onnx.TrainingMode.TRAINING,
                          do_constant_folding=False, opset_version=13,
                          input_names=["input"], output_names=["logits"], dynamic_axes=dynamic)
        reference = {
            "name": name,
            "input_shape": [3, args.size, args.size],
            "batch": args.batch,
            "classes": args.classes,
            "parameters": sum(p.numel() for p in model.parameters()),
            "conv_weights": [list(m.weight.shape) for m in model.modules()
                             if isinstance(m, torch.nn.Conv2d)],
            "linear_weights": [list(m.weight.shape) for m in model.modules()
                               if isinstance(m, torch.nn.Linear)],
            "batchnorms": sum(1 for m in model.modules() if isinstance(m, torch.nn.BatchNorm2d)),
        }
        with open(os.path.join(args.out_dir, name + ".json"), "w") as f:
            json.dump(reference, f)
        print(f"{path}: {reference['parameters']} parameters", file=sys.stderr)


if __name__ == "__main__":
    main()
