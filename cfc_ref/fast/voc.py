"""VOC matching, AP and the bootstrap spread without a loop per detection, beside the readable references
``cfc_ref.metrics.voc`` and ``cfc_ref.metrics.bootstrap`` (spec M-1, M-2, M-6, M-7). Tested equal to them — the same
matches, the same APs, the same bootstrap values bit for bit — on the golden vectors and by property tests.

    truths = TruthArrays.of(ground_truth, images, classes)
    dets = DetectionArrays(image, cls, score, box)        # integer image and class indices, input order
    outcome = evaluate(truths, dets, classes)               # Evaluation (as the reference), plus .matches
    spread = map_bootstrap(outcome.matches, len(images))    # M-6.1, B VOC07 mAP values

Matching (M-1.2) depends only on the order of detections within one image, so it is done for all images at once:
every (detection, ground-truth box of its image) pair's overlap in one array expression (the reference's, term by
term), the first best box per detection, and a true positive for the first qualifying detection of each box. The
bootstrap resamples these per-image outcomes (no matching per resample) and evaluates each resample's 11-point AP at
its true positives only: between two true positives precision only falls, so the largest precision at recall ≥ t
is always found at a true positive. Counts are integers, so every cumulative sum, precision and recall is the same
binary64 number the reference computes.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from cfc_ref.errors import MetricsError
from cfc_ref.metrics.bootstrap import RESAMPLES, SEED, resample_counts
from cfc_ref.metrics.voc import IOU_THRESHOLD, ClassResult, Evaluation, GroundTruth, check_truth, class_result


@dataclass(frozen=True)
class TruthArrays:
    """Ground truth as arrays: image index, class index, box (xmin, ymin, xmax, ymax; binary64), difficult."""

    image: np.ndarray
    cls: np.ndarray
    box: np.ndarray
    difficult: np.ndarray

    @classmethod
    def of(cls, truths: list[GroundTruth], images: list[str], classes: tuple[str, ...]) -> TruthArrays:
        """Ground-truth boxes of the given images (others are left out), in their order."""
        image_index = {image: i for i, image in enumerate(images)}
        class_index = {name: i for i, name in enumerate(classes)}
        kept = [g for g in truths if g.image in image_index]
        for g in kept:
            check_truth(g, classes)
        return cls(np.array([image_index[g.image] for g in kept], dtype=np.int64),
                   np.array([class_index[g.cls] for g in kept], dtype=np.int64),
                   np.array([g.box for g in kept], dtype=np.float64).reshape(-1, 4),
                   np.array([g.difficult for g in kept], dtype=bool))


@dataclass(frozen=True)
class DetectionArrays:
    """Detections as arrays, in input order: image index, class index, score (binary64), box (binary64, VOC)."""

    image: np.ndarray
    cls: np.ndarray
    score: np.ndarray
    box: np.ndarray

    def check(self, classes: int) -> None:
        """M-2.3's refusals, as the reference's checks word them."""
        bad_class = (self.cls < 0) | (self.cls >= classes)
        if bad_class.any():
            raise MetricsError(f"detection of unknown class index {int(self.cls[bad_class][0])}")
        finite = np.isfinite(self.score) & np.isfinite(self.box).all(axis=1)
        if not finite.all():
            raise MetricsError(f"non-finite score or box in a detection of image index "
                               f"{int(self.image[~finite][0])}")
        flipped = (self.box[:, 2] < self.box[:, 0]) | (self.box[:, 3] < self.box[:, 1])
        if flipped.any():
            k = int(np.flatnonzero(flipped)[0])
            raise MetricsError(f"detection box {tuple(map(float, self.box[k]))} in image index "
                               f"{int(self.image[k])} has max < min")


@dataclass(frozen=True)
class ClassOutcome:
    """One class's counted detections in descending score order (M-1.2): their image index and 1/0 true positive;
    and the non-difficult ground truth per image."""

    image: np.ndarray
    true_positive: np.ndarray
    npos_by_image: np.ndarray


@dataclass(frozen=True)
class FastEvaluation(Evaluation):
    matches: tuple[ClassOutcome, ...] = ()


def pair_overlaps(dets: np.ndarray, gts: np.ndarray) -> np.ndarray:
    """M-1.1 row by row (``dets[k]`` with ``gts[k]``): the reference's ``overlap`` expression, term by term."""
    iw = np.minimum(gts[:, 2], dets[:, 2]) - np.maximum(gts[:, 0], dets[:, 0]) + 1.0
    ih = np.minimum(gts[:, 3], dets[:, 3]) - np.maximum(gts[:, 1], dets[:, 1]) + 1.0
    inter = np.where((iw > 0) & (ih > 0), iw * ih, 0.0)
    union = ((dets[:, 2] - dets[:, 0] + 1.0) * (dets[:, 3] - dets[:, 1] + 1.0)
             + (gts[:, 2] - gts[:, 0] + 1.0) * (gts[:, 3] - gts[:, 1] + 1.0) - inter)
    return np.where(union > 0, inter / np.where(union > 0, union, 1.0), 0.0)


