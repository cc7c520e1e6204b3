"""Region decoding thresholds and Darknet's NMS without a loop per box, beside the readable reference
``cfc_ref.detector.region`` (spec D-4.2, D-8.3). Tested equal to it, value for value and in the same order, on the
golden region vectors and by property tests; the reference stays the normative one.

    found = detections(table, width, height)      # the same Detection list as cfc_ref.detector.region.detections

The reference's NMS visits the boxes of a class one by one in score order and zeroes every later box whose IoU with
a surviving one exceeds the threshold. Here the IoU of every pair of candidate boxes is computed once per image (the
same binary64 expression, elementwise), and per class the survivors are the fixed point of "a box survives when no
surviving box before it overlaps it": iterating that rule from "all survive" settles the first k boxes after k
rounds, so it reaches the greedy result exactly, usually in a few rounds.
"""

from __future__ import annotations

import numpy as np

from cfc_ref.detector.region import VOC_NMS_THRESHOLD, VOC_SCORE_THRESHOLD, Detection


def pairwise_iou_center(boxes: np.ndarray) -> np.ndarray:
    """Darknet's box_iou of every pair of (x, y, w, h) rows: ``out[i, j]`` is ``iou_center(boxes[i], boxes[j:j+1])``
    bit for bit (the expression is symmetric in IEEE arithmetic, term by term)."""
    x, y, w, h = (boxes[:, k] for k in range(4))
    lo_x, hi_x, lo_y, hi_y, area = x - w / 2, x + w / 2, y - h / 2, y + h / 2, w * h  # per box, once
    left = np.maximum(lo_x[:, None], lo_x[None, :])
    right = np.minimum(hi_x[:, None], hi_x[None, :])
    top = np.maximum(lo_y[:, None], lo_y[None, :])
    bottom = np.minimum(hi_y[:, None], hi_y[None, :])
    inter = np.clip(right - left, 0, None) * np.clip(bottom - top, 0, None)
    union = area[:, None] + area[None, :] - inter
    return np.where(union > 0, inter / np.where(union > 0, union, 1), 0.0)


_UPPER = np.triu(np.ones((512, 512), dtype=bool), k=1)  # i < j, for the first 512 boxes of a class


def greedy_survivors(overlaps: np.ndarray) -> np.ndarray:
    """Which of m boxes in rank order survive, when box j is dropped if a surviving box i < j has
    ``overlaps[i, j]``: the greedy rule, reached as a fixed point (see the module docstring)."""
    m = overlaps.shape[0]
    later = overlaps & (_UPPER[:m, :m] if m <= len(_UPPER) else np.triu(np.ones((m, m), dtype=bool), k=1))
    alive = np.ones(m, dtype=bool)
    for _ in range(m):
        again = np.logical_not((later & alive[:, None]).any(axis=0))
        if not (again ^ alive).any():
            break
        alive = again
    return alive


def nms_sort(boxes: np.ndarray, scores: np.ndarray, threshold: float = VOC_NMS_THRESHOLD) -> np.ndarray:
    """D-4.2 (Darknet's do_nms_sort), equal to ``cfc_ref.detector.region.nms_sort``: returns the scores with the
    suppressed ones zeroed."""
    scores = scores.copy()
    rows = np.flatnonzero((scores > 0).any(axis=1))
    if rows.size < 2:
        return scores
    over = pairwise_iou_center(boxes[rows]) > threshold
    for c in range(scores.shape[1]):
        column = scores[rows, c]
        order = np.argsort(-column, kind="stable")
        order = order[column[order] > 0]
        if order.size < 2:
            continue
        alive = greedy_survivors(over[order][:, order])
        scores[rows[order[~alive]], c] = 0
    return scores


def voc_pixel_boxes(boxes: np.ndarray, image_width: int | np.ndarray, image_height: int | np.ndarray) -> np.ndarray:
    """D-4.2: (x, y, w, h) rows relative to the network input → (xmin, ymin, xmax, ymax) in 0-based pixels of the
    image, clipped; binary64, the reference's expression per element. The image size may be one per row (arrays),
    for the rows of many images at once."""
    x, y, w, h = (boxes[:, k].astype(np.float64) for k in range(4))
    xmin = np.minimum(np.maximum((x - w / 2) * image_width, 0.0), image_width - 1)
    xmax = np.minimum(np.maximum((x + w / 2) * image_width, 0.0), image_width - 1)
    ymin = np.minimum(np.maximum((y - h / 2) * image_height, 0.0), image_height - 1)
    ymax = np.minimum(np.maximum((y + h / 2) * image_height, 0.0), image_height - 1)
    return np.stack([xmin, ymin, xmax, ymax], axis=1)


def detection_arrays(table: np.ndarray, score_threshold: float = VOC_SCORE_THRESHOLD,
                     nms: float = VOC_NMS_THRESHOLD) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One image's decoded table → the detections as arrays, in the reference's order (score descending, then
    class): class index (int64), score (the table's float32), box (x, y, w, h rows of the table, float32)."""
    boxes = table[:, :4]
    scores = table[:, 4:5] * table[:, 5:]
    scores = np.where(scores > score_threshold, scores, 0)
    scores = nms_sort(boxes.astype(np.float64), scores, nms)
    rows, classes = np.nonzero(scores)
    found = scores[rows, classes]
    order = np.lexsort((classes, -found))
    return classes[order], found[order], boxes[rows[order]]


def detections(table: np.ndarray, image_width: int, image_height: int,
               score_threshold: float = VOC_SCORE_THRESHOLD, nms: float = VOC_NMS_THRESHOLD) -> list[Detection]:
    """The reference's ``detections()`` result, computed with :func:`detection_arrays`."""
    classes, scores, boxes = detection_arrays(table, score_threshold, nms)
    pixels = voc_pixel_boxes(boxes, image_width, image_height)
    return [Detection(int(c), float(s), *map(float, p)) for c, s, p in zip(classes, scores, pixels, strict=True)]
