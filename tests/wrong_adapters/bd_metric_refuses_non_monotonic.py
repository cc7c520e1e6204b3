"""Wrong on purpose: BD-mAP refuses a curve whose mAP does not increase with the rate, as BD-KBPI-mAP must
(M-5.3), although M-5.5 computes it (spec M-5.5)."""

from cfc_ref.conformance.reference import bd_metric as _bd_metric
from cfc_ref.conformance.reference import bd_rate  # noqa: F401
from cfc_ref.errors import MetricsError

PROFILES = ("metrics.bd",)


def bd_metric(anchor, test, method):
    for curve in (anchor, test):
        quality = [q for _, q in sorted(curve)]
        if any(b <= a for a, b in zip(quality, quality[1:], strict=False)):
            raise MetricsError("mAP must increase with the rate")
    return _bd_metric(anchor, test, method)
