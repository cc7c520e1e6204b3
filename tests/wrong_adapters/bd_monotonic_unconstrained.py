"""Wrong on purpose: the monotonic method (spec M-5.8) computed without its constraints — the plain least-squares
cubic of M-5.5 for BD-mAP, M-5.1's cubic for BD-KBPI-mAP — as an implementer who reads "a cubic fit" and skips the
constraints would."""

from cfc_ref.conformance import reference

PROFILES = ("metrics.bd",)


def bd_rate(anchor, test, method):
    return reference.bd_rate(anchor, test, "cubic" if method == "monotonic" else method)


def bd_metric(anchor, test, method):
    return reference.bd_metric(anchor, test, "cubic" if method == "monotonic" else method)
