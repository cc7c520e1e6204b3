"""Q-layer: min/max quantization to n-bit integers and its inverse (paper §3.1, eqs. 2–3; spec/qlayer.md).

This is the readable reference. Every line follows a clause of spec/qlayer.md; the arithmetic is binary64 in the
order the spec writes it, so a second implementation can agree bit for bit.

Which code a run uses (spec E-12, ``cfc_ref.implementations``): the pipeline quantizes float32 tensors with the
fast twin ``cfc_ref.fast.qlayer_numpy.Quantizer`` (the same steps into reused buffers), proven equal to
:func:`quantize` by ``tests/test_qlayer.py::test_fast_quantizer_equals_reference``; ``cfc-ref run --reference`` runs
this module instead. De-quantization is :func:`dequantize` in both. The batched torch version is
``cfc_ref.fast.qlayer_torch`` (tested equal too).

    q, side = quantize(v, bit_depth=8)            # eq. (2)
    v_hat = dequantize(q, side, bit_depth=8)      # eq. (3)
    side.to_bytes()  -> 8 bytes (minmax) or 4 bytes (relu), little-endian float32

    q, side, clipped = quantize_fixed(v, fixed_range(-26.4, 28.4), bit_depth=10)   # FCM's variant (Q-7)
"""

from __future__ import annotations

import math
import reprlib
import struct
from dataclasses import dataclass
from typing import Literal

import numpy as np

from cfc_ref.errors import QLayerError

QuantMode = Literal["minmax", "relu"]
QUANT_MODES: tuple[QuantMode, ...] = ("minmax", "relu")
MIN_BIT_DEPTH, MAX_BIT_DEPTH = 1, 16


@dataclass(frozen=True)
class SideInfo:
    """The Q-layer side info: min(V) and max(V) as binary32 (spec Q-2). In ``relu`` mode ``lo`` is 0 and not sent."""

    lo: float
    hi: float
    mode: QuantMode = "minmax"

    def __post_init__(self) -> None:
        check_side_info(self.lo, self.hi, self.mode)

    @property
    def nbytes(self) -> int:
        """Bytes on the wire: 8 for ``minmax``, 4 for ``relu`` (spec Q-2.1, Q-2.2)."""
        return 8 if self.mode == "minmax" else 4

    def to_bytes(self) -> bytes:
        """Serialise as little-endian binary32: ``lo, hi`` (minmax) or ``hi`` (relu) (spec Q-2.1, Q-2.2)."""
        if self.mode == "minmax":
            return struct.pack("<ff", self.lo, self.hi)
        return struct.pack("<f", self.hi)

    @classmethod
    def from_bytes(cls, data: bytes, mode: QuantMode = "minmax") -> SideInfo:
        """Parse side info bytes; wrong length or invalid values raise :class:`QLayerError` (spec Q-2.3)."""
        check_mode(mode)
        if not isinstance(data, (bytes, bytearray, memoryview)):
            raise QLayerError(f"side info must be bytes, got {type(data).__name__}")
        expected = 8 if mode == "minmax" else 4
        if len(data) != expected:
            raise QLayerError(f"{mode} side info must be {expected} bytes, got {len(data)}")
        if mode == "minmax":
            lo, hi = struct.unpack("<ff", data)
        else:
            lo, (hi,) = 0.0, struct.unpack("<f", data)
        return cls(lo, hi, mode)


def check_mode(mode: str) -> None:
    if mode not in QUANT_MODES:
        raise QLayerError(f"unknown quantization mode {mode!r}; expected one of {QUANT_MODES}")


def check_bit_depth(bit_depth: object) -> int:
    """Spec Q-1.3: an integer 1..16 (bools are not bit depths)."""
    if isinstance(bit_depth, bool) or not isinstance(bit_depth, (int, np.integer)):
        raise QLayerError(f"bit depth must be an integer, got {bit_depth!r}")
    if not MIN_BIT_DEPTH <= int(bit_depth) <= MAX_BIT_DEPTH:
        raise QLayerError(f"bit depth must be in {MIN_BIT_DEPTH}..{MAX_BIT_DEPTH}, got {bit_depth}")
    return int(bit_depth)


