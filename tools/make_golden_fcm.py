#!/usr/bin/env python3
"""Write golden/qlayer-fcm/vectors.json and its arrays: the FCM quantizer of spec Q-7, from the spec text alone.

A second opinion, independent of cfc_ref/ (spec C-1.2): nothing here imports cfc_ref or shares its code. The
arithmetic is scalar Python (floats are IEEE binary64, each operation rounded once, no fused multiply-add) with
binary32 rounding through ``struct``; numpy only draws inputs and reads and writes .npy files. It follows Q-1.1..Q-1.4,
Q-2.1, Q-2.4, Q-3.5, Q-4.1 and Q-7.1..Q-7.4.

    python tools/make_golden_fcm.py                 # first time; refuses if the manifest exists
    python tools/make_golden_fcm.py --extend        # add the vectors the tool has gained; pinned vectors and their
                                                    # files stay byte for byte (refused if a regenerated one differs)
    python tools/make_golden_fcm.py --regenerate    # overwrite; say why in the commit message (spec C-1.2)

Each vector carries the configured range twice: ``range`` ([lo, hi] as JSON numbers, only where both are finite:
JSON has no NaN or infinity) and ``range_hex`` (always: each value's 8 bytes as IEEE-754 binary64, little-endian,
in hex, as the side info is written; the exact values the adapter receives, before Q-7.1's binary32 rounding).
"""

from __future__ import annotations

import argparse
import json
import math
import shutil
import struct
import sys
import tempfile
from pathlib import Path

import numpy as np

SCHEMA = "cfc-ref-golden/1"
OUT = Path(__file__).resolve().parent.parent / "golden" / "qlayer-fcm"
GENERATOR = "tools/make_golden_fcm.py (scalar Python, independent of cfc_ref/)"
FLT_MAX = 3.4028234663852886e38
BELOW_HALFWAY = 3.4028235677973362e38  # the largest binary64 below FLT_MAX + ulp/2: f32 gives FLT_MAX
HALFWAY = 3.4028235677973366e38  # FLT_MAX + ulp/2 = 2^128 - 2^103: a tie, f32 rounds it to even, +Inf


class Rejected(Exception):
    """The input Q-1 or Q-7.1 rejects (an implementation raises QLayerError)."""


# ---------------------------------------------------------------- arithmetic, spec O-1.2, Q-1, Q-7
def f32(x: float) -> float:
    """O-1.2's f32 (ties to even); beyond binary32's range ±Inf (Q-1.1: struct refuses those, C's cast gives Inf)."""
    try:
        return struct.unpack("<f", struct.pack("<f", x))[0]
    except OverflowError:
        return math.copysign(math.inf, x)


def next32(x: float, towards: float) -> float:
    """The binary32 neighbour of the binary32 value ``x`` in the direction of ``towards``."""
    return float(np.nextafter(np.float32(x), np.float32(towards)))


def configured_range(lo: float, hi: float) -> tuple[float, float]:
    """Q-7.1: each value rounded to binary32 once, −0.0 made +0.0; both finite and lo < hi, else rejected."""
    lo32, hi32 = f32(lo) + 0.0, f32(hi) + 0.0  # x + 0.0 is +0.0 for either zero, x otherwise
    if not (math.isfinite(lo32) and math.isfinite(hi32) and lo32 < hi32):
        raise Rejected(f"range ({lo!r}, {hi!r}) is ({lo32!r}, {hi32!r}) in binary32")
    return lo32, hi32


def elements(v: np.ndarray) -> list[float]:
    """Q-1.1, Q-1.2, Q-1.4: a non-empty floating array, each element rounded to binary32, all finite."""
    if v.dtype.kind != "f":
        raise Rejected(f"{v.dtype} is not a floating type")
    if v.size == 0:
        raise Rejected("no elements")
    values = [f32(float(x)) for x in v.ravel()]
    if not all(math.isfinite(x) for x in values):
        raise Rejected("a non-finite element")
    return values


def levels(n: object) -> int:
    """Q-1.3: n an integer (never a boolean or a float), 1 <= n <= 16; returns L = 2^n − 1."""
    if type(n) is not int or not 1 <= n <= 16:
        raise Rejected(f"bit depth {n!r}")
    return 2**n - 1


