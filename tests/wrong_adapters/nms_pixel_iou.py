"""Wrong on purpose: NMS with M-1.1's inclusive-pixel overlap (+1 on every side) on the pixel boxes, instead of
Darknet's box_iou on the network-relative boxes (spec D-4.2)."""

import numpy as np

from cfc_ref.conformance import reference
from cfc_ref.detector import region

PROFILES = ("detector.region",)


def region_detections(cfg, output, width, height):
    def pixel_iou(a, b):
        def corners(box):
            return ((box[..., 0] - box[..., 2] / 2) * width, (box[..., 1] - box[..., 3] / 2) * height,
                    (box[..., 0] + box[..., 2] / 2) * width, (box[..., 1] + box[..., 3] / 2) * height)
        (ax0, ay0, ax1, ay1), (bx0, by0, bx1, by1) = corners(a), corners(b)
        iw = np.minimum(ax1, bx1) - np.maximum(ax0, bx0) + 1
        ih = np.minimum(ay1, by1) - np.maximum(ay0, by0) + 1
        inter = np.where((iw > 0) & (ih > 0), iw * ih, 0.0)
        return inter / ((ax1 - ax0 + 1) * (ay1 - ay0 + 1) + (bx1 - bx0 + 1) * (by1 - by0 + 1) - inter)

    original = region.iou_center
    region.iou_center = pixel_iou
    try:
        return reference.region_detections(cfg, output, width, height)
    finally:
        region.iou_center = original
