"""Wrong on purpose: VOC07 AP at the exact decimals 0, 0.1, …, 1 (i / 10) instead of the devkit's binary64
np.arange values (spec M-2.1: t_6 = 0.6000000000000001)."""

from wrong_adapters._voc import voc_eval as _voc_eval

PROFILES = ("metrics.ap",)


def voc_eval(ground_truth, detections, classes, method):
    return _voc_eval(ground_truth, detections, classes, method, thresholds=[i / 10 for i in range(11)])
