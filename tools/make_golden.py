#!/usr/bin/env python3
"""Write golden/<component>/vectors.json and arrays from an implementation independent of cfc_ref/ (spec C-1.2).

Everything here follows the spec text directly with scalar Python arithmetic (Python floats are IEEE binary64,
``struct`` gives binary32 rounding); it imports nothing from cfc_ref, so the golden files are a second opinion,
not a copy of the code under test. numpy is used only to draw inputs and to read/write .npy files.

    python tools/make_golden.py                 # refuses if golden files exist
    python tools/make_golden.py --extend        # add the vectors the tool has gained; pinned vectors and their
                                                # files stay byte for byte (refused if a regenerated one differs)
    python tools/make_golden.py --regenerate    # overwrite; say why in the commit message (spec C-1.2)

The vectors of issue 30 (every rounding rule at both bit-depth classes, every bound at and past it, non-square
layouts, −0.0, sample types) are written by ``make_golden_edges.py`` with their own random draws, after these.
"""

from __future__ import annotations

import argparse
import json
import math
import shutil
import struct
import sys
import tempfile
import zlib
from pathlib import Path

import numpy as np

SCHEMA = "cfc-ref-golden/1"
ROOT = Path(__file__).resolve().parent.parent / "golden"


# ---------------------------------------------------------------- Q-layer, spec/qlayer.md, scalar form
def f32(x: float) -> float:
    """Round a binary64 value to binary32 (ties to even), spec O-1.2."""
    return struct.unpack("<f", struct.pack("<f", x))[0]


def side_info(values: list[float], mode: str) -> tuple[float, float]:
    lo, hi = min(values) + 0.0, max(values) + 0.0
    return (0.0, hi) if mode == "relu" else (lo, hi)


def side_bytes(lo: float, hi: float, mode: str) -> bytes:
    return struct.pack("<f", hi) if mode == "relu" else struct.pack("<ff", lo, hi)


def quantize_scalar(v: float, lo: float, hi: float, n: int) -> int:
    levels = 2**n - 1
    d = hi - lo
    if d == 0.0:
        return 0
    s = levels / d
    t = (v - lo) * s
    f = math.floor(t)
    q = f + 1 if t - f >= 0.5 else f
    return min(max(q, 0), levels)


def dequantize_scalar(q: int, lo: float, hi: float, n: int) -> float:
    step = (hi - lo) / (2**n - 1)
    return f32(q * step + lo)


