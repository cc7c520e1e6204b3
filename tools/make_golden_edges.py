#!/usr/bin/env python3
"""The wire vectors of issue 30, written by ``make_golden.py --extend`` after the pinned ones (spec C-1.2).

Each probes a rule where the earlier vectors probed it at one bit depth, one bound, one layout or one value only:
every rounding rule in both bit-depth classes (1–8: uint8, 9–16: uint16), every bound of a field at and one past
it, non-square layouts, the de-quantizer's sample types and received −0.0, the binary32 conversion before the
finiteness check, and the writer's checks. Like ``make_golden.py`` it is scalar Python following the spec text
(``fractions`` for the exact fused multiply-add a vector must tell apart), and imports nothing from cfc_ref.
"""

from __future__ import annotations

import math
import struct
from fractions import Fraction
from pathlib import Path

import numpy as np
from make_golden import (
    container_bytes,
    dequantize_scalar,
    f32,
    grid,
    invalid_container,
    quantize_scalar,
    raw_record,
    record_bytes,
    side_bytes,
    side_info,
    tile_scalar,
    valid_container,
)


def f32_ieee(x: float) -> float:
    """O-1.2's f32 including overflow: a binary64 value beyond binary32's range rounds to ±Inf (``struct`` raises
    exactly there)."""
    try:
        return f32(x)
    except OverflowError:
        return math.copysign(math.inf, x)


def f32_bits(x: float) -> int:
    return struct.unpack("<I", struct.pack("<f", x))[0]


def f32_from_bits(bits: int) -> float:
    return struct.unpack("<f", struct.pack("<I", bits))[0]


def fused_dequantize(q: int, lo: float, hi: float, n: int) -> float:
    """What Q-4.1 forbids: q·step + lo as one fused multiply-add (one rounding to binary64), then f32."""
    step = (hi - lo) / (2**n - 1)
    return f32(float(Fraction(q) * Fraction(step) + Fraction(lo)))


