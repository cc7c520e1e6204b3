"""Wrong on purpose: places channel c at grid (c % R, c // R), column-major, instead of raster order (spec T-2.1)."""

import numpy as np

from cfc_ref.conformance.reference import dequantize, pack, parse, quantize  # noqa: F401
from cfc_ref.tiling import geometry, pad_to_alignment


def tile(q, layout, align):
    geo = geometry(q.shape, align)
    content = np.zeros((geo.content_height, geo.content_width), dtype=q.dtype)
    for c in range(geo.channels):
        col, row = divmod(c, geo.rows)
        if layout == "tile":
            content[row * geo.height:(row + 1) * geo.height, col * geo.width:(col + 1) * geo.width] = q[c]
        else:
            content[row::geo.rows, col::geo.cols] = q[c]
    return pad_to_alignment(content, geo)


def untile(picture, shape, layout, align):
    geo = geometry(shape, align)
    out = np.empty(shape, dtype=picture.dtype)
    for c in range(geo.channels):
        col, row = divmod(c, geo.rows)
        if layout == "tile":
            out[c] = picture[row * geo.height:(row + 1) * geo.height, col * geo.width:(col + 1) * geo.width]
        else:
            out[c] = picture[row:geo.content_height:geo.rows, col:geo.content_width:geo.cols]
    return out
