"""Wrong on purpose: rounds with floor(t + 0.5), which spec Q-3.2 forbids (it differs just below a half)."""

import numpy as np

from cfc_ref.conformance.reference import dequantize, pack, parse, tile, untile  # noqa: F401
from cfc_ref.qlayer import sample_dtype, side_info_of


def quantize(v, bit_depth, mode):
    side = side_info_of(v, mode)
    levels = 2**bit_depth - 1
    d = float(side.hi) - float(side.lo)
    t = (np.asarray(v, dtype=np.float32).astype(np.float64) - side.lo) * (levels / d) if d else np.zeros(np.shape(v))
    q = np.clip(np.floor(t + 0.5), 0, levels).astype(sample_dtype(bit_depth))
    return q, side.to_bytes()