def check_side_info(lo: float, hi: float, mode: str) -> None:
    """Spec Q-2.3: finite, lo <= hi; relu: lo == 0 and hi >= 0."""
    check_mode(mode)
    if not (np.isfinite(lo) and np.isfinite(hi)):
        raise QLayerError(f"side info must be finite, got lo={lo!r} hi={hi!r}")
    if lo > hi:
        raise QLayerError(f"side info has lo > hi ({lo!r} > {hi!r})")
    if mode == "relu" and (lo != 0.0 or hi < 0.0):
        raise QLayerError(f"relu side info needs lo == 0 and hi >= 0, got lo={lo!r} hi={hi!r}")


def sample_dtype(bit_depth: int) -> np.dtype:
    """Spec Q-3.5: uint8 for n <= 8, uint16 otherwise."""
    return np.dtype(np.uint8) if bit_depth <= 8 else np.dtype(np.uint16)


def as_feature_tensor(v: object) -> np.ndarray:
    """Spec Q-1.1, Q-1.2, Q-1.4: a non-empty, finite binary32 array."""
    arr = np.asarray(v)
    if arr.dtype.kind != "f":
        raise QLayerError(f"feature tensor must be floating point, got dtype {arr.dtype}")
    if arr.size == 0:
        raise QLayerError("feature tensor is empty; min/max are undefined")
    with np.errstate(over="ignore"):  # Q-1.1 before Q-1.2: a binary64 value beyond binary32's range becomes ±Inf
        arr = arr.astype(np.float32, copy=False)
    if not np.isfinite(arr).all():
        raise QLayerError("feature tensor contains NaN or infinity (after conversion to binary32)")
    return arr


def check_extremes(lo: float, hi: float, mode: QuantMode) -> tuple[float, float]:
    """The side info of a tensor whose min and max are ``lo`` and ``hi``: the Q-1.2 finiteness check (a NaN or ±Inf
    anywhere shows in the min or the max), Q-2.4's −0.0 → +0.0, and in ``relu`` mode the non-negativity check with lo
    set to 0 (Q-2.2). The one check every Q-layer variant uses (the batched one applies it per item)."""
    check_mode(mode)
    low, high = float(lo) + 0.0, float(hi) + 0.0
    if not (math.isfinite(low) and math.isfinite(high)):
        raise QLayerError("feature tensor contains NaN or infinity")
    if mode == "relu":
        if low < 0.0:
            raise QLayerError(f"relu mode needs a non-negative tensor, min is {low!r}")
        low = 0.0
    return low, high


def side_info_of(v: object, mode: QuantMode = "minmax") -> SideInfo:
    """Spec Q-2.1 / Q-2.2: min and max of the tensor, exactly as binary32 values."""
    arr = as_feature_tensor(v)
    lo, hi = check_extremes(arr.min(), arr.max(), mode)
    return SideInfo(lo, hi, mode)


def round_half_up(t: np.ndarray) -> np.ndarray:
    """Spec Q-3.2: nearest integer, ties up, computed as floor(t) + (t - floor(t) >= 0.5) — never floor(t + 0.5)."""
    whole = np.floor(t)
    return whole + (t - whole >= 0.5)


def quantize_with(v: object, side: SideInfo, bit_depth: int) -> np.ndarray:
    """Eq. (2) with given side info (spec Q-3). Values outside [lo, hi] are clamped (Q-3.3)."""
    arr = as_feature_tensor(v)
    n = check_bit_depth(bit_depth)
    levels = 2**n - 1
    d = float(side.hi) - float(side.lo)  # Python floats are binary64 (spec O-1.2)
    if d == 0.0:  # constant tensor
        return np.zeros(arr.shape, dtype=sample_dtype(n))
    # Q-3.1 departs from eq. (2)'s literal (v − lo) / d · L: one division per tensor, then a product per element, in
    # one fixed order so that every implementation gives the same samples (spec ).
    scale = levels / d
    t = (arr.astype(np.float64) - side.lo) * scale
    q = np.clip(round_half_up(t), 0, levels)
    return q.astype(sample_dtype(n))


