"""Wrong on purpose (spec Q-7): uses Q-3.1's per-tensor scale L / d, then floor (v = hi can give L - 1)."""

import math  # noqa: F401

import numpy as np  # noqa: F401

from cfc_ref.qlayer import as_feature_tensor  # noqa: F401

from wrong_adapters._fcm import adapter, configured, f32  # noqa: F401

PROFILES = ("qlayer.fcm",)
quantize_fixed = adapter(levels=lambda w, lo, hi, L: np.floor(np.clip((w - lo) * (L / (hi - lo)), 0, L)))