def level(v: float, lo: float, hi: float, top: int) -> int:
    """Q-7.2 for one binary32 element: one division per element, the clamp, the product, floor."""
    d = hi - lo
    u = (v - lo) / d
    u_clamped = min(max(u, 0.0), 1.0)
    t = u_clamped * top
    return math.floor(t)


def dequantize(q: int, lo: float, hi: float, top: int) -> float:
    """Q-4.1 with the configured binary32 range (Q-7.4): the product and the sum each rounded, then f32."""
    step = (hi - lo) / top
    return f32(q * step + lo)


def fcm(v: np.ndarray, lo: float, hi: float, n: object) -> tuple[list[int], list[float], bytes, int]:
    """The FCM quantizer: (samples, de-quantized values, side info, clipped count), or ``Rejected``."""
    top = levels(n)
    values = elements(v)
    lo32, hi32 = configured_range(lo, hi)
    q = [level(x, lo32, hi32, top) for x in values]
    clipped = sum(1 for x in values if x < lo32 or x > hi32)  # outside [lo, hi]
    side = struct.pack("<ff", lo32, hi32)  # Q-7.4 = Q-2.1's layout; lo32, hi32 already +0.0 for a zero (Q-2.4)
    return q, [dequantize(k, lo32, hi32, top) for k in q], side, clipped


def boundary_pair(lo: float, hi: float, n: int, k: int) -> tuple[float, float]:
    """The largest binary32 element at level k − 1 and the smallest at level k (1 <= k <= L) of a binary32 range."""
    top = 2**n - 1
    v = min(max(f32(lo + k * ((hi - lo) / top)), lo), hi)
    while level(v, lo, hi, top) >= k:
        v = next32(v, -math.inf)
    while level(v, lo, hi, top) < k:
        v = next32(v, math.inf)
    return next32(v, -math.inf), v


def exact_level(v: float, lo: float, hi: float, n: int) -> bool:
    """Whether Q-7.2's t is exactly an integer for element v (a level boundary met exactly)."""
    top = 2**n - 1
    return (min(max((v - lo) / (hi - lo), 0.0), 1.0) * top).is_integer()


def scale_order_t(v: float, lo: float, hi: float, n: int) -> float:
    """t in Q-3.1's order (per-tensor scale L / d), which Q-7.2 forbids; used only to check that a vector probes it."""
    top = 2**n - 1
    return (v - lo) * (top / (hi - lo))


# ---------------------------------------------------------------- vectors
def b64hex(x: float) -> str:
    return struct.pack("<d", x).hex()


class Vectors:
    """Collects the vectors and writes their arrays into ``out``."""

    def __init__(self, out: Path) -> None:
        self.out = out
        self.vectors: list[dict] = []

    def add(self, vid: str, section: str, comment: str, flags: list[str], v: np.ndarray, lo: float, hi: float,
            n: object) -> None:
        assert vid.startswith("fcm_") and all(vid != e["id"] for e in self.vectors), vid
        np.save(self.out / f"{vid}_input.npy", np.ascontiguousarray(v))
        entry: dict = {"id": vid, "section": section, "comment": comment, "flags": flags,
                       "operation": "quantize_fixed", "bit_depth": n}
        if math.isfinite(lo) and math.isfinite(hi):
            entry["range"] = [lo, hi]
        entry |= {"range_hex": [b64hex(lo), b64hex(hi)], "input": f"{vid}_input.npy"}
        try:
            q, deq, side, clipped = fcm(v, lo, hi, n)
        except Rejected:
            assert vid.startswith("fcm_reject_"), f"{vid} is rejected"
            entry |= {"result": "invalid", "error": "QLayerError"}
        else:
            assert not vid.startswith("fcm_reject_"), f"{vid} is accepted"
            assert isinstance(n, int)
            dtype = np.uint8 if n <= 8 else np.dtype("<u2")
            np.save(self.out / f"{vid}_q.npy", np.array(q, dtype=dtype).reshape(v.shape))
            np.save(self.out / f"{vid}_dequantized.npy", np.array(deq, dtype="<f4").reshape(v.shape))
            entry |= {"result": "valid", "q": f"{vid}_q.npy", "side_info": side.hex(), "clipped": clipped,
                      "dequantized": f"{vid}_dequantized.npy"}
        self.vectors.append(entry)