def qlayer_vectors(out: Path) -> list[dict]:
    rng = np.random.default_rng(20181007)
    vectors: list[dict] = []

    def add_quantize(vid: str, section: str, comment: str, flags: list[str], v: np.ndarray, n: int,
                     mode: str = "minmax") -> None:
        np.save(out / f"{vid}_input.npy", v)
        entry = {"id": vid, "section": section, "comment": comment, "flags": flags, "operation": "quantize",
                 "bit_depth": n, "mode": mode, "input": f"{vid}_input.npy"}
        values = [f32(float(x)) for x in v.ravel()]  # other floating types are converted first
        bad = (any(not math.isfinite(x) for x in values) or not 1 <= n <= 16
               or (mode == "relu" and min(values) < 0))
        if bad:
            entry.update(result="invalid", error="QLayerError")
        else:
            lo, hi = side_info(values, mode)
            q = [quantize_scalar(x, lo, hi, n) for x in values]
            deq = [dequantize_scalar(k, lo, hi, n) for k in q]
            dtype = np.uint8 if n <= 8 else np.dtype("<u2")
            np.save(out / f"{vid}_q.npy", np.array(q, dtype=dtype).reshape(v.shape))
            np.save(out / f"{vid}_dequantized.npy", np.array(deq, dtype="<f4").reshape(v.shape))
            entry.update(result="valid", q=f"{vid}_q.npy", side_info=side_bytes(lo, hi, mode).hex(),
                         dequantized=f"{vid}_dequantized.npy")
        vectors.append(entry)

    def leaky(shape: tuple[int, ...], scale: float = 1.0) -> np.ndarray:
        x = rng.normal(0.0, scale, size=shape)
        return np.where(x > 0, x, 0.1 * x).astype("<f4")

    for n in (8, 10, 12):
        add_quantize(f"q_leaky_{n}bit", "Q-3.1", f"Leaky-ReLU-like features, {n} bits, min/max side info",
                     ["typical"], leaky((4, 5, 6)), n)
    add_quantize("q_yolo_like_8bit", "Q-3.1", "a 64×13×13 tensor at the paper's 8 bits", ["typical", "large"],
                 leaky((64, 13, 13), 3.0), 8)
    add_quantize("q_1bit", "Q-1.3", "smallest bit depth", ["bit-depth-edge"], leaky((2, 3, 4)), 1)
    add_quantize("q_16bit", "Q-1.3", "largest bit depth, uint16 samples", ["bit-depth-edge"], leaky((2, 3, 4)), 16)
    add_quantize("q_ties_8bit", "Q-3.2", "range [0, 510] at 8 bits: scale is exactly 0.5, odd integers are exact "
                 "ties and round up (ties-to-even would round half of them down)", ["ties"],
                 np.arange(0, 511, dtype="<f4").reshape(1, 7, 73), 8)
    add_quantize("q_ties_1bit", "Q-3.2", "t = 0.5 exactly rounds up to 1", ["ties", "bit-depth-edge"],
                 np.array([0.0, 0.5, 1.0], dtype="<f4").reshape(1, 1, 3), 1)
    add_quantize("q_ties_2bit", "Q-3.2", "range [0, 6] at 2 bits: scale 0.5, t = 0.5, 1.5, 2.5 round up",
                 ["ties"], np.arange(0, 7, dtype="<f4").reshape(1, 1, 7), 2)
    add_quantize("q_constant", "Q-3.4", "max == min: every sample is 0 and de-quantizes to min exactly",
                 ["constant"], np.full((3, 2, 2), 3.25, dtype="<f4"), 8)
    add_quantize("q_constant_negative_zero", "Q-2.4", "all zeros, some -0.0: side info is +0.0 bytes",
                 ["constant", "signed-zero"], np.array([0.0, -0.0, 0.0, -0.0], dtype="<f4").reshape(1, 2, 2), 10)
    add_quantize("q_negative_zero_min", "Q-2.4", "minimum is a signed zero, serialised as +0.0", ["signed-zero"],
                 np.array([-0.0, 1.0, 2.0, 0.25], dtype="<f4").reshape(1, 2, 2), 8)
    add_quantize("q_relu", "Q-2.2", "relu mode: only max is sent (4 bytes), lo = 0 implied (min(V) = 0.125 here, "
                 "so minmax would give other samples)", ["relu"],
                 np.maximum(leaky((3, 4, 5)), 0).astype("<f4") + np.float32(0.125), 8, "relu")
    add_quantize("q_relu_all_zero", "Q-2.2", "relu mode on an all-zero tensor", ["relu", "constant"],
                 np.zeros((2, 2, 2), dtype="<f4"), 12, "relu")
    add_quantize("q_relu_negative", "Q-2.2", "relu mode with a negative element must be rejected", ["relu"],
                 np.array([0.5, -0.25, 1.0], dtype="<f4").reshape(1, 1, 3), 8, "relu")
    add_quantize("q_wide_range", "Q-5.1", "values near ±3e38: binary64 arithmetic cannot overflow", ["extreme"],
                 np.array([-3.0e38, 0.0, 1.0, 3.0e38], dtype="<f4").reshape(1, 2, 2), 12)
    add_quantize("q_subnormal_range", "Q-5.1", "range of a few subnormals", ["extreme", "subnormal"],
                 np.array([1e-45, 3e-45, 7e-45, 0.0], dtype="<f4").reshape(1, 2, 2), 8)
    add_quantize("q_division_rounding", "Q-3.1", "for v = 0, IEEE division s = L / d gives "
                 "t = 15.499999999999998 (q = 15); s = L * (1 / d) rounds twice, t = 15.500000000000002 (q = 16)",
                 ["ties", "extreme"],
                 np.array([-3.0e38, 0.0, 3.0e38], dtype="<f4").reshape(1, 1, 3), 5)
    add_quantize("q_single_element", "Q-3.4", "one element is a constant tensor", ["constant"],
                 np.array([-7.5], dtype="<f4").reshape(1, 1, 1), 8)
    for name, bad in (("nan", np.nan), ("pos_inf", np.inf), ("neg_inf", -np.inf)):
        v = leaky((1, 2, 3))
        v[0, 1, 2] = bad
        add_quantize(f"q_reject_{name}", "Q-1.2", f"{name} in the input must be rejected", ["non-finite"], v, 8)
    for n in (0, 17):
        add_quantize(f"q_reject_bit_depth_{n}", "Q-1.3", f"bit depth {n} is out of range", ["bit-depth-edge"],
                     leaky((1, 2, 2)), n)
    # de-quantizer input checks
    q_ok = np.array([[[0, 1], [2, 3]]], dtype=np.uint8)
    for vid, side, n, mode, comment in (
        ("dq_reject_nan_side", struct.pack("<ff", 0.0, float("nan")), 8, "minmax", "NaN max in side info"),
        ("dq_reject_inf_side", struct.pack("<ff", float("-inf"), 1.0), 8, "minmax", "-Inf min in side info"),
        ("dq_reject_lo_above_hi", struct.pack("<ff", 2.0, 1.0), 8, "minmax", "lo > hi"),
        ("dq_reject_relu_negative_max", struct.pack("<f", -1.0), 8, "relu", "relu side info with max < 0"),
        ("dq_reject_short_side", struct.pack("<f", 1.0), 8, "minmax", "4 bytes of minmax side info"),
        ("dq_reject_sample_range", struct.pack("<ff", 0.0, 1.0), 1, "minmax", "sample 3 at 1 bit is out of range"),
    ):
        np.save(out / f"{vid}_q.npy", q_ok)
        vectors.append({"id": vid, "section": "Q-4.2" if "range" in vid else "Q-2.3", "comment": comment,
                        "flags": ["dequantizer"], "operation": "dequantize", "bit_depth": n, "mode": mode,
                        "q": f"{vid}_q.npy", "side_info": side.hex(), "result": "invalid", "error": "QLayerError"})
    # input types: what a from-spec implementation showed missing
    add_quantize("q_float64_input", "Q-1.1", "a binary64 tensor is rounded to binary32 first (values chosen between "
                 "two binary32 numbers)", ["float64-input"], rng.normal(0.0, 1.0, (2, 3, 3)).astype("<f8"), 8)
    for vid, section, comment, flags, v, n in (
        ("q_reject_int_input", "Q-1.1", "an int32 tensor", ["non-float"],
         np.arange(4, dtype="<i4").reshape(1, 2, 2), 8),
        ("q_reject_bool_input", "Q-1.1", "a boolean tensor", ["non-float"],
         np.array([True, False, True], dtype="?").reshape(1, 1, 3), 8),
        ("q_reject_bit_depth_bool", "Q-1.3", "bit depth true (a boolean is not an integer)", ["bit-depth-type"],
         leaky((1, 2, 2)), True),
        ("q_reject_bit_depth_float", "Q-1.3", "bit depth 8.0 (a float is not an integer)", ["bit-depth-type"],
         leaky((1, 2, 2)), 8.0),
        ("q_reject_empty", "Q-1.4", "a 0×2×2 tensor has no minimum", ["empty"], np.zeros((0, 2, 2), dtype="<f4"), 8),
    ):
        np.save(out / f"{vid}_input.npy", v)
        vectors.append({"id": vid, "section": section, "comment": comment, "flags": flags, "operation": "quantize",
                        "bit_depth": n, "mode": "minmax", "input": f"{vid}_input.npy", "result": "invalid",
                        "error": "QLayerError"})
    # faults an implementation written from the spec alone showed the vectors above let through (issue 19)
    add_quantize("q_round_half_up_not_floor_plus_half", "Q-3.2", "the middle element gives t = 0.49999999999999994: "
                 "floor(t) plus (t - floor(t) >= 0.5) is 0, but floor(t + 0.5) is 1 (t + 0.5 rounds to 1.0)", ["ties"],
                 np.array([0.0, 0.0025670528411865234, 1.309196949005127], dtype="<f4").reshape(1, 1, 3), 8)
    add_quantize("q_relu_ties", "Q-2.2", "relu mode, range [0, 6] at 2 bits: lo = 0 is implied although min(V) = 1, "
                 "and t = 0.5, 1.5, 2.5 round up", ["relu", "ties"], np.arange(1, 7, dtype="<f4").reshape(1, 2, 3), 2,
                 "relu")
    add_quantize("q_relu_16bit", "Q-2.2", "relu mode at 16 bits: 4 bytes of side info, uint16 samples",
                 ["relu", "bit-depth-edge"], np.maximum(leaky((2, 3, 4)), 0).astype("<f4"), 16, "relu")
    return vectors


