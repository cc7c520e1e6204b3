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