def f4(values: list[float], shape: tuple[int, int, int]) -> np.ndarray:
    """A float32 C×H×W array of binary32 values (asserted: no value is rounded on the way)."""
    a = np.array(values, dtype="<f4").reshape(shape)
    assert np.array_equal(a.ravel().astype("<f8"), np.array(values, dtype="<f8"), equal_nan=True)
    return a


def vectors(out: Path) -> list[dict]:
    rng = np.random.default_rng(20240517)
    vs = Vectors(out)

    def inside(lo: float, hi: float, count: int) -> list[float]:
        return [min(max(f32(float(x)), lo), hi) for x in rng.uniform(lo, hi, count)]

    # typical features: Leaky-ReLU-like values, some outside the configured range on both sides
    for n in (8, 10, 12):
        x = rng.normal(0.3, 1.0, (3, 4, 7))
        v = np.where(x > 0, x, 0.1 * x).astype("<f4")
        vs.add(f"fcm_typical_{n}bit", "Q-7.2", f"Leaky-ReLU-like features, configured range [-0.125, 2.0], {n} bits",
               ["typical", "out-of-range"], v, -0.125, 2.0, n)
    for n in (1, 8, 16):
        shape = (4, 10, 12) if n > 1 else (2, 3, 5)
        v = rng.uniform(-1.5 - 0.825, 6.75 + 0.825, shape).astype("<f4")
        vs.add(f"fcm_spread_{n}bit", "Q-7.2", f"uniform over the range [-1.5, 6.75] widened by 10 % of d on each "
               f"side, {n} bits", ["spread", "out-of-range"], v, -1.5, 6.75, n)

    # exactly lo and exactly hi, in ranges where Q-3.1's per-tensor scale gives t < L at v = hi
    for n, lo, hi in ((1, -0.7727349996566772, 2.4211299419403076), (8, 0.11916632205247879, 1.58145010471344),
                      (10, -1.6660186052322388, 8.302730560302734), (12, -0.15135760605335236, 5.920263767242432),
                      (16, 0.40947049856185913, 2.5403504371643066)):
        t = scale_order_t(hi, lo, hi, n)
        assert t < 2**n - 1 and level(hi, lo, hi, 2**n - 1) == 2**n - 1
        below_hi = next32(hi, -math.inf)
        v = f4([hi, lo, hi, lo, hi, below_hi, lo, below_hi] + inside(lo, hi, 16), (2, 3, 4))
        vs.add(f"fcm_range_ends_{n}bit", "Q-7.2", f"elements exactly lo and hi, {n} bits: v = hi gives u = 1, q = L "
               f"(Q-3.1's scale L / d would give t = {t!r}, q = L - 1), the binary32 value below hi gives L - 1; "
               "v = lo and v = hi are not clipped",
               ["range-ends"] + (["bit-depth-edge"] if n in (1, 16) else []), v, lo, hi, n)

    # exact level boundaries: lo + k·δ with δ = 49/64, where t = k exactly (and L / d is inexact)
    delta, lo = 0.765625, -0.765625
    for n, shape in ((1, (1, 2, 3)), (8, (2, 8, 16)), (10, (4, 8, 32)), (12, (3, 8, 10)), (16, (3, 8, 10))):
        top = 2**n - 1
        hi = lo + top * delta
        count = shape[0] * shape[1] * shape[2]
        ks = list(range(top + 1)) if top + 1 == count else (
            [0, 1, 0, 1, 1, 0] if n == 1 else [0, top] + sorted(rng.choice(np.arange(1, top), count - 2, False)))
        vals = [lo + int(k) * delta for k in ks]
        assert all(exact_level(x, lo, hi, n) and level(x, lo, hi, top) == k for x, k in zip(vals, ks, strict=True))
        vs.add(f"fcm_level_boundaries_{n}bit", "Q-7.2", f"range [{lo}, {hi}] ({top} steps of 49/64), {n} bits: "
               f"element lo + k·49/64 gives t = k exactly and q = k, never k - 1",
               ["level-boundary"] + (["bit-depth-edge"] if n in (1, 16) else []),
               f4(vals, shape), lo, hi, n)

    # exact boundaries lo + j·δ (level k = 5j) where the step d / L = δ / 5 is inexact: t = (v - lo) / (d / L), one
    # division per element too but by Q-4.1's step, lands some of them on k - 1
    lo = -2.296875
    for n, count in ((8, 52), (12, 60), (16, 60)):
        top = 2**n - 1
        hi = lo + top // 5 * delta
        js = list(range(top // 5 + 1)) if count == top // 5 + 1 else [0, top // 5] + sorted(
            int(j) for j in rng.choice(np.arange(1, top // 5), count - 2, False))
        vals = [lo + j * delta for j in js]
        assert all(exact_level(x, lo, hi, n) and level(x, lo, hi, top) == 5 * j for x, j in zip(vals, js, strict=True))
        vs.add(f"fcm_step_order_{n}bit", "Q-7.2", f"range [{lo}, {hi}] ({top // 5} steps of 49/64 for {top} levels), "
               f"{n} bits: element lo + j·49/64 gives t = 5j exactly and q = 5j; dividing by the step d / L instead "
               "of by d gives 5j - 1 for some", ["level-boundary", "operation-order"], f4(vals, (2, 2, count // 4)),
               lo, hi, n)

    # both sides of level boundaries in ranges of arbitrary binary32 values: the largest element of level k - 1
    # and the smallest of level k, where arithmetic in another precision lands on the other side
    for n, lo, hi in ((8, -1.2345678806304932, 4.567890167236328), (10, -0.6180340051651001, 2.7182817459106445),
                      (12, -1.4142135381698608, 3.1415927410125732), (16, -0.5772156715393066, 1.6487212181091309)):
        top = 2**n - 1
        ks = sorted({int(k) for k in rng.integers(1, top + 1, 40)})
        vals = [x for k in ks for x in boundary_pair(lo, hi, n, k)]
        vals += inside(lo, hi, 80 - len(vals))
        vs.add(f"fcm_boundary_pairs_{n}bit", "Q-7.2", f"range [{lo!r}, {hi!r}], {n} bits: for {len(ks)} levels k, "
               "the largest binary32 element at level k - 1 and the smallest at level k", ["level-boundary", "spread"],
               f4(vals, (2, 5, 8)), lo, hi, n)

    # floor, never round to nearest: t = k + 0.25, k + 0.5, k + 0.75 and just below k + 1 all give q = k
    for n, lo in ((1, 0.0), (8, 0.0), (10, -512.0), (16, 0.0)):
        top = 2**n - 1
        hi = lo + top
        ks = [0, top - 1] + [int(k) for k in rng.integers(0, top, 4)]
        vals = [lo + k + f for k in ks for f in (0.25, 0.5, 0.75)] + [next32(lo + k + 1, -math.inf) for k in ks]
        vals += [lo + k for k in ks] + [hi] * 6
        vs.add(f"fcm_floor_{n}bit", "Q-7.2", f"range [{lo}, {hi}] at {n} bits (d = L): fractions 0.25, 0.5, 0.75 and "
               f"the largest binary32 below the next level all round down", ["floor"]
               + (["bit-depth-edge"] if n in (1, 16) else []), f4(vals, (2, 3, 6)), lo, hi, n)

    # far outside the range: q = 0 or L, never a wrapped or overflowed sample; the clipped count
    lo, hi = -1.5, 2.25
    for n in (1, 8, 10, 12, 16):
        top = 2**n - 1
        d = hi - lo
        outside = [f32(lo - d / (2 * top)), lo - d, -1000.0, -3.0e38, f32(hi + 1.5 * d / top), hi + d, 1000.0, 3.0e38,
                   FLT_MAX, -FLT_MAX]
        vals = [f32(x) for x in outside] + [lo, hi] + inside(lo, hi, 16)
        vs.add(f"fcm_outside_{n}bit", "Q-7.3", f"range [{lo}, {hi}] at {n} bits: elements below lo (t would be -0.5, "
               f"-L, ... unclamped) give 0, above hi (t would be L + 1.5, 2L, ...) give L; 10 are clipped",
               ["out-of-range"] + (["bit-depth-edge"] if n in (1, 16) else []), f4(vals, (2, 2, 7)), lo, hi, n)

    # ranges configured as decimals that binary32 cannot hold: the binary32 values are used, and sent
    for n, lo, hi in ((1, -0.1, 0.7), (8, -0.3, 1.7), (10, 0.1, 3.3), (12, -2.2, 4.6), (16, -0.7, 0.9)):
        lo32, hi32 = f32(lo), f32(hi)
        top = 2**n - 1
        ks = sorted({1, top} | {int(k) for k in rng.integers(1, top + 1, 10)})
        pairs = [x for k in ks for x in boundary_pair(lo32, hi32, n, k)]
        vals = [lo32, hi32] + pairs
        vals += inside(lo32, hi32, 24 - len(vals) % 24 if len(vals) % 24 else 0)
        vs.add(f"fcm_range_rounding_{n}bit", "Q-7.1", f"range [{lo}, {hi}] given in binary64 is [{lo32!r}, {hi32!r}] "
               f"in binary32, {n} bits: elements at those two values and on both sides of level boundaries",
               ["range-rounding", "level-boundary"] + (["bit-depth-edge"] if n in (1, 16) else []),
               f4(vals, (2, 3, len(vals) // 6)), lo, hi, n)

    # signed zeros in the configured range: sent as +0.0
    for vid, n, lo, hi, comment in (
            ("fcm_negative_zero_lo_8bit", 8, -0.0, 1.5, "lo configured as -0.0 is sent as +0.0 (bytes 00000000)"),
            ("fcm_negative_zero_hi_10bit", 10, -2.5, -0.0, "hi configured as -0.0 is sent as +0.0"),
            ("fcm_underflow_lo_12bit", 12, -1e-50, 0.75, "lo = -1e-50 rounds to -0.0 in binary32 and is sent as +0.0"),
            ("fcm_underflow_hi_16bit", 16, -3.0, -1e-60, "hi = -1e-60 rounds to -0.0 in binary32 and is sent as +0.0"),
    ):
        lo32, hi32 = configured_range(lo, hi)
        tiny = 2.0**-149  # inside next to a zero bound, or just below lo = 0 (above hi = 0 it would give u = 1)
        vals = [-0.0, 0.0, lo32, hi32, -0.0] + inside(lo32, hi32, 12) + [lo32 - 1.0, hi32 + 1.0, -tiny,
                                                                          tiny if lo32 == 0 else hi32 + 0.25]
        flags = ["signed-zero"] + (["range-rounding"] if "underflow" in vid else [])
        vs.add(vid, "Q-7.1", f"{comment}; elements ±0.0 (not clipped), one below and one above the range",
               flags, f4(vals, (1, 3, 7)), lo, hi, n)

    # binary64 input: each element is quantized as its binary32 rounding
    for n, lo, hi in ((1, -0.5, 1.25), (8, -0.5, 1.25), (10, 0.0, 3.0), (16, -0.5, 1.25)):
        top = 2**n - 1
        ks = sorted({top} | {int(k) for k in rng.integers(1, top + 1, 11)})
        vals = []
        for k in ks:
            below, at = boundary_pair(lo, hi, n, k)
            vals += [at - 0.375 * (at - below), below + 0.375 * (at - below)]  # round to `at` and to `below`
        vals += [hi + 0.25 * (next32(hi, math.inf) - hi), lo - 0.25 * (lo - next32(lo, -math.inf))]
        vals += [-1e-50, 1e-50] if lo == 0.0 else [lo, hi]
        vals += [float(x) for x in rng.normal(0.4, 0.6, 30 - len(vals))]
        v = np.array(vals, dtype="<f8").reshape(2, 3, 5)
        assert all(f32(x) != x for x in vals[:2 * len(ks) + 2])
        vs.add(f"fcm_float64_input_{n}bit", "Q-1.1", f"a binary64 tensor at {n} bits, range [{lo}, {hi}]: elements "
               f"between two binary32 values on each side of level boundaries, just above hi and just below lo, "
               f"{'±1e-50 (binary32 ±0.0 = lo: not clipped), ' if lo == 0.0 else ''}each quantized and counted as its "
               f"binary32 rounding", ["float64-input"] + (["bit-depth-edge"] if n in (1, 16) else []), v, lo, hi, n)
    v = np.array([BELOW_HALFWAY, -BELOW_HALFWAY, 0.5, 1.0, -1.0, FLT_MAX], dtype="<f8").reshape(1, 2, 3)
    vs.add("fcm_float64_overflow_bound_16bit", "Q-1.1", "binary64 elements ±3.4028235677973362e38 round to ±FLT_MAX "
           "(finite: accepted, clipped); the next binary64 value rounds to +Inf (fcm_reject_float64_overflow_halfway)",
           ["float64-input", "extreme"], v, -1.0, 1.0, 16)

    # the clipped count: elements at lo and hi are inside, their binary32 neighbours outside are clipped
    for n, lo, hi in ((8, -0.75, 1.5), (12, 0.2890625, 5.03125)):
        out_lo, out_hi = next32(lo, -math.inf), next32(hi, math.inf)
        vals = [lo, lo, hi, hi, next32(lo, math.inf), next32(hi, -math.inf), out_lo, out_hi, lo - 1.0, out_hi,
                hi + 1.0] + inside(lo, hi, 13)
        vs.add(f"fcm_clip_count_{n}bit", "Q-7.3", f"range [{lo}, {hi}], {n} bits: lo, hi and their inner neighbours "
               "are not clipped; the outer neighbours and two further out are (2 below, 3 above: 5)",
               ["out-of-range", "range-ends"], f4(vals, (2, 3, 4)), lo, hi, n)
    lo, hi = f32(-1e30), 1.0
    above = next32(hi, math.inf)
    assert above - lo == hi - lo and 2.0**73 - lo > hi - lo
    vs.add("fcm_clip_absorbed_16bit", "Q-7.3", "range [-1e30, 1] (binary32), 16 bits: v = 1.0000001192092896 is "
           "above hi, but f64(v - lo) = d, so u = 1 and the clamp changes nothing; it is outside [lo, hi] and counted "
           "(clipped = 2 with v = 2^73, where u > 1); the same holds above hi = 0 for any element below 2^-53·|lo|",
           ["out-of-range", "extreme"],
           f4([hi, above, 2.0**73, 0.0, lo, -1.0], (1, 2, 3)), lo, hi, 16)

    # extreme and subnormal ranges
    lo, hi = f32(-3.0e38), f32(3.0e38)
    for n in (8, 16):
        vals = [lo, hi, -FLT_MAX, FLT_MAX, -1.0e38, -1.0, 0.0, 1e-30, 1.0e38, 2.9e38] + [
            f32(float(x)) for x in rng.uniform(lo, hi, 8)]
        vs.add(f"fcm_wide_range_{n}bit", "Q-7.2", f"range [-3e38, 3e38], {n} bits: d = 6e38 is finite in binary64 "
               "(beyond binary32's range); ±FLT_MAX are clipped", ["extreme", "out-of-range"],
               f4([f32(x) for x in vals], (2, 3, 3)), -3.0e38, 3.0e38, n)
    tiny = 2.0**-149
    for n in (8, 12):
        vals = [k * tiny for k in range(0, 210, 7)]
        vs.add(f"fcm_subnormal_range_{n}bit", "Q-7.2", f"range [3, 203]·2^-149 (subnormal binary32), {n} bits",
               ["subnormal", "extreme", "out-of-range"], f4(vals, (1, 5, 6)), 3 * tiny, 203 * tiny, n)
    vs.add("fcm_constant_input_10bit", "Q-7.2", "every element 0.625 inside the range [-1, 2] at 10 bits: q = "
           f"{level(0.625, -1.0, 2.0, 1023)} everywhere (the range is configured, so a constant tensor is no special "
           "case)", ["constant-input"],
           f4([0.625] * 12, (2, 2, 3)), -1.0, 2.0, 10)
    vs.add("fcm_max_float_hi_12bit", "Q-7.1", "hi = 3.4028235677973362e38 rounds to FLT_MAX (finite: accepted); "
           "1 binary64 ulp more rounds to +Inf (fcm_reject_range_halfway)", ["extreme", "range-rounding"],
           f4([f32(x) for x in (FLT_MAX, 1.0e38, 0.0, -1.0, -2.0, 3.0e38)], (1, 3, 2)), -1.0, BELOW_HALFWAY, 12)

    # rejected ranges
    small = rng.normal(0.0, 1.0, (1, 2, 3)).astype("<f4")
    for vid, lo, hi, flags, comment in (
            ("fcm_reject_range_equal", 1.5, 1.5, [], "lo = hi"),
            ("fcm_reject_range_reversed", 2.0, 1.0, [], "lo > hi"),
            ("fcm_reject_range_reversed_ulp", 1.0000001192092896, 1.0, [], "lo one binary32 ulp above hi"),
            ("fcm_reject_range_rounds_equal", 1.0, 1.00000001, ["range-rounding"],
             "lo < hi in binary64, both 1.0 in binary32"),
            ("fcm_reject_range_rounds_equal_large", 16777216.0, 16777217.0, ["range-rounding"],
             "2^24 and 2^24 + 1: the tie rounds to even, both 16777216 in binary32"),
            ("fcm_reject_range_underflow_equal", 0.0, 1e-50, ["range-rounding"], "1e-50 rounds to 0.0 = lo"),
            ("fcm_reject_range_signed_zeros", -0.0, 0.0, ["signed-zero"], "-0.0 and +0.0: both +0.0"),
            ("fcm_reject_range_nan_lo", math.nan, 1.0, ["non-finite"], "lo NaN"),
            ("fcm_reject_range_nan_hi", 0.0, math.nan, ["non-finite"], "hi NaN"),
            ("fcm_reject_range_pos_inf_hi", 0.0, math.inf, ["non-finite"], "hi +Inf"),
            ("fcm_reject_range_neg_inf_lo", -math.inf, 0.0, ["non-finite"], "lo -Inf"),
            ("fcm_reject_range_infinite", -math.inf, math.inf, ["non-finite"], "lo -Inf and hi +Inf"),
            ("fcm_reject_range_1e39", 0.0, 1e39, ["non-finite", "range-rounding"],
             "hi = 1e39 is finite in binary64, +Inf in binary32"),
            ("fcm_reject_range_minus_1e39", -1e39, 0.0, ["non-finite", "range-rounding"],
             "lo = -1e39 is -Inf in binary32"),
            ("fcm_reject_range_halfway", -1.0, HALFWAY, ["non-finite", "range-rounding", "extreme"],
             "hi = 2^128 - 2^103, halfway between FLT_MAX and 2^128: rounds to even, +Inf"),
    ):
        vs.add(vid, "Q-7.1", f"configured range rejected: {comment}", ["bad-range"] + flags, small, lo, hi, 8)

    # rejected bit depths and inputs (Q-1.1..Q-1.4, which Q-7 applies unchanged)
    for vid, n, flags, comment in (
            ("fcm_reject_bit_depth_0", 0, ["bit-depth-edge"], "bit depth 0"),
            ("fcm_reject_bit_depth_17", 17, ["bit-depth-edge"], "bit depth 17"),
            ("fcm_reject_bit_depth_bool", True, ["bit-depth-type"], "bit depth true (a boolean is not an integer)"),
            ("fcm_reject_bit_depth_float", 8.0, ["bit-depth-type"], "bit depth 8.0 (a float is not an integer)"),
    ):
        vs.add(vid, "Q-1.3", comment, flags, small, -1.0, 1.0, n)
    for vid, section, flags, comment, v in (
            ("fcm_reject_nan_input", "Q-1.2", ["non-finite"], "NaN in V", f4([0.5, math.nan, 0.25], (1, 1, 3))),
            ("fcm_reject_pos_inf_input", "Q-1.2", ["non-finite"], "+Inf in V", f4([0.5, 0.0, math.inf], (1, 3, 1))),
            ("fcm_reject_neg_inf_input", "Q-1.2", ["non-finite"], "-Inf in V (below the range: still rejected)",
             f4([-math.inf, 0.5], (1, 1, 2))),
            ("fcm_reject_float64_1e39", "Q-1.2", ["non-finite", "float64-input"],
             "binary64 1e39 in V: finite, but +Inf after Q-1.1's rounding", np.array([[[0.5, 1e39]]], dtype="<f8")),
            ("fcm_reject_float64_minus_1e39", "Q-1.2", ["non-finite", "float64-input"],
             "binary64 -1e39 in V: -Inf in binary32", np.array([[[-1e39], [0.5]]], dtype="<f8")),
            ("fcm_reject_float64_overflow_halfway", "Q-1.2", ["non-finite", "float64-input", "extreme"],
             "binary64 2^128 - 2^103 in V rounds to +Inf (3.4028235677973362e38, one ulp less, is accepted)",
             np.array([[[0.0, HALFWAY]]], dtype="<f8")),
            ("fcm_reject_empty", "Q-1.4", ["empty"], "a 0×2×3 tensor", np.zeros((0, 2, 3), dtype="<f4")),
            ("fcm_reject_empty_float64", "Q-1.4", ["empty", "float64-input"], "a 2×0×3 binary64 tensor",
             np.zeros((2, 0, 3), dtype="<f8")),
            ("fcm_reject_int_input", "Q-1.1", ["non-float"], "an int32 tensor",
             np.arange(6, dtype="<i4").reshape(1, 2, 3)),
            ("fcm_reject_bool_input", "Q-1.1", ["non-float"], "a boolean tensor",
             np.array([True, False, True], dtype="?").reshape(1, 1, 3)),
    ):
        vs.add(vid, section, comment, flags, v, -1.0, 1.0, 8)
    return vs.vectors


# ---------------------------------------------------------------- the manifest and its modes (spec C-1.2)
def files_of(vector: dict) -> list[str]:
    return [vector[key] for key in ("input", "q", "dequantized") if key in vector]


def write(mode: str | None) -> None:
    """Write the manifest: ``mode`` None (first time), ``extend`` or ``regenerate``."""
    manifest = OUT / "vectors.json"
    if manifest.exists() and mode is None:
        sys.exit(f"{manifest} exists; pass --extend or --regenerate (and say why in the commit message)")
    with tempfile.TemporaryDirectory() as tmp:
        fresh = Path(tmp)
        made = vectors(fresh)
        ids = [v["id"] for v in made]
        assert len(ids) == len(set(ids)), "duplicate vector ids"
        if mode == "extend" and manifest.exists():
            pinned = json.loads(manifest.read_text())
            kept = {v["id"]: v for v in pinned["vectors"]}
            for v in made:  # a pinned vector never changes: it must come out of the tool exactly as pinned
                if v["id"] in kept and (v != kept[v["id"]] or any(
                        (fresh / f).read_bytes() != (OUT / f).read_bytes() for f in files_of(v))):
                    sys.exit(f"qlayer-fcm/{v['id']} no longer matches its pin: regenerate deliberately instead")
            new = [v for v in made if v["id"] not in kept]
            for name in (f for v in new for f in files_of(v)):
                if (OUT / name).exists():
                    sys.exit(f"qlayer-fcm/{name} exists: a new vector may not replace a file")
                shutil.copyfile(fresh / name, OUT / name)
            listed = pinned["vectors"] + new
            print(f"qlayer-fcm: keeping {len(kept)} pinned vectors, adding {len(new)}")
        else:
            OUT.mkdir(parents=True, exist_ok=True)
            for old in OUT.glob("*.npy"):
                old.unlink()
            for name in (f for v in made for f in files_of(v)):
                shutil.copyfile(fresh / name, OUT / name)
            listed = made
        body = {"schema": SCHEMA, "version": 1, "component": "qlayer-fcm", "spec": "spec/qlayer.md",
                "generator": GENERATOR, "count": len(listed), "vectors": listed}
        manifest.write_text(json.dumps(body, indent=1) + "\n")
    print(f"{manifest.relative_to(OUT.parent.parent)}: {body['count']} vectors")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--regenerate", action="store_true", help="overwrite the existing golden files")
    mode.add_argument("--extend", action="store_true", help="keep every pinned vector and its files, add new ones")
    args = parser.parse_args()
    write("regenerate" if args.regenerate else "extend" if args.extend else None)


if __name__ == "__main__":
    main()
