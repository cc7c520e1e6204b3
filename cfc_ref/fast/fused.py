"""Q-layer and tiling fused into one pass over the features (optional, needs numba; spec Q-6.1, T-6.1).

For each sample the kernel does the spec's binary64 steps (Q-3.1 subtract, multiply; Q-3.2 floor and half-up; Q-3.3
clamp) and stores the result straight at its picture position (T-2.1 or T-3.1); unused slots and the alignment
padding follow (T-4). numba compiles without ``fastmath``, so no operation is fused or reordered and the result is
bit-identical to ``cfc_ref.qlayer.quantize`` followed by ``cfc_ref.tiling.tile`` (tested).

    picture, side = quantize_and_tile(v, bit_depth=8, layout="tile", align=8)
"""

from __future__ import annotations

import numba
import numpy as np

from cfc_ref.errors import QLayerError
from cfc_ref.qlayer import QuantMode, SideInfo, check_bit_depth, check_extremes, sample_dtype
from cfc_ref.tiling import DEFAULT_ALIGN, Layout, check_layout, geometry


@numba.njit(cache=True, nogil=True)
def _quantize_into(v, lo, scale, levels, rows, cols, quilt, picture):  # pragma: no cover - compiled
    channels, height, width = v.shape
    for c in range(channels):
        grid_row, grid_col = c // cols, c % cols
        for y in range(height):
            source = v[c, y]
            if quilt:  # T-3.1: row y*R + grid_row, every K-th column from grid_col
                target = picture[y * rows + grid_row, grid_col : grid_col + width * cols : cols]
            else:  # T-2.1: row grid_row*H + y, columns grid_col*W ...
                target = picture[grid_row * height + y, grid_col * width : grid_col * width + width]
            for x in range(width):  # branch-free so that the loop vectorises
                t = (np.float64(source[x]) - lo) * scale
                whole = np.floor(t)
                q = whole + np.float64((t - whole) >= 0.5)
                target[x] = min(max(q, 0.0), levels)


def quantize_and_tile(v: np.ndarray, bit_depth: int, mode: QuantMode = "minmax", layout: Layout = "tile",
                      align: int = DEFAULT_ALIGN) -> tuple[np.ndarray, SideInfo]:
    """``tile(quantize(v))`` in one pass; ``v`` must be a C×H×W float32 array."""
    n = check_bit_depth(bit_depth)
    check_layout(layout)
    if not isinstance(v, np.ndarray) or v.dtype != np.float32 or v.ndim != 3:
        raise QLayerError("quantize_and_tile takes a C×H×W float32 array")
    geo = geometry(v.shape, align)
    low, high = check_extremes(v.min(), v.max(), mode)  # Q-2.4 (NaN propagates into min/max)
    lo, hi = float(low), float(high)
    side = SideInfo(lo, hi, mode)
    levels = 2**n - 1
    picture = np.zeros(geo.picture_shape, dtype=sample_dtype(n))  # T-4.1: unused slots are 0
    if hi > lo:  # a constant tensor stays all 0
        _quantize_into(v, lo, levels / (hi - lo), float(levels), geo.rows, geo.cols, layout == "quilt", picture)
    ch, cw = geo.content_height, geo.content_width
    if geo.picture_height > ch:  # T-4.2: replicate the last row, then the last column
        picture[ch:, :cw] = picture[ch - 1, :cw]
    if geo.picture_width > cw:
        picture[:, cw:] = picture[:, cw - 1 : cw]
    return picture, side
