"""A compact VOC evaluator with one rule switchable, for the metrics adapters that are wrong on purpose."""

import numpy as np


def voc_eval(ground_truth, detections, classes, method, *, at_least=False, difficult_is_fp=False,
             thresholds=None, envelope=True):
    aps = {}
    for cls in classes:
        gts = [g for g in ground_truth if g["class"] == cls]
        npos = sum(not g["difficult"] for g in gts)
        dets = sorted((d for d in detections if d["class"] == cls), key=lambda d: -d["score"])
        used, tp = set(), []
        for d in dets:
            best, best_iou = None, 0.0
            for k, g in enumerate(gts):
                if g["image"] != d["image"]:
                    continue
                a, b = d["box"], g["box"]
                iw = min(a[2], b[2]) - max(a[0], b[0]) + 1
                ih = min(a[3], b[3]) - max(a[1], b[1]) + 1
                inter = iw * ih if iw > 0 and ih > 0 else 0.0
                union = (a[2] - a[0] + 1) * (a[3] - a[1] + 1) + (b[2] - b[0] + 1) * (b[3] - b[1] + 1) - inter
                if inter / union > best_iou:
                    best, best_iou = k, inter / union
            hit = best is not None and (best_iou >= 0.5 if at_least else best_iou > 0.5)
            if hit and gts[best]["difficult"] and not difficult_is_fp:
                continue
            tp.append(1 if hit and not gts[best]["difficult"] and best not in used else 0)
            if hit:
                used.add(best)
        if npos == 0:
            aps[cls] = None
            continue
        ctp = np.cumsum(tp, dtype=float)
        recall, precision = ctp / npos, ctp / np.maximum(np.arange(1, len(tp) + 1), 1)
        if method == "voc07":
            aps[cls] = float(np.mean([precision[recall >= t].max() if (recall >= t).any() else 0.0
                                      for t in (np.arange(0, 1.1, 0.1) if thresholds is None else thresholds)]))
        else:
            mrec, mpre = np.r_[0.0, recall, 1.0], np.r_[0.0, precision, 0.0]
            if envelope:
                mpre = np.maximum.accumulate(mpre[::-1])[::-1]
            aps[cls] = float(np.sum((mrec[1:] - mrec[:-1]) * mpre[1:]))
    defined = [a for a in aps.values() if a is not None]
    return {"ap": aps, "map": float(np.mean(defined)) if defined else float("nan")}
