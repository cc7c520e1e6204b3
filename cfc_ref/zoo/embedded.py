"""The embedded default: a small YOLOv2-structured model trained on the synthetic dataset, shipped in cfc_ref/zoo.

A STAND-IN for VOC2007 + Darknet's YOLOv2 weights, so that the whole protocol runs on a fresh machine in minutes.
Same layer indices as yolo-voc.cfg (so split names mean the same), width ×0.125, 256×256 input, 5 classes, VOC anchors
rescaled to the 8×8 grid. Never presented as the paper's numbers.
"""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from cfc_ref.data.source import open_voc, read_voc_annotations
from cfc_ref.data.synthetic import CLASSES
from cfc_ref.detector.cfg import NetworkConfig, builtin_cfg, parse_cfg, scale_width, with_classes, with_input_size
from cfc_ref.detector.detect import voc_detections
from cfc_ref.detector.image import network_input
from cfc_ref.detector.model import DarknetModel
from cfc_ref.detector.weights import load_weights
from cfc_ref.metrics.voc import Evaluation, evaluate
from cfc_ref.zoo import EMBEDDED_NAME, embedded_files, retrained_weights  # noqa: F401 - their home is cfc_ref.zoo

WIDTH_FACTOR, INPUT_SIZE = 0.125, 256
LABEL = "embedded default (synthetic shapes, width ×0.125 YOLOv2) — a stand-in, not VOC / YOLO9000"


def embedded_config() -> NetworkConfig:
    base = builtin_cfg("yolo-voc")
    grid = INPUT_SIZE // 32
    anchors = tuple(round(a * grid / 13, 5) for a in base.region.anchors)
    return with_classes(with_input_size(scale_width(base, WIDTH_FACTOR), INPUT_SIZE, INPUT_SIZE), len(CLASSES),
                        anchors)


def load_embedded_model() -> DarknetModel:
    cfg_path, weights_path = embedded_files()
    model = DarknetModel(parse_cfg(cfg_path.read_text()))
    load_weights(model, weights_path)
    return model.eval()


@torch.no_grad()
def evaluate_model(model: DarknetModel, voc_root: str | Path, image_set: str = "test",
                   classes: tuple[str, ...] = CLASSES) -> Evaluation:
    """Whole model, no split: mAP on a VOC-layout set."""
    model.eval()
    root = Path(voc_root)
    source = open_voc(root)  # bounded reads of regular files only (E-3.4)
    ids = source.ids(image_set)
    detections = []
    for ident in ids:
        with Image.open(io.BytesIO(source.image_bytes(ident))) as opened:
            image = np.asarray(opened.convert("RGB"))
        x = torch.from_numpy(network_input(image, model.config.width, model.config.height))[None]
        detections += voc_detections(model(x), model.region, ident, image.shape[1], image.shape[0], classes)
    return evaluate(read_voc_annotations(root, image_set, ids), detections, classes)
