"""Q-layer and tiling fused into one pass over the features (optional, needs numba; spec Q-6.1, T-6.1).

Two compiled loops: the spec's binary64 steps for every sample in memory order (Q-3.1 subtract, multiply; Q-3.2 floor
and half-up; Q-3.3 clamp), then each sample to its picture position (T-2.1 or T-3.1); unused slots and the alignment
padding follow (T-4). numba compiles without ``fastmath``, so no operation is fused or reordered and the result is
bit-identical to ``cfc_ref.qlayer.quantize`` followed by ``cfc_ref.tiling.tile`` (tested, also on every golden
Q-layer vector).

    picture, side = quantize_and_tile(v, bit_depth=8, layout="tile", align=8)
"""

from __future__ import annotations

import numba
import numpy as np

from cfc_ref.errors import QLayerError
from cfc_ref.qlayer import QuantMode, SideInfo, check_bit_depth, check_extremes, sample_dtype
from cfc_ref.tiling import DEFAULT_ALIGN, Layout, check_layout, geometry


@numba.njit(cache=True, nogil=True, boundscheck=False)
def _quantize_flat(v, lo, scale, levels, out):  # pragma: no cover - compiled
    """Q-3.1..Q-3.3 over the samples in memory order (one long loop, so that it vectorises). Every ``v ≥ lo`` and
    the scale is positive, so ``t ≥ 0`` (binary64 rounding is monotonic) and truncation toward zero is Q-3.2's
    floor; ``t`` never exceeds ``levels`` by more than rounding, so only the upper clamp of Q-3.3 can act."""
    for i in range(v.size):
        t = (np.float64(v[i]) - lo) * scale
        whole = np.int64(t)
        q = whole + np.int64((t - np.float64(whole)) >= 0.5)  # half up
        out[i] = min(q, levels)


@numba.njit(cache=True, nogil=True, boundscheck=False)
def _place(q, channels, height, row_length, rows, cols, quilt, width, picture):  # pragma: no cover - compiled
    """T-2.1 / T-3.1: channel c's sample (y, x) to its picture position, on flat arrays with unsigned offsets (no
    negative-index checks in the inner loop)."""
    for c in range(channels):
        grid_row, grid_col = c // cols, c % cols
        for y in range(height):
            source = np.uint64((c * height + y) * row_length)
            if quilt:
                target, step = np.uint64((y * rows + grid_row) * width + grid_col), np.uint64(cols)
            else:
                target, step = np.uint64((grid_row * height + y) * width + grid_col * row_length), np.uint64(1)
            for x in range(row_length):
                picture[target + np.uint64(x) * step] = q[source + np.uint64(x)]


def quantize_and_tile(v: np.ndarray, bit_depth: int, mode: QuantMode = "minmax", layout: Layout = "tile",
                      align: int = DEFAULT_ALIGN) -> tuple[np.ndarray, SideInfo]:
    """``tile(quantize(v))`` without the intermediate passes of the reference; ``v`` must be a C×H×W float32 array."""
    n = check_bit_depth(bit_depth)
    check_layout(layout)
    if not isinstance(v, np.ndarray) or v.dtype != np.float32 or v.ndim != 3:
        raise QLayerError("quantize_and_tile takes a C×H×W float32 array")
    geo = geometry(v.shape, align)
    low, high = check_extremes(v.min(), v.max(), mode)  # Q-2.4 (NaN propagates into min/max)
    lo, hi = float(low), float(high)
    side = SideInfo(lo, hi, mode)
    levels = 2**n - 1
    picture = np.empty(geo.picture_shape, dtype=sample_dtype(n))
    ch, cw = geo.content_height, geo.content_width
    if hi > lo:  # a constant tensor stays all 0
        q = np.empty(v.size, dtype=picture.dtype)
        _quantize_flat(v.reshape(-1), lo, levels / (hi - lo), levels, q)
        if geo.rows * geo.cols > geo.channels:  # T-4.1: unused slots are 0
            picture[:ch, :cw] = 0
        _place(q, *v.shape, geo.rows, geo.cols, layout == "quilt", geo.picture_width, picture.reshape(-1))  # type: ignore[call-arg]
    else:
        picture[:ch, :cw] = 0
    if geo.picture_height > ch:  # T-4.2: replicate the last row, then the last column
        picture[ch:, :cw] = picture[ch - 1, :cw]
    if geo.picture_width > cw:
        picture[:, cw:] = picture[:, cw - 1 : cw]
    return picture, side
