"""Wrong on purpose: the Bjøntegaard integrals on the linear rate instead of ln(KBPI) (spec M-5.1)."""

import math

from cfc_ref.conformance import reference

PROFILES = ("metrics.bd",)


def _exp_points(points):
    return [[math.exp(r / 100.0), q] for r, q in points]  # so the reference's ln() sees the linear rate / 100


def bd_rate(anchor, test, method):
    return reference.bd_rate(_exp_points(anchor), _exp_points(test), method)


def bd_metric(anchor, test, method):
    return reference.bd_metric(_exp_points(anchor), _exp_points(test), method)
