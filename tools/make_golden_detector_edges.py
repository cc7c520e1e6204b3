#!/usr/bin/env python3
"""The detector vectors of issue 30, written by ``make_golden_detector.py --extend`` after the pinned ones.

Each probes a rule the first vectors met in one shape only: the image-level resize of D-4.1 (raw image in,
network input out) at odd aspect ratios; batch-norm variances spread down to 1e-4, where the ε of D-2.1 shows;
a ``[maxpool]`` with only a stride (D-1.5); a non-square network input and a 4×6 region grid (D-2.4, D-2.5); a
small image where NMS on M-1.1's inclusive pixel boxes keeps other detections than Darknet's ``box_iou`` (D-4.2);
and every weights-file header version of D-3.1. The arithmetic is the generator's own (binary64 numpy from the
spec text, passed in as ``gen``); nothing here imports cfc_ref.
"""

from __future__ import annotations

import copy
import math
import struct
from types import ModuleType

import numpy as np

TOLERANCE = 1e-4  # C-2.6 for detector.network: a vector tells a fault only where it exceeds this


# ------------------------------------------------------------------ D-4.1: the image-level probe
def resize_axis(x: np.ndarray, out: int, axis: int) -> np.ndarray:
    """D-4.1 along one axis, in binary64: scale (in − 1)/(out − 1), the last output sample takes the last input."""
    x = np.moveaxis(x, axis, 0)
    size = x.shape[0]
    scale = (size - 1) / (out - 1) if out > 1 else 0.0
    result = np.empty((out, *x.shape[1:]))
    for c in range(out):
        if c == out - 1:
            result[c] = x[size - 1]
            continue
        sx = c * scale
        ix = math.floor(sx)
        dx = sx - ix
        result[c] = (1 - dx) * x[ix] + dx * x[min(ix + 1, size - 1)]
    return np.moveaxis(result, 0, axis)


def network_input(image: np.ndarray, width: int, height: int) -> np.ndarray:
    chw = image.transpose(2, 0, 1).astype(np.float64) / 255.0
    return resize_axis(resize_axis(chw, width, 2), height, 1)  # along rows (width) first, then columns


def letterbox(image: np.ndarray, width: int, height: int) -> np.ndarray:
    """What D-4.1 rules out, to check that a vector tells it: aspect kept, grey 0.5 borders."""
    h, w = image.shape[:2]
    new_w, new_h = (width, max(1, int(h * width / w))) if w / width >= h / height else (max(1, int(w * height / h)),
                                                                                        height)
    canvas = np.full((3, height, width), 0.5)
    top, left = (height - new_h) // 2, (width - new_w) // 2
    canvas[:, top:top + new_h, left:left + new_w] = network_input(image, new_w, new_h)
    return canvas


def image_vectors(rng: np.random.Generator, gen: ModuleType) -> list[dict]:
    out = []
    for (h, w), (height, width), note in (((37, 23), (16, 16), "a tall image into a square input"),
                                          ((5, 40), (13, 17), "a wide image into a non-square input"),
                                          ((300, 7), (32, 32), "a very tall image: rows shrink, columns grow"),
                                          ((16, 16), (16, 16), "the network size itself: the image unchanged"),
                                          ((1, 9), (4, 6), "one row: every output row takes it"),
                                          ((6, 10), (1, 5), "an output height of 1: the last input row")):
        image = rng.integers(0, 256, (h, w, 3)).astype(np.uint8)
        vid = f"img_{h}x{w}_to_{height}x{width}"
        np.save(gen.OUT / f"{vid}_image.npy", image)
        want = network_input(image, width, height)
        if (h, w) != (height, width) and h > 1 and height > 1:
            assert np.abs(letterbox(image, width, height) - want).max() > 1e-2  # a letterbox fails it
        out.append({"id": vid, "section": "D-4.1", "flags": ["image", "resize"], "result": "valid",
                    "operation": "network_input", "image": f"{vid}_image.npy", "width": width, "height": height,
                    "comment": f"{h}×{w} RGB → 3×{height}×{width}: {note} (Darknet's resize_image, stretched, "
                               "not letterboxed)", "expected": gen.save(f"{vid}_expected.npy", want)})
    np.save(gen.OUT / "img_reject_gray_image.npy", rng.integers(0, 256, (4, 4)).astype(np.uint8))
    np.save(gen.OUT / "img_reject_float_image.npy", rng.uniform(0, 1, (4, 4, 3)).astype(np.float32))
    for vid, file, comment in (("img_reject_gray", "img_reject_gray_image.npy", "a 2-d (grey) image"),
                               ("img_reject_float", "img_reject_float_image.npy", "float samples: not uint8 RGB")):
        out.append({"id": vid, "section": "D-4.1", "flags": ["image", "invalid"], "result": "invalid",
                    "error": "DarknetError", "operation": "network_input", "image": file, "width": 8, "height": 8,
                    "comment": comment})
    return out


