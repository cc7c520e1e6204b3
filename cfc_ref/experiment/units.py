"""One (image, setting) result of a sweep (spec E-1, E-9.3): bits, codec names, detections.

Units are kept in the run's results store (``store.py``); this module only defines them and their digest.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass

from cfc_ref.detector.detect import ImageDetections


@dataclass(frozen=True)
class UnitBits:
    """Bits of one image at one setting: from the container the cloud side parsed (W-5), or the upload's file."""

    payload_bytes: int
    side_info_bytes: int
    container_bytes: int  # the whole container the cloud received (0 for a cloud-only upload)

    @property
    def kbits(self) -> float:
        return 8 * (self.payload_bytes + self.side_info_bytes) / 1000


@dataclass(frozen=True)
class Unit:
    image: str
    setting: str
    bits: UnitBits
    encoder: str
    decoders: tuple[str, ...]  # the decoders that made the pictures the back end saw
    detections: ImageDetections
    samples: int = 0  # feature samples coded for this image (C·H·W summed over the coded tensors)
    uncoded: tuple[str, ...] = ()  # crossing tensors the back end received uncoded (paper accounting, E-7.1)
    features: tuple[tuple[str, str], ...] = ()  # E-9.7: (tensor, SHA-256) of what the back end received, by name
    clipped: int = 0  # E-14.2: coded elements outside their configured range (the fcm quantizer's, Q-7.3)

    def canonical(self, records: bytes | None = None) -> bytes:
        """Every field and the detection records as bytes (what two engines' units are compared by, E-8.2)."""
        head = json.dumps([self.setting, self.image, self.bits.payload_bytes, self.bits.side_info_bytes,
                           self.bits.container_bytes, self.encoder, list(self.decoders), self.samples,
                           list(self.uncoded), self.detections.width, self.detections.height,
                           len(self.detections), [list(f) for f in self.features], self.clipped])
        return head.encode() + b"\n" + (self.detections.to_bytes() if records is None else records)

    def digest(self, run_id: str, records: bytes | None = None) -> bytes:
        """E-9.4: SHA-256 binding every field, the stored detection records and the run's id to this unit."""
        return hashlib.sha256(run_id.encode() + b"\n" + self.canonical(records)).digest()


def feature_hash(tensor: object) -> str:
    """E-9.7: the SHA-256 (hex) of a feature tensor as the back end receives it: its samples as little-endian
    binary32, row-major (C×H×W), nothing else."""
    import numpy as np

    array = np.ascontiguousarray(tensor, dtype="<f4")
    return hashlib.sha256(array.tobytes()).hexdigest()


def features_columns(features: tuple[tuple[str, str], ...]) -> tuple[str, bytes]:
    """The store's form of a unit's feature hashes (E-9.7): the tensor names joined by ``+`` and the SHA-256
    digests, 32 bytes each, in the same (name) order."""
    return "+".join(name for name, _ in features), b"".join(bytes.fromhex(digest) for _, digest in features)


def features_of(names: str, digests: bytes) -> tuple[tuple[str, str], ...] | None:
    """The hashes from their columns, or None when the two do not fit together (a damaged unit, E-9.4)."""
    tensors = names.split("+") if names else []
    if len(digests) != 32 * len(tensors):
        return None
    return tuple((name, digests[32 * i:32 * i + 32].hex()) for i, name in enumerate(tensors))
