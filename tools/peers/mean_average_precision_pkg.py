"""The mean-average-precision package (PyPI), greedy VOC matching at IoU 0.5; 11 recall points for VOC07."""

from importlib.metadata import version

import numpy as np
from mean_average_precision import MetricBuilder

PROFILES = ("metrics.ap",)
VERSION = f"mean-average-precision {version('mean-average-precision')}"


def voc_eval(ground_truth, detections, classes, method):
    ids = {c: i for i, c in enumerate(classes)}
    metric = MetricBuilder.build_evaluation_metric("map_2d", async_mode=False, num_classes=len(classes))
    images = sorted({g["image"] for g in ground_truth} | {d["image"] for d in detections})
    for image in images:
        gt = np.array([[*g["box"], ids[g["class"]], int(g["difficult"]), 0] for g in ground_truth
                       if g["image"] == image], dtype=np.float64).reshape(-1, 7)
        preds = np.array([[*d["box"], ids[d["class"]], d["score"]] for d in detections if d["image"] == image],
                         dtype=np.float64).reshape(-1, 6)
        metric.add(preds, gt)
    thresholds = np.arange(0.0, 1.1, 0.1) if method == "voc07" else None
    result = metric.value(iou_thresholds=0.5, recall_thresholds=thresholds, mpolicy="greedy")
    aps = {c: float(result[0.5][i]["ap"]) for c, i in ids.items()}
    return {"ap": aps, "map": float(result["mAP"])}
