"""Bit accounting as the paper does it (§3.1, §4; spec W-5).

KBPI counts codec payload plus side info of every transmitted tensor; the container's own header bytes are reported
separately and never enter KBPI.
"""

from __future__ import annotations

from dataclasses import dataclass

from cfc_ref.container import TensorRecord

BITS_PER_KILOBIT = 1000  # spec W-5.1: kilo is 10^3


@dataclass(frozen=True)
class ImageBits:
    """Bits of one image (spec W-5)."""

    payload_bytes: int
    side_info_bytes: int
    container_bytes: int

    @property
    def counted_bits(self) -> int:
        """Bits the paper counts: 8 · Σ(payload + side info) (W-5.1)."""
        return 8 * (self.payload_bytes + self.side_info_bytes)

    @property
    def kilobits(self) -> float:
        return self.counted_bits / BITS_PER_KILOBIT

    @property
    def overhead_bits(self) -> int:
        """Container framing (magic, names, shapes, lengths, CRC), reported apart from KBPI (W-5.2)."""
        return 8 * self.container_bytes - self.counted_bits


def image_bits(records: list[TensorRecord], container_bytes: int) -> ImageBits:
    payload = sum(len(r.payload) for r in records)
    side = sum(r.side_info.nbytes for r in records)
    return ImageBits(payload, side, container_bytes)
