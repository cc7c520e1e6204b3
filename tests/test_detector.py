"""YOLOv2 detector (spec/detector.md): cfg and weights I/O, Darknet-exact layers checked against OpenCV's Darknet
importer and against scalar re-implementations of Darknet's C loops, split points, region decoding and NMS."""

from __future__ import annotations

import os
import struct
from dataclasses import replace

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from cfc_ref.detector.cfg import (
    Conv,
    MaxPool,
    builtin_cfg,
    parse_cfg,
    scale_width,
    with_input_size,
    write_cfg,
)
from cfc_ref.detector.image import darknet_resize, letterbox, network_input
from cfc_ref.detector.inference import infer
from cfc_ref.detector.layers import DarknetBatchNorm, MaxPoolLayer, ReorgLayer
from cfc_ref.detector.model import DarknetModel
from cfc_ref.detector.region import decode_boxes, detections, nms_sort
from cfc_ref.detector.split import all_split_points, split, split_point
from cfc_ref.detector.weights import WeightsHeader, load_weights, randomize, read_header, weights_bytes
from cfc_ref.errors import DarknetError

spec = pytest.mark.spec
CFG = builtin_cfg("yolo-voc")


@pytest.fixture(scope="module")
def full_model():
    return randomize(DarknetModel(CFG), seed=1).eval()


@pytest.fixture(scope="module")
def small_model():
    return randomize(DarknetModel(scale_width(CFG, 0.125)), seed=2).eval()


# ------------------------------------------------------------------ D-1 cfg files
@spec("D-1.1")
@pytest.mark.parametrize("text,message", [
    ("[convolutional]\nfilters=1\nsize=1\n", "first section must be \\[net\\]"),
    ("[net]\nwidth=32\nheight=32\n[shortcut]\nfrom=-3\n", "unknown layer type \\[shortcut\\]"),
    ("[net]\nwidth=32\nheight=32\n[convolutional]\nsize=3\n[route]\n", "line 6: missing required key 'layers'"),
    ("[net]\nwidth=32\nheight=32\n[convolutional]\nfilters=a\nsize=3\n", "line 5: filters='a' is not an integer"),
    ("[net]\nwidth=32\nheight=32\n[route]\nlayers=-1\n", "route to a layer that does not exist"),
    ("[net]\nwidth=32\nheight=32\n[maxpool]\n[route]\nlayers=x\n", "not a list of ints"),
    ("width=32\n[net]\n", "option before the first section"),
    ("[net\nwidth=32\n", "malformed section header"),
    ("[net]\nwidth=32\nheight=32\nnonsense\n", "expected key=value"),
    ("[net]\nwidth=32\nheight=32\n", "no layers"),
    ("[net]\nheight=32\n[maxpool]\n", "missing required key 'width'"),
    ("[net]\nwidth=32\nheight=32\n[convolutional]\nfilters=2\nsize=1\nactivation=mish\n", "not supported"),
    ("[net]\nwidth=32\nheight=32\n[region]\nanchors=1,2\nnum=1\n[maxpool]\n", "must be the last layer"),
    ("[net]\nwidth=32\nheight=32\n[region]\nanchors=1,2\nnum=2\n", "2·num anchors"),
])
def test_malformed_cfg(text, message):
    with pytest.raises(DarknetError, match=message):
        parse_cfg(text)


@spec("D-1.1", "D-1.3")
def test_builtin_cfgs():
    v2, v20 = builtin_cfg("yolo-voc"), builtin_cfg("yolo-voc.2.0")
    assert len(v2.layers) == 32 and len(v20.layers) == 31
    assert v2.layers[:25] == v20.layers[:25]
    assert v2.layers[26] == Conv(64, 1, 1, 0, True, "leaky")
    assert parse_cfg(write_cfg(v2)) == v2 and parse_cfg(write_cfg(v20)) == v20
    text = "# comment\n[net] ; trailing\n width = 64 \nheight=64\n\n[maxpool]\nsize=2\nstride=2 # c\n"
    assert parse_cfg(text).layers == (MaxPool(2, 2),)
    with pytest.raises(DarknetError):
        builtin_cfg("yolov3")


@spec("D-1.2", "D-5.1")
@pytest.mark.parametrize("name,message", [("max_18", "layer 18 is conv_18"), ("max17", "<type>_<index>"),
                                          ("conv_31", "0..30"), ("conv_-1", "0..30"), ("pool_17", "max_17")])
