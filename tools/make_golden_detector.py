#!/usr/bin/env python3
"""Write golden/detector/: a small YOLOv2-shaped network and its outputs from a numpy forward written from the spec
(spec C-1.2, D-1..D-5).

The network has every layer kind YOLOv2 uses — batch-normalized leaky convolutions, 2×2/2 max-pools, a 2×2/1
max-pool (Darknet's padding matters there), a passthrough route, Darknet's reorg, a route joining them and a region
layer — at 32×32 so the vectors stay small. Everything is computed in binary64 with numpy from the clause text; it
imports nothing from cfc_ref. Expected tensors are stored as float32 (what implementations compute in).

    python tools/make_golden_detector.py                 # refuses if the manifest exists
    python tools/make_golden_detector.py --extend        # add the vectors the tool has gained (issue 30's, in
                                                         # make_golden_detector_edges.py); pinned ones stay
    python tools/make_golden_detector.py --regenerate    # overwrite; say why in the commit message (spec C-1.2)
"""

from __future__ import annotations

import argparse
import json
import math
import shutil
import struct
import sys
import tempfile
from pathlib import Path

import numpy as np

SCHEMA = "cfc-ref-golden/1"
OUT = Path(__file__).resolve().parent.parent / "golden" / "detector"
CLASSES, NUM, ANCHORS = 3, 2, [1.0, 1.5, 2.5, 2.0]
# (kind, options) per layer: conv = (filters, size, batch_normalize, activation), max = (size, stride),
# route = (absolute layer indices,), reorg = (stride,); the cfg file is written from this list (cfg_text)
LAYERS = [("conv", (8, 3, True, "leaky")), ("max", (2, 2)), ("conv", (16, 3, True, "leaky")), ("max", (2, 2)),
          ("conv", (16, 3, True, "leaky")), ("max", (2, 2)), ("conv", (32, 3, True, "leaky")), ("max", (2, 1)),
          ("route", (4,)), ("conv", (8, 1, True, "leaky")), ("reorg", (2,)), ("route", (10, 7)),
          ("conv", (32, 3, True, "leaky")), ("conv", (NUM * (5 + CLASSES), 1, False, "linear")), ("region", ())]
NAMES = {"conv": "conv", "max": "max", "route": "route", "reorg": "reorg"}
NOTES = {4: "the passthrough source, like conv_16", 5: "like max_17",
         7: "2x2 stride 1: Darknet pads one column and row at the end", 8: "the passthrough route", 9: "like layer 26"}


def cfg_text() -> str:
    """golden/detector/tiny.cfg from LAYERS (spec D-1.1): a 32x32 network with the layer kinds of YOLOv2-VOC."""
    lines = ["# golden/detector/tiny.cfg: a 32x32 network with the layer kinds of YOLOv2-VOC (spec D-1.3), for "
             "conformance", "[net]", "width=32", "height=32", "channels=3", ""]
    for index, (kind, opt) in enumerate(LAYERS):
        lines.append(f"# {index}" + (f" ({NOTES[index]})" if index in NOTES else ""))
        if kind == "conv":
            filters, size, bn, activation = opt
            lines += ["[convolutional]", *(["batch_normalize=1"] if bn else []), f"filters={filters}", f"size={size}",
                      "stride=1", "pad=1", f"activation={activation}"]
        elif kind == "max":
            lines += ["[maxpool]", f"size={opt[0]}", f"stride={opt[1]}"]
        elif kind == "route":
            lines += ["[route]", "layers=" + ",".join(str(i - index) for i in opt)]
        elif kind == "reorg":
            lines += ["[reorg]", f"stride={opt[0]}"]
        else:
            lines += ["[region]", "anchors=" + ", ".join(str(a) for a in ANCHORS), f"classes={CLASSES}", "coords=4",
                      f"num={NUM}", "softmax=1"]
    return "\n".join(lines) + "\n"


