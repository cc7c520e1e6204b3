"""From the network's raw output to VOC detections of one image (spec D-4.2, M-3.2 coordinates)."""

from __future__ import annotations

import torch

from cfc_ref.detector.cfg import Region
from cfc_ref.detector.region import decode_boxes, detections
from cfc_ref.metrics.voc import Detection


def voc_detections(raw: torch.Tensor, region: Region, image_id: str, width: int, height: int,
                   classes: tuple[str, ...]) -> list[Detection]:
    """One image's raw output (1×A·(5+C)×H×W) → detections in 1-based VOC pixel coordinates (Darknet adds 1)."""
    table = decode_boxes(raw, region)[0].detach().cpu().numpy()
    return [Detection(image_id, classes[d.class_index], d.score, (d.xmin + 1, d.ymin + 1, d.xmax + 1, d.ymax + 1))
            for d in detections(table, width, height)]
