"""Wrong on purpose (spec Q-7): rounds to nearest (ties up) instead of Q-7.2's floor."""

import math  # noqa: F401

import numpy as np  # noqa: F401

from cfc_ref.qlayer import as_feature_tensor  # noqa: F401

from wrong_adapters._fcm import adapter, configured, f32  # noqa: F401

PROFILES = ("qlayer.fcm",)
quantize_fixed = adapter(levels=lambda w, lo, hi, L: np.floor(np.clip((w - lo) / (hi - lo), 0, 1) * L + 0.5))
