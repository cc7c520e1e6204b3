"""The spread of mAP over images: a seeded bootstrap (spec M-6), for the vertical error bars of Fig. 4.

    spread = map_bootstrap(truths, detections, classes, images)      # B mAP values (VOC07), one per resample
    spread.std(ddof=1)

Each resample draws the images with replacement; its AP counts every detection once per draw of its image, with the
true/false-positive label it has on its own image (M-1), and every image's ground truth once per draw. The same
resamples (seeded) serve every setting, so settings are compared on the same draws.

The readable reference. A run computes the spread with the fast twin ``cfc_ref.fast.voc.map_bootstrap`` (from the
matches of the point estimate), proven equal bit for bit by ``tests/test_fast_eval.py::test_fast_bootstrap_is_bit_
equal_to_the_reference_and_the_resample_written_out`` (M-7.1); ``cfc-ref run --reference`` runs this one (E-12).
"""

from __future__ import annotations

from collections import defaultdict

import numpy as np

from cfc_ref.errors import MetricsError
from cfc_ref.metrics.voc import Detection, GroundTruth, evaluate, match_class

RESAMPLES = 200
SEED = 0


def resample_counts(images: int, resamples: int = RESAMPLES, seed: int = SEED) -> np.ndarray:
    """M-6.1: how often each image is drawn in each resample (resamples × images), numpy's PCG64 seeded by ``seed``."""
    draws = np.random.default_rng(seed).integers(0, images, size=(resamples, images))
    return np.stack([np.bincount(row, minlength=images) for row in draws]).astype(np.float64)


def _ap_voc07(recall: np.ndarray, precision: np.ndarray) -> np.ndarray:
    """M-2.1 on each row: 11-point interpolated AP (rows are resamples)."""
    total = np.zeros(recall.shape[0])
    for t in np.arange(0.0, 1.1, 0.1):
        total += np.where(recall >= t, precision, 0.0).max(axis=1, initial=0.0)
    return total / 11.0


def map_bootstrap(truths: list[GroundTruth], detections: list[Detection], classes: tuple[str, ...],
                  images: list[str], resamples: int = RESAMPLES, seed: int = SEED) -> np.ndarray:
    """M-6.1: the VOC07 mAP of each resample; classes without non-difficult ground truth in a resample are left
    out of its mean (M-2.3)."""
    if not images:
        raise MetricsError("a bootstrap needs at least one image")
    evaluate(truths, detections, classes)  # the same input checks (and errors) as the point estimate
    index = {image: i for i, image in enumerate(images)}
    counts = resample_counts(len(images), resamples, seed)
    truths_by_class: dict[str, list[GroundTruth]] = defaultdict(list)
    for gt in truths:
        truths_by_class[gt.cls].append(gt)
    dets_by_class: dict[str, list[Detection]] = defaultdict(list)
    for det in detections:
        dets_by_class[det.cls].append(det)
    total, classes_counted = np.zeros(resamples), np.zeros(resamples)
    for cls in classes:
        matches = match_class(cls, truths_by_class[cls], dets_by_class[cls])
        npos = np.zeros(len(images))
        for image, n in matches.npos_by_image.items():
            if image in index:
                npos[index[image]] = n
        npos_b = counts @ npos  # (resamples,)
        weights = counts[:, [index[image] for image in matches.images]]  # (resamples, detections)
        tp = weights * matches.true_positive
        ctp, cfp = np.cumsum(tp, axis=1), np.cumsum(weights - tp, axis=1)
        has_truth = npos_b > 0
        recall = ctp / np.where(has_truth, npos_b, 1.0)[:, None]
        precision = ctp / np.maximum(ctp + cfp, np.finfo(np.float64).eps)
        total += np.where(has_truth, _ap_voc07(recall, precision), 0.0)
        classes_counted += has_truth
    if (classes_counted == 0).any():
        raise MetricsError("a resample has no class with non-difficult ground truth: mAP is undefined")
    return total / classes_counted
