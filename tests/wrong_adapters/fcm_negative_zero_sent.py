"""Wrong on purpose (spec Q-7): sends a -0.0 lower bound as bytes 00000080 instead of +0.0 (Q-7.1, Q-2.4)."""

import math  # noqa: F401

import numpy as np  # noqa: F401

from cfc_ref.qlayer import as_feature_tensor  # noqa: F401

from wrong_adapters._fcm import adapter, configured, f32  # noqa: F401

PROFILES = ("qlayer.fcm",)


def _keep_sign(lo, hi):
    low, high = configured(lo, hi)
    return (math.copysign(0.0, lo) if low == 0 else low), high


quantize_fixed = adapter(rng=_keep_sign)
