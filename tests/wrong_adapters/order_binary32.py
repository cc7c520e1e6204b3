"""Wrong on purpose: t computed as every operation in binary32 instead of binary64
(spec Q-3.1: t = (v − lo) × s with s = L / d, in binary64)."""

import numpy as np

from cfc_ref.conformance.reference import dequantize, pack, parse, tile, untile  # noqa: F401

from wrong_adapters._order import quantizer

quantize = quantizer(lambda v, lo, hi, L: ((v.astype(np.float32) - np.float32(lo))
                                          * np.float32(L / np.float32(hi - lo))).astype(np.float64))
