"""Wrong on purpose: a detection matches when IoU >= 0.5 instead of > 0.5 (spec M-1.1)."""

from wrong_adapters._voc import voc_eval as _voc_eval

PROFILES = ("metrics.ap",)


def voc_eval(ground_truth, detections, classes, method):
    return _voc_eval(ground_truth, detections, classes, method, at_least=True)
