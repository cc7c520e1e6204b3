"""The built-in feature tensors and the round trip that ``cfc-ref`` runs with no arguments.

The tensors are synthetic stand-ins shaped like YOLOv2's max 11 (256×26×26) and max 17 (512×13×13) outputs:
smooth random fields per channel through a Leaky ReLU (slope 0.1), from a fixed seed. They are not features of a
trained detector; later issues replace them with the embedded model's real split tensors.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from cfc_ref.pipeline import EncodeSettings, bits_of, decode_features, encode_features
from cfc_ref.qlayer import error_bound, side_info_of

BUILTIN_SHAPES = {"max_11": (256, 26, 26), "max_17": (512, 13, 13)}


def builtin_features(seed: int = 2018) -> dict[str, np.ndarray]:
    """Deterministic Leaky-ReLU-like feature tensors (float32) for each built-in split name."""
    rng = np.random.default_rng(seed)
    features = {}
    for name, (c, h, w) in BUILTIN_SHAPES.items():
        coarse = rng.normal(0.0, 1.0, size=(c, (h + 3) // 4, (w + 3) // 4))
        smooth = np.repeat(np.repeat(coarse, 4, axis=1), 4, axis=2)[:, :h, :w]
        smooth = smooth + 0.3 * rng.normal(0.0, 1.0, size=(c, h, w))
        features[name] = np.where(smooth > 0, smooth, 0.1 * smooth).astype(np.float32)
    return features


@dataclass(frozen=True)
class RoundTripRow:
    name: str
    shape: tuple[int, ...]
    bit_depth: int
    max_error: float
    error_bound: float
    kilobits: float
    overhead_bits: int


def round_trip(bit_depths: tuple[int, ...] = (8, 10, 12), codec: str = "raw") -> list[RoundTripRow]:
    """Encode and decode each built-in tensor at each bit depth; measure error and bits."""
    rows = []
    for name, v in builtin_features().items():
        for n in bit_depths:
            data = encode_features({name: v}, EncodeSettings(bit_depth=n, codec=codec))
            v_hat = decode_features(data)[name]
            bits = bits_of(data)
            rows.append(RoundTripRow(name, v.shape, n, float(np.abs(v - v_hat).max()),
                                     error_bound(side_info_of(v), n), bits.kilobits, bits.overhead_bits))
    return rows
