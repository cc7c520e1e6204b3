"""The Q-layer with t computed in another order of the same operations (spec Q-3.1 fixes one), for the wrong
adapters ``order_*``: every check and the side info are the reference's."""

import numpy as np

from cfc_ref.conformance.reference import quantize as _quantize
from cfc_ref.qlayer import as_feature_tensor, round_half_up, sample_dtype, side_info_of


def quantizer(t_of):
    """A quantize() whose t is ``t_of(v, lo, hi, L)`` on binary64 arrays (v already rounded to binary32)."""
    def quantize(v, bit_depth, mode):
        q, side_bytes = _quantize(v, bit_depth, mode)
        side = side_info_of(v, mode)
        if side.hi == side.lo:
            return q, side_bytes
        levels = 2**bit_depth - 1
        with np.errstate(over="ignore", invalid="ignore"):
            t = t_of(as_feature_tensor(v).astype(np.float64), side.lo, side.hi, levels)
            t = np.nan_to_num(t, nan=0.0, posinf=levels, neginf=0.0)
        return np.clip(round_half_up(t), 0, levels).astype(sample_dtype(bit_depth)), side_bytes
    return quantize
