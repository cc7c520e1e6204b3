"""Compression-augmented training (spec/training.md): codec in the loop, straight-through gradient, draws, proxy."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from cfc_ref import qlayer, tiling
from cfc_ref.codecs.hevc import decode_picture, encode_picture
from cfc_ref.detector.model import DarknetModel
from cfc_ref.detector.split import split
from cfc_ref.detector.weights import randomize
from cfc_ref.training import codec_layer
from cfc_ref.training.codec_layer import CodecInTheLoop, draw_qualities
from cfc_ref.zoo.embedded import embedded_config

spec = pytest.mark.spec


@pytest.fixture(scope="module")
def model():
    return randomize(DarknetModel(embedded_config()), seed=4)


@spec("R-1.1")
def test_decoded_features_equal_the_codec_path(model):
    front, _ = split(model.eval(), "max_17")
    with torch.no_grad():
        tensors = front(torch.rand(3, 3, 256, 256, generator=torch.Generator().manual_seed(0)))
    layer = CodecInTheLoop(bit_depth=8, seed=5, workers=1)
    coded = layer(tensors, iteration=11)
    qualities = draw_qualities(layer.qualities, 5, 11, 3)
    for name, tensor in tensors.items():
        for i in range(3):
            v = tensor[i].numpy()
            q, side = qlayer.quantize(v, 8)
            picture = tiling.tile(q)
            stream = encode_picture(picture, 8, qualities[i])
            decoded, _ = decode_picture(stream, picture.shape, 8)
            expected = qlayer.dequantize(tiling.untile(decoded, q.shape), side, 8)
            assert np.array_equal(coded[name][i].detach().numpy(), expected), (name, i, qualities[i])


@spec("R-1.2")
def test_gradients_reach_layers_before_the_split(model):
    model.train()
    front, back = split(model, "max_11")
    x = torch.rand(2, 3, 256, 256, generator=torch.Generator().manual_seed(1))
    layer = CodecInTheLoop(bit_depth=8, qualities=(37,), workers=1)
    tensors = front(x)
    coded = layer(tensors, iteration=0)
    assert not torch.equal(coded["max_11"], tensors["max_11"])  # QP 37 really changed the features
    back(coded).square().sum().backward()
    first_conv = model.layers[0].conv.weight.grad
    assert first_conv is not None and first_conv.abs().sum() > 0
    # straight-through: d(coded)/d(tensor) is the identity
    probe = tensors["max_11"].detach().requires_grad_(True)
    layer({"max_11": probe}, iteration=0)["max_11"].sum().backward()
    assert torch.equal(probe.grad, torch.ones_like(probe))
    model.eval()


@spec("R-1.3")
def test_quality_drawn_per_image_and_reproducible():
    draws = draw_qualities(codec_layer.PAPER_QUALITIES, seed=3, iteration=7, batch=64)
    assert draws == draw_qualities(codec_layer.PAPER_QUALITIES, seed=3, iteration=7, batch=64)
    assert draws[:8] == draw_qualities(codec_layer.PAPER_QUALITIES, seed=3, iteration=7, batch=8)
    assert set(draws) == set(codec_layer.PAPER_QUALITIES)
    assert draws != draw_qualities(codec_layer.PAPER_QUALITIES, seed=3, iteration=8, batch=64)


@spec("R-1.4")
def test_one_pool_call_per_quality(model, monkeypatch):
    calls = []
    real = codec_layer.encode_many

    def counting(pictures, bit_depth, quality, encoder, workers=None, pool=None):
        calls.append((len(pictures), quality))
        return real(pictures, bit_depth, quality, encoder, workers=1)

    monkeypatch.setattr(codec_layer, "encode_many", counting)
    tensors = {"t": torch.rand(6, 4, 5, 5, generator=torch.Generator().manual_seed(2))}
    CodecInTheLoop(bit_depth=8, qualities=("lossless", 32), seed=1)(tensors, iteration=3)
    assert sorted((q for _, q in calls), key=str) == sorted(set(draw_qualities(("lossless", 32), 1, 3, 6)), key=str)
    assert sum(n for n, _ in calls) == 6


@spec("R-2.1")
def test_proxy_noise_is_one_step():
    tensors = {"t": torch.rand(4, 3, 6, 6, generator=torch.Generator().manual_seed(3)) * 10}
    noisy = CodecInTheLoop(bit_depth=8, mode="proxy")(tensors, iteration=0)["t"]
    flat = tensors["t"].reshape(4, -1)
    step = (flat.amax(1) - flat.amin(1)) / 255
    assert ((noisy - tensors["t"]).abs().reshape(4, -1) <= step.view(4, 1) / 2 + 1e-6).all()
    with pytest.raises(ValueError):
        CodecInTheLoop(mode="jpeg")


def _tiny_train_config(tmp_path, model, name, **changes):
    from cfc_ref.detector.cfg import write_cfg
    from cfc_ref.detector.weights import save_weights
    from cfc_ref.training.run import TrainConfig

    (tmp_path / "init.cfg").write_text(write_cfg(model.config))
    save_weights(model, tmp_path / "init.weights")
    base = TrainConfig(dataset_root=str(tmp_path / "data"), synthetic_train_images=8, init="darknet",
                       cfg=str(tmp_path / "init.cfg"), weights=str(tmp_path / "init.weights"), split="max_17",
                       iterations=4, batch_size=2, warmup=1, checkpoint_every=2, output=str(tmp_path / name))
    from dataclasses import replace

    return replace(base, **changes)


@spec("R-3.1", "R-1.2")
def test_train_run_resumes_exactly(tmp_path, model, monkeypatch):
    from cfc_ref.training import loop
    from cfc_ref.training.run import train_run

    uninterrupted = train_run(_tiny_train_config(tmp_path, model, "a"), log=lambda _: None)
    meta = json.loads((uninterrupted / "meta.json").read_text())
    assert meta["budget_images"] == 8 and meta["codec"].startswith("x265") and meta["config"]["split"] == "max_17"
    assert meta["device"] == ("cuda" if torch.cuda.is_available() else "cpu")
    assert (uninterrupted / "loss.png").exists() and (uninterrupted / "model.cfg").exists()

    config = _tiny_train_config(tmp_path, model, "b")
    real_loss, calls = loop.region_loss, []

    def interrupt_third(*args, **kwargs):
        calls.append(1)
        if len(calls) == 3:
            raise KeyboardInterrupt("simulated kill after the iteration-2 checkpoint")
        return real_loss(*args, **kwargs)

    monkeypatch.setattr(loop, "region_loss", interrupt_third)
    with pytest.raises(KeyboardInterrupt):
        train_run(config, log=lambda _: None)
    monkeypatch.setattr(loop, "region_loss", real_loss)
    messages: list[str] = []
    resumed = train_run(config, log=messages.append)
    assert any("resumed" in m and "iteration 2" in m for m in messages)
    assert (resumed / "model.weights").read_bytes() == (uninterrupted / "model.weights").read_bytes()
    before = (tmp_path / "init.weights").read_bytes()
    assert (resumed / "model.weights").read_bytes() != before  # it did train, front end included


class _Payload:
    """Unpickled, this would create a file: a checkpoint must never be able to run code."""

    def __init__(self, path: str) -> None:
        self.path = path

    def __reduce__(self):
        return (open, (self.path, "w"))


@spec("R-3.2")
def test_checkpoints_load_as_data_only(tmp_path):
    from cfc_ref.errors import TrainingError
    from cfc_ref.training.loop import load_checkpoint

    marker = tmp_path / "code-ran"
    torch.save({"model": _Payload(str(marker))}, tmp_path / "evil.pt")
    with pytest.raises(TrainingError, match="not a cfc-ref checkpoint"):
        load_checkpoint(tmp_path / "evil.pt", torch.device("cpu"))
    assert not marker.exists()
    (tmp_path / "junk.pt").write_bytes(b"not a checkpoint")
    with pytest.raises(TrainingError, match="not a cfc-ref checkpoint"):
        load_checkpoint(tmp_path / "junk.pt", torch.device("cpu"))
    torch.save({"model": {}}, tmp_path / "partial.pt")
    with pytest.raises(TrainingError, match="expected the keys"):
        load_checkpoint(tmp_path / "partial.pt", torch.device("cpu"))


@spec("R-2.1")
def test_train_with_proxy_records_it(tmp_path, model):
    from cfc_ref.training.run import train_run

    out = train_run(_tiny_train_config(tmp_path, model, "p", mode="proxy", iterations=2), log=lambda _: None)
    assert json.loads((out / "meta.json").read_text())["codec"].startswith("proxy")
