"""Wrong on purpose: rounds ties to even (numpy's rint) instead of half up (spec Q-3.2)."""

import numpy as np

from cfc_ref.conformance.reference import dequantize, pack, parse, tile, untile  # noqa: F401
from cfc_ref.qlayer import side_info_of


def quantize(v, bit_depth, mode):
    side = side_info_of(v, mode)
    levels = 2**bit_depth - 1
    d = side.hi - side.lo
    t = (np.asarray(v, dtype=np.float64) - side.lo) * (levels / d) if d else np.zeros(np.shape(v))
    q = np.clip(np.rint(t), 0, levels).astype(np.uint8 if bit_depth <= 8 else np.uint16)
    return q, side.to_bytes()