# ------------------------------------------------------------------ weights, spec D-3.1
def make_weights(rng: np.random.Generator) -> tuple[bytes, list[dict]]:
    params, channels, chunks = [], 3, [struct.pack("<iiiq", 0, 2, 0, 0)]
    out_channels: list[int] = []
    for kind, opt in LAYERS:
        if kind == "conv":
            filters, size, bn, _ = opt
            p = {"bias": rng.normal(0, 0.1, filters)}
            if bn:
                p["scale"] = rng.uniform(0.5, 1.5, filters)
                p["mean"] = rng.normal(0, 0.2, filters)
                p["var"] = rng.uniform(0.2, 2.0, filters)
            p["w"] = rng.normal(0, math.sqrt(2.0 / (channels * size * size)), (filters, channels, size, size))
            p = {k: v.astype(np.float32).astype(np.float64) for k, v in p.items()}  # the file holds binary32
            for key in ("bias", "scale", "mean", "var", "w"):
                if key in p:
                    chunks.append(p[key].astype("<f4").tobytes())
            params.append(p)
            channels = filters
        elif kind == "route":
            channels = sum(out_channels[i] for i in opt)
        elif kind == "reorg":
            channels *= opt[0] ** 2
        out_channels.append(channels)
    return b"".join(chunks), params


# ------------------------------------------------------------------ layers, spec D-2 (binary64)
def conv(x: np.ndarray, p: dict, size: int, bn: bool, activation: str) -> np.ndarray:
    pad = size // 2  # D-2.1, pad=1
    xp = np.pad(x, ((0, 0), (pad, pad), (pad, pad)))
    windows = np.lib.stride_tricks.sliding_window_view(xp, (size, size), axis=(1, 2))  # C×H×W×k×k
    y = np.einsum("chwij,fcij->fhw", windows, p["w"])
    if bn:
        y = (y - p["mean"][:, None, None]) / (np.sqrt(p["var"][:, None, None]) + 0.000001)
        y = y * p["scale"][:, None, None] + p["bias"][:, None, None]
    else:
        y = y + p["bias"][:, None, None]
    return np.where(y > 0, y, 0.1 * y) if activation == "leaky" else y


