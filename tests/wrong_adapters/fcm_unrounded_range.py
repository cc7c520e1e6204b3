"""Wrong on purpose (spec Q-7): uses the configured range as binary64, without Q-7.1's binary32 rounding."""

import math  # noqa: F401

from cfc_ref.qlayer import as_feature_tensor  # noqa: F401

from wrong_adapters._fcm import adapter, configured  # noqa: F401

PROFILES = ("qlayer.fcm",)

def _range(lo, hi):
    if all(isinstance(x, (int, float)) and not isinstance(x, bool) for x in (lo, hi)):
        low, high = float(lo), float(hi)
        if math.isfinite(low) and math.isfinite(high) and low < high:
            return low, high
    return configured(lo, hi)


quantize_fixed = adapter(rng=_range)
