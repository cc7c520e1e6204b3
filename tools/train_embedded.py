#!/usr/bin/env python3
"""Train the embedded default model shipped in cfc_ref/zoo/ (issue 5): YOLOv2-VOC's layer structure at width ×0.125,
256×256 input, 5 classes, on the package's synthetic dataset. A STAND-IN for VOC + Darknet weights.

    python tools/train_embedded.py --out cfc_ref/zoo [--iterations 3000]

Deterministic for the seed on one machine type (CPU here). Prints the test mAP when done.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import torch

from cfc_ref.data.synthetic import CLASSES, write_dataset
from cfc_ref.detector.cfg import write_cfg
from cfc_ref.detector.model import DarknetModel
from cfc_ref.detector.weights import save_weights
from cfc_ref.training.data import VocDetectionSet
from cfc_ref.training.loop import TrainSettings, train
from cfc_ref.zoo.embedded import EMBEDDED_NAME, embedded_config, evaluate_model


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="cfc_ref/zoo")
    parser.add_argument("--data", default="build/synthetic-voc")
    parser.add_argument("--iterations", type=int, default=3000)
    parser.add_argument("--train-images", type=int, default=2000)
    parser.add_argument("--test-images", type=int, default=300)
    parser.add_argument("--checkpoint", default="build/embedded-train.pt")
    args = parser.parse_args()
    torch.set_num_threads(max(1, torch.get_num_threads()))
    root = write_dataset(args.data, train=args.train_images, test=args.test_images)
    config = embedded_config()
    model = DarknetModel(config)
    torch.manual_seed(0)
    settings = TrainSettings(iterations=args.iterations, batch_size=16, learning_rate=1e-3, warmup=100)
    Path(args.checkpoint).parent.mkdir(parents=True, exist_ok=True)
    train(model, VocDetectionSet(root, "train", CLASSES, config.width), settings, args.checkpoint)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / f"{EMBEDDED_NAME}.cfg").write_text(write_cfg(config))
    save_weights(model, out / f"{EMBEDDED_NAME}.weights", seen=settings.iterations * settings.batch_size)
    result = evaluate_model(model, root, "test")
    print(f"test mAP (VOC07 11-point) {result.map_voc07:.4f}, all-point {result.map_all:.4f}")


if __name__ == "__main__":
    main()