def test_bad_split_names(name, message):
    with pytest.raises(DarknetError, match=message):
        split_point(CFG, name)


# ------------------------------------------------------------------ D-2 layers, against Darknet's C loops
@spec("D-2.1")
def test_batch_norm_formula():
    bn = DarknetBatchNorm(3).eval()
    with torch.no_grad():
        bn.rolling_mean.copy_(torch.tensor([0.5, -1.0, 0.0]))
        bn.rolling_variance.copy_(torch.tensor([4.0, 0.25, 1e-12]))
        bn.scale.copy_(torch.tensor([2.0, 1.0, 1.0]))
        bn.bias.copy_(torch.tensor([0.1, 0.0, -0.5]))
    x = torch.full((1, 3, 1, 1), 1.5)
    expected = [(1.5 - 0.5) / (2.0 + 1e-6) * 2 + 0.1, (1.5 + 1.0) / (0.5 + 1e-6), 1.5 / (1e-6 + 1e-6) - 0.5]
    assert torch.allclose(bn(x).flatten(), torch.tensor(expected), rtol=1e-6)


def darknet_maxpool_loop(x: np.ndarray, size: int, stride: int) -> np.ndarray:
    """forward_maxpool_layer from Darknet, transcribed as loops (pad = size − 1, offset = −pad/2)."""
    c, h, w = x.shape
    pad = size - 1
    out_h, out_w = (h + pad - size) // stride + 1, (w + pad - size) // stride + 1
    offset = -(pad // 2)
    out = np.empty((c, out_h, out_w), dtype=x.dtype)
    for k in range(c):
        for i in range(out_h):
            for j in range(out_w):
                best = -np.inf
                for n in range(size):
                    for m in range(size):
                        row, col = offset + i * stride + n, offset + j * stride + m
                        if 0 <= row < h and 0 <= col < w:
                            best = max(best, x[k, row, col])
                out[k, i, j] = best
    return out


@spec("D-2.2")
@settings(max_examples=40, deadline=None)
@given(st.integers(1, 3), st.integers(1, 9), st.integers(1, 9), st.integers(1, 3), st.integers(1, 3))
def test_maxpool_matches_darknet_loop(c, h, w, size, stride):
    x = np.random.default_rng(c * 100 + h * 10 + w).normal(size=(c, h, w)).astype(np.float32)
    ours = MaxPoolLayer(MaxPool(size, stride))(torch.from_numpy(x)[None])[0].numpy()
    assert np.array_equal(ours, darknet_maxpool_loop(x, size, stride))


def darknet_reorg_loop(x: np.ndarray, stride: int) -> np.ndarray:
    """reorg_cpu(x, w, h, c, batch=1, stride, forward=0, out) from Darknet, transcribed."""
    c, h, w = x.shape
    flat_in, out = x.ravel(), np.empty(x.size, dtype=x.dtype)
    out_c = c // (stride * stride)
    for k in range(c):
        for j in range(h):
            for i in range(w):
                in_index = i + w * (j + h * k)
                c2, offset = k % out_c, k // out_c
                w2, h2 = i * stride + offset % stride, j * stride + offset // stride
                out[in_index] = flat_in[w2 + w * stride * (h2 + h * stride * c2)]
    return out.reshape(c * stride * stride, h // stride, w // stride)


@spec("D-2.4")
@pytest.mark.parametrize("shape,stride", [((4, 2, 2), 2), ((8, 4, 6), 2), ((64, 26, 26), 2), ((18, 3, 6), 3)])
def test_reorg_matches_darknet_loop(shape, stride):
    x = np.arange(np.prod(shape), dtype=np.float32).reshape(shape)
    ours = ReorgLayer(stride)(torch.from_numpy(x)[None])[0].numpy()
    assert np.array_equal(ours, darknet_reorg_loop(x, stride))
    textbook = torch.nn.functional.pixel_unshuffle(torch.from_numpy(x)[None], stride)[0].numpy()
    assert not np.array_equal(ours, textbook)  # Darknet's order is not space-to-depth


@spec("D-2.4")
def test_reorg_rejects_bad_shapes():
    with pytest.raises(DarknetError, match="divisible"):
        ReorgLayer(2)(torch.zeros(1, 4, 3, 4))


CFG_HEAD = "[net]\nwidth=32\nheight=32\nchannels=3\n"


def _conv(filters: int, size: int, stride: int = 1) -> str:
    return f"[convolutional]\nfilters={filters}\nsize={size}\nstride={stride}\nactivation=linear\n"  # 5 lines


@spec("D-1.4")
@pytest.mark.parametrize(("body", "message"), [
    (_conv(1000000000, 3), "line 5: filters 1000000000 exceeds the bound 65536"),
    (_conv(16, 100000), "line 5: size 100000 exceeds the bound 15"),
    (_conv(4096, 15) + _conv(65536, 15), "line 10: parameters so far .* exceeds the bound"),
    (_conv(16, 3, 2) + "[reorg]\nstride=3\n", "line 10: reorg stride 3 needs H, W divisible by 3 and C by 9, "
                                               "its input is 16×15×15"),
    (_conv(8, 1) + "[maxpool]\nstride=2\n[route]\nlayers=-1,-2\n", "line 12: route joins outputs of different sizes"),
    (_conv(8, 15) + _conv(8, 15) + _conv(8, 15), "line 15: the output would be empty"),
])
def test_cfg_bounds_and_geometry(body, message):
    with pytest.raises(DarknetError, match=message):
        parse_cfg(CFG_HEAD + body)


@spec("D-1.4")
def test_input_size_is_bounded_and_checked():
    config = builtin_cfg("yolo-voc")
    with pytest.raises(DarknetError, match="input side 100000 exceeds"):
        with_input_size(config, 100000, 416)
    with pytest.raises(DarknetError, match="reorg stride 2 needs"):
        DarknetModel(replace(config, width=400))  # 400/32 is not whole: the passthrough reorg cannot divide


@spec("D-3.2")
def test_weights_size_is_checked_before_reading(tmp_path, monkeypatch):
    model = DarknetModel(builtin_cfg("yolo-voc"))
    sparse = tmp_path / "huge.weights"
    with open(sparse, "wb") as fh:
        fh.write(WeightsHeader(0, 2, 0, 0).to_bytes())
        fh.truncate(20 * 2**30)  # a 20 GB sparse file: nothing of it may be read before the size check
    reads = []
    real_fdopen = os.fdopen

    def spy(fd, mode="r", *args, **kwargs):  # the bounded reader opens with os.open, then os.fdopen (E-3.5)
        handle = real_fdopen(fd, mode, *args, **kwargs)
        if os.path.realpath(f"/proc/self/fd/{fd}") == str(sparse.resolve()):
            original = handle.read
            handle.read = lambda n=-1: reads.append(n) or original(n)
        return handle

    monkeypatch.setattr(os, "fdopen", spy)
    with pytest.raises(DarknetError, match=f"has {20 * 2**30} bytes, this cfg needs"):
        load_weights(model, sparse)
    assert reads == [20]


# ------------------------------------------------------------------ OpenCV's Darknet importer, independent check
cv2 = pytest.importorskip("cv2", reason="opencv-python-headless (<5, which still reads Darknet) is not installed")


def opencv_net(model: DarknetModel, tmp_path, cfg_text: str):
    (tmp_path / "net.cfg").write_text(cfg_text)
    (tmp_path / "net.weights").write_bytes(weights_bytes(model))
    return cv2.dnn.readNetFromDarknet(str(tmp_path / "net.cfg"), str(tmp_path / "net.weights"))


def compare_region(ours_raw: torch.Tensor, theirs: np.ndarray, region) -> None:
    ours = decode_boxes(ours_raw, region)[0].numpy()
    np.testing.assert_allclose(ours[:, :2], theirs[:, :2], atol=2e-5)
    np.testing.assert_allclose(ours[:, 2:4], theirs[:, 2:4], rtol=1e-3)
    np.testing.assert_allclose(ours[:, 4], theirs[:, 4], atol=1e-4)
    scores = ours[:, 4:5] * ours[:, 5:]
    scores = np.where(scores > region.thresh, scores, 0).astype(np.float64)
    # OpenCV's Darknet importer runs Darknet's do_nms_sort (IoU 0.4) inside its region layer: so do we, here
    expected = nms_sort(ours[:, :4].astype(np.float64), scores, 0.4)
    np.testing.assert_allclose(expected, theirs[:, 5:], atol=1e-4)
    assert (expected > 0).sum() < (scores > 0).sum() or (scores > 0).sum() == 0


@spec("D-2.1", "D-2.2", "D-2.3", "D-2.4", "D-2.5", "D-3.1")
def test_opencv_agrees_layer_by_layer(full_model, tmp_path):
    net = opencv_net(full_model, tmp_path, (CFG_DIR / "yolo-voc.cfg").read_text())
    x = np.random.default_rng(0).random((1, 3, 416, 416)).astype(np.float32)
    with torch.no_grad():
        ours = full_model.layer_outputs(torch.from_numpy(x))
    names = {i: f"pool_{i}" for i, layer in enumerate(CFG.layers) if isinstance(layer, MaxPool)}
    names.update({i: f"leaky_{i + 1}" for i in range(0, 22) if isinstance(CFG.layers[i], Conv)})
    names.update({25: "identity_25", 26: "leaky_27", 27: "reorg_27", 28: "concat_28", 29: "leaky_30", 30: "conv_30"})
    net.setInput(x)
    theirs = dict(zip(names, net.forward(list(names.values())), strict=True))
    for index, value in theirs.items():
        reference = ours[index].numpy()
        assert value.shape == reference.shape, index
        assert np.abs(value - reference).max() <= 1e-4 * np.abs(reference).max(), (index, names[index])
    net.setInput(x)
    compare_region(ours[30], net.forward(), CFG.region)


@spec("D-1.3", "D-2.5")
def test_opencv_agrees_on_yolo_voc_2_0(tmp_path):
    config = builtin_cfg("yolo-voc.2.0")
    model = randomize(DarknetModel(config), seed=5).eval()
    net = opencv_net(model, tmp_path, (CFG_DIR / "yolo-voc.2.0.cfg").read_text())
    x = np.random.default_rng(1).random((1, 3, 416, 416)).astype(np.float32)
    net.setInput(x)
    with torch.no_grad():
        compare_region(model(torch.from_numpy(x)), net.forward(), config.region)


# ------------------------------------------------------------------ D-3 weights
@spec("D-3.1", "D-3.2")
def test_weights_round_trip_and_size(small_model):
    data = weights_bytes(small_model, seen=123456789012)
    assert read_header(data) == WeightsHeader(0, 2, 0, 123456789012)
    other = DarknetModel(small_model.config)
    load_weights(other, data)
    for a, b in zip(small_model.state_dict().values(), other.state_dict().values(), strict=True):
        assert torch.equal(a, b)
    assert weights_bytes(other, seen=123456789012) == data
    for bad, message in ((data[:-4], "too short"), (data + b"\0\0\0\0", "left over"), (data[:10], "too short for")):
        with pytest.raises(DarknetError, match=message):
            load_weights(DarknetModel(small_model.config), bad)


@spec("D-3.1")
def test_old_header_with_32bit_seen(small_model):
    data = weights_bytes(small_model)
    old = struct.pack("<iiii", 0, 1, 0, 64000) + data[20:]
    header = load_weights(DarknetModel(small_model.config), old)
    assert header == WeightsHeader(0, 1, 0, 64000) and not header.seen_is_64bit
    assert WeightsHeader(1, 0, 0, 0).seen_is_64bit and not WeightsHeader(0, 1, 5, 0).seen_is_64bit


@spec("D-3.2")
def test_full_size_weights_file(full_model):
    assert len(weights_bytes(full_model)) == 202_704_264  # the size of the published YOLOv2-VOC weights


# ------------------------------------------------------------------ D-4 input and detections
def darknet_resize_loop(im: np.ndarray, w: int, h: int) -> np.ndarray:
    """resize_image from Darknet, transcribed: horizontal pass into `part`, then vertical pass."""
    c, ih, iw = im.shape
    part = np.zeros((c, ih, w), dtype=np.float32)
    w_scale = np.float32(iw - 1) / np.float32(w - 1)
    h_scale = np.float32(ih - 1) / np.float32(h - 1)
    for k in range(c):
        for r in range(ih):
            for col in range(w):
                if col == w - 1 or iw == 1:
                    val = im[k, r, iw - 1]
                else:
                    sx = np.float32(col * w_scale)
                    ix = int(sx)
                    dx = np.float32(sx - ix)
                    val = (np.float32(1) - dx) * im[k, r, ix] + dx * im[k, r, ix + 1]
                part[k, r, col] = val
    out = np.zeros((c, h, w), dtype=np.float32)
    for k in range(c):
        for r in range(h):
            sy = np.float32(r * h_scale)
            iy = int(sy)
            dy = np.float32(sy - iy)
            for col in range(w):
                out[k, r, col] = (np.float32(1) - dy) * part[k, iy, col]
            if r == h - 1 or ih == 1:
                continue
            for col in range(w):
                out[k, r, col] += dy * part[k, iy + 1, col]
    return out


@spec("D-4.1")
@pytest.mark.parametrize("size,out", [((7, 11), (13, 5)), ((20, 30), (16, 16)), ((5, 5), (5, 5))])
def test_resize_matches_darknet_loop(size, out):
    im = np.random.default_rng(sum(size)).random((3,) + size).astype(np.float32)
    np.testing.assert_allclose(darknet_resize(im, out[1], out[0]), darknet_resize_loop(im, out[1], out[0]),
                               rtol=0, atol=2e-7)


@spec("D-4.1")
def test_network_input():
    image = np.random.default_rng(0).integers(0, 256, (30, 50, 3)).astype(np.uint8)
    x = network_input(image, 32, 32)
    assert x.shape == (3, 32, 32) and x.dtype == np.float32 and 0 <= x.min() and x.max() <= 1
    assert x[0, 0, 0] == np.float32(image[0, 0, 0]) / np.float32(255)
    boxed = letterbox(x, 64, 32)
    assert boxed.shape == (3, 32, 64) and (boxed[:, :, 0] == 0.5).all()
    with pytest.raises(ValueError):
        network_input(image[..., 0], 32, 32)
    with pytest.raises(ValueError):
        network_input(image, 32, 32, "crop")


@spec("D-4.2")
def test_nms_sort():
    boxes = np.array([[0.5, 0.5, 0.2, 0.2], [0.51, 0.5, 0.2, 0.2], [0.8, 0.8, 0.1, 0.1]])
    scores = np.array([[0.9, 0.0], [0.8, 0.7], [0.6, 0.0]])
    kept = nms_sort(boxes, scores, 0.45)
    assert kept.tolist() == [[0.9, 0.0], [0.0, 0.7], [0.6, 0.0]]  # other class untouched
    assert nms_sort(boxes, scores, 0.99).tolist() == scores.tolist()


@spec("D-4.2", "D-2.5")
def test_detections_in_image_pixels():
    table = np.zeros((2, 5 + 3), dtype=np.float32)
    table[0, :5] = [0.5, 0.5, 0.5, 0.25, 0.9]
    table[0, 5:] = [0.1, 0.8, 0.1]
    table[1, :5] = [0.95, 0.05, 0.3, 0.3, 0.004]  # below the 0.005 threshold for every class
    table[1, 5:] = [1.0, 0.0, 0.0]
    found = detections(table, image_width=200, image_height=100)
    assert [(d.class_index, round(d.score, 4)) for d in found] == [(1, 0.72), (0, 0.09), (2, 0.09)]
    best = found[0]
    assert (best.xmin, best.ymin, best.xmax, best.ymax) == pytest.approx((50.0, 37.5, 150.0, 62.5))
    edge = table.copy()
    edge[0, :4] = [0.0, 0.0, 0.5, 0.5]
    d = detections(edge, 200, 100)[0]
    assert d.xmin == 0.0 and d.ymin == 0.0


# ------------------------------------------------------------------ D-5 split points
@spec("D-5.1")
@pytest.mark.parametrize("size", [(416, 416), (320, 256)])
def test_every_split_is_exact(small_model, size):
    config = with_input_size(small_model.config, *size)
    model = DarknetModel(config)
    model.load_state_dict(small_model.state_dict())
    model.eval()
    x = torch.rand(2, 3, size[1], size[0], generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        whole = model(x)
        for point in all_split_points(config):
            front, back = split(model, point.name)
            tensors = front(x)
            assert list(tensors) == list(point.crossing_names)
            assert torch.equal(back(tensors), whole), point.name


@spec("D-5.1")
def test_full_model_splits_at_paper_points(full_model):
    x = torch.rand(1, 3, 416, 416, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        whole = full_model(x)
        for name in ("max_3", "conv_6", "max_7", "conv_10", "max_11", "max_17"):
            front, back = split(full_model, name)
            assert torch.equal(back(front(x)), whole), name
        front, back = split(full_model, "max_17")
        with pytest.raises(DarknetError, match="needs"):
            back({"max_17": front(x)["max_17"]})


@spec("D-5.2")
def test_what_crosses_each_paper_split():
    shapes = {"max_11": {"max_11": (256, 26, 26)}, "max_17": {"conv_16": (512, 26, 26), "max_17": (512, 13, 13)},
              "max_3": {"max_3": (64, 104, 104)}, "conv_26": {"conv_24": (1024, 13, 13), "conv_26": (64, 26, 26)}}
    model = DarknetModel(CFG)
    with torch.no_grad():
        for name, expected in shapes.items():
            front, _ = split(model, name)
            assert {k: tuple(v.shape[1:]) for k, v in front(torch.zeros(1, 3, 416, 416)).items()} == expected


# ------------------------------------------------------------------ D-7, D-8
@spec("D-7.1")
def test_width_multiplier():
    small = scale_width(CFG, 0.25)
    assert [small.split_name(i) for i in range(31)] == [CFG.split_name(i) for i in range(31)]
    convs = [(a, b) for a, b in zip(CFG.layers, small.layers, strict=True) if isinstance(a, Conv)]
    assert all(b.filters == max(1, round(a.filters * 0.25)) for a, b in convs[:-1])
    assert convs[-1][1].filters == 125
    model = DarknetModel(small)
    front, _ = split(model, "max_17")
    with torch.no_grad():
        shapes = {k: tuple(v.shape[1:]) for k, v in front(torch.zeros(1, 3, 416, 416)).items()}
    assert shapes == {"conv_16": (128, 26, 26), "max_17": (128, 13, 13)}
    with pytest.raises(DarknetError):
        scale_width(CFG, 0)


@spec("D-8.1")
def test_precision_modes(small_model):
    x = torch.rand(2, 3, 416, 416, generator=torch.Generator().manual_seed(2))
    reference = decode_boxes(infer(small_model, x), CFG.region)
    fast = decode_boxes(infer(small_model, x, "fp32", channels_last=True), CFG.region)
    assert (fast - reference).abs()[..., [0, 1, 4]].max() <= 1e-5  # channels_last fp32: equivalent
    approx = decode_boxes(infer(small_model, x, "bf16", channels_last=True), CFG.region)
    diff = (approx - reference).abs()
    # bf16 autocast is an approximate mode, not an equivalent one: these are the bounds it is offered with
    assert diff[..., :2].max() <= 0.01 and diff[..., 4].max() <= 0.1
    with pytest.raises(ValueError):
        infer(small_model, x, "int8")


@spec("D-2.5")
def test_model_rejects_bad_input(small_model):
    with pytest.raises(DarknetError, match="N×3×H×W"):
        small_model(torch.zeros(3, 32, 32))


CFG_DIR = __import__("pathlib").Path(__import__("cfc_ref.detector", fromlist=["x"]).__file__).parent / "cfg"


@spec("D-1.5", "D-2.1")
def test_cfg_defaults_are_darknets():
    config = parse_cfg("[net]\nwidth=16\nheight=16\nchannels=3\n[convolutional]\n[maxpool]\nsize=2\n[maxpool]\n"
                       "[reorg]\n[region]\nclasses=1\n")
    conv, pool, bare, reorg, region = config.layers
    assert (conv.filters, conv.size, conv.stride, conv.padding, conv.batch_normalize, conv.activation) == (
        1, 1, 1, 0, False, "logistic")
    assert (pool.size, pool.stride) == (2, 1) and (bare.size, bare.stride) == (1, 1) and reorg.stride == 1
    assert (region.num, region.coords, region.anchors, region.softmax) == (1, 4, (0.5, 0.5), False)
    with pytest.raises(DarknetError, match="activation 'relu' is not supported"):
        parse_cfg("[net]\nwidth=16\nheight=16\n[convolutional]\nactivation=relu\n")
    model = DarknetModel(parse_cfg("[net]\nwidth=8\nheight=8\nchannels=1\n[convolutional]\nfilters=6\n"
                                   "[region]\nclasses=1\n")).eval()
    x = torch.randn(1, 1, 8, 8)
    with torch.no_grad():
        expected = torch.sigmoid(model.layers[0].conv(x))
        assert torch.equal(model(x), expected)  # the default activation is logistic
