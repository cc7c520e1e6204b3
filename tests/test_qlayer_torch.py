"""Batched torch Q-layer equals the readable reference item by item (spec Q-6.1), on CPU and CUDA if present."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import example, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from cfc_ref import qlayer
from cfc_ref.errors import QLayerError
from cfc_ref.fast.qlayer_torch import dequantize_batch, quantize_batch

spec = pytest.mark.spec
DEVICES = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])
F32 = st.floats(min_value=float(np.float32(-3e38)), max_value=float(np.float32(3e38)), width=32,
                allow_nan=False, allow_infinity=False)
BATCHES = hnp.arrays(np.float32, hnp.array_shapes(min_dims=4, max_dims=4, min_side=1, max_side=5), elements=F32)


@spec("Q-6.1")
@pytest.mark.parametrize("device", DEVICES)
@settings(max_examples=150, deadline=None)
@given(batch=BATCHES, n=st.integers(1, 16), constant_item=st.booleans())
@example(batch=np.array([[[[-3e38, 3e38, 0.0]]]], dtype=np.float32), n=5, constant_item=False)  # reciprocal trap
@example(batch=np.array([[[[0.0, 6.0 * 31, *(3.0 * (2 * np.arange(31) + 1))]]]], dtype=np.float32), n=5,
         constant_item=False)  # every t rounds to k + 0.5 from below: catches a fused multiply-add in t - floor(t)
def test_batch_equals_reference(device, batch, n, constant_item):
    if constant_item:
        batch[0] = batch[0].flat[0]
    q, lo, hi = quantize_batch(torch.from_numpy(batch).to(device), n)
    v_hat = dequantize_batch(q, lo, hi, n).cpu().numpy()
    for i, item in enumerate(batch):
        q_ref, side = qlayer.quantize(item, n)
        assert np.array_equal(q[i].cpu().numpy(), q_ref)
        assert (float(lo[i]), float(hi[i])) == (side.lo, side.hi)
        assert np.array_equal(v_hat[i].view(np.uint32), qlayer.dequantize(q_ref, side, n).view(np.uint32))


@spec("Q-6.1")
@pytest.mark.parametrize("device", DEVICES)
def test_batch_relu_and_rejections(device):
    v = torch.rand(3, 4, 5, 6, device=device)
    q, lo, hi = quantize_batch(v, 10, "relu")
    assert (lo == 0).all()
    for i in range(3):
        assert np.array_equal(q[i].cpu().numpy(), qlayer.quantize(v[i].cpu().numpy(), 10, "relu")[0])
    with pytest.raises(QLayerError, match="non-negative"):
        quantize_batch(v - 0.5, 8, "relu")
    v[1, 0, 0, 0] = float("nan")
    with pytest.raises(QLayerError, match="NaN"):
        quantize_batch(v, 8)
    with pytest.raises(QLayerError, match="floating"):
        quantize_batch(torch.zeros(1, 2, 2, 2, dtype=torch.int32, device=device), 8)
    with pytest.raises(QLayerError, match="0..255"):
        dequantize_batch(torch.full((1, 1, 1, 1), 256, device=device), torch.zeros(1), torch.ones(1), 8)


@spec("Q-6.1")
def test_the_deferred_path_reads_nothing_back():
    """Meta tensors have no values: quantize, tile, untile and de-quantize run on them only because no step reads
    a value back to the host (CUDA graph capture and set_sync_debug_mode('error') prove it on a GPU: gpu_bench)."""
    from cfc_ref.fast.qlayer_torch import dequantize_deferred, quantize_deferred
    from cfc_ref.fast.tiling import tile_batch, untile_batch

    for mode in ("minmax", "relu"):
        batch = quantize_deferred(torch.empty(3, 512, 13, 13, device="meta"), 10, mode)
        assert batch.q.dtype == torch.int32 and batch.code.shape == (3,)
        pictures = tile_batch(batch.q)
        v_hat, code = dequantize_deferred(untile_batch(pictures, (512, 13, 13)), batch.lo, batch.hi, 10)
        assert v_hat.shape == (3, 512, 13, 13) and v_hat.dtype == torch.float32 and code.shape == (3,)
    with pytest.raises(NotImplementedError):  # what a read-back does there: the check above would catch one
        quantize_deferred(torch.empty(1, 2, 2, 2, device="meta"), 8).check()


@spec("Q-6.1", "Q-1.2", "Q-2.2", "Q-4.2")
@pytest.mark.parametrize("device", DEVICES)
def test_deferred_checks_name_the_failing_items(device):
    from cfc_ref.fast.qlayer_torch import (
        NEGATIVE_IN_RELU,
        NON_FINITE,
        SAMPLE_RANGE,
        VALID,
        dequantize_deferred,
        quantize_deferred,
    )

    v = torch.rand(4, 2, 3, 3, device=device)
    v[1, 1, 2, 2] = float("inf")
    v[2] -= 0.5
    v[3, 0, 0, 0] = float("nan")
    assert quantize_deferred(v, 8).code.tolist() == [VALID, NON_FINITE, VALID, NON_FINITE]
    relu = quantize_deferred(v, 8, "relu")
    assert relu.code.tolist() == [VALID, NON_FINITE, NEGATIVE_IN_RELU, NON_FINITE]
    with pytest.raises(QLayerError, match="NaN or infinity"):
        relu.check()
    with pytest.raises(QLayerError, match=r"non-negative tensor, min is -0\.4"):
        quantize_deferred(v[2:3], 8, "relu").check()
    good = quantize_deferred(v[:1], 8).check()
    q = torch.cat([good.q, good.q + 1, good.q - 1])
    lo, hi = good.lo.repeat(3), good.hi.repeat(3)
    _, code = dequantize_deferred(q, lo, hi, 8)
    expected = [VALID, SAMPLE_RANGE if int(good.q.max()) == 255 else VALID, SAMPLE_RANGE if int(good.q.min()) == 0
                else VALID]
    assert code.tolist() == expected
    with pytest.raises(QLayerError, match="integer"):
        dequantize_deferred(q.float(), lo, hi, 8)
