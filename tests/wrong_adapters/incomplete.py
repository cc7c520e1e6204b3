"""An adapter that lacks part of the protocol (spec C-2.1): loading it must name what is missing."""

from cfc_ref.conformance.reference import quantize  # noqa: F401