# ------------------------------------------------------------------ D-2.1: small variances
def weights_bytes(params: list[dict], header: bytes = struct.pack("<iiiq", 0, 2, 0, 0)) -> bytes:
    chunks = [header]
    for p in params:
        chunks += [p[key].astype("<f4").tobytes() for key in ("bias", "scale", "mean", "var", "w") if key in p]
    return b"".join(chunks)


def smallvar_vectors(rng: np.random.Generator, params: list[dict], gen: ModuleType) -> list[dict]:
    """The tiny network with variances log-uniform in [1e-4, 1e-2] (scales shrunk with them, so the activations
    stay of order 1): ε added to the variance instead of the standard deviation, or torch's 1e-5, shows."""
    small = copy.deepcopy(params)
    for p in small:
        if "var" in p:
            var = np.exp(rng.uniform(math.log(1e-4), math.log(1e-2), p["var"].shape))
            p["var"] = var.astype(np.float32).astype(np.float64)
            p["scale"] = (p["scale"] * np.sqrt(var)).astype(np.float32).astype(np.float64)
    (gen.OUT / "tiny_smallvar.weights").write_bytes(weights_bytes(small))
    image = rng.uniform(0, 1, (3, 32, 32)).astype(np.float32)
    np.save(gen.OUT / "smallvar_image.npy", image)

    def forward(ps: list[dict]) -> dict[int, np.ndarray]:
        return gen.run({-1: image.astype(np.float64)}, ps, 0, len(gen.LAYERS) - 1)

    def with_epsilon(eps: float) -> list[dict]:  # sqrt(var + eps) written as sqrt(var') + 1e-6
        other = copy.deepcopy(small)
        for p in other:
            if "var" in p:
                p["var"] = (np.sqrt(p["var"] + eps) - 0.000001) ** 2
        return other

    whole = forward(small)
    k, names = 9, [gen.split_name(i) for i in gen.crossing(9)]
    for eps in (0.000001, 0.00001):
        wrong = forward(with_epsilon(eps))
        for i in gen.crossing(k):
            bound = TOLERANCE * max(1.0, float(np.abs(whole[i]).max()))
            assert float(np.abs(wrong[i] - whole[i]).max()) > bound, (eps, i)
    sent = {n: whole[i].astype(np.float32) for n, i in zip(names, gen.crossing(k), strict=True)}
    back = gen.run({i: sent[n].astype(np.float64) for n, i in zip(names, gen.crossing(k), strict=True)}, small,
                   k + 1, len(gen.LAYERS) - 1)
    return [{"id": "net_smallvar_front_conv_9", "section": "D-2.1", "flags": ["front", "batch-norm", "spread"],
             "result": "valid", "operation": "split_forward", "weights": "tiny_smallvar.weights", "split": "conv_9",
             "image": "smallvar_image.npy",
             "comment": "variances from 1e-4 to 1e-2: (x − mean)/(sqrt(var) + 1e-6); sqrt(var + 1e-6) or torch's "
                        "sqrt(var + 1e-5) exceed the tolerance",
             "expected": {n: gen.save(f"smallvar_front_conv_9_{n}.npy", t) for n, t in sent.items()}},
            {"id": "net_smallvar_back_conv_9", "section": "D-2.1", "flags": ["back", "batch-norm", "spread"],
             "result": "valid", "operation": "back_forward", "weights": "tiny_smallvar.weights", "split": "conv_9",
             "tensors": {n: f"smallvar_front_conv_9_{n}.npy" for n in names},
             "comment": "the back end of conv_9 with variances from 1e-4 to 1e-2",
             "expected": gen.save("smallvar_back_conv_9.npy", back[13])}]


