"""The fast inference path beside the Darknet-exact reference (spec D-8.2)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from cfc_ref.detector.cfg import MaxPool, builtin_cfg
from cfc_ref.detector.layers import MaxPoolLayer, ReorgLayer
from cfc_ref.detector.model import DarknetModel
from cfc_ref.detector.split import all_split_points, split
from cfc_ref.detector.weights import randomize
from cfc_ref.fast.detector import FastDarknet, FastMaxPool, FastReorg
from cfc_ref.zoo.embedded import load_embedded_model

spec = pytest.mark.spec


def _within(fast: torch.Tensor, reference: torch.Tensor) -> float:
    return float((fast - reference).abs().max() / reference.abs().max())


@spec("D-8.2")
@pytest.mark.parametrize("which", ["embedded", "yolo-voc"])
def test_fast_path_agrees_with_the_reference(which):
    model = load_embedded_model() if which == "embedded" else randomize(DarknetModel(builtin_cfg("yolo-voc")), 2)
    model.eval()
    x = torch.rand(2, 3, model.config.height, model.config.width, generator=torch.Generator().manual_seed(3))
    with torch.no_grad():
        reference, fast = model(x), FastDarknet(model)(x)
    assert fast.dtype == torch.float32 and fast.shape == reference.shape
    assert _within(fast, reference) <= 1e-4


@spec("D-8.2", "D-5.1")
def test_every_split_of_the_fast_path_gives_its_whole_output():
    model = FastDarknet(load_embedded_model())
    x = torch.rand(1, 3, 256, 256, generator=torch.Generator().manual_seed(4))
    whole = model(x)
    for point in all_split_points(model.config):
        front, back = split(model, point.name)  # type: ignore[arg-type]
        with torch.no_grad():
            assert torch.equal(back(front(x)).float(), whole), point.name


@spec("D-8.2", "D-2.2")
@settings(max_examples=40, deadline=None)
@given(st.integers(1, 9), st.integers(1, 9), st.integers(0, 2**31 - 1))
def test_ceil_mode_pool_is_darknets_padding_exactly(height, width, seed):
    x = torch.randn(2, 3, height, width, generator=torch.Generator().manual_seed(seed))
    assert torch.equal(FastMaxPool(MaxPool(2, 2))(x), MaxPoolLayer(MaxPool(2, 2))(x))
    assert torch.equal(FastMaxPool(MaxPool(3, 1))(x), MaxPoolLayer(MaxPool(3, 1))(x))  # the copying fallback


@spec("D-8.2", "D-2.4")
@settings(max_examples=40, deadline=None)
@given(st.integers(1, 4), st.integers(1, 3), st.integers(1, 4), st.integers(1, 4), st.integers(2, 3), st.booleans())
def test_permuted_reorg_is_the_reference_reorg(batch, groups, rows, cols, stride, channels_last):
    channels = groups * stride * stride
    x = torch.randn(batch, channels, rows * stride, cols * stride, generator=torch.Generator().manual_seed(5))
    if channels_last:
        x = x.contiguous(memory_format=torch.channels_last)
    assert torch.equal(FastReorg(stride)(x), ReorgLayer(stride)(x))


@spec("D-8.2")
def test_embedded_map_with_the_fast_path(tmp_path):
    from cfc_ref.data.synthetic import write_dataset
    from cfc_ref.zoo.embedded import evaluate_model

    root = write_dataset(tmp_path / "voc", train=0, test=200)
    model = load_embedded_model()
    exact = evaluate_model(model, root).map_voc07
    fast = evaluate_model(FastDarknet(model), root).map_voc07  # type: ignore[arg-type]
    assert abs(fast - exact) < 0.002 and exact > 0.6


@spec("D-8.2", "E-2.1")
def test_a_run_with_the_fast_path(tmp_path):
    from dataclasses import replace

    from cfc_ref.experiment.config import embedded_default
    from cfc_ref.experiment.local_engine import run

    base = replace(embedded_default(str(tmp_path / "exact")), synthetic_test_images=3, splits=("max_17",),
                   lossless_splits=(), qps=(37,), lossless_bit_depths=(8,), jpeg_qualities=(), original_upload=False,
                   accountings=("deployable",), workers=1)
    import json

    exact = json.loads(run(base, progress=False).read_text())["rows"]
    fast_config = replace(base, inference="fast", output=str(tmp_path / "fast"))
    fast = json.loads(run(fast_config, progress=False).read_text())["rows"]
    assert [r["setting"] for r in fast] == [r["setting"] for r in exact]
    assert np.allclose([r["kbpi"] for r in fast], [r["kbpi"] for r in exact], rtol=0.02)
    from cfc_ref.experiment.store import RunStore

    with RunStore.open(tmp_path / "fast", create=False) as store:
        fingerprint = json.loads(store.meta("fingerprint") or "{}")
    assert fingerprint["config"]["inference"] == "fast"


@spec("D-8.2")
@pytest.mark.slow
def test_the_fast_path_compiles():
    model = FastDarknet(load_embedded_model())
    x = torch.rand(2, 3, 256, 256, generator=torch.Generator().manual_seed(6))
    compiled = torch.compile(model)
    with torch.no_grad():
        assert _within(compiled(x), model(x)) <= 1e-4
