"""Wrong on purpose (spec Q-7): forgets the clamp: elements outside the range wrap in the sample type."""

import math  # noqa: F401

import numpy as np  # noqa: F401

from cfc_ref.qlayer import as_feature_tensor  # noqa: F401

from wrong_adapters._fcm import adapter, configured, f32  # noqa: F401

PROFILES = ("qlayer.fcm",)
quantize_fixed = adapter(levels=lambda w, lo, hi, L: np.floor((w - lo) / (hi - lo) * L).astype(np.int64) % (L + 1))