# ------------------------------------------------------------------ D-1.5: a maxpool with only a stride
POOLS_STRIDE_CFG = """# golden/detector/pools_stride.cfg: [maxpool] sections with a stride and no size (spec D-1.5)
[net]
width=9
height=7
channels=2

# 0: stride=1 alone: size defaults to the stride, a 1x1 window (the identity)
[maxpool]
stride=1

# 1: stride=2 alone: a 2x2 window at stride 2
[maxpool]
stride=2

# 2
[convolutional]
filters=6
activation=linear

[region]
anchors=1,1
classes=1
num=1
"""


def pool_stride_vectors(rng: np.random.Generator, gen: ModuleType) -> list[dict]:
    (gen.OUT / "pools_stride.cfg").write_text(POOLS_STRIDE_CFG)
    bias, w = (rng.normal(0, s, shape).astype(np.float32).astype(np.float64) for s, shape in ((0.1, 6), (0.7, (6, 2))))
    (gen.OUT / "pools_stride.weights").write_bytes(struct.pack("<iiiq", 0, 2, 0, 0) + bias.astype("<f4").tobytes()
                                                   + w.astype("<f4").tobytes())
    image = rng.uniform(0, 1, (2, 7, 9)).astype(np.float32)
    np.save(gen.OUT / "pools_stride_image.npy", image)
    x0 = gen.maxpool(image.astype(np.float64), 1, 1)
    assert np.abs(gen.maxpool(image.astype(np.float64), 2, 1) - x0).max() > 0.1  # a default size of 2 shows
    x1 = gen.maxpool(x0, 2, 2)
    region_input = np.einsum("chw,fc->fhw", x1, w) + bias[:, None, None]
    files = {"cfg": "pools_stride.cfg", "weights": "pools_stride.weights", "image": "pools_stride_image.npy"}
    return [{"id": "net_pools_stride_front_max_0", "section": "D-1.5", "flags": ["front", "cfg-defaults",
                                                                                  "non-square"],
             "result": "valid", "operation": "split_forward", "split": "max_0", **files,
             "comment": "[maxpool] stride=1 and no size: size = stride = 1, the output equals the 7×9 input",
             "expected": {"max_0": gen.save("pools_stride_front_max_0.npy", x0)}},
            {"id": "net_pools_stride_front_max_1", "section": "D-1.5", "flags": ["front", "cfg-defaults",
                                                                                  "non-square"],
             "result": "valid", "operation": "split_forward", "split": "max_1", **files,
             "comment": "then [maxpool] stride=2 and no size: 2×2 at stride 2, 4×5 out",
             "expected": {"max_1": gen.save("pools_stride_front_max_1.npy", x1)}},
            {"id": "net_pools_stride_back_max_1", "section": "D-1.5", "flags": ["back", "cfg-defaults"],
             "result": "valid", "operation": "back_forward", "split": "max_1", "cfg": "pools_stride.cfg",
             "weights": "pools_stride.weights", "tensors": {"max_1": "pools_stride_front_max_1.npy"},
             "comment": "a linear 1x1 convolution after them",
             "expected": gen.save("pools_stride_back_max_1.npy", region_input)}]


