"""Wrong on purpose: a split sends only the cut layer's own output, dropping the passthrough tensor that YOLOv2's
route reads across the cut (spec D-5.1, D-5.2)."""

from cfc_ref.conformance.reference import back_forward  # noqa: F401
from cfc_ref.conformance.reference import split_forward as _split_forward

PROFILES = ("detector.network",)


def split_forward(cfg, weights, image, split):
    return {split: _split_forward(cfg, weights, image, split)[split]}
