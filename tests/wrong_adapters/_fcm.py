"""The FCM quantizer (spec Q-7) written out plainly, with one rule replaceable: how a wrong ``qlayer.fcm`` adapter
breaks exactly that rule."""

import math
import struct

import numpy as np

from cfc_ref.qlayer import QLayerError, as_feature_tensor, check_bit_depth, sample_dtype


def f32(x):
    try:
        return struct.unpack("<f", struct.pack("<f", x))[0] + 0.0
    except OverflowError:
        return math.copysign(math.inf, x)


def configured(lo, hi):
    for x in (lo, hi):
        if isinstance(x, bool) or not isinstance(x, (int, float)):
            raise QLayerError("a range holds numbers")
    low, high = f32(lo), f32(hi)
    if not (math.isfinite(low) and math.isfinite(high) and low < high):
        raise QLayerError("bad range")
    return low, high


def levels_of(wide, lo, hi, levels):
    return np.floor(np.clip((wide - lo) / (hi - lo), 0.0, 1.0) * levels)


def clipped_of(wide, lo, hi):
    return int(np.count_nonzero((wide < lo) | (wide > hi)))


def adapter(rng=configured, tensor=as_feature_tensor, levels=levels_of, clipped=clipped_of,
            side=lambda lo, hi: struct.pack("<ff", lo, hi)):
    """A ``quantize_fixed`` with the given steps (each defaults to the spec's)."""
    def quantize_fixed(v, lo, hi, bit_depth):
        low, high = rng(lo, hi)
        arr = tensor(v)
        n = check_bit_depth(bit_depth)
        wide = arr.astype(np.float64)
        q = levels(wide, low, high, 2**n - 1)
        return q.astype(sample_dtype(n)), side(low, high), clipped(wide, low, high)
    return quantize_fixed
