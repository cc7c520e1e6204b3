"""Wrong on purpose: a detection of a difficult object counts as a false positive instead of being ignored
(spec M-1.2)."""

from wrong_adapters._voc import voc_eval as _voc_eval

PROFILES = ("metrics.ap",)


def voc_eval(ground_truth, detections, classes, method):
    return _voc_eval(ground_truth, detections, classes, method, difficult_is_fp=True)
