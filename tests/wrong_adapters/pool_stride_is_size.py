"""Wrong on purpose: a [maxpool] without stride gets stride = size (cfc-ref's old default) instead of Darknet's
stride 1 (spec D-1.5)."""

import re

from cfc_ref.conformance import reference

from wrong_adapters._cfg import maxpool_default

PROFILES = ("detector.network",)


def _size(section: str) -> str:
    size = re.search(r"(?m)^size\s*=\s*(\d+)", section)
    return size.group(1) if size else "2"


def split_forward(cfg, weights, image, split):
    return reference.split_forward(maxpool_default(cfg, "stride", _size), weights, image, split)


def back_forward(cfg, weights, split, tensors):
    return reference.back_forward(maxpool_default(cfg, "stride", _size), weights, split, tensors)