# ------------------------------------------------------------------ a non-square input: reorg and region grid
def wide_vectors(params: list[dict], rng: np.random.Generator, gen: ModuleType) -> list[dict]:
    """tiny.cfg at 48×32 (width × height): every layer non-square, the region grid 4×6 (rows × columns)."""
    (gen.OUT / "tiny_wide.cfg").write_text(gen.cfg_text().replace("width=32", "width=48", 1).replace(
        "tiny.cfg: a 32x32 network", "tiny_wide.cfg: the tiny network at 48x32", 1))
    image = rng.uniform(0, 1, (3, 32, 48)).astype(np.float32)
    np.save(gen.OUT / "wide_image.npy", image)
    whole = gen.run({-1: image.astype(np.float64)}, params, 0, len(gen.LAYERS) - 1)
    out = []
    for k in (5, 10):
        name = gen.split_name(k)
        names = [gen.split_name(i) for i in gen.crossing(k)]
        sent = {n: whole[i].astype(np.float32) for n, i in zip(names, gen.crossing(k), strict=True)}
        back = gen.run({i: sent[n].astype(np.float64) for n, i in zip(names, gen.crossing(k), strict=True)}, params,
                       k + 1, len(gen.LAYERS) - 1)
        files = {"cfg": "tiny_wide.cfg", "weights": "tiny.weights"}
        out.append({"id": f"net_wide_front_{name}", "section": "D-2.4" if k == 10 else "D-5.1",
                    "flags": ["front", "non-square"] + (["reorg"] if k == 10 else ["passthrough"]), "result": "valid",
                    "operation": "split_forward", "split": name, "image": "wide_image.npy", **files,
                    "comment": f"front end of {name} at 32×48: non-square maps through every layer kind",
                    "expected": {n: gen.save(f"wide_front_{name}_{n}.npy", t) for n, t in sent.items()}})
        out.append({"id": f"net_wide_back_{name}", "section": "D-5.1", "flags": ["back", "non-square"],
                    "result": "valid", "operation": "back_forward", "split": name, **files,
                    "tensors": {n: f"wide_front_{name}_{n}.npy" for n in names},
                    "comment": f"back end of {name} at 32×48: a 16×4×6 region input",
                    "expected": gen.save(f"wide_back_{name}.npy", back[13])})
    return out


def swapped_table(raw: np.ndarray, gen: ModuleType) -> np.ndarray:
    """What D-2.5 rules out, to check that a vector tells it: the grid's rows and columns swapped in the boxes."""
    table = gen.region_table(raw)
    _, h, w = raw.shape
    table[:, 0] *= w / h
    table[:, 1] *= h / w
    table[:, 2] *= w / h
    table[:, 3] *= h / w
    return table


def strong_input(rng: np.random.Generator, shape: tuple[int, int, int], strong: int, gen: ModuleType) -> np.ndarray:
    raw = rng.normal(0, 1.5, shape)
    per = 5 + gen.CLASSES
    for _ in range(strong):
        a, r, c = rng.integers(0, gen.NUM), rng.integers(0, shape[1]), rng.integers(0, shape[2])
        raw[a * per + 4, r, c] = rng.uniform(2, 5)
        raw[a * per + 5 + rng.integers(0, gen.CLASSES), r, c] += 4
    return raw.astype(np.float32)


def region_grid_vectors(rng: np.random.Generator, gen: ModuleType) -> list[dict]:
    out = []
    for width, height in ((500, 333), (320, 480)):
        for _attempt in range(5000):
            raw = strong_input(rng, (gen.NUM * (5 + gen.CLASSES), 4, 6), 6, gen)
            found, margin = gen.detections(gen.region_table(raw.astype(np.float64)), width, height)
            wrong, _ = gen.detections(swapped_table(raw.astype(np.float64), gen), width, height)
            if margin > 1e-4 and found != wrong:
                break
        else:
            raise SystemExit("no 4x6 region input with a safe margin found")
        vid = f"region_grid_4x6_{width}x{height}"
        out.append({"id": vid, "section": "D-2.5", "flags": ["region", "nms", "non-square"], "result": "valid",
                    "operation": "region_detections", "cfg": "tiny_wide.cfg", "output": gen.save(f"{vid}.npy", raw),
                    "width": width, "height": height,
                    "comment": f"a 4-row, 6-column grid: bx over 6 columns, by over 4 rows; {len(found)} detections "
                               f"({len(wrong)} with the grid's sides swapped); every decision at least {margin:.1e} "
                               "from its threshold", "expected": found})
    return out


# ------------------------------------------------------------------ D-4.2: box_iou, not M-1.1's pixel overlap
def pixel_iou_detections(table: np.ndarray, width: int, height: int) -> list[dict]:
    """NMS with M-1.1's inclusive-pixel overlap on the unclipped pixel boxes: what D-4.2 rules out."""
    scores = table[:, 4:5] * table[:, 5:]
    scores = np.where(scores > 0.005, scores, 0.0)
    x, y, w, h = table[:, 0], table[:, 1], table[:, 2], table[:, 3]
    boxes = np.stack([(x - w / 2) * width, (y - h / 2) * height, (x + w / 2) * width, (y + h / 2) * height], 1)

    def overlap(a: np.ndarray, b: np.ndarray) -> float:
        iw, ih = min(a[2], b[2]) - max(a[0], b[0]) + 1, min(a[3], b[3]) - max(a[1], b[1]) + 1
        inter = iw * ih if iw > 0 and ih > 0 else 0.0
        return inter / ((a[2] - a[0] + 1) * (a[3] - a[1] + 1) + (b[2] - b[0] + 1) * (b[3] - b[1] + 1) - inter)

    for c in range(scores.shape[1]):
        order = [i for i in sorted(range(len(table)), key=lambda i: -scores[i, c]) if scores[i, c] > 0]
        for rank, i in enumerate(order):
            if scores[i, c] == 0:
                continue
            for j in order[rank + 1:]:
                if scores[j, c] > 0 and overlap(boxes[i], boxes[j]) > 0.45:
                    scores[j, c] = 0.0
    return [{"class": int(c), "score": float(scores[i, c])} for i, c in zip(*np.nonzero(scores), strict=True)]


