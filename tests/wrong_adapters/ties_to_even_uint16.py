"""Wrong on purpose: round half up in the uint8 class, ties to even (numpy's rint) in the uint16 class — a numpy
implementation with a second code path for n > 8 (spec Q-3.2)."""

import numpy as np

from cfc_ref.conformance.reference import dequantize, pack, parse, tile, untile  # noqa: F401
from cfc_ref.conformance.reference import quantize as _quantize
from cfc_ref.qlayer import as_feature_tensor, side_info_of


def quantize(v, bit_depth, mode):
    if bit_depth <= 8 or isinstance(bit_depth, bool) or not isinstance(bit_depth, int) or bit_depth > 16:
        return _quantize(v, bit_depth, mode)
    side = side_info_of(v, mode)
    d = side.hi - side.lo
    t = (as_feature_tensor(v).astype(np.float64) - side.lo) * ((2**bit_depth - 1) / d) if d else np.zeros(np.shape(v))
    return np.clip(np.rint(t), 0, 2**bit_depth - 1).astype(np.uint16), side.to_bytes()
