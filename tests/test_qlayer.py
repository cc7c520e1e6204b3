"""Q-layer reference (spec/qlayer.md): checks and properties of eqs. (2)–(3)."""

from __future__ import annotations

import struct

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from cfc_ref import qlayer
from cfc_ref.errors import QLayerError
from cfc_ref.qlayer import SideInfo, dequantize, error_bound, quantize, quantize_with, round_half_up, side_info_of

spec = pytest.mark.spec
BIT_DEPTHS = st.integers(1, 16)


def finite_f32(min_value: float = -1e30, max_value: float = 1e30) -> st.SearchStrategy:
    lo, hi = float(np.float32(min_value)), float(np.float32(max_value))
    return st.floats(min_value=lo, max_value=hi, width=32, allow_nan=False, allow_infinity=False)


def tensors(elements: st.SearchStrategy | None = None) -> st.SearchStrategy:
    shapes = hnp.array_shapes(min_dims=3, max_dims=3, min_side=1, max_side=6)
    return hnp.arrays(np.float32, shapes, elements=finite_f32() if elements is None else elements)


@spec("Q-5.1")
@settings(max_examples=300)
@given(tensors(finite_f32(-3e38, 3e38)), BIT_DEPTHS, st.sampled_from(["minmax", "relu"]))
def test_error_bound(v, n, mode):
    if mode == "relu":
        v = np.abs(v)
    q, side = quantize(v, n, mode)
    v_hat = dequantize(q, side, n)
    err = np.abs(v.astype(np.float64) - v_hat.astype(np.float64))
    assert err.max() <= error_bound(side, n)


@spec("Q-5.2")
@settings(max_examples=300)
@given(tensors(), BIT_DEPTHS)
def test_idempotence(v, n):
    q, side = quantize(v, n)
    d = side.hi - side.lo
    assume(d / (2**n - 1) >= 2.0**-20 * max(abs(side.lo), abs(side.hi)))
    v_hat = dequantize(q, side, n)
    assert np.array_equal(quantize_with(v_hat, side, n), q)  # same side info
    q_again, _ = quantize(v_hat, n)  # fresh side info
    assert np.array_equal(q_again, q)


@spec("Q-5.3", "Q-3.3", "Q-3.5")
@given(tensors(), BIT_DEPTHS)
def test_extremes_and_range(v, n):
    q, side = quantize(v, n)
    assert q.dtype == (np.uint8 if n <= 8 else np.uint16)
    assert q.shape == v.shape
    assert q.max() <= 2**n - 1
    if side.hi > side.lo:
        assert (q[v == side.lo] == 0).all() and (q[v == side.hi] == 2**n - 1).all()
    v_hat = dequantize(np.zeros((1, 1, 1), dtype=q.dtype), side, n)
    assert v_hat[0, 0, 0] == np.float32(side.lo)


@spec("Q-3.3")
def test_values_outside_side_info_are_clamped():
    side = SideInfo(0.0, 1.0)
    q = quantize_with(np.array([[[-5.0, 0.5, 7.0]]], dtype=np.float32), side, 8)
    assert q.tolist() == [[[0, 128, 255]]]


@spec("Q-3.4")
@given(finite_f32(), st.integers(1, 5), BIT_DEPTHS)
def test_constant_tensor(value, size, n):
    v = np.full((size, 2, 3), value, dtype=np.float32)
    q, side = quantize(v, n)
    assert (q == 0).all()
    assert np.array_equal(dequantize(q, side, n), v + np.float32(0.0))  # -0.0 comes back as +0.0


@spec("Q-3.2")
def test_round_half_up_rule():
    t = np.array([0.0, 0.5, 1.5, 2.5, 0.49999999999999994, 2.4999999999999996, 65534.5, 3.0])
    assert round_half_up(t).tolist() == [0, 1, 2, 3, 0, 2, 65535, 3]
    assert np.floor(0.49999999999999994 + 0.5) == 1.0  # the shortcut the spec forbids gets this one wrong


@spec("Q-3.1", "Q-4.1")
def test_arithmetic_order_example():
    # lo = -1, hi = 2, n = 2: scale = 3/3 = 1; v = 0.5 → t = 1.5 → q = 2; step = 1 → v̂ = 2·1 + (−1) = 1
    q, side = quantize(np.array([[[-1.0, 0.5, 2.0]]], dtype=np.float32), 2)
    assert q.tolist() == [[[0, 2, 3]]]
    assert dequantize(q, side, 2).tolist() == [[[-1.0, 1.0, 2.0]]]


@spec("Q-1.1")
def test_input_types():
    with pytest.raises(QLayerError, match="floating point"):
        quantize(np.arange(6).reshape(1, 2, 3), 8)
    with pytest.raises(QLayerError, match="floating point"):
        quantize(np.ones((1, 1, 2), dtype=bool), 8)
    with pytest.raises(QLayerError, match="floating point"):
        quantize(np.ones((1, 1, 2), dtype=np.complex64), 8)
    v64 = np.array([[[0.1, 0.2, 0.7]]], dtype=np.float64)  # converted with f32 first
    assert np.array_equal(quantize(v64, 8)[0], quantize(v64.astype(np.float32), 8)[0])


@spec("Q-1.2")
@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_non_finite_rejected(bad):
    v = np.zeros((2, 2, 2), dtype=np.float32)
    v[1, 0, 1] = bad
    with pytest.raises(QLayerError, match="NaN or infinity"):
        quantize(v, 8)


