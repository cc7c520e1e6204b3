"""Wrong on purpose: untile accepts a picture larger than the layout's and crops it, instead of refusing every
other size (spec T-5.2)."""

import numpy as np

from cfc_ref.conformance.reference import dequantize, pack, parse, quantize, tile  # noqa: F401
from cfc_ref.conformance.reference import untile as _untile
from cfc_ref.tiling import geometry


def untile(picture, shape, layout, align):
    try:
        geo = geometry(tuple(shape), align)
        picture = np.asarray(picture)
        if picture.ndim == 2 and picture.shape[0] >= geo.picture_height and picture.shape[1] >= geo.picture_width:
            picture = np.ascontiguousarray(picture[:geo.picture_height, :geo.picture_width])
    except Exception:  # noqa: BLE001 - whatever is wrong, the reference says it
        pass
    return _untile(picture, shape, layout, align)
