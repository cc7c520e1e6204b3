"""Wrong on purpose: the writer does not check raw samples against the bit depth (a 4-bit sample of 16 is
written), although its own parser rejects them (spec W-4.3)."""

from cfc_ref import container
from cfc_ref.conformance import reference
from cfc_ref.conformance.reference import dequantize, parse, quantize, tile, untile  # noqa: F401

from wrong_adapters._patch import forwarding

pack = forwarding(reference.pack, container, "raw_sample_above", lambda payload, bit_depth: False)
