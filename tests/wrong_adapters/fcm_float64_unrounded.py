"""Wrong on purpose (spec Q-7): quantizes a binary64 input as itself, without Q-1.1's rounding to binary32."""

import math  # noqa: F401

import numpy as np

from cfc_ref.qlayer import as_feature_tensor  # noqa: F401

from wrong_adapters._fcm import adapter, configured  # noqa: F401

PROFILES = ("qlayer.fcm",)

def _tensor(v):
    arr = np.asarray(v)
    if arr.dtype == np.float64 and arr.size and np.isfinite(arr).all():
        return arr
    return as_feature_tensor(v)


quantize_fixed = adapter(tensor=_tensor)