def match_class(truth_image: np.ndarray, truth_box: np.ndarray, truth_difficult: np.ndarray,
                det_image: np.ndarray, det_score: np.ndarray, det_box: np.ndarray, images: int) -> ClassOutcome:
    """M-1.2 for one class, equal to ``cfc_ref.metrics.voc.match_class``."""
    order = np.argsort(-det_score, kind="stable")
    image, box = det_image[order], det_box[order]
    by_image = np.argsort(truth_image, kind="stable")  # each image's boxes in their listed order
    g_box, g_difficult = truth_box[by_image], truth_difficult[by_image]
    per_image = np.bincount(truth_image, minlength=images)
    first_box = np.concatenate([[0], np.cumsum(per_image)[:-1]])
    pairs = per_image[image]  # ground-truth boxes in each detection's image
    n = len(image)
    best = np.full(n, -1)
    best_overlap = np.zeros(n)
    has = pairs > 0
    if has.any():
        det_of_pair = np.repeat(np.arange(n), pairs)
        starts = np.cumsum(pairs) - pairs
        box_of_pair = first_box[image][det_of_pair] + (np.arange(len(det_of_pair)) - starts[det_of_pair])
        overlaps = pair_overlaps(box[det_of_pair], g_box[box_of_pair])
        segments = starts[has]
        largest = np.maximum.reduceat(overlaps, segments)
        position = np.where(overlaps == np.repeat(largest, pairs[has]), np.arange(len(overlaps)), len(overlaps))
        first = np.minimum.reduceat(position, segments)  # np.argmax: the first box with the largest overlap
        best[has], best_overlap[has] = box_of_pair[first], overlaps[first]
    hit = best_overlap > IOU_THRESHOLD
    ignored = np.zeros(n, dtype=bool)
    ignored[hit] = g_difficult[best[hit]]
    candidates = np.flatnonzero(hit & ~ignored)
    tp = np.zeros(n, dtype=np.int64)
    _, first_claim = np.unique(best[candidates], return_index=True)
    tp[candidates[first_claim]] = 1
    counted = ~ignored
    npos = np.bincount(truth_image[~truth_difficult], minlength=images)
    return ClassOutcome(image[counted], tp[counted], npos)


def ap_all_points(recall: np.ndarray, precision: np.ndarray) -> float:
    """M-2.2 equal to ``cfc_ref.metrics.voc.ap_all_points``, the precision envelope as one running maximum from the
    right instead of a Python loop (a maximum picks one of its operands, so the numbers are the same)."""
    mrec = np.concatenate([[0.0], recall, [1.0]])
    mpre = np.maximum.accumulate(np.concatenate([[0.0], precision, [0.0]])[::-1])[::-1]
    changes = np.flatnonzero(mrec[1:] != mrec[:-1])
    return float(np.sum((mrec[changes + 1] - mrec[changes]) * mpre[changes + 1]))


def evaluate(truths: TruthArrays, dets: DetectionArrays, classes: tuple[str, ...]) -> FastEvaluation:
    """Per-class AP and mAP (M-2.3), equal to ``cfc_ref.metrics.voc.evaluate``; with each class's matches."""
    dets.check(len(classes))
    images = int(max(truths.image.max(initial=-1), dets.image.max(initial=-1))) + 1
    per_class: dict[str, ClassResult] = {}
    matches = []
    for c, name in enumerate(classes):
        t, d = truths.cls == c, dets.cls == c
        outcome = match_class(truths.image[t], truths.box[t], truths.difficult[t], dets.image[d], dets.score[d],
                              dets.box[d], images)
        matches.append(outcome)
        per_class[name] = class_result(name, outcome.true_positive, int(outcome.npos_by_image.sum()), ap_all_points)
    return FastEvaluation(per_class, tuple(matches))


def _resample_ap_voc07(outcome: ClassOutcome, counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """M-6.1 for one class: each resample's VOC07 AP and whether it has non-difficult ground truth."""
    images = counts.shape[1]
    npos = np.zeros(images)
    npos[:len(outcome.npos_by_image)] = outcome.npos_by_image[:images]
    npos_b = counts @ npos
    has_truth = npos_b > 0
    tp_at = np.flatnonzero(outcome.true_positive)
    if not tp_at.size:
        return np.zeros(len(counts)), has_truth
    ctp = np.cumsum(counts[:, outcome.image[tp_at]], axis=1)
    fp_at = np.flatnonzero(outcome.true_positive == 0)
    gap = np.searchsorted(tp_at, fp_at)  # the true positive each false positive comes before
    before = gap < len(tp_at)  # false positives after the last true positive change no AP
    between = np.zeros((len(tp_at), images))
    np.add.at(between, (gap[before], outcome.image[fp_at[before]]), 1.0)
    cfp = np.cumsum(counts @ between.T, axis=1)
    precision = ctp / np.maximum(ctp + cfp, np.finfo(np.float64).eps)
    recall = ctp / np.where(has_truth, npos_b, 1.0)[:, None]
    best_after = np.maximum.accumulate(precision[:, ::-1], axis=1)[:, ::-1]
    best_after = np.concatenate([best_after, np.zeros((len(counts), 1))], axis=1)
    rows = np.arange(len(counts))
    total = np.zeros(len(counts))
    for t in np.arange(0.0, 1.1, 0.1):
        total += best_after[rows, (recall < t).sum(axis=1)]
    return total / 11.0, has_truth


def map_bootstrap(matches: tuple[ClassOutcome, ...], images: int, resamples: int = RESAMPLES,
                  seed: int = SEED) -> np.ndarray:
    """M-6.1 from each class's matches: equal to ``cfc_ref.metrics.bootstrap.map_bootstrap``."""
    if not images:
        raise MetricsError("a bootstrap needs at least one image")
    counts = resample_counts(images, resamples, seed)
    total, classes_counted = np.zeros(resamples), np.zeros(resamples)
    for outcome in matches:
        ap, has_truth = _resample_ap_voc07(outcome, counts)
        total += np.where(has_truth, ap, 0.0)
        classes_counted += has_truth
    if (classes_counted == 0).any():
        raise MetricsError("a resample has no class with non-difficult ground truth: mAP is undefined")
    return total / classes_counted
