"""Wrong on purpose: a binary64 tensor quantized from its binary64 values (side info from their binary32
roundings, as the wire needs) instead of being rounded to binary32 first (spec Q-1.1)."""

import numpy as np

from cfc_ref.conformance.reference import dequantize, pack, parse, tile, untile  # noqa: F401
from cfc_ref.conformance.reference import quantize as _quantize
from cfc_ref.qlayer import round_half_up, sample_dtype, side_info_of


def quantize(v, bit_depth, mode):
    q, side_bytes = _quantize(v, bit_depth, mode)  # every check, and the side info
    if np.asarray(v).dtype != np.float64:
        return q, side_bytes
    side = side_info_of(v, mode)
    d = side.hi - side.lo
    if d == 0:
        return q, side_bytes
    t = (np.asarray(v, dtype=np.float64) - side.lo) * ((2**bit_depth - 1) / d)
    return np.clip(round_half_up(t), 0, 2**bit_depth - 1).astype(sample_dtype(bit_depth)), side_bytes
