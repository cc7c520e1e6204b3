"""Wrong on purpose: max-pool windows that start at stride·i, all of Darknet's padding at the end — the literal
reading of an earlier D-2.2 (Darknet offsets windows by −(size − 1) // 2; only 2×2 windows agree)."""

import copy
from contextlib import contextmanager

import torch.nn.functional as F
from torch import nn

from cfc_ref.conformance import reference
from cfc_ref.detector.layers import MaxPoolLayer

PROFILES = ("detector.network",)


class _EndPadded(nn.Module):
    def __init__(self, spec):
        super().__init__()
        self.spec = spec

    def forward(self, x):
        pad = self.spec.size - 1
        return F.max_pool2d(F.pad(x, (0, pad, 0, pad), value=float("-inf")), self.spec.size, self.spec.stride)


@contextmanager
def _literal_windows():
    original = reference._loaded

    def wrong(cfg, weights):
        model = copy.deepcopy(original(cfg, weights))
        for i, layer in enumerate(model.layers):
            if isinstance(layer, MaxPoolLayer):
                model.layers[i] = _EndPadded(layer.spec)
        return model

    reference._loaded = wrong
    try:
        yield
    finally:
        reference._loaded = original


def split_forward(cfg, weights, image, split):
    with _literal_windows():
        return reference.split_forward(cfg, weights, image, split)


def back_forward(cfg, weights, split, tensors):
    with _literal_windows():
        return reference.back_forward(cfg, weights, split, tensors)
