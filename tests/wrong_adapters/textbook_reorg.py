"""Wrong on purpose: reorg as the textbook space-to-depth (pixel_unshuffle) instead of Darknet's reorg_cpu
(spec D-2.4)."""

import copy
from contextlib import contextmanager

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


@contextmanager
def _textbook_reorg():
    original = reference._loaded
    reference._loaded = lambda c, w: _wrong(original(c, w))
    try:
        yield
    finally:
        reference._loaded = original


def split_forward(cfg, weights, image, split):
    with _textbook_reorg():
        return reference.split_forward(cfg, weights, image, split)


def back_forward(cfg, weights, split, tensors):
    with _textbook_reorg():
        return reference.back_forward(cfg, weights, split, tensors)
