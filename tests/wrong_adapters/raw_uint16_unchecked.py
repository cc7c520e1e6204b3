"""Wrong on purpose: raw samples are range-checked only when they are bytes (n ≤ 8); 16-bit samples above 2^n − 1
pass (spec W-3.1)."""

from cfc_ref import container
from cfc_ref.conformance import reference
from cfc_ref.conformance.reference import dequantize, quantize, tile, untile  # noqa: F401

from wrong_adapters._patch import forwarding

_check = container.raw_sample_above
parse = forwarding(reference.parse, container, "raw_sample_above", lambda p, n: n <= 8 and _check(p, n))
pack = forwarding(reference.pack, container, "raw_sample_above", lambda p, n: n <= 8 and _check(p, n))