@spec("Q-1.3")
@pytest.mark.parametrize("n", [0, 17, -1, 8.0, True, "8"])
def test_bad_bit_depth(n):
    with pytest.raises(QLayerError, match="bit depth"):
        quantize(np.zeros((1, 1, 1), dtype=np.float32), n)


@spec("Q-1.4")
def test_empty_rejected():
    with pytest.raises(QLayerError, match="empty"):
        quantize(np.zeros((0, 2, 2), dtype=np.float32), 8)


@spec("Q-2.1")
def test_minmax_side_info_bytes():
    side = side_info_of(np.array([[[-1.5, 0.0, 3.25]]], dtype=np.float32))
    assert side.to_bytes() == struct.pack("<ff", -1.5, 3.25) == bytes.fromhex("0000c0bf00005040")
    assert SideInfo.from_bytes(side.to_bytes()) == side
    assert side.nbytes == 8


@spec("Q-2.2")
def test_relu_side_info():
    v = np.array([[[0.0, 0.5, 6.0]]], dtype=np.float32)
    q, side = quantize(v, 8, "relu")
    assert side.to_bytes() == struct.pack("<f", 6.0) and side.nbytes == 4 and side.lo == 0.0
    assert SideInfo.from_bytes(side.to_bytes(), "relu") == side
    with pytest.raises(QLayerError, match="non-negative"):
        quantize(np.array([[[0.5, -1e-30]]], dtype=np.float32), 8, "relu")


@spec("Q-2.3")
@pytest.mark.parametrize("data,mode", [
    (struct.pack("<ff", np.nan, 1.0), "minmax"), (struct.pack("<ff", 0.0, np.inf), "minmax"),
    (struct.pack("<ff", 2.0, 1.0), "minmax"), (struct.pack("<f", -1.0), "relu"),
    (b"\x00" * 7, "minmax"), (b"\x00" * 8, "relu"), (b"", "minmax"), (b"\x00" * 8, "maxmin"),
])
def test_bad_side_info(data, mode):
    with pytest.raises(QLayerError):
        SideInfo.from_bytes(data, mode)


@spec("Q-2.4")
def test_signed_zero_side_info():
    v = np.array([[[-0.0, 0.0, -0.0]]], dtype=np.float32)
    assert side_info_of(v).to_bytes() == bytes(8)
    assert side_info_of(np.array([[[-0.0, 1.0]]], dtype=np.float32)).to_bytes()[:4] == bytes(4)


@spec("Q-4.2")
def test_dequantize_rejects_out_of_range_samples():
    side = SideInfo(0.0, 1.0)
    with pytest.raises(QLayerError, match="0..255"):
        dequantize(np.array([256], dtype=np.uint16), side, 8)
    with pytest.raises(QLayerError, match="0..3"):
        dequantize(np.array([-1], dtype=np.int32), side, 2)
    with pytest.raises(QLayerError, match="integers"):
        dequantize(np.array([0.5]), side, 2)


def test_public_constants():
    assert qlayer.QUANT_MODES == ("minmax", "relu")
    assert (qlayer.MIN_BIT_DEPTH, qlayer.MAX_BIT_DEPTH) == (1, 16)


@spec("Q-6.1")
@settings(max_examples=200)
@given(tensors(finite_f32(-3e38, 3e38)), BIT_DEPTHS, st.sampled_from(["minmax", "relu"]))
def test_fast_quantizer_equals_reference(v, n, mode):
    from cfc_ref.fast.qlayer_numpy import Quantizer

    if mode == "relu":
        v = np.abs(v)
    quantizer = Quantizer(v.shape, n, mode)
    for item in (v, v * np.float32(0.5), np.full_like(v, 2.0)):  # buffers are reused between calls
        q, side = quantizer(item)
        q_ref, side_ref = quantize(item, n, mode)
        assert np.array_equal(q, q_ref) and q.dtype == q_ref.dtype and side == side_ref


@spec("Q-1.2", "Q-3.4")
def test_fused_path_rejections_and_constant():
    pytest.importorskip("numba", reason="numba (optional extra 'fast') is not installed")
    from cfc_ref.fast.fused import quantize_and_tile

    for bad in (np.nan, np.inf, -np.inf):
        v = np.zeros((2, 3, 3), dtype=np.float32)
        v[1, 2, 2] = bad
        with pytest.raises(QLayerError, match="NaN or infinity"):
            quantize_and_tile(v, 8)
    with pytest.raises(QLayerError, match="non-negative"):
        quantize_and_tile(np.full((1, 2, 2), -1.0, np.float32), 8, "relu")
    with pytest.raises(QLayerError, match="float32"):
        quantize_and_tile(np.zeros((1, 2, 2)), 8)
    picture, side = quantize_and_tile(np.full((3, 2, 2), 4.5, np.float32), 10)
    assert (picture == 0).all() and side == SideInfo(4.5, 4.5)


@spec("Q-1.2")
def test_fast_quantizer_rejections():
    from cfc_ref.fast.qlayer_numpy import Quantizer

    quantizer = Quantizer((1, 2, 2), 8, "relu")
    for bad in ([[[np.nan, 0.0], [0.0, 0.0]]], [[[1.0, -np.inf], [0.0, 0.0]]], [[[1.0, -0.5], [0.0, 0.0]]]):
        with pytest.raises(QLayerError):
            quantizer(np.array(bad, dtype=np.float32))
    with pytest.raises(QLayerError, match="takes float32"):
        quantizer(np.zeros((1, 2, 3), dtype=np.float32))