# ---------------------------------------------------------------- tiling, spec/tiling.md, index form
def grid(c: int) -> tuple[int, int]:
    k = c.bit_length() - 1
    r = 2 ** (k // 2)
    return r, -(-c // r)  # T-1.1


def tile_scalar(q: np.ndarray, layout: str, align: int) -> np.ndarray:
    c, h, w = q.shape
    r, k = grid(c)
    ch, cw = r * h, k * w
    ph, pw = -(-ch // align) * align, -(-cw // align) * align
    pic = [[0] * pw for _ in range(ph)]  # T-4.1: unused slots are 0
    for ch_i in range(c):
        gr, gc = ch_i // k, ch_i % k
        for y in range(h):
            for x in range(w):
                if layout == "tile":
                    pic[gr * h + y][gc * w + x] = int(q[ch_i, y, x])  # T-2.1
                else:
                    pic[y * r + gr][x * k + gc] = int(q[ch_i, y, x])  # T-3.1
    for y in range(ph):  # T-4.2: last row down, then last column right
        for x in range(pw):
            pic[y][x] = pic[min(y, ch - 1)][min(x, cw - 1)]
    return np.array(pic, dtype=q.dtype)


def tiling_vectors(out: Path) -> list[dict]:
    rng = np.random.default_rng(416)
    vectors: list[dict] = []
    cases = [
        ((1, 1, 1), "tile", 8, ["single-sample", "padding"]),
        ((3, 5, 7), "tile", 8, ["unused-slots", "padding"]),
        ((3, 5, 7), "quilt", 8, ["unused-slots", "padding", "quilt"]),
        ((100, 3, 4), "tile", 1, ["unused-slots", "no-padding"]),
        ((100, 3, 4), "quilt", 8, ["unused-slots", "quilt"]),
        ((7, 9, 11), "tile", 16, ["padding"]),
        ((5, 2, 3), "tile", 64, ["padding", "max-align"]),
        ((64, 6, 6), "quilt", 8, ["square-grid", "quilt"]),
        ((256, 26, 26), "tile", 8, ["paper-max-11"]),
        ((512, 13, 13), "tile", 8, ["paper-max-17", "wide-grid"]),
        ((512, 13, 13), "quilt", 8, ["paper-max-17", "quilt"]),
    ]
    for (c, h, w), layout, align, flags in cases:
        vid = f"t_{layout}_{c}x{h}x{w}_a{align}"
        dtype = np.uint8 if c % 2 else np.dtype("<u2")
        q = rng.integers(1, 256 if dtype == np.uint8 else 4096, size=(c, h, w)).astype(dtype)
        np.save(out / f"{vid}_input.npy", q)
        np.save(out / f"{vid}_picture.npy", tile_scalar(q, layout, align))
        vectors.append({"id": vid, "section": "T-3.1" if layout == "quilt" else "T-2.1",
                        "comment": f"{c}×{h}×{w} → grid {grid(c)[0]}×{grid(c)[1]}, {layout}, align {align}",
                        "flags": flags, "operation": "tile", "shape": [c, h, w], "layout": layout, "align": align,
                        "input": f"{vid}_input.npy", "picture": f"{vid}_picture.npy", "result": "valid"})
    q = rng.integers(0, 255, size=(3, 5, 7)).astype(np.uint8)
    np.save(out / "t_reject_input.npy", q)
    for vid, align in (("t_reject_align_0", 0), ("t_reject_align_65", 65)):
        vectors.append({"id": vid, "section": "T-4.2", "comment": f"alignment {align} is out of range",
                        "flags": ["bad-align"], "operation": "tile", "shape": [3, 5, 7], "layout": "tile",
                        "align": align, "input": "t_reject_input.npy", "result": "invalid", "error": "TilingError"})
    np.save(out / "t_reject_wrong_size_picture.npy", np.zeros((8, 16), dtype=np.uint8))
    vectors.append({"id": "t_reject_wrong_picture_size", "section": "T-5.2",
                    "comment": "an 8×16 picture cannot hold 3×5×7 with align 8 (needs 8×24)", "flags": ["bad-size"],
                    "operation": "untile", "shape": [3, 5, 7], "layout": "tile", "align": 8,
                    "picture": "t_reject_wrong_size_picture.npy", "result": "invalid", "error": "TilingError"})
    vectors.append({"id": "t_reject_too_large", "section": "T-4.3",
                    "comment": "1024×600×600 gives a 19200×19200 picture, above the HEVC level 6.2 limit",
                    "flags": ["too-large"], "operation": "untile", "shape": [1024, 600, 600], "layout": "tile",
                    "align": 8, "picture": "t_reject_wrong_size_picture.npy", "result": "invalid",
                    "error": "TilingError"})
    # the size limit exactly at and one past the bound, with and without padding (T-4.3)
    edge = rng.integers(0, 256, size=(1, 8, 16881)).astype(np.uint8)
    np.save(out / "t_tile_1x8x16881_a8_input.npy", edge)
    np.save(out / "t_tile_1x8x16881_a8_picture.npy", tile_scalar(edge, "tile", 8))
    vectors.append({"id": "t_tile_1x8x16881_a8", "section": "T-4.3", "comment": "16881 columns pad to 16888: "
                    "exactly at the limit after padding", "flags": ["size-limit", "padding"], "operation": "tile",
                    "shape": [1, 8, 16881], "layout": "tile", "align": 8, "input": "t_tile_1x8x16881_a8_input.npy",
                    "picture": "t_tile_1x8x16881_a8_picture.npy", "result": "valid"})
    for vid, shape, align, comment in (
            ("t_reject_1x8x16884_a16", (1, 8, 16884), 16, "16884 columns are within the limit, but pad to 16896"),
            ("t_reject_1x1x16889_a1", (1, 1, 16889), 1, "16889 columns: one past the limit, no padding")):
        np.save(out / f"{vid}_input.npy", np.zeros(shape, dtype=np.uint8))
        vectors.append({"id": vid, "section": "T-4.3", "comment": comment, "flags": ["too-large", "size-limit"],
                        "operation": "tile", "shape": list(shape), "layout": "tile", "align": align,
                        "input": f"{vid}_input.npy", "result": "invalid", "error": "TilingError"})
    # dimensions below 1 (T-1.1) and element types (T-2.2)
    for vid, operation, shape, dtype, comment, flags, section in (
            ("t_reject_channels_0", "tile", (0, 2, 2), np.uint8, "0 channels", ["empty"], "T-1.1"),
            ("t_reject_untile_height_0", "untile", (3, 0, 5), np.uint8, "height 0", ["empty"], "T-1.1"),
            ("t_reject_int32_tensor", "tile", (2, 2, 2), np.dtype("<i4"), "int32 samples", ["sample-type"], "T-2.2"),
            ("t_reject_float_tensor", "tile", (2, 2, 2), np.dtype("<f4"), "float32 samples", ["sample-type"],
             "T-2.2"),
            ("t_reject_bool_tensor", "tile", (2, 2, 2), np.dtype("?"), "boolean samples", ["sample-type"], "T-2.2"),
            ("t_reject_uint32_picture", "untile", (2, 2, 2), np.dtype("<u4"), "a uint32 picture", ["sample-type"],
             "T-2.2")):
        key = "input" if operation == "tile" else "picture"
        array = np.zeros(shape if operation == "tile" else (8, 8), dtype=dtype)
        np.save(out / f"{vid}_{key}.npy", array)
        vectors.append({"id": vid, "section": section, "comment": comment, "flags": flags, "operation": operation,
                        "shape": list(shape), "layout": "tile", "align": 8, key: f"{vid}_{key}.npy",
                        "result": "invalid", "error": "TilingError"})
    return vectors


# ---------------------------------------------------------------- container, spec/container.md, struct form
MODES, LAYOUTS, CODECS = ["minmax", "relu"], ["tile", "quilt"], ["raw", "hevc"]


def record_bytes(r: dict, **override: object) -> bytes:
    f = dict(r, **override)
    name = f["name"].encode("ascii") if isinstance(f["name"], str) else f["name"]
    out = bytes([f.get("name_length", len(name))]) + name
    out += struct.pack("<III", *f["shape"])
    out += bytes([f["bit_depth"], f.get("mode_id", MODES.index(f["mode"])),
                  f.get("layout_id", LAYOUTS.index(f["layout"])), f["align"],
                  f.get("codec_id", CODECS.index(f["codec"])), f.get("reserved", 0)])
    out += bytes.fromhex(f["side_info"])
    out += struct.pack("<I", f.get("payload_length", len(bytes.fromhex(f["payload"])))) + bytes.fromhex(f["payload"])
    return out


def container_bytes(records: list[bytes], *, magic: bytes = b"CFCR", version: int = 1, flags: int = 0,
                    count: int | None = None, crc_fix: bool = True, tail: bytes = b"") -> bytes:
    body = magic + bytes([version, flags]) + struct.pack("<H", len(records) if count is None else count)
    body += b"".join(records) + tail
    crc = zlib.crc32(body) if crc_fix else zlib.crc32(body) ^ 0xFFFFFFFF
    return body + struct.pack("<I", crc)


def raw_record(name: str, q: np.ndarray, n: int, layout: str, align: int, mode: str, lo: float, hi: float) -> dict:
    pic = tile_scalar(q, layout, align)
    payload = pic.astype(np.uint8 if n <= 8 else "<u2").tobytes()
    return {"name": name, "shape": list(q.shape), "bit_depth": n, "mode": mode, "layout": layout, "align": align,
            "codec": "raw", "side_info": side_bytes(lo, hi, mode).hex(), "payload": payload.hex()}


def valid_container(vid: str, section: str, comment: str, flags: list[str], records: list[dict]) -> dict:
    """A container vector: the records packed as W-1 writes them, and the records a parser returns."""
    data = container_bytes([record_bytes(r) for r in records])
    return {"id": vid, "section": section, "comment": comment, "flags": flags, "result": "valid", "data": data.hex(),
            "records": records}


def invalid_container(vid: str, section: str, comment: str, flags: list[str], data: bytes) -> dict:
    return {"id": vid, "section": section, "comment": comment, "flags": flags, "result": "invalid",
            "error": "ContainerError", "data": data.hex()}


def container_vectors(out: Path) -> list[dict]:
    rng = np.random.default_rng(17)
    vectors: list[dict] = []

    def valid(*args: object) -> None:
        vectors.append(valid_container(*args))  # type: ignore[arg-type]

    def invalid(*args: object) -> None:
        vectors.append(invalid_container(*args))  # type: ignore[arg-type]

    r8 = raw_record("max_11", rng.integers(0, 256, (3, 4, 5)).astype(np.uint8), 8, "tile", 8, "minmax", -0.5, 2.25)
    r10a = raw_record("max_17", rng.integers(0, 1024, (2, 3, 3)).astype("<u2"), 10, "tile", 8, "minmax", -1.0, 4.0)
    r10b = raw_record("route_16", rng.integers(0, 1024, (5, 2, 2)).astype("<u2"), 10, "quilt", 4, "minmax",
                      -0.125, 9.5)
    relu = raw_record("relu.out-1", rng.integers(0, 4096, (1, 2, 3)).astype("<u2"), 12, "tile", 1, "relu", 0.0, 6.0)
    r16 = raw_record("x16", rng.integers(0, 65536, (1, 1, 2)).astype("<u2"), 16, "tile", 2, "minmax", -3.0, 3.0)
    hevc = {"name": "max_17", "shape": [512, 13, 13], "bit_depth": 8, "mode": "minmax", "layout": "tile",
            "align": 8, "codec": "hevc", "side_info": side_bytes(-0.75, 5.5, "minmax").hex(),
            "payload": "0000000140010c01ffff"}
    valid("w_raw_8bit", "W-3.1", "one 3×4×5 tensor, 8-bit raw picture 8×16", ["single"], [r8])
    valid("w_two_tensors", "W-1.1", "max 17 split: layer 17 output plus the passthrough route, 10-bit",
          ["multi-tensor", "quilt"], [r10a, r10b])
    valid("w_relu_12bit", "W-2.1", "relu mode (4 bytes side info), align 1, name with '.' and '-'",
          ["relu", "no-padding"], [relu])
    valid("w_raw_16bit", "W-3.1", "16-bit samples, little-endian", ["bit-depth-edge"], [r16])
    valid("w_hevc_framing", "W-3.2", "hevc payload: the parser checks framing only", ["hevc"], [hevc])

    good = record_bytes(r8)
    invalid("w_reject_empty", "W-4.1", "zero bytes", ["truncated"], b"")
    invalid("w_reject_short", "W-4.1", "shorter than a header", ["truncated"], b"CFCR\x01\x00")
    invalid("w_reject_magic", "W-4.1", "wrong magic", ["magic"], container_bytes([good], magic=b"CFCX"))
    invalid("w_reject_crc", "W-4.2", "CRC does not match", ["crc"], container_bytes([good], crc_fix=False))
    full = container_bytes([good])
    invalid("w_reject_truncated", "W-4.2", "last 10 bytes cut off", ["truncated", "crc"], full[:-10])
    flipped = bytearray(full)
    flipped[40] ^= 0x01
    invalid("w_reject_bit_flip", "W-4.2", "one payload bit flipped", ["crc"], bytes(flipped))
    invalid("w_reject_version", "W-4.1", "version 2", ["version"], container_bytes([good], version=2))
    invalid("w_reject_flags", "W-4.1", "reserved flags set", ["reserved"], container_bytes([good], flags=1))
    invalid("w_reject_count_0", "W-4.1", "tensor_count 0", ["count"], container_bytes([], count=0))
    invalid("w_reject_count_high", "W-4.1", "tensor_count says 2, one record", ["count", "truncated"],
            container_bytes([good], count=2))
    invalid("w_reject_trailing", "W-4.1", "bytes left over after the last record", ["trailing"],
            container_bytes([good], tail=b"\x00\x00"))
    for vid, comment, override in (
        ("w_reject_name_length_0", "empty name", {"name": b"", "name_length": 0}),
        ("w_reject_name_byte", "space in name", {"name": "max 11"}),
        ("w_reject_name_65", "65-byte name", {"name": "n" * 65}),
        ("w_reject_channels_0", "C = 0", {"shape": [0, 4, 5]}),
        ("w_reject_height_65536", "H above 65535", {"shape": [3, 65536, 5]}),
        ("w_reject_bit_depth_0", "bit depth 0", {"bit_depth": 0}),
        ("w_reject_bit_depth_17", "bit depth 17", {"bit_depth": 17}),
        ("w_reject_mode", "quant_mode 2", {"mode_id": 2}),
        ("w_reject_layout", "layout 2", {"layout_id": 2}),
        ("w_reject_align_0", "align 0", {"align": 0}),
        ("w_reject_align_65", "align 65", {"align": 65}),
        ("w_reject_codec", "codec id 7", {"codec_id": 7}),
        ("w_reject_reserved", "reserved byte 1", {"reserved": 1}),
        ("w_reject_side_nan", "NaN in side info", {"side_info": struct.pack("<ff", 0.0, float("nan")).hex()}),
        ("w_reject_side_order", "lo > hi", {"side_info": struct.pack("<ff", 3.0, 1.0).hex()}),
        ("w_reject_payload_0", "payload_length 0", {"payload": ""}),
        ("w_reject_payload_past_end", "payload_length runs past the end", {"payload_length": 10_000}),
        ("w_reject_raw_size", "raw payload one byte short", {"payload": r8["payload"][:-2]}),
        ("w_reject_raw_sample", "raw 8-bit tile payload with a sample above 2^n-1 at 4 bits",
         {"bit_depth": 4}),
        ("w_reject_too_large", "65535×65535×65535 picture exceeds the size limit",
         {"shape": [65535, 65535, 65535]}),
    ):
        section = "W-4.1"
        invalid(vid, section, comment, ["field"], container_bytes([record_bytes(r8, **override)]))
    relu_bad = dict(relu, side_info=struct.pack("<f", -2.0).hex())
    invalid("w_reject_relu_negative", "W-4.1", "relu side info with max < 0", ["relu"],
            container_bytes([record_bytes(relu_bad)]))
    invalid("w_reject_duplicate_name", "W-4.1", "two records named max_17", ["multi-tensor"],
            container_bytes([record_bytes(r10a), record_bytes(dict(r10b, name="max_17"))]))
    invalid("w_reject_11_bytes", "W-4.2", "11 bytes: shorter than the 8-byte header plus the 4-byte CRC",
            ["truncated"], b"CFCR\x01\x00\x01\x00\x00\x00\x00")
    # the writer's refusals (W-4.3): pack() is given records its own parser would reject
    for vid, comment, records in (
            ("w_pack_reject_no_records", "no records", []),
            ("w_pack_reject_name_space", "a space in the name", [dict(r8, name="max 11")]),
            ("w_pack_reject_bit_depth_17", "bit depth 17", [dict(r8, bit_depth=17)]),
            ("w_pack_reject_channels_0", "C = 0", [dict(r8, shape=[0, 4, 5])]),
            ("w_pack_reject_duplicate_name", "two records named max_17", [r10a, dict(r10b, name="max_17")]),
            ("w_pack_reject_side_length", "4 bytes of side info in minmax mode",
             [dict(r8, side_info=r8["side_info"][:8])]),
            ("w_pack_reject_raw_size", "a raw payload one byte short", [dict(r8, payload=r8["payload"][:-2])]),
            ("w_pack_reject_empty_payload", "an empty HEVC payload", [dict(hevc, payload="")])):
        vectors.append({"id": vid, "section": "W-4.3", "comment": comment, "flags": ["writer"],
                        "operation": "pack", "result": "invalid", "error": "ContainerError", "records": records})
    return vectors


def files_of(value: object, directory: Path) -> set[str]:
    """The names of the files in ``directory`` that a vector refers to."""
    if isinstance(value, dict):
        return set().union(*(files_of(v, directory) for v in value.values())) if value else set()
    if isinstance(value, list):
        return set().union(*(files_of(v, directory) for v in value)) if value else set()
    named = isinstance(value, str) and value.endswith((".npy", ".cfg", ".weights")) and "/" not in value
    return {value} if named and (directory / value).is_file() else set()


def generate(component: str, out: Path) -> list[dict]:
    import make_golden_edges  # the vectors of issue 30, after the pinned ones (their own random draws)

    return vectors_fn[component](out) + make_golden_edges.vectors_fn[component](out)


def write(component: str, spec: str, mode: str | None) -> None:
    """Write one component's manifest: ``mode`` None (first time), ``extend`` or ``regenerate``."""
    out = ROOT / component
    manifest = out / "vectors.json"
    if manifest.exists() and mode is None:
        sys.exit(f"{manifest} exists; pass --extend or --regenerate (and say why in the commit message)")
    with tempfile.TemporaryDirectory() as tmp:
        fresh_dir = Path(tmp)
        vectors = generate(component, fresh_dir)
        ids = [v["id"] for v in vectors]
        assert len(ids) == len(set(ids)), "duplicate vector ids"
        body = {"schema": SCHEMA, "version": 1, "component": component, "spec": spec,
                "generator": "tools/make_golden.py (scalar Python, independent of cfc_ref/)", "count": 0,
                "vectors": vectors}
        if mode == "extend" and manifest.exists():
            pinned = json.loads(manifest.read_text())
            kept = {v["id"]: v for v in pinned["vectors"]}
            for v in vectors:  # a pinned vector is never changed: it must come out of the tool exactly as pinned
                if v["id"] in kept and (v != kept[v["id"]] or any(
                        (fresh_dir / f).read_bytes() != (out / f).read_bytes() for f in files_of(v, fresh_dir))):
                    sys.exit(f"{component}/{v['id']} no longer matches its pin: regenerate deliberately instead")
            new = [v for v in vectors if v["id"] not in kept]
            for name in sorted(set().union(set(), *(files_of(v, fresh_dir) for v in new))):
                if (out / name).exists() and (out / name).read_bytes() != (fresh_dir / name).read_bytes():
                    sys.exit(f"{component}/{name} exists with other contents: a new vector may not change it")
                shutil.copyfile(fresh_dir / name, out / name)
            body = dict(pinned, vectors=pinned["vectors"] + new)
            print(f"{component}: keeping {len(kept)} pinned vectors, adding {len(new)}")
        else:
            out.mkdir(parents=True, exist_ok=True)
            for old in out.glob("*.npy"):
                old.unlink()
            for name in files_of(vectors, fresh_dir):
                shutil.copyfile(fresh_dir / name, out / name)
        body = {k: body[k] for k in ("schema", "version", "component", "spec", "generator")} | {
            "count": len(body["vectors"]), "vectors": body["vectors"]}
        manifest.write_text(json.dumps(body, indent=1) + "\n")
    print(f"{manifest.relative_to(ROOT.parent)}: {body['count']} vectors")


vectors_fn = {"qlayer": qlayer_vectors, "tiling": tiling_vectors, "container": container_vectors}
SPECS = {"qlayer": "spec/qlayer.md", "tiling": "spec/tiling.md", "container": "spec/container.md"}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--regenerate", action="store_true", help="overwrite existing golden files")
    mode.add_argument("--extend", action="store_true", help="keep every pinned vector, add the new ones")
    parser.add_argument("components", nargs="*", help=f"any of {list(vectors_fn)} (default: all)")
    args = parser.parse_args()
    for component in args.components or list(vectors_fn):
        if component not in vectors_fn:
            parser.error(f"unknown component {component!r}")
        write(component, SPECS[component], "regenerate" if args.regenerate else "extend" if args.extend else None)


if __name__ == "__main__":
    main()
