"""Wrong on purpose: the region grid's rows and columns swapped in the boxes (bx over the rows, by over the
columns): invisible on a square grid (spec D-2.5)."""

import numpy as np
import torch

from cfc_ref.detector.cfg import load_cfg
from cfc_ref.detector.region import decode_boxes, detections

PROFILES = ("detector.region",)


def region_detections(cfg, output, width, height):
    output = np.ascontiguousarray(output, dtype=np.float32)
    table = decode_boxes(torch.from_numpy(output)[None], load_cfg(cfg).region)[0].numpy().astype(np.float64)
    rows, cols = output.shape[1:]
    table[:, [0, 2]] *= cols / rows
    table[:, [1, 3]] *= rows / cols
    return [{"class": d.class_index, "score": d.score, "box": [d.xmin, d.ymin, d.xmax, d.ymax]}
            for d in detections(table, width, height)]