def maxpool(x: np.ndarray, size: int, stride: int) -> np.ndarray:
    """D-2.2: output side (side + size − 1 − size) // stride + 1; windows start at stride·i − (size − 1) // 2 and
    skip positions outside the input."""
    c, h, w = x.shape
    oh, ow = (h - 1) // stride + 1, (w - 1) // stride + 1
    off = -((size - 1) // 2)
    out = np.empty((c, oh, ow))
    for i in range(oh):
        for j in range(ow):
            rows = [r for r in range(i * stride + off, i * stride + off + size) if 0 <= r < h]
            cols = [q for q in range(j * stride + off, j * stride + off + size) if 0 <= q < w]
            out[:, i, j] = x[:, rows][:, :, cols].reshape(c, -1).max(axis=1)
    return out


def reorg(x: np.ndarray, s: int) -> np.ndarray:
    """D-2.4, the clause's loops written out."""
    c, h, w = x.shape
    flat_in, out = x.ravel(), np.empty(x.size)
    cp = c // (s * s)
    for k in range(c):
        for j in range(h):
            for i in range(w):
                c2, off = k % cp, k // cp
                w2, h2 = i * s + off % s, j * s + off // s
                out[i + w * (j + h * k)] = flat_in[w2 + w * s * (h2 + h * s * c2)]
    return out.reshape(c * s * s, h // s, w // s)


def run(outputs: dict[int, np.ndarray], params: list[dict], start: int, stop: int) -> dict[int, np.ndarray]:
    conv_index = sum(1 for kind, _ in LAYERS[:start] if kind == "conv")
    for index in range(start, stop):
        kind, opt = LAYERS[index]
        x = outputs.get(index - 1)
        if kind == "conv":
            outputs[index] = conv(x, params[conv_index], opt[1], opt[2], opt[3])
            conv_index += 1
        elif kind == "max":
            outputs[index] = maxpool(x, *opt)
        elif kind == "route":
            outputs[index] = np.concatenate([outputs[i] for i in opt], axis=0)
        elif kind == "reorg":
            outputs[index] = reorg(x, opt[0])
    return outputs


def crossing(k: int) -> list[int]:
    """D-5.1: outputs of layers ≤ k read by a layer > k (directly, or as the next layer's input)."""
    need = {k}
    for later in range(k + 1, len(LAYERS) - 1):
        kind, opt = LAYERS[later]
        if kind == "route":
            need.update(i for i in opt if i <= k)
        elif later - 1 <= k:
            need.add(later - 1)
    return sorted(need)


# ------------------------------------------------------------------ region decoding and NMS, spec D-2.5, D-4.2
def sigmoid(v: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-v))


def region_table(raw: np.ndarray) -> np.ndarray:
    _, h, w = raw.shape
    rows = []
    for r in range(h):
        for c in range(w):
            for a in range(NUM):
                ch = raw[a * (5 + CLASSES):(a + 1) * (5 + CLASSES), r, c]
                e = np.exp(ch[5:] - ch[5:].max())
                rows.append([(c + sigmoid(ch[0])) / w, (r + sigmoid(ch[1])) / h, math.exp(ch[2]) * ANCHORS[2 * a] / w,
                             math.exp(ch[3]) * ANCHORS[2 * a + 1] / h, sigmoid(ch[4]), *(e / e.sum())])
    return np.array(rows)


def iou(a: np.ndarray, b: np.ndarray) -> float:
    left, right = max(a[0] - a[2] / 2, b[0] - b[2] / 2), min(a[0] + a[2] / 2, b[0] + b[2] / 2)
    top, bottom = max(a[1] - a[3] / 2, b[1] - b[3] / 2), min(a[1] + a[3] / 2, b[1] + b[3] / 2)
    inter = max(right - left, 0) * max(bottom - top, 0)
    union = a[2] * a[3] + b[2] * b[3] - inter
    return inter / union if union > 0 else 0.0


def clipped(box: np.ndarray) -> np.ndarray:
    """A box (x, y, w, h) cut to the network input [0, 1]² (what NMS must not use, D-4.2)."""
    left, right = min(max(box[0] - box[2] / 2, 0.0), 1.0), min(max(box[0] + box[2] / 2, 0.0), 1.0)
    top, bottom = min(max(box[1] - box[3] / 2, 0.0), 1.0), min(max(box[1] + box[3] / 2, 0.0), 1.0)
    return np.array([(left + right) / 2, (top + bottom) / 2, right - left, bottom - top])


def detections(table: np.ndarray, width: int, height: int, clip_first: bool = False) -> tuple[list[dict], float]:
    """Returns the detections and the smallest distance of any decision to its threshold (the vector's margin).
    ``clip_first``: the wrong reading of D-4.2 (boxes cut to the image before NMS), to find a vector that tells."""
    margin = math.inf
    boxes = np.array([clipped(row[:4]) for row in table]) if clip_first else table[:, :4]
    scores = table[:, 4:5] * table[:, 5:]
    margin = min(margin, float(np.abs(scores - 0.005).min()))
    scores = np.where(scores > 0.005, scores, 0.0)
    for c in range(CLASSES):
        order = sorted(range(len(table)), key=lambda i: -scores[i, c])  # sorted() is stable
        order = [i for i in order if scores[i, c] > 0]
        for rank, i in enumerate(order):
            if scores[i, c] == 0:
                continue
            for j in order[rank + 1:]:
                if scores[j, c] > 0:
                    value = iou(boxes[i], boxes[j])
                    margin = min(margin, abs(value - 0.45))
                    if value > 0.45:
                        scores[j, c] = 0.0
    out = []
    for i, c in zip(*np.nonzero(scores), strict=True):
        x, y, w, h = table[i, :4]
        box = [min(max((x - w / 2) * width, 0.0), width - 1), min(max((y - h / 2) * height, 0.0), height - 1),
               min(max((x + w / 2) * width, 0.0), width - 1), min(max((y + h / 2) * height, 0.0), height - 1)]
        out.append({"class": int(c), "score": float(scores[i, c]), "box": [float(b) for b in box]})
    return sorted(out, key=lambda d: (-d["score"], d["class"])), margin


# ------------------------------------------------------------------ the manifest
def save(name: str, array: np.ndarray) -> str:
    np.save(OUT / name, np.ascontiguousarray(array, dtype=np.float32))
    return name


def set_output(directory: Path) -> None:
    """Where ``save`` and the file writers put their files (a temporary directory while extending)."""
    global OUT
    OUT = directory


def split_name(index: int) -> str:
    return f"{NAMES[LAYERS[index][0]]}_{index}"


def vectors(rng: np.random.Generator, params: list[dict]) -> list[dict]:
    image = rng.uniform(0, 1, (3, 32, 32)).astype(np.float32)
    whole = run({-1: image.astype(np.float64)}, params, 0, len(LAYERS) - 1)
    np.save(OUT / "image.npy", image)
    out: list[dict] = []
    notes = {5: "like max_17: max_5 and the passthrough source conv_4 cross (D-5.2)",
             9: "between the passthrough route and reorg: conv_9 and max_7 cross",
             10: "after reorg: reorg_10 and max_7 cross", 7: "after the 2×2 stride-1 max-pool (Darknet padding)",
             4: "the passthrough source alone"}
    for k, note in notes.items():
        name = split_name(k)
        names = [split_name(i) for i in crossing(k)]
        # the back end starts from the float32 tensors the front end sends (what the other side receives)
        sent = {n: whole[i].astype(np.float32) for n, i in zip(names, crossing(k), strict=True)}
        flags = ["front"] + (["passthrough"] if len(names) > 1 else []) + (["reorg"] if k >= 10 else []) + (
            ["darknet-maxpool"] if k >= 7 else [])
        out.append({"id": f"net_front_{name}", "section": "D-5.1", "flags": flags, "result": "valid",
                    "operation": "split_forward", "comment": f"front end of {name}: {note}", "split": name,
                    "image": "image.npy", "expected": {n: save(f"front_{name}_{n}.npy", t) for n, t in sent.items()}})
        back = run({i: sent[n].astype(np.float64) for n, i in zip(names, crossing(k), strict=True)}, params, k + 1,
                   len(LAYERS) - 1)
        flags = ["back"] + (["passthrough"] if len(names) > 1 else []) + (["reorg"] if k < 10 else [])
        out.append({"id": f"net_back_{name}", "section": "D-5.1", "flags": flags, "result": "valid",
                    "operation": "back_forward", "comment": f"back end of {name} from the front end's float32 tensors",
                    "split": name, "tensors": {n: f"front_{name}_{n}.npy" for n in names},
                    "expected": save(f"back_{name}.npy", back[13])})
    out += [
        {"id": "net_reject_wrong_type", "section": "D-1.2", "flags": ["invalid"], "result": "invalid",
         "error": "DarknetError", "operation": "split_forward", "comment": "conv_5: layer 5 is a max-pool",
         "split": "conv_5", "image": "image.npy"},
        {"id": "net_reject_last_layer", "section": "D-1.2", "flags": ["invalid"], "result": "invalid",
         "error": "DarknetError", "operation": "split_forward", "comment": "region_14 is the last layer: nothing to "
         "split", "split": "region_14", "image": "image.npy"},
        {"id": "net_reject_missing_passthrough", "section": "D-5.1", "flags": ["invalid", "passthrough"],
         "result": "invalid", "error": "DarknetError", "operation": "back_forward",
         "comment": "the back end of max_5 without conv_4", "split": "max_5",
         "tensors": {"max_5": "front_max_5_max_5.npy"}},
        {"id": "net_reject_short_weights", "section": "D-3.2", "flags": ["invalid", "weights"], "result": "invalid",
         "error": "DarknetError", "operation": "split_forward", "weights": "short.weights",
         "comment": "the weights file lacks its last 4 bytes", "split": "max_5", "image": "image.npy"},
        {"id": "net_reject_long_weights", "section": "D-3.2", "flags": ["invalid", "weights"], "result": "invalid",
         "error": "DarknetError", "operation": "split_forward", "weights": "long.weights",
         "comment": "the weights file has 4 bytes left over", "split": "max_5", "image": "image.npy"},
        {"id": "net_reject_bad_route", "section": "D-1.1", "flags": ["invalid", "cfg"], "result": "invalid",
         "error": "DarknetError", "operation": "split_forward", "cfg": "bad_route.cfg",
         "comment": "a route to a layer that does not exist yet", "split": "max_5", "image": "image.npy"},
    ]
    return out


def region_vectors(rng: np.random.Generator) -> list[dict]:
    out = []
    for seed_index, (width, height, strong) in enumerate([(500, 375, 3), (353, 500, 6)]):
        for _attempt in range(1000):
            raw = rng.normal(0, 1.5, (NUM * (5 + CLASSES), 4, 4))
            for _ in range(strong):  # a few confident objects, some overlapping
                a, r, c = rng.integers(0, NUM), rng.integers(0, 4), rng.integers(0, 4)
                raw[a * (5 + CLASSES) + 4, r, c] = rng.uniform(2, 5)
                raw[a * (5 + CLASSES) + 5 + rng.integers(0, CLASSES), r, c] += 4
            raw = raw.astype(np.float32)
            found, margin = detections(region_table(raw.astype(np.float64)), width, height)
            if margin > 1e-4:  # no score or IoU within 1e-4 of its threshold: float32 cannot flip a decision
                break
        else:
            raise SystemExit("no region input with a safe margin found")
        name = f"region_{seed_index}"
        out.append({"id": f"region_{width}x{height}", "section": "D-4.2", "flags": ["region", "nms"],
                    "result": "valid", "operation": "region_detections", "output": save(f"{name}.npy", raw),
                    "width": width, "height": height,
                    "comment": f"{len(found)} detections after the 0.005 threshold and per-class NMS at 0.45; every "
                               f"score and IoU is at least {margin:.1e} from its threshold", "expected": found})
    return out


def clipping_vector(rng: np.random.Generator) -> dict:
    """D-4.2: a region input whose detections differ when boxes are clipped before NMS; every decision of both
    readings at least 1e-4 from its threshold."""
    width, height = 320, 240
    for _attempt in range(20000):
        raw = rng.normal(0, 1.5, (NUM * (5 + CLASSES), 4, 4))
        for _ in range(4):  # confident, large objects at the border: clipping changes their overlaps
            a, r, c = rng.integers(0, NUM), rng.choice([0, 3]), rng.choice([0, 3])
            raw[a * (5 + CLASSES) + 2: a * (5 + CLASSES) + 4, r, c] = rng.uniform(0.5, 1.6, 2)
            raw[a * (5 + CLASSES) + 4, r, c] = rng.uniform(2, 5)
            raw[a * (5 + CLASSES) + 5 + rng.integers(0, CLASSES), r, c] += 4
        raw = raw.astype(np.float32)
        table = region_table(raw.astype(np.float64))
        found, margin = detections(table, width, height)
        wrong, wrong_margin = detections(table, width, height, clip_first=True)
        if found != wrong and min(margin, wrong_margin) > 1e-4:
            break
    else:
        raise SystemExit("no region input that tells clipped from unclipped NMS found")
    return {"id": "region_nms_unclipped", "section": "D-4.2", "flags": ["region", "nms", "clipping"],
            "result": "valid", "operation": "region_detections", "output": save("region_clip.npy", raw),
            "width": width, "height": height,
            "comment": f"{len(found)} detections: NMS on the unclipped boxes; clipping them to the image first gives "
                       f"{len(wrong)} other ones; every decision of both at least {min(margin, wrong_margin):.1e} "
                       "from its threshold", "expected": found}


# ------------------------------------------------------------------ a second network: pools and cfg defaults (D-1.5)
POOLS_CFG = """# golden/detector/pools.cfg: Darknet's max-pool windows and its cfg defaults (spec D-1.5, D-2.2)
[net]
width=9
height=9
channels=2

# 0: a 3x3 window at stride 1: Darknet centres it (offset -1)
[maxpool]
size=3
stride=1

# 1: a 3x3 window at stride 2
[maxpool]
size=3
stride=2

# 2: size=2 and no stride: Darknet's stride defaults to 1 (D-1.5)
[maxpool]
size=2

# 3: no size, stride, pad or activation: 1x1, stride 1, no padding, logistic (D-1.5)
[convolutional]
filters=6

[region]
anchors=1,1
classes=1
num=1
"""


def pools_vectors(rng: np.random.Generator) -> list[dict]:
    bias, w = rng.normal(0, 0.1, 6), rng.normal(0, 0.7, (6, 2, 1, 1))
    bias, w = bias.astype(np.float32).astype(np.float64), w.astype(np.float32).astype(np.float64)
    (OUT / "pools.cfg").write_text(POOLS_CFG)
    (OUT / "pools.weights").write_bytes(struct.pack("<iiiq", 0, 2, 0, 0) + bias.astype("<f4").tobytes()
                                        + w.astype("<f4").tobytes())
    image = rng.uniform(0, 1, (2, 9, 9)).astype(np.float32)
    np.save(OUT / "pools_image.npy", image)
    x0 = maxpool(image.astype(np.float64), 3, 1)
    x1 = maxpool(x0, 3, 2)
    x2 = maxpool(x1, 2, 1)
    conv_out = np.einsum("chw,fc->fhw", x2, w[:, :, 0, 0]) + bias[:, None, None]
    region_input = 1.0 / (1.0 + np.exp(-conv_out))
    files = {"cfg": "pools.cfg", "weights": "pools.weights", "image": "pools_image.npy"}
    out = []
    for index, tensor, note in ((0, x0, "a 3x3 window at stride 1, centred (Darknet's -pad/2 offset)"),
                                (1, x1, "a 3x3 window at stride 2, output side (9 + 2 - 3) // 2 + 1 = 5"),
                                (2, x2, "[maxpool] size=2 with no stride: stride 1 (Darknet's default), 5x5 out")):
        name = f"max_{index}"
        out.append({"id": f"net_pools_front_{name}", "section": "D-2.2" if index < 2 else "D-1.5",
                    "flags": ["front", "darknet-maxpool"] + (["cfg-defaults"] if index == 2 else []),
                    "result": "valid", "operation": "split_forward", "comment": note, "split": name, **files,
                    "expected": {name: save(f"pools_front_{name}.npy", tensor)}})
    out.append({"id": "net_pools_back_max_2", "section": "D-1.5", "flags": ["back", "cfg-defaults"],
                "result": "valid", "operation": "back_forward", "split": "max_2", "cfg": "pools.cfg",
                "weights": "pools.weights", "tensors": {"max_2": "pools_front_max_2.npy"},
                "comment": "a [convolutional] with only filters=6: 1x1, stride 1, no padding, logistic activation",
                "expected": save("pools_back_max_2.npy", region_input)})
    return out


def generate(out: Path) -> dict:
    """Every file into ``out``; returns the manifest (pinned vectors first, in their order, then issue 30's)."""
    import make_golden_detector_edges

    set_output(out)
    rng = np.random.default_rng(20261125)
    weights, params = make_weights(rng)
    (OUT / "tiny.cfg").write_text(cfg_text())
    (OUT / "tiny.weights").write_bytes(weights)
    (OUT / "short.weights").write_bytes(weights[:-4])
    (OUT / "long.weights").write_bytes(weights + b"\0\0\0\0")
    (OUT / "bad_route.cfg").write_text(cfg_text().replace("layers=-4\n", "layers=-40\n", 1))
    body = {"schema": SCHEMA, "version": 1, "component": "detector", "spec": "spec/detector.md",
            "generator": "tools/make_golden_detector.py (numpy in binary64 from the spec text, independent of "
                         "cfc_ref/)", "cfg": "tiny.cfg", "weights": "tiny.weights",
            "vectors": vectors(rng, params) + region_vectors(rng)}
    body["vectors"] += [clipping_vector(rng)] + pools_vectors(rng)  # after the others: their draws are unchanged
    body["vectors"] += make_golden_detector_edges.edge_vectors(params, sys.modules[__name__])  # issue 30
    body = {k: v for k, v in body.items() if k != "vectors"} | {"count": len(body["vectors"]),
                                                                "vectors": body["vectors"]}
    return body


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--regenerate", action="store_true", help="overwrite the existing vectors")
    mode.add_argument("--extend", action="store_true", help="keep every pinned vector and file, add the new ones")
    args = parser.parse_args()
    target = OUT
    manifest = target / "vectors.json"
    if manifest.exists() and not (args.regenerate or args.extend):
        sys.exit(f"{manifest} exists; pass --extend or --regenerate (and say why in the commit message)")
    with tempfile.TemporaryDirectory() as tmp:
        fresh = Path(tmp)
        body = generate(fresh)
        ids = [v["id"] for v in body["vectors"]]
        assert len(ids) == len(set(ids)), "duplicate vector ids"
        if args.extend and manifest.exists():
            pinned = json.loads(manifest.read_text())
            kept = {v["id"] for v in pinned["vectors"]}
            new = [v for v in body["vectors"] if v["id"] not in kept]
            moved = [v["id"] for v in body["vectors"] if v["id"] in kept and v not in pinned["vectors"]]
            moved_files = [p.name for p in fresh.iterdir() if (target / p.name).exists()
                           and (target / p.name).read_bytes() != p.read_bytes()]
            if moved or moved_files:  # the pins stay; say that this numpy computes them otherwise
                print(f"note: regenerated here, {len(moved)} pinned entries and {len(moved_files)} pinned files "
                      "would differ; they are kept as pinned")
            for name in sorted(p.name for p in fresh.iterdir()):  # pinned files stay as they are
                if not (target / name).exists():
                    shutil.copyfile(fresh / name, target / name)
            body = {k: v for k, v in pinned.items() if k != "vectors"} | {
                "count": len(pinned["vectors"]) + len(new), "vectors": pinned["vectors"] + new}
            print(f"keeping {len(kept)} pinned vectors and their files, adding {len(new)}: "
                  f"{', '.join(v['id'] for v in new)}")
        else:
            target.mkdir(parents=True, exist_ok=True)
            for old in [*target.glob("*.npy"), *target.glob("*.weights"), *target.glob("*.cfg")]:
                old.unlink()
            for path in fresh.iterdir():
                shutil.copyfile(path, target / path.name)
        manifest.write_text(json.dumps(body, indent=1) + "\n")
    print(f"{manifest}: {body['count']} vectors")


if __name__ == "__main__":
    main()