def pixel_iou_vector(rng: np.random.Generator, gen: ModuleType) -> dict:
    width, height = 31, 13
    for _attempt in range(20000):
        raw = strong_input(rng, (gen.NUM * (5 + gen.CLASSES), 4, 4), 8, gen)
        table = gen.region_table(raw.astype(np.float64))
        found, margin = gen.detections(table, width, height)
        wrong = pixel_iou_detections(table, width, height)
        if margin > 1e-4 and len(wrong) != len(found):
            break
    else:
        raise SystemExit("no region input that tells box_iou from the pixel overlap found")
    return {"id": "region_nms_box_iou_31x13", "section": "D-4.2", "flags": ["region", "nms"], "result": "valid",
            "operation": "region_detections", "output": gen.save("region_box_iou.npy", raw), "width": width,
            "height": height,
            "comment": f"a 31×13 image: NMS with Darknet's box_iou on the unclipped network-relative boxes keeps "
                       f"{len(found)} detections; M-1.1's inclusive pixel overlap (+1) would keep {len(wrong)}; "
                       f"every decision at least {margin:.1e} from its threshold", "expected": found}


# ------------------------------------------------------------------ D-3.1: every header version
def weights_version_vectors(gen: ModuleType) -> list[dict]:
    body = (gen.OUT / "pools.weights").read_bytes()[20:]  # after the 0.2.0 header (three int32, int64 seen)
    out = []
    for name, header, comment in (
            ("pools_v010.weights", struct.pack("<iiii", 0, 1, 0, 0), "version 0.1.0: seen is an int32"),
            ("pools_v100.weights", struct.pack("<iiiq", 1, 0, 0, 0), "version 1.0.0: 1·10 + 0 ≥ 2, seen is an int64"),
            ("pools_v1000.weights", struct.pack("<iiii", 1000, 2, 0, 0), "version 1000.2.0: major ≥ 1000, seen is "
                                                                         "an int32")):
        (gen.OUT / name).write_bytes(header + body)
        out.append({"id": f"net_weights_{name.split('_')[1].split('.')[0]}", "section": "D-3.1",
                    "flags": ["weights", "back"], "result": "valid", "operation": "back_forward", "split": "max_2",
                    "cfg": "pools.cfg", "weights": name, "tensors": {"max_2": "pools_front_max_2.npy"},
                    "comment": f"{comment}: the same network as pools.weights",
                    "expected": "pools_back_max_2.npy"})
    (gen.OUT / "pools_v010_int64_seen.weights").write_bytes(struct.pack("<iiiq", 0, 1, 0, 0) + body)
    out.append({"id": "net_reject_weights_v010_int64_seen", "section": "D-3.2", "flags": ["weights", "invalid"],
                "result": "invalid", "error": "DarknetError", "operation": "back_forward", "split": "max_2",
                "cfg": "pools.cfg", "weights": "pools_v010_int64_seen.weights",
                "tensors": {"max_2": "pools_front_max_2.npy"},
                "comment": "version 0.1.0 with an int64 seen: 4 bytes more than the cfg needs"})
    return out


def edge_vectors(params: list[dict], gen: ModuleType) -> list[dict]:
    rng = np.random.default_rng(30_0004)
    return (image_vectors(rng, gen) + smallvar_vectors(rng, params, gen) + pool_stride_vectors(rng, gen)
            + wide_vectors(params, rng, gen) + region_grid_vectors(rng, gen) + [pixel_iou_vector(rng, gen)]
            + weights_version_vectors(gen))
