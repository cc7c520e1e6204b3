"""VOC average precision and mAP, following the VOC devkit's rules (spec M-1, M-2).

    result = evaluate(ground_truth, detections, classes)     # per-class AP (VOC07 11-point and all-point), mAP

The readable reference. A run aggregates with the fast twin ``cfc_ref.fast.voc.evaluate`` (every image at once),
proven equal to :func:`evaluate` bit for bit by ``tests/test_fast_eval.py::test_fast_matching_and_ap_equal_the_
reference`` and the golden vectors (M-7.1); ``cfc-ref run --reference`` aggregates with this module (spec E-12).
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from cfc_ref.errors import MetricsError

VOC_CLASSES = ("aeroplane", "bicycle", "bird", "boat", "bottle", "bus", "car", "cat", "chair", "cow", "diningtable",
               "dog", "horse", "motorbike", "person", "pottedplant", "sheep", "sofa", "train", "tvmonitor")
IOU_THRESHOLD = 0.5


@dataclass(frozen=True)
class GroundTruth:
    image: str
    cls: str
    box: tuple[float, float, float, float]  # xmin, ymin, xmax, ymax, inclusive pixels
    difficult: bool = False


@dataclass(frozen=True)
class Detection:
    image: str
    cls: str
    score: float
    box: tuple[float, float, float, float]


def overlap(box: tuple[float, ...], boxes: np.ndarray, pixel_inclusive: bool = True) -> np.ndarray:
    """M-1.1: VOC overlap of one box with many (n×4), widths counted inclusively (+1) by default."""
    one = 1.0 if pixel_inclusive else 0.0
    iw = np.minimum(boxes[:, 2], box[2]) - np.maximum(boxes[:, 0], box[0]) + one
    ih = np.minimum(boxes[:, 3], box[3]) - np.maximum(boxes[:, 1], box[1]) + one
    inter = np.where((iw > 0) & (ih > 0), iw * ih, 0.0)
    union = ((box[2] - box[0] + one) * (box[3] - box[1] + one)
             + (boxes[:, 2] - boxes[:, 0] + one) * (boxes[:, 3] - boxes[:, 1] + one) - inter)
    return np.where(union > 0, inter / np.where(union > 0, union, 1.0), 0.0)


def ap_voc07(recall: np.ndarray, precision: np.ndarray) -> float:
    """M-2.1: 11-point interpolated AP."""
    total = 0.0
    for t in np.arange(0.0, 1.1, 0.1):
        above = precision[recall >= t]
        total += float(above.max()) if above.size else 0.0
    return total / 11.0


def ap_all_points(recall: np.ndarray, precision: np.ndarray) -> float:
    """M-2.2: area under the monotone precision envelope."""
    mrec = np.concatenate([[0.0], recall, [1.0]])
    mpre = np.concatenate([[0.0], precision, [0.0]])
    for i in range(len(mpre) - 2, -1, -1):
        mpre[i] = max(mpre[i], mpre[i + 1])
    changes = np.flatnonzero(mrec[1:] != mrec[:-1])
    return float(np.sum((mrec[changes + 1] - mrec[changes]) * mpre[changes + 1]))


@dataclass(frozen=True)
class ClassResult:
    cls: str
    npos: int
    ap_voc07: float | None  # None when npos == 0 (M-2.3)
    ap_all: float | None
    true_positives: int
    false_positives: int


@dataclass(frozen=True)
class Evaluation:
    per_class: dict[str, ClassResult]

    def _mean(self, attribute: str) -> float:
        values = [getattr(r, attribute) for r in self.per_class.values() if getattr(r, attribute) is not None]
        if not values:
            raise MetricsError("no class has non-difficult ground truth: mAP is undefined")
        return float(np.mean(values))

    @property
    def map_voc07(self) -> float:
        return self._mean("ap_voc07")

    @property
    def map_all(self) -> float:
        return self._mean("ap_all")


def _check(detection: Detection, classes: tuple[str, ...]) -> None:
    if detection.cls not in classes:
        raise MetricsError(f"detection of unknown class {detection.cls!r} in image {detection.image!r}")
    if not (math.isfinite(detection.score) and all(math.isfinite(v) for v in detection.box)):
        raise MetricsError(f"non-finite score or box in a detection for image {detection.image!r}")
    if detection.box[2] < detection.box[0] or detection.box[3] < detection.box[1]:
        raise MetricsError(f"detection box {detection.box} in image {detection.image!r} has max < min")


def check_truth(gt: GroundTruth, classes: tuple[str, ...]) -> None:
    """M-2.3: ground truth of a known class, with a finite box whose max is not below its min."""
    if gt.cls not in classes:
        raise MetricsError(f"ground truth of unknown class {gt.cls!r} in image {gt.image!r}")
    if not all(math.isfinite(v) for v in gt.box) or gt.box[2] < gt.box[0] or gt.box[3] < gt.box[1]:
        raise MetricsError(f"ground-truth box {gt.box} in image {gt.image!r} is not finite with max >= min")


@dataclass(frozen=True)
class ClassMatches:
    """M-1.2, M-1.3 for one class: the detections that count, in descending score order, each true or false
    positive (difficult matches are left out), and the non-difficult ground truth per image."""

    images: tuple[str, ...]  # the image of each counted detection
    true_positive: np.ndarray  # 1/0 per counted detection
    npos_by_image: dict[str, int]

    @property
    def npos(self) -> int:
        return sum(self.npos_by_image.values())


def match_class(cls: str, truths: list[GroundTruth], detections: list[Detection],
                pixel_inclusive: bool = True) -> ClassMatches:
    by_image: dict[str, list[GroundTruth]] = defaultdict(list)
    for gt in truths:
        by_image[gt.image].append(gt)
    boxes = {image: np.array([g.box for g in gts], dtype=np.float64) for image, gts in by_image.items()}
    difficult = {image: np.array([g.difficult for g in gts]) for image, gts in by_image.items()}
    matched = {image: np.zeros(len(gts), dtype=bool) for image, gts in by_image.items()}
    order = sorted(range(len(detections)), key=lambda i: -detections[i].score)  # stable: ties keep input order
    images: list[str] = []
    tp: list[int] = []
    for i in order:
        det = detections[i]
        hit = 0
        if det.image in boxes:
            overlaps = overlap(det.box, boxes[det.image], pixel_inclusive)
            best = int(np.argmax(overlaps))
            if overlaps[best] > IOU_THRESHOLD:
                if difficult[det.image][best]:
                    continue  # ignored
                if not matched[det.image][best]:
                    matched[det.image][best] = True
                    hit = 1
        images.append(det.image)
        tp.append(hit)
    npos = {image: sum(not g.difficult for g in gts) for image, gts in by_image.items()}
    return ClassMatches(tuple(images), np.array(tp, dtype=np.int64), npos)


def evaluate_class(cls: str, truths: list[GroundTruth], detections: list[Detection],
                   pixel_inclusive: bool = True) -> ClassResult:
    """M-1.2, M-1.3 and both APs for one class."""
    matches = match_class(cls, truths, detections, pixel_inclusive)
    return class_result(cls, matches.true_positive, matches.npos)


def class_result(cls: str, tp: np.ndarray, npos: int,
                 all_points: Callable[[np.ndarray, np.ndarray], float] = ap_all_points) -> ClassResult:
    """M-1.3 and both APs from one class's counted detections (1 = true positive, 0 = false positive) in descending
    score order, and its number of non-difficult ground-truth boxes. ``all_points``: M-2.2's function (the fast
    path passes its equal twin)."""
    fp = 1 - tp
    if npos == 0:
        return ClassResult(cls, 0, None, None, int(tp.sum()), int(fp.sum()))
    ctp, cfp = np.cumsum(tp, dtype=np.float64), np.cumsum(fp, dtype=np.float64)
    recall = ctp / npos
    precision = ctp / np.maximum(ctp + cfp, np.finfo(np.float64).eps)
    return ClassResult(cls, npos, ap_voc07(recall, precision), all_points(recall, precision), int(ctp[-1]) if len(
        ctp) else 0, int(cfp[-1]) if len(cfp) else 0)


def evaluate(truths: list[GroundTruth], detections: list[Detection], classes: tuple[str, ...] = VOC_CLASSES,
             pixel_inclusive: bool = True) -> Evaluation:
    """Per-class AP and mAP (M-2.3)."""
    for det in detections:
        _check(det, classes)
    truths_by_class: dict[str, list[GroundTruth]] = defaultdict(list)
    for gt in truths:
        check_truth(gt, classes)
        truths_by_class[gt.cls].append(gt)
    dets_by_class: dict[str, list[Detection]] = defaultdict(list)
    for det in detections:
        dets_by_class[det.cls].append(det)
    return Evaluation({c: evaluate_class(c, truths_by_class[c], dets_by_class[c], pixel_inclusive) for c in classes})
