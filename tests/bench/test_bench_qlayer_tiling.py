"""Q-layer + tiling time for the paper's split tensors, as a ratio to a plain copy of the same array (issue 2)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from cfc_ref import qlayer, tiling
from cfc_ref.fast.qlayer_numpy import Quantizer
from cfc_ref.fast.qlayer_torch import quantize_batch
from cfc_ref.fast.tiling import tile_batch, tile_fast

pytestmark = pytest.mark.bench
SHAPES = {"max_11 256x26x26": (256, 26, 26), "max_17 512x13x13": (512, 13, 13)}


def features(shape):
    return np.random.default_rng(0).normal(size=shape).astype(np.float32)


def reference_path(v):
    q, side = qlayer.quantize(v, 8)
    return tiling.tile(q), side


def fast_numpy_path(quantizer, v):
    q, side = quantizer(v)
    return tile_fast(q), side


def torch_batch_path(batch):
    q, lo, hi = quantize_batch(batch, 8)
    return tile_batch(q), lo, hi


@pytest.mark.parametrize("label", SHAPES)
@pytest.mark.parametrize("path", ["baseline", "reference", "fast_numpy", "torch_batch1", "fused_numba"])
def test_qlayer_and_tiling(timed, label, path):
    v = features(SHAPES[label])
    group = f"qlayer+tiling {label}"
    if path == "baseline":
        out = timed(group, path, np.copy, v)
        assert np.array_equal(out, v)
    elif path == "reference":
        picture, _ = timed(group, path, reference_path, v)
        assert picture.shape == tiling.geometry(v.shape).picture_shape
    elif path == "fast_numpy":
        picture, _ = timed(group, path, fast_numpy_path, Quantizer(v.shape, 8), v)
        assert np.array_equal(picture, reference_path(v)[0])
    elif path == "torch_batch1":
        pictures, _, _ = timed(group, path, torch_batch_path, torch.from_numpy(v)[None])
        assert np.array_equal(pictures[0].numpy(), reference_path(v)[0])
    else:
        fused = pytest.importorskip("cfc_ref.fast.fused", reason="numba is not installed")
        fused.quantize_and_tile(v, 8)  # compile (or load the cache) outside the timing
        picture, _ = timed(group, path, fused.quantize_and_tile, v, 8)
        assert np.array_equal(picture, reference_path(v)[0])
