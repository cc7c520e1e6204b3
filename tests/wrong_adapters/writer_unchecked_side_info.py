"""Wrong on purpose: the writer does not check side info values — NaN, ±Inf and lo > hi are written — although
its own parser rejects them (spec W-4.3)."""

from cfc_ref import qlayer
from cfc_ref.conformance import reference
from cfc_ref.conformance.reference import dequantize, parse, quantize, tile, untile  # noqa: F401

from wrong_adapters._patch import forwarding

pack = forwarding(reference.pack, qlayer, "check_side_info", lambda lo, hi, mode: None)
