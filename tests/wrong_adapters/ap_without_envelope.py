"""Wrong on purpose: all-point AP summed over the raw precision, without making it non-increasing from the right
first (spec M-2.2)."""

from cfc_ref.conformance.reference import voc_eval as _reference

from wrong_adapters._voc import voc_eval as _compact

PROFILES = ("metrics.ap",)


def voc_eval(ground_truth, detections, classes, method):
    result = _reference(ground_truth, detections, classes, method)  # every check
    return _compact(ground_truth, detections, classes, method, envelope=False) if method == "all" else result