# ---------------------------------------------------------------- Q-layer
def qlayer_vectors(out: Path) -> list[dict]:
    rng = np.random.default_rng(30_0001)
    vectors: list[dict] = []

    def quantize(vid: str, section: str, comment: str, flags: list[str], v: np.ndarray, n: int,
                 mode: str = "minmax") -> list[int]:
        np.save(out / f"{vid}_input.npy", v)
        entry = {"id": vid, "section": section, "comment": comment, "flags": flags, "operation": "quantize",
                 "bit_depth": n, "mode": mode, "input": f"{vid}_input.npy"}
        values = [f32_ieee(float(x)) for x in v.ravel()]  # Q-1.1: binary32 first, then Q-1.2's check
        if any(not math.isfinite(x) for x in values) or (mode == "relu" and min(values) < 0):
            entry.update(result="invalid", error="QLayerError")
            vectors.append(entry)
            return []
        lo, hi = side_info(values, mode)
        q = [quantize_scalar(x, lo, hi, n) for x in values]
        dtype = np.uint8 if n <= 8 else np.dtype("<u2")
        np.save(out / f"{vid}_q.npy", np.array(q, dtype=dtype).reshape(v.shape))
        np.save(out / f"{vid}_dequantized.npy",
                np.array([dequantize_scalar(k, lo, hi, n) for k in q], dtype="<f4").reshape(v.shape))
        entry.update(result="valid", q=f"{vid}_q.npy", side_info=side_bytes(lo, hi, mode).hex(),
                     dequantized=f"{vid}_dequantized.npy")
        vectors.append(entry)
        return q

    def dequantize(vid: str, section: str, comment: str, flags: list[str], q: np.ndarray, side: bytes, n: int,
                   mode: str = "minmax", error: bool = False) -> None:
        np.save(out / f"{vid}_q.npy", q)
        entry = {"id": vid, "section": section, "comment": comment, "flags": flags, "operation": "dequantize",
                 "bit_depth": n, "mode": mode, "q": f"{vid}_q.npy", "side_info": side.hex()}
        if error:
            entry.update(result="invalid", error="QLayerError")
        else:
            lo, hi = struct.unpack("<ff", side) if mode == "minmax" else (0.0, struct.unpack("<f", side)[0])
            deq = [dequantize_scalar(int(k), lo, hi, n) for k in q.ravel()]
            np.save(out / f"{vid}_dequantized.npy", np.array(deq, dtype="<f4").reshape(q.shape))
            entry.update(result="valid", dequantized=f"{vid}_dequantized.npy")
        vectors.append(entry)

    # round half up in both classes: scale exactly 1, so every half-integer sample is a tie
    for n in (4, 10, 12, 16):
        levels = 2**n - 1
        v = np.array([0.0, 0.5, 1.5, 2.5, levels - 0.5, float(levels)], dtype="<f4").reshape(1, 2, 3)
        q = quantize(f"q_ties_{n}bit", "Q-3.2", f"range [0, {levels}] at {n} bits: scale 1, so 0.5, 1.5, 2.5 and "
                     f"{levels - 0.5} are exact ties and round up (ties-to-even rounds 0.5 and 2.5 down)",
                     ["ties"] + (["bit-depth-edge"] if n == 16 else []), v, n)
        assert q == [0, 1, 2, 3, levels, levels]
    quantize("q_relu_ties_12bit", "Q-3.2", "relu mode at 12 bits, range [0, 4095] (lo = 0 implied, min(V) = 0.5): "
             "0.5, 1.5 and 2.5 round up", ["relu", "ties"],
             np.array([0.5, 1.5, 2.5, 4095.0], dtype="<f4").reshape(1, 1, 4), 12, "relu")

    # not floor(t + 0.5), in the uint16 class: t = 0.49999999999999994 for the middle element
    below_half = 0.5 - 2.0**-54
    for n in (10, 16):
        levels = 2**n - 1
        found = None
        for _ in range(20000):
            hi = f32(float(rng.uniform(1.0, 100.0)))
            target = below_half * (hi + hi / levels) / levels  # D = v − lo with lo ≈ −hi/L: t = D·s
            x = f32(target * (1 - 2.0**-26))
            s = levels / (hi + x)
            delta = f32(below_half / s - x)
            bits = f32_bits(delta)
            for k in range(-64, 65):
                v = f32_from_bits(bits + k)
                if (v - -x) * s == below_half:
                    found = (-x, v, hi)
                    break
            if found:
                break
        assert found, f"no t = 0.49999999999999994 found at {n} bits"
        lo, mid, hi = found
        assert math.floor((mid - lo) * (levels / (hi - lo)) + 0.5) == 1
        q = quantize(f"q_round_half_up_not_floor_plus_half_{n}bit", "Q-3.2", f"{n} bits: the middle element gives "
                     "t = 0.49999999999999994, so q = 0; floor(t + 0.5) gives 1", ["ties"],
                     np.array([lo, mid, hi], dtype="<f4").reshape(1, 1, 3), n)
        assert q[1] == 0

    # then: binary64 input is rounded to binary32 first
    q = quantize("q_float64_rounded_first", "Q-1.1", "float64 [0, 0.0058823529311764705, 1] at 8 bits: rounded to "
                 "binary32 first the middle value gives q = 2; computed from the binary64 value it gives 1",
                 ["float64-input"], np.array([0.0, 0.0058823529311764705, 1.0], dtype="<f8").reshape(1, 1, 3), 8)
    assert q == [0, 2, 255]
    for n in (10, 16):  # a float64 value just below a rounding boundary whose binary32 rounding lies above it
        levels = 2**n - 1
        while True:
            lo, hi = sorted(f32(float(x)) for x in rng.normal(0, 3, 2))
            k = int(rng.integers(1, levels - 1))
            boundary = lo + (k + 0.5) * (hi - lo) / levels
            above = f32(boundary)
            if above < boundary:
                above = f32_from_bits(f32_bits(above) + (1 if above > 0 else -1))
            ulp = abs(f32_from_bits(f32_bits(above) + 1) - above)
            x = (above - ulp / 2 + boundary) / 2
            if f32(x) == above and quantize_scalar(x, lo, hi, n) == k and quantize_scalar(above, lo, hi, n) == k + 1:
                break
        v = np.array([lo, x, hi, *rng.uniform(lo, hi, 3)], dtype="<f8").reshape(1, 2, 3)
        q = quantize(f"q_float64_rounded_first_{n}bit", "Q-1.1", f"float64 at {n} bits: the second value lies "
                     f"just below a rounding boundary and its binary32 rounding just above it: q = {k + 1}, not {k}",
                     ["float64-input"], v, n)
        assert q[1] == k + 1
    quantize("q_reject_float64_overflow", "Q-1.2", "float64 1e39 is finite, but +Inf once rounded to binary32 "
             "(Q-1.1 comes first): rejected", ["float64-input", "non-finite"],
             np.array([0.0, 1e39, 1.0], dtype="<f8").reshape(1, 1, 3), 8)
    quantize("q_reject_float64_negative_overflow", "Q-1.2", "float64 -4e38 rounds to -Inf in binary32: rejected",
             ["float64-input", "non-finite"], np.array([-4e38, 0.0], dtype="<f8").reshape(1, 1, 2), 12)
    quantize("q_float64_underflow", "Q-1.1", "float64 1e-50 rounds to +0.0 in binary32: a valid sample at lo",
             ["float64-input", "subnormal"], np.array([1e-50, 0.5, 1.0], dtype="<f8").reshape(1, 1, 3), 8)

    # statistics spread over the range an implementation meets: every bit depth, scales 1e-3 to 1e3, offsets
    for n in range(1, 17):
        scale = 10.0 ** float(rng.uniform(-3, 3))
        offset = float(rng.choice([0.0, -scale, 3 * scale]))
        v = (rng.standard_normal((4, 16, 16)) * scale + offset).astype("<f4")
        v = np.where(v > offset, v, offset + 0.1 * (v - offset)).astype("<f4")  # leaky, as after the network
        quantize(f"q_spread_{n}bit", "Q-3.1", f"1024 leaky-ReLU-like samples at {n} bits, scale {scale:.3g}, "
                 f"offset {offset:.3g}", ["spread"] + (["bit-depth-edge"] if n in (1, 16) else []), v, n)

    # two roundings, never one fused multiply-add (O-1.2), in both classes. Where q·step nearly cancels lo,
    # the result is small and its binary32 spacing fine, so the two ways of rounding give other binary32 values.
    cases = [(8, -0.0011905832216143608, 0.0890970528125763, 90)]
    for n in (10, 12, 16):
        levels = 2**n - 1
        while True:
            lo = f32(-float(rng.uniform(0.5, 2.0)))
            q0 = int(rng.integers(1, levels))
            hi = f32(-lo * (levels - q0) / q0)  # lo + q0·(hi − lo)/L is then within rounding of 0
            if hi > lo and fused_dequantize(q0, lo, hi, n) != dequantize_scalar(q0, lo, hi, n):
                cases.append((n, lo, hi, q0))
                break
    for n, lo, hi, q0 in cases:
        levels = 2**n - 1
        others = [int(x) for x in rng.integers(0, levels + 1, 61)]
        samples = sorted({0, levels, q0, *others})
        differs = [k for k in samples if fused_dequantize(k, lo, hi, n) != dequantize_scalar(k, lo, hi, n)]
        assert q0 in differs, (n, lo, hi, q0)
        q = np.array(samples, dtype=np.uint8 if n <= 8 else "<u2").reshape(1, 1, -1)
        dequantize(f"dq_no_fused_multiply_add_{n}bit", "Q-4.1", f"{n} bits, (lo, hi) = ({lo!r}, {hi!r}): "
                   f"q·step + lo rounded twice; one fused multiply-add (C's default -ffp-contract) gives another "
                   f"binary32 value for q = {q0}", ["fused-multiply-add"], q, struct.pack("<ff", lo, hi), n)

    # the de-quantizer's sample types: any integer type with values in [0, L]; nothing else
    q8 = np.array([[[0, 7, 128, 255]]])
    side8 = struct.pack("<ff", -1.5, 2.5)
    dequantize("dq_uint16_samples_at_8bit", "Q-4.2", "uint16 samples at 8 bits, all within 0..255: accepted",
               ["sample-type"], q8.astype("<u2"), side8, 8)
    dequantize("dq_int32_samples_at_8bit", "Q-4.2", "int32 samples at 8 bits, all within 0..255: accepted",
               ["sample-type"], q8.astype("<i4"), side8, 8)
    dequantize("dq_reject_int32_negative", "Q-4.2", "an int32 sample of -1: outside 0..255", ["sample-type"],
               np.array([[[0, -1, 3]]], dtype="<i4"), side8, 8, error=True)
    dequantize("dq_reject_float_samples", "Q-4.2", "float32 samples: not integers", ["sample-type"],
               np.array([[[0.0, 1.0]]], dtype="<f4"), side8, 8, error=True)
    dequantize("dq_reject_bool_samples", "Q-4.2", "boolean samples: not integers", ["sample-type"],
               np.array([[[True, False]]], dtype="?"), side8, 1, error=True)
    dequantize("dq_reject_sample_range_10bit", "Q-4.2", "a sample of 1024 at 10 bits", ["dequantizer"],
               np.array([[[0, 1023, 1024]]], dtype="<u2"), side8, 10, error=True)
    dequantize("dq_reject_sample_range_16bit_int32", "Q-4.2", "an int32 sample of 65536 at 16 bits",
               ["dequantizer", "sample-type"], np.array([[[0, 65536]]], dtype="<i4"), side8, 16, error=True)
    dequantize("dq_sample_range_16bit", "Q-4.2", "samples 0 and 65535 at 16 bits: the bound itself",
               ["bit-depth-edge"], np.array([[[0, 65535, 32768]]], dtype="<u2"), side8, 16)

    # received −0.0: the formula gives +0.0 (+0 + −0 = +0); the de-quantizer does not reject it
    negative_zero = struct.pack("<f", -0.0)
    dequantize("dq_negative_zero_lo", "Q-4.1", "received lo = -0.0 (a writer sends +0.0, Q-2.4): accepted; q = 0 "
               "gives +0.0 (0·step + (−0.0) = +0.0)", ["signed-zero"], np.array([[[0, 255, 128]]], dtype=np.uint8),
               negative_zero + struct.pack("<f", 1.0), 8)
    dequantize("dq_negative_zero_constant", "Q-4.1", "received lo = hi = -0.0: a constant tensor, every sample "
               "+0.0", ["signed-zero", "constant"], np.array([[[0, 0]]], dtype="<u2"), negative_zero * 2, 12)
    dequantize("dq_relu_negative_zero_hi", "Q-4.1", "relu side info hi = -0.0: not below 0, accepted; +0.0",
               ["signed-zero", "relu"], np.array([[[0, 0, 0]]], dtype=np.uint8), negative_zero, 8, "relu")

    # every value check and length, both modes
    for vid, side, mode, comment in (
            ("dq_reject_pos_inf_hi", struct.pack("<ff", 0.0, math.inf), "minmax", "+Inf max"),
            ("dq_reject_nan_lo", struct.pack("<ff", math.nan, 1.0), "minmax", "NaN min"),
            ("dq_reject_relu_inf", struct.pack("<f", math.inf), "relu", "relu side info +Inf"),
            ("dq_reject_relu_nan", struct.pack("<f", math.nan), "relu", "relu side info NaN"),
            ("dq_reject_long_side", struct.pack("<ff", 0.0, 1.0) + b"\0", "minmax", "9 bytes of minmax side info"),
            ("dq_reject_relu_long_side", struct.pack("<ff", 0.0, 1.0), "relu", "8 bytes of relu side info"),
            ("dq_reject_relu_short_side", b"\0\0\0", "relu", "3 bytes of relu side info")):
        dequantize(vid, "Q-2.3", comment, ["dequantizer"], np.array([[[0, 1]]], dtype=np.uint8), side, 8, mode,
                   error=True)
    # Q-3.1's order of operations, in both classes. lo, hi and the samples lie on a grid of 2^-10 with
    # hi − lo = 2·L·m·2^-10 (m odd, so s = L/d is inexact) and v − lo = (2k + 1)·m·2^-10: every exact t is a tie
    # k + 1/2, and each other order of the same operations lands on the other side of it for some k
    variants = {
        "distributed": ("v·s − lo·s",
                        lambda v, lo, hi, n: v * ((2**n - 1) / (hi - lo)) - lo * ((2**n - 1) / (hi - lo))),
        "divide_last": ("(v − lo)·L / d", lambda v, lo, hi, n: (v - lo) * (2**n - 1) / (hi - lo)),
        "reciprocal": ("(v − lo)·(L·(1/d))", lambda v, lo, hi, n: (v - lo) * ((2**n - 1) * (1 / (hi - lo)))),
        "binary32": ("every operation in binary32",
                     lambda v, lo, hi, n: f32(f32(v - lo) * f32((2**n - 1) / f32(hi - lo)))),
    }

    def rounded(t: float, n: int) -> int:
        f = math.floor(t)
        return min(max(f + 1 if t - f >= 0.5 else f, 0), 2**n - 1)

    unit = 2.0**-10
    for n in (8, 12, 16):
        levels = 2**n - 1
        ks = [k for k in [*range(levels - 64, levels), *range(int(levels * 0.95), int(levels * 0.95) + 32),
                          *((1 << e) - 1 - i for e in range(2, n) for i in range(3))] if 0 <= k < levels]
        for name, (written, variant) in variants.items():
            found: list[float] = []
            for m in range(3, (1 << 24) // (2 * levels), 2):
                for j in (1, max(1, ((1 << 24) - 2 * levels * m) // 2) | 1):  # lo near v, and lo far below it
                    lo, hi = -j * unit, (2 * levels * m - j) * unit
                    if f32(lo) != lo or f32(hi) != hi:
                        continue
                    found = [v for v in (((2 * k + 1) * m - j) * unit for k in ks) if f32(v) == v
                             and rounded(variant(v, lo, hi, n), n) != quantize_scalar(v, lo, hi, n)][:3]
                    if found:
                        break
                if found:
                    break
            assert found, (name, n)
            quantize(f"q_operation_order_{name}_{n}bit", "Q-3.1", f"{n} bits, (lo, hi) = ({lo!r}, {hi!r}): every "
                     f"sample's exact t is a tie k + 1/2 and s = L/d is inexact; computed as {written} the last "
                     f"{len(found)} sample(s) round to the other side of their tie", ["ties", "operation-order"],
                     np.array([lo, hi, *found], dtype="<f4").reshape(1, 1, -1), n)

    return vectors


# ---------------------------------------------------------------- tiling
def tiling_vectors(out: Path) -> list[dict]:
    rng = np.random.default_rng(30_0002)
    vectors: list[dict] = []

    def tile(shape: tuple[int, int, int], layout: str, align: int, flags: list[str], bits: int) -> None:
        vid = f"t_{layout}_{'x'.join(map(str, shape))}_a{align}_{bits}bit"
        dtype = np.uint8 if bits <= 8 else np.dtype("<u2")
        q = rng.integers(0, 2**bits, size=shape).astype(dtype)
        np.save(out / f"{vid}_input.npy", q)
        np.save(out / f"{vid}_picture.npy", tile_scalar(q, layout, align))
        vectors.append({"id": vid, "section": "T-3.1" if layout == "quilt" else "T-2.1",
                        "comment": f"{'×'.join(map(str, shape))} → grid {grid(shape[0])[0]}×{grid(shape[0])[1]}, "
                                   f"{layout}, align {align}, {bits}-bit samples", "flags": flags,
                        "operation": "tile", "shape": list(shape), "layout": layout, "align": align,
                        "input": f"{vid}_input.npy", "picture": f"{vid}_picture.npy", "result": "valid"})

    for shape, layout, align, bits in (((6, 3, 5), "quilt", 4, 10), ((33, 2, 7), "tile", 4, 12),
                                       ((1280, 2, 3), "tile", 8, 8), ((1280, 2, 3), "quilt", 8, 16),
                                       ((2, 9, 1), "quilt", 1, 1), ((5, 1, 11), "tile", 2, 16)):
        tile(shape, layout, align, ["non-square", "padding"] if align > 1 else ["non-square", "no-padding"], bits)

    def untile_reject(vid: str, shape: list[int], picture: tuple[int, int], comment: str, section: str = "T-5.2",
                      dtype: str = "|u1", align: int = 8, flags: list[str] | None = None) -> None:
        np.save(out / f"{vid}_picture.npy", np.zeros(picture, dtype=dtype))
        vectors.append({"id": vid, "section": section, "comment": comment, "flags": flags or ["bad-size"],
                        "operation": "untile", "shape": shape, "layout": "tile", "align": align,
                        "picture": f"{vid}_picture.npy", "result": "invalid", "error": "TilingError"})

    untile_reject("t_reject_larger_picture", [1, 5, 5], (9, 9), "a 9×9 picture for 1×5×5 at align 8 (8×8): "
                  "larger is refused, never cropped")
    untile_reject("t_reject_taller_picture", [3, 5, 7], (16, 24), "16×24 for 3×5×7 at align 8 (8×24): one more "
                  "block row")
    untile_reject("t_reject_narrower_picture", [3, 5, 7], (8, 16), "8×16 for 3×5×7 at align 8 (8×24)",
                  dtype="<u2")
    # T-4.3 is about the padded picture, in rows as in columns
    edge = rng.integers(0, 256, size=(1, 16881, 8)).astype(np.uint8)
    np.save(out / "t_tile_1x16881x8_a8_input.npy", edge)
    np.save(out / "t_tile_1x16881x8_a8_picture.npy", tile_scalar(edge, "tile", 8))
    vectors.append({"id": "t_tile_1x16881x8_a8", "section": "T-4.3", "comment": "16881 rows pad to 16888: the "
                    "padded picture exactly at the limit", "flags": ["size-limit", "padding"], "operation": "tile",
                    "shape": [1, 16881, 8], "layout": "tile", "align": 8, "input": "t_tile_1x16881x8_a8_input.npy",
                    "picture": "t_tile_1x16881x8_a8_picture.npy", "result": "valid"})
    np.save(out / "t_reject_1x16884x1_a16_input.npy", np.zeros((1, 16884, 1), dtype=np.uint8))
    vectors.append({"id": "t_reject_1x16884x1_a16", "section": "T-4.3", "comment": "16884 rows are within the limit "
                    "but pad to 16896 at align 16: refused (the padded size counts)",
                    "flags": ["too-large", "size-limit"], "operation": "tile", "shape": [1, 16884, 1],
                    "layout": "tile", "align": 16, "input": "t_reject_1x16884x1_a16_input.npy",
                    "result": "invalid", "error": "TilingError"})
    untile_reject("t_reject_untile_padded_too_large", [2, 8441, 4], (16888, 8), "2×8441×4 pads to 16896 rows at "
                  "align 16: the untiler refuses the layout by T-4.3 whatever picture it is given", section="T-4.3",
                  align=16, flags=["too-large", "size-limit"])
    return vectors


# ---------------------------------------------------------------- container
def container_vectors(out: Path) -> list[dict]:
    rng = np.random.default_rng(30_0003)
    vectors: list[dict] = []

    def valid(*args: object) -> None:
        vectors.append(valid_container(*args))  # type: ignore[arg-type]

    def invalid(*args: object) -> None:
        vectors.append(invalid_container(*args))  # type: ignore[arg-type]

    def refuse_pack(vid: str, comment: str, records: list[dict]) -> None:
        vectors.append({"id": vid, "section": "W-4.3", "comment": comment, "flags": ["writer"], "operation": "pack",
                        "result": "invalid", "error": "ContainerError", "records": records})

    def one(name: str, c: int, n: int, h: int = 1, w: int = 1) -> dict:
        q = rng.integers(0, 2**n, (c, h, w)).astype(np.uint8 if n <= 8 else "<u2")
        return raw_record(name, q, n, "tile", 8, "minmax", -1.0, 1.0)

    # bounds at and one past them (W-1, W-2)
    valid("w_channels_65535", "W-2.1", "C = 65535, the bound: a 1×1 tensor on a 128×512 grid", ["field", "bound"],
          [one("c", 65535, 8)])
    wide = one("c", 65535, 8)
    payload = bytes(256 * 256)  # what C = 65536 (a 256×256 grid) would need: only the bound refuses it
    invalid("w_reject_channels_65536", "W-2.1", "C = 65536 with a 1×1 tensor: the picture (256×256) would be "
            "legal, the channel count is not", ["field", "bound"],
            container_bytes([record_bytes(wide, shape=[65536, 1, 1], payload=payload.hex())]))
    valid("w_count_255", "W-1.1", "255 records, the most tensor_count allows", ["count", "bound", "multi-tensor"],
          [one(f"t{i}", 1, 8) for i in range(255)])
    invalid("w_reject_count_256", "W-1.1", "256 records and tensor_count 256: one past the bound",
            ["count", "bound"], container_bytes([record_bytes(one(f"t{i}", 1, 8)) for i in range(256)]))
    valid("w_name_64", "W-2.1", "a 64-byte name, the longest allowed", ["field", "bound"], [one("n" * 64, 3, 10, 2, 2)])
    valid("w_names_case_sensitive", "W-2.1", "max_17 and MAX_17: names are compared byte for byte, "
          "case-sensitively, so they are distinct", ["multi-tensor", "names"],
          [one("max_17", 2, 8, 2, 3), one("MAX_17", 2, 8, 2, 3)])
    invalid("w_reject_duplicate_name_bytes", "W-2.1", "two records named conv_16, byte for byte",
            ["multi-tensor", "names"], container_bytes([record_bytes(one("conv_16", 1, 8)),
                                                        record_bytes(one("conv_16", 2, 8))]))
    valid("w_align_64_quilt_16bit", "W-2.1", "align 64 (the bound), quilt, 16-bit raw samples",
          ["field", "bound", "quilt"],
          [raw_record("q", rng.integers(0, 65536, (3, 5, 2)).astype("<u2"), 16, "quilt", 64, "minmax", -2.0, 2.0)])

    # side info values (W-4.1 by) and received −0.0
    r8 = one("max_11", 3, 8, 4, 5)
    for vid, side, comment in (("w_reject_side_pos_inf", struct.pack("<ff", 0.0, math.inf), "+Inf max"),
                               ("w_reject_side_neg_inf", struct.pack("<ff", -math.inf, 1.0), "-Inf min")):
        invalid(vid, "W-4.1", f"{comment} in side info (Q-2.3)", ["field", "non-finite"],
                container_bytes([record_bytes(r8, side_info=side.hex())]))
    relu = raw_record("r", rng.integers(0, 4096, (2, 2, 3)).astype("<u2"), 12, "tile", 1, "relu", 0.0, 6.0)
    invalid("w_reject_relu_inf", "W-4.1", "relu side info +Inf", ["relu", "non-finite"],
            container_bytes([record_bytes(relu, side_info=struct.pack("<f", math.inf).hex())]))
    valid("w_side_negative_zero", "W-4.1", "side info lo = -0.0 (bytes 00000080): not a Q-2.3 violation, accepted "
          "and carried as sent", ["signed-zero"], [dict(r8, side_info=struct.pack("<ff", -0.0, 1.0).hex())])

    # raw samples in the uint16 class (W-3.1)
    for n, sample in ((10, 1024), (12, 4096)):
        rec = one("x", 2, n, 3, 4)
        samples = bytearray.fromhex(rec["payload"])
        samples[2:4] = struct.pack("<H", sample)
        invalid(f"w_reject_raw_sample_{n}bit", "W-3.1", f"a {n}-bit raw sample of {sample}: above 2^n - 1",
                ["field", "bit-depth-edge"], container_bytes([record_bytes(rec, payload=samples.hex())]))
    # the length check (W-4.2)
    invalid("w_reject_4_bytes", "W-4.2", "the magic alone", ["truncated"], b"CFCR")
    invalid("w_reject_12_bytes", "W-4.2", "12 bytes: a header and a correct CRC, but tensor_count 1 and no record",
            ["truncated", "count"], container_bytes([], count=1))

    # the writer's refusals of values (W-4.3)
    refuse_pack("w_pack_reject_side_nan", "NaN max in side info", [dict(r8, side_info=struct.pack(
        "<ff", 0.0, math.nan).hex())])
    refuse_pack("w_pack_reject_side_inf", "+Inf max in side info", [dict(r8, side_info=struct.pack(
        "<ff", 0.0, math.inf).hex())])
    refuse_pack("w_pack_reject_side_order", "lo > hi in side info", [dict(r8, side_info=struct.pack(
        "<ff", 2.0, 1.0).hex())])
    refuse_pack("w_pack_reject_relu_negative", "relu side info with max < 0", [dict(relu, side_info=struct.pack(
        "<f", -1.0).hex())])
    rec4 = one("s", 2, 4, 2, 2)
    bad4 = bytearray.fromhex(rec4["payload"])
    bad4[1] = 16
    refuse_pack("w_pack_reject_raw_sample_4bit", "a 4-bit raw sample of 16", [dict(rec4, payload=bad4.hex())])
    rec10 = one("s", 2, 10, 2, 2)
    bad10 = bytearray.fromhex(rec10["payload"])
    bad10[0:2] = struct.pack("<H", 1024)
    refuse_pack("w_pack_reject_raw_sample_10bit", "a 10-bit raw sample of 1024", [dict(rec10, payload=bad10.hex())])
    refuse_pack("w_pack_reject_channels_65536", "C = 65536", [dict(wide, shape=[65536, 1, 1], payload=payload.hex())])
    refuse_pack("w_pack_reject_name_65", "a 65-byte name", [dict(r8, name="n" * 65)])
    refuse_pack("w_pack_reject_count_256", "256 records", [one(f"t{i}", 1, 8) for i in range(256)])
    return vectors


vectors_fn = {"qlayer": qlayer_vectors, "tiling": tiling_vectors, "container": container_vectors}
