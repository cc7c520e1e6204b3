"""Shared shape of the decoder peers: each wraps one HEVC decoder's own call, with no refusal rules (H-4.3)."""

import numpy as np


def as_picture(picture, bit_depth):
    return np.ascontiguousarray(picture, dtype=np.uint8 if bit_depth == 8 else np.uint16)
