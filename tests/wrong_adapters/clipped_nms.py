"""Wrong on purpose: boxes clipped to the image before NMS (spec D-4.2: NMS on the unclipped boxes, then clip)."""

import numpy as np
import torch

from cfc_ref.detector.cfg import load_cfg
from cfc_ref.detector.region import decode_boxes, nms_sort

PROFILES = ("detector.region",)


def region_detections(cfg, output, width, height):
    table = decode_boxes(torch.from_numpy(np.ascontiguousarray(output, dtype=np.float32))[None],
                         load_cfg(cfg).region)[0].numpy().astype(np.float64)
    x, y, w, h = table[:, 0], table[:, 1], table[:, 2], table[:, 3]
    left, right = np.clip(x - w / 2, 0, 1), np.clip(x + w / 2, 0, 1)
    top, bottom = np.clip(y - h / 2, 0, 1), np.clip(y + h / 2, 0, 1)
    clipped = np.stack([(left + right) / 2, (top + bottom) / 2, right - left, bottom - top], axis=1)
    scores = table[:, 4:5] * table[:, 5:]
    scores = nms_sort(clipped, np.where(scores > 0.005, scores, 0.0), 0.45)
    out = []
    for i, c in zip(*np.nonzero(scores), strict=True):
        box = [left[i] * width, top[i] * height, right[i] * width, bottom[i] * height]
        box = [min(max(b, 0.0), (width if k % 2 == 0 else height) - 1) for k, b in enumerate(box)]
        out.append({"class": int(c), "score": float(scores[i, c]), "box": box})
    return sorted(out, key=lambda d: (-d["score"], d["class"]))
