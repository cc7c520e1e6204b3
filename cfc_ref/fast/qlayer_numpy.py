"""Q-layer fast path in numpy: the spec's binary64 steps (Q-3.1, Q-3.2) into reused buffers, no temporaries.

Allocating fresh float64 temporaries dominates the readable ``cfc_ref.qlayer`` at feature-map sizes; a
``Quantizer`` keeps one set of buffers per shape and bit depth and reuses them image after image. Results are
identical to the reference (tested, spec Q-6.1). Not thread-safe: one Quantizer per worker.
"""

from __future__ import annotations

import numpy as np

from cfc_ref.errors import QLayerError
from cfc_ref.qlayer import QuantMode, SideInfo, check_bit_depth, check_extremes, check_mode, sample_dtype


class Quantizer:
    """``Quantizer(shape, bit_depth)(v) -> (q, side)``, equal to ``qlayer.quantize(v, bit_depth, mode)``.

    The returned ``q`` is a buffer owned by the quantizer: it is overwritten by the next call (copy it to keep it).
    """

    def __init__(self, shape: tuple[int, ...], bit_depth: int, mode: QuantMode = "minmax") -> None:
        self.bit_depth = check_bit_depth(bit_depth)
        check_mode(mode)
        self.mode = mode
        self.shape = tuple(shape)
        self._t = np.empty(self.shape, np.float64)
        self._whole = np.empty(self.shape, np.float64)
        self._round_up = np.empty(self.shape, np.bool_)
        self._q = np.empty(self.shape, sample_dtype(self.bit_depth))

    def __call__(self, v: np.ndarray) -> tuple[np.ndarray, SideInfo]:
        if v.shape != self.shape or v.dtype != np.float32:
            raise QLayerError(f"this Quantizer takes float32 {self.shape}, got {v.dtype} {v.shape}")
        low, high = check_extremes(v.min(), v.max(), self.mode)  # Q-2.4 (min/max propagate NaN)
        lo, hi = float(low), float(high)
        side = SideInfo(lo, hi, self.mode)
        levels = 2**self.bit_depth - 1
        if hi == lo:
            self._q.fill(0)
            return self._q, side
        t, whole = self._t, self._whole
        np.subtract(v, lo, out=t, dtype=np.float64)  # in the spec's order
        np.multiply(t, levels / (hi - lo), out=t)
        np.floor(t, out=whole)
        np.subtract(t, whole, out=t)
        np.greater_equal(t, 0.5, out=self._round_up)
        np.add(whole, self._round_up, out=whole)
        np.clip(whole, 0, levels, out=whole)
        np.copyto(self._q, whole, casting="unsafe")
        return self._q, side
