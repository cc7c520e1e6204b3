#!/usr/bin/env python3
"""Deterministic, UNTRAINED weights of the real YOLOv2-VOC layout (issue 34): the real-size benchmark job's model.

    python tools/make_bench_weights.py runs/bench-real-size/yolo-voc-untrained-seed1.weights [--seed 1]

The weights are ``cfc_ref.detector.weights.randomize`` of the built-in ``yolo-voc`` cfg (416×416, 20 classes,
50,676,061 floats: 203 MB) with a fixed seed, written as a Darknet ``.weights`` file — no download. They are NOT
trained: a run with them measures time, never accuracy (its mAP is meaningless). One change to ``randomize``: the region
layer's five objectness biases are lowered by ``--objectness-shift`` (default 12), because random weights put
about 3,000 detections per image past the VOC score threshold (0.005), some fifteen times what a trained detector of
this structure gives (the shipped embedded model: 80 per image from 320 boxes, about 210 at yolo-voc's 845 boxes),
which would time NMS and evaluation on a workload no real run has; with the shift about 150–350 pass (measured on
two synthetic images). The same seed and shift give the same bytes on every machine that runs torch 2.13.0.
"""

from __future__ import annotations

import argparse
import hashlib
import sys
from pathlib import Path

import torch

from cfc_ref.detector.cfg import builtin_cfg
from cfc_ref.detector.model import DarknetModel
from cfc_ref.detector.weights import randomize, save_weights


def untrained_model(seed: int = 1, objectness_shift: float = 12.0, cfg: str = "yolo-voc") -> DarknetModel:
    """``randomize`` with ``seed``, then the region's objectness biases lowered by ``objectness_shift``."""
    model = randomize(DarknetModel(builtin_cfg(cfg)), seed=seed)
    region = model.region
    last = model.layers[len(model.layers) - 2]  # the 1×1 convolution that feeds the region layer
    with torch.no_grad():
        for anchor in range(region.num):
            last.conv.bias[anchor * (5 + region.classes) + 4] -= objectness_shift
    return model.eval()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("output", type=Path, help="the .weights file to write (its directory is made)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--objectness-shift", type=float, default=12.0)
    parser.add_argument("--cfg", default="yolo-voc", help="a built-in cfg (default yolo-voc)")
    args = parser.parse_args(argv)
    model = untrained_model(args.seed, args.objectness_shift, args.cfg)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    save_weights(model, args.output)
    digest = hashlib.sha256(args.output.read_bytes()).hexdigest()
    print(f"{args.output}: {args.output.stat().st_size} bytes, sha256 {digest[:16]}…, UNTRAINED (seed {args.seed}, "
          f"objectness shift {args.objectness_shift:g}): read time from runs with it, never accuracy")
    return 0


if __name__ == "__main__":
    sys.exit(main())
