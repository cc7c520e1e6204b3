"""Wrong on purpose: a [maxpool] without size gets size 2 (a common default) instead of Darknet's size = stride, so
`[maxpool] stride=1` alone is a 2×2 window rather than the identity (spec D-1.5)."""

from cfc_ref.conformance import reference

from wrong_adapters._cfg import maxpool_default

PROFILES = ("detector.network",)


def split_forward(cfg, weights, image, split):
    return reference.split_forward(maxpool_default(cfg, "size", lambda section: 2), weights, image, split)


def back_forward(cfg, weights, split, tensors):
    return reference.back_forward(maxpool_default(cfg, "size", lambda section: 2), weights, split, tensors)
