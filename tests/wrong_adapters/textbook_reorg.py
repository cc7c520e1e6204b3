"""Wrong on purpose: reorg as the textbook space-to-depth (pixel_unshuffle) instead of Darknet's reorg_cpu
(spec D-2.4)."""

import copy

import torch.nn.functional as F
from torch import nn

from cfc_ref.conformance import reference
from cfc_ref.detector.layers import ReorgLayer

PROFILES = ("detector.network",)


class _SpaceToDepth(nn.Module):
    def __init__(self, stride):
        super().__init__()
        self.stride = stride

    def forward(self, x):
        return F.pixel_unshuffle(x, self.stride)


def _wrong(model):
    model = copy.deepcopy(model)
    for i, layer in enumerate(model.layers):
        if isinstance(layer, ReorgLayer):
            model.layers[i] = _SpaceToDepth(layer.stride)
    return model


def split_forward(cfg, weights, image, split):
    original = reference._loaded
    reference._loaded = lambda c, w: _wrong(original(c, w))
    try:
        return reference.split_forward(cfg, weights, image, split)
    finally:
        reference._loaded = original


def back_forward(cfg, weights, split, tensors):
    original = reference._loaded
    reference._loaded = lambda c, w: _wrong(original(c, w))
    try:
        return reference.back_forward(cfg, weights, split, tensors)
    finally:
        reference._loaded = original
