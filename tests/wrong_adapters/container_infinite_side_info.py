"""Wrong on purpose: the parser checks side info for NaN and for lo > hi, but lets ±Inf through (spec W-4.1 by
Q-2.3)."""

import math

from cfc_ref import qlayer
from cfc_ref.conformance import reference
from cfc_ref.conformance.reference import dequantize, pack, quantize, tile, untile  # noqa: F401
from cfc_ref.errors import QLayerError

from wrong_adapters._patch import forwarding


def _nan_and_order_only(lo, hi, mode):
    if math.isnan(lo) or math.isnan(hi) or lo > hi or (mode == "relu" and (lo != 0.0 or hi < 0.0)):
        raise QLayerError(f"bad side info lo={lo!r} hi={hi!r}")


parse = forwarding(reference.parse, qlayer, "check_side_info", _nan_and_order_only)
