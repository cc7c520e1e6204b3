"""Region layer decoding, thresholds and Darknet's NMS (spec D-2.5, D-4.2): the readable reference.

A run decodes detections through the fast twin ``cfc_ref.fast.region`` (one IoU matrix per image), proven equal to
this code by ``tests/test_fast_eval.py::test_fast_nms_and_detections_equal_the_reference`` and the golden region
vectors; ``cfc-ref run --reference`` runs this one (spec E-12, ``cfc_ref.implementations``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from cfc_ref.detector.cfg import Region

VOC_SCORE_THRESHOLD = 0.005
VOC_NMS_THRESHOLD = 0.45


def region_activate(raw: torch.Tensor, region: Region) -> torch.Tensor:
    """D-2.5: N×A×(5+classes)×H×W with σ on x, y, objectness and softmax on the classes; w, h stay raw."""
    n, _, h, w = raw.shape
    out = raw.reshape(n, region.num, 5 + region.classes, h, w)
    xy, wh, obj, cls = out[:, :, 0:2], out[:, :, 2:4], out[:, :, 4:5], out[:, :, 5:]
    return torch.cat([torch.sigmoid(xy), wh, torch.sigmoid(obj), torch.softmax(cls, dim=2)], dim=2)


def decode_boxes(raw: torch.Tensor, region: Region) -> torch.Tensor:
    """D-2.5: per image, rows ordered (row, col, anchor), columns [bx, by, bw, bh, objectness, p(class)…]
    relative to the network input (the layout OpenCV's region layer uses)."""
    act = region_activate(raw, region)
    n, a, _, h, w = act.shape
    anchors = torch.tensor(region.anchors, dtype=raw.dtype, device=raw.device).view(a, 2)
    cols = torch.arange(w, dtype=raw.dtype, device=raw.device).view(1, 1, 1, w)
    rows = torch.arange(h, dtype=raw.dtype, device=raw.device).view(1, 1, h, 1)
    bx = (cols + act[:, :, 0]) / w
    by = (rows + act[:, :, 1]) / h
    bw = torch.exp(act[:, :, 2]) * anchors[:, 0].view(1, a, 1, 1) / w
    bh = torch.exp(act[:, :, 3]) * anchors[:, 1].view(1, a, 1, 1) / h
    boxes = torch.stack([bx, by, bw, bh, act[:, :, 4]], dim=2)
    table = torch.cat([boxes, act[:, :, 5:]], dim=2)  # N×A×(5+C)×H×W
    return table.permute(0, 3, 4, 1, 2).reshape(n, h * w * a, 5 + region.classes)


@dataclass(frozen=True)
class Detection:
    class_index: int
    score: float
    xmin: float  # pixels of the original image, 0-based (D-4.2)
    ymin: float
    xmax: float
    ymax: float


def iou_center(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Darknet's box_iou on (x, y, w, h) boxes: one box ``a`` against many ``b``."""
    left = np.maximum(a[0] - a[2] / 2, b[:, 0] - b[:, 2] / 2)
    right = np.minimum(a[0] + a[2] / 2, b[:, 0] + b[:, 2] / 2)
    top = np.maximum(a[1] - a[3] / 2, b[:, 1] - b[:, 3] / 2)
    bottom = np.minimum(a[1] + a[3] / 2, b[:, 1] + b[:, 3] / 2)
    inter = np.clip(right - left, 0, None) * np.clip(bottom - top, 0, None)
    union = a[2] * a[3] + b[:, 2] * b[:, 3] - inter
    return np.where(union > 0, inter / np.where(union > 0, union, 1), 0.0)


def nms_sort(boxes: np.ndarray, scores: np.ndarray, threshold: float = VOC_NMS_THRESHOLD) -> np.ndarray:
    """D-4.2: Darknet's do_nms_sort: per class, by score; zero lower boxes over the IoU threshold. Returns scores."""
    scores = scores.copy()
    for c in range(scores.shape[1]):
        order = np.argsort(-scores[:, c], kind="stable")
        order = order[scores[order, c] > 0]
        for rank, i in enumerate(order):
            if scores[i, c] == 0:
                continue
            rest = order[rank + 1:]
            rest = rest[scores[rest, c] > 0]
            if rest.size:
                scores[rest[iou_center(boxes[i], boxes[rest]) > threshold], c] = 0
    return scores


def surviving(table: np.ndarray, score_threshold: float = VOC_SCORE_THRESHOLD, nms: float = VOC_NMS_THRESHOLD
              ) -> list[tuple[int, int, float]]:
    """D-4.2 on one image's decoded table (decode_boxes): the (row, class, score) of every detection that passes the
    score threshold and Darknet's NMS, score descending, then class."""
    boxes = table[:, :4].astype(np.float64)
    scores = table[:, 4:5] * table[:, 5:]
    scores = np.where(scores > score_threshold, scores, 0.0)
    scores = nms_sort(boxes, scores, nms)
    found = [(int(i), int(c), float(scores[i, c])) for i, c in zip(*np.nonzero(scores), strict=True)]
    return sorted(found, key=lambda d: (-d[2], d[1]))


def pixel_box(box: np.ndarray, image_width: int, image_height: int) -> tuple[float, float, float, float]:
    """D-4.2: an (x, y, w, h) box relative to the network input → (xmin, ymin, xmax, ymax) in 0-based pixels of the
    image, clipped to it (binary64). The network input covers the whole image (resize, D-4.1)."""
    x, y, w, h = (float(v) for v in box)
    xmin = min(max((x - w / 2) * image_width, 0.0), image_width - 1)
    xmax = min(max((x + w / 2) * image_width, 0.0), image_width - 1)
    ymin = min(max((y - h / 2) * image_height, 0.0), image_height - 1)
    ymax = min(max((y + h / 2) * image_height, 0.0), image_height - 1)
    return xmin, ymin, xmax, ymax


def detections(table: np.ndarray, image_width: int, image_height: int,
               score_threshold: float = VOC_SCORE_THRESHOLD, nms: float = VOC_NMS_THRESHOLD) -> list[Detection]:
    """One image's decoded table (decode_boxes) → thresholded, NMS'd detections in image pixels (D-4.2)."""
    return [Detection(c, score, *pixel_box(table[i, :4], image_width, image_height))
            for i, c, score in surviving(table, score_threshold, nms)]
