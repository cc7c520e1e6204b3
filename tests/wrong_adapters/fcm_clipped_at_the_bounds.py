"""Wrong on purpose (spec Q-7): counts the elements equal to lo or hi as clipped too."""

import math  # noqa: F401

import numpy as np  # noqa: F401

from cfc_ref.qlayer import as_feature_tensor  # noqa: F401

from wrong_adapters._fcm import adapter, configured, f32  # noqa: F401

PROFILES = ("qlayer.fcm",)
quantize_fixed = adapter(clipped=lambda w, lo, hi: int(np.count_nonzero((w <= lo) | (w >= hi))))
