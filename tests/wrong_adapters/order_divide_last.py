"""Wrong on purpose: t computed as (v − lo)·L / d: multiplied by L first, divided last
(spec Q-3.1: t = (v − lo) × s with s = L / d, in binary64)."""

from cfc_ref.conformance.reference import dequantize, pack, parse, tile, untile  # noqa: F401

from wrong_adapters._order import quantizer

quantize = quantizer(lambda v, lo, hi, L: (v - lo) * L / (hi - lo))
