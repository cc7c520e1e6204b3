"""Wrong on purpose: de-quantization as one fused multiply-add, q·step + lo rounded once (C's default
-ffp-contract=fast on a machine with FMA), instead of the product and the sum rounded separately (spec Q-4.1,
O-1.2)."""

from fractions import Fraction

import numpy as np

from cfc_ref.conformance.reference import dequantize as _dequantize
from cfc_ref.conformance.reference import pack, parse, quantize, tile, untile  # noqa: F401
from cfc_ref.qlayer import SideInfo


def dequantize(q, side_info, bit_depth, mode):
    checked = _dequantize(q, side_info, bit_depth, mode)  # every check
    side = SideInfo.from_bytes(side_info, mode)
    step = (side.hi - side.lo) / (2**bit_depth - 1)
    samples = np.asarray(q)
    fused = {int(k): float(Fraction(int(k)) * Fraction(step) + Fraction(side.lo)) for k in np.unique(samples)}
    out = np.array([fused[int(k)] for k in samples.ravel()], dtype=np.float64).reshape(samples.shape)
    return out.astype(np.float32) if samples.size else checked
