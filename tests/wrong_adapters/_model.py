"""The reference's network with one kind of layer replaced, for the detector adapters that are wrong on purpose."""

import copy
from contextlib import contextmanager

from cfc_ref.conformance import reference


@contextmanager
def replaced(change):
    """While the block runs, every network the reference loads goes through ``change(model)`` (on a copy)."""
    original = reference._loaded
    reference._loaded = lambda c, w: change(copy.deepcopy(original(c, w)))
    try:
        yield
    finally:
        reference._loaded = original


def network_adapter(change):
    """split_forward and back_forward of the reference on the changed network."""
    def split_forward(cfg, weights, image, split):
        with replaced(change):
            return reference.split_forward(cfg, weights, image, split)

    def back_forward(cfg, weights, split, tensors):
        with replaced(change):
            return reference.back_forward(cfg, weights, split, tensors)

    return split_forward, back_forward
