"""Wrong on purpose: no upper bound on a record's channel count (nor height and width, which T-4.3's picture limit
still catches): C = 65536 with a legal picture is accepted (spec W-2, W-4.1)."""

from cfc_ref import container
from cfc_ref.conformance import reference
from cfc_ref.conformance.reference import dequantize, quantize, tile, untile  # noqa: F401

from wrong_adapters._patch import forwarding

parse = forwarding(reference.parse, container, "MAX_DIM", 2**32 - 1)
pack = forwarding(reference.pack, container, "MAX_DIM", 2**32 - 1)