def quantize(v: object, bit_depth: int, mode: QuantMode = "minmax") -> tuple[np.ndarray, SideInfo]:
    """Eq. (2): quantize a feature tensor to n-bit integers; returns the samples and the side info (spec Q-1..Q-3)."""
    check_bit_depth(bit_depth)
    side = side_info_of(v, mode)
    return quantize_with(v, side, bit_depth), side


def dequantize(q: object, side: SideInfo, bit_depth: int) -> np.ndarray:
    """Eq. (3): map n-bit samples back to binary32 features (spec Q-4)."""
    n = check_bit_depth(bit_depth)
    levels = 2**n - 1
    samples = np.asarray(q)
    if samples.dtype.kind not in "ui":
        raise QLayerError(f"quantized samples must be integers, got dtype {samples.dtype}")
    if samples.size and (samples.min() < 0 or samples.max() > levels):
        raise QLayerError(f"quantized samples must lie in 0..{levels} for {n} bits")
    step = (float(side.hi) - float(side.lo)) / levels  # eq. (3)'s q · d / L with d / L once per tensor (Q-4.3)
    v_hat = samples.astype(np.float64) * step + side.lo  # two roundings, product then sum
    return v_hat.astype(np.float32)


def fixed_range(lo: object, hi: object) -> SideInfo:
    """Q-7.1: a configured range, each value rounded to binary32 once (−0.0 → +0.0), finite and ``lo < hi``."""
    values = []
    for value in (lo, hi):
        if isinstance(value, bool) or not isinstance(value, (int, float, np.floating, np.integer)):
            raise QLayerError(f"a configured range holds two numbers, got {reprlib.repr(value)}")
        try:
            with np.errstate(over="ignore"):
                values.append(float(np.float32(value)) + 0.0)
        except OverflowError:  # an integer beyond binary64: beyond binary32 as well
            values.append(math.inf)
    low, high = values
    if not (math.isfinite(low) and math.isfinite(high)):
        raise QLayerError("a configured range must be finite as binary32, got "
                          f"[{reprlib.repr(lo)}, {reprlib.repr(hi)}]")
    if not low < high:
        raise QLayerError(f"a configured range needs lo < hi as binary32, got [{reprlib.repr(lo)}, {reprlib.repr(hi)}] "
                          f"→ [{low!r}, {high!r}]")
    return SideInfo(low, high, "minmax")


def quantize_fixed(v: object, side: SideInfo, bit_depth: int) -> tuple[np.ndarray, SideInfo, int]:
    """FCM's quantizer (spec Q-7): the configured range ``side`` (from :func:`fixed_range`), one division per
    element, clamp to [0, 1], times L, floor (Q-7.2); also the number of elements outside the range (Q-7.3). The side
    info sent is the range itself and de-quantization is :func:`dequantize` (Q-7.4)."""
    arr = as_feature_tensor(v)
    n = check_bit_depth(bit_depth)
    if side.mode != "minmax" or not side.lo < side.hi:
        raise QLayerError(f"the FCM quantizer needs a configured range lo < hi, got {side!r}")
    levels = 2**n - 1
    d = float(side.hi) - float(side.lo)
    wide = arr.astype(np.float64)
    clipped = int(np.count_nonzero((wide < side.lo) | (wide > side.hi)))
    u = np.clip((wide - side.lo) / d, 0.0, 1.0)  # Q-7.2: (v − lo) / d per element, then u' = min(max(u, 0), 1)
    q = np.floor(u * levels)  # t = u' × L, rounded down
    return q.astype(sample_dtype(n)), side, clipped


def error_bound(side: SideInfo, bit_depth: int) -> float:
    """Spec Q-5.1: the largest |v - v_hat| a conforming implementation may produce for this side info."""
    levels = 2 ** check_bit_depth(bit_depth) - 1
    d = float(side.hi) - float(side.lo)
    m = max(abs(side.lo), abs(side.hi))
    return d / (2 * levels) * (1 + 2.0**-40) + 2.0**-24 * m + 2.0**-149
