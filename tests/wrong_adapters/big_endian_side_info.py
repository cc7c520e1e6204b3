"""Wrong on purpose: writes and reads side info as big-endian float32 (spec Q-2.1, O-1.3)."""

import struct

from cfc_ref import container, qlayer
from cfc_ref.conformance import reference
from cfc_ref.conformance.reference import tile, untile  # noqa: F401


def _swap(side: bytes) -> bytes:
    return b"".join(side[i:i + 4][::-1] for i in range(0, len(side), 4))


def quantize(v, bit_depth, mode):
    q, side = reference.quantize(v, bit_depth, mode)
    return q, _swap(side)


def dequantize(q, side_info, bit_depth, mode):
    return reference.dequantize(q, _swap(side_info), bit_depth, mode)


def pack(records):
    return reference.pack([dict(r, side_info=_swap(r["side_info"])) for r in records])


def parse(data):
    return [dict(r, side_info=_swap(r["side_info"])) for r in reference.parse(data)]


assert struct and container and qlayer  # imported to show this adapter reuses the reference everywhere else
