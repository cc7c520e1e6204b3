"""Wrong on purpose (spec Q-7): computes Q-7.2 in binary32, as CompressAI-Vision's torch code does."""

import math  # noqa: F401

import numpy as np

from cfc_ref.qlayer import as_feature_tensor  # noqa: F401

from wrong_adapters._fcm import adapter, configured  # noqa: F401

PROFILES = ("qlayer.fcm",)

def _levels(wide, lo, hi, levels):
    v, low, high = wide.astype(np.float32), np.float32(lo), np.float32(hi)
    u = np.clip((v - low) / (high - low), np.float32(0), np.float32(1))
    return np.floor(u * np.float32(levels)).astype(np.float64)


quantize_fixed = adapter(levels=_levels)
