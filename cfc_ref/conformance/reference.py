"""The reference implementation behind the adapter protocol (cfc_ref/conformance/protocol.py); the default.

It declares every profile; each function is a thin call into the package (the readable reference), converting
the protocol's plain types.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from cfc_ref import __version__, container, qlayer, tiling


def _profiles() -> tuple[str, ...]:
    """Everything, except what this installation cannot run: the detector needs torch (the extra ``torch``);
    decoding every vector needs one of the exact decoders (H-4.2; FFmpeg alone refuses the lossless RExt streams,
    H-4.3), an HM-exact encode needs HM-16.12 (H-2.2)."""
    import importlib.util

    from cfc_ref.codecs.hevc.decoders import available_decoders
    from cfc_ref.codecs.hevc.hm import hm_encoder

    return ("wire", "qlayer.fcm", "metrics", "detector.image",
            *(("detector",) if importlib.util.find_spec("torch") else ()),
            *(("codec",) if set(available_decoders()) - {"ffmpeg"} else ()),
            *(("codec.encode",) if hm_encoder() else ()))


NAME, VERSION = "cfc-ref reference", __version__
PROFILES = _profiles()


def quantize(v: np.ndarray, bit_depth: int, mode: str) -> tuple[np.ndarray, bytes]:
    q, side = qlayer.quantize(v, bit_depth, mode)  # type: ignore[arg-type]
    return q, side.to_bytes()


def quantize_fixed(v: np.ndarray, lo: float, hi: float, bit_depth: int) -> tuple[np.ndarray, bytes, int]:
    q, side, clipped = qlayer.quantize_fixed(v, qlayer.fixed_range(lo, hi), bit_depth)
    return q, side.to_bytes(), clipped


def dequantize(q: np.ndarray, side_info: bytes, bit_depth: int, mode: str) -> np.ndarray:
    return qlayer.dequantize(q, qlayer.SideInfo.from_bytes(side_info, mode), bit_depth)  # type: ignore[arg-type]


def tile(q: np.ndarray, layout: str, align: int) -> np.ndarray:
    return tiling.tile(q, layout, align)  # type: ignore[arg-type]


def untile(picture: np.ndarray, shape: tuple[int, int, int], layout: str, align: int) -> np.ndarray:
    if not isinstance(shape, (tuple, list)):
        raise tiling.TilingError(f"shape must be a list of 3 integers, got {shape!r}")
    return tiling.untile(picture, tuple(shape), layout, align)  # type: ignore[arg-type]


RECORD_KEYS = ("name", "shape", "bit_depth", "mode", "layout", "align", "codec", "side_info", "payload")


def _record(d: object, index: int) -> container.TensorRecord:
    """A protocol record (C-2) as a TensorRecord; a missing key or a value of the wrong type is a ContainerError."""
    if not isinstance(d, dict):
        raise container.ContainerError(f"record {index}: expected a dict, got {type(d).__name__}")
    missing = [k for k in RECORD_KEYS if k not in d]
    if missing:
        raise container.ContainerError(f"record {index}: missing {', '.join(missing)}")
    if not isinstance(d["side_info"], (bytes, bytearray)) or not isinstance(d["payload"], (bytes, bytearray)):
        raise container.ContainerError(f"record {index}: side_info and payload must be bytes")
    if not isinstance(d["shape"], (list, tuple)):
        raise container.ContainerError(f"record {index}: shape must be a list of 3 integers")
    try:
        side = qlayer.SideInfo.from_bytes(bytes(d["side_info"]), d["mode"])
    except qlayer.QLayerError as err:
        raise container.ContainerError(f"record {index}: side info: {err}") from None
    return container.TensorRecord(d["name"], tuple(d["shape"]), d["bit_depth"], d["layout"], d["align"],
                                  d["codec"], side, bytes(d["payload"]))


def pack(records: list[dict]) -> bytes:
    if not isinstance(records, (list, tuple)):
        raise container.ContainerError(f"records must be a list, got {type(records).__name__}")
    return container.pack([_record(d, i) for i, d in enumerate(records)])


def parse(data: bytes) -> list[dict]:
    return [{"name": r.name, "shape": list(r.shape), "bit_depth": r.bit_depth, "mode": r.mode, "layout": r.layout,
             "align": r.align, "codec": r.codec, "side_info": r.side_info.to_bytes(), "payload": r.payload}
            for r in container.parse(data)]


# --- metrics.ap, metrics.bd (spec M-1, M-2, M-5) --------------------------------------------------------------------

def voc_eval(ground_truth: list[dict], detections: list[dict], classes: list[str], method: str) -> dict:
    from cfc_ref.errors import MetricsError
    from cfc_ref.metrics.voc import Detection, GroundTruth, evaluate

    if method not in ("voc07", "all"):
        raise MetricsError(f"method must be voc07 or all, got {method!r}")
    try:
        truths = [GroundTruth(g["image"], g["class"], tuple(g["box"]), bool(g["difficult"])) for g in ground_truth]
        dets = [Detection(d["image"], d["class"], float(d["score"]), tuple(d["box"])) for d in detections]
    except (KeyError, TypeError) as err:
        raise MetricsError(f"malformed ground truth or detection: {err}") from None
    result = evaluate(truths, dets, tuple(classes))
    field = "ap_voc07" if method == "voc07" else "ap_all"
    aps = {c: getattr(r, field) for c, r in result.per_class.items()}  # None without ground truth (M-2.3)
    return {"ap": aps, "map": result.map_voc07 if method == "voc07" else result.map_all}


def bd_rate(anchor: list[list[float]], test: list[list[float]], method: str) -> float:
    from cfc_ref.metrics.bd import bd_kbpi_map

    return bd_kbpi_map([tuple(p) for p in anchor], [tuple(p) for p in test], method).percent  # type: ignore[misc]


def bd_metric(anchor: list[list[float]], test: list[list[float]], method: str) -> float:
    from cfc_ref.metrics.bd import bd_map

    return bd_map([tuple(p) for p in anchor], [tuple(p) for p in test], method).delta  # type: ignore[misc]


# --- detector.image, detector.network, detector.region (spec D-1..D-5) -----------------------------------------------

def network_input(image: np.ndarray, width: int, height: int) -> np.ndarray:
    from cfc_ref.detector.image import network_input as darknet_input
    from cfc_ref.errors import DarknetError

    try:
        return darknet_input(np.asarray(image), width, height)
    except ValueError as err:
        raise DarknetError(str(err)) from None


@lru_cache(maxsize=4)
def _model(cfg: str, weights: str, stamp: tuple[Any, ...]) -> Any:
    from cfc_ref.detector.cfg import load_cfg
    from cfc_ref.detector.model import DarknetModel
    from cfc_ref.detector.weights import load_weights

    model = DarknetModel(load_cfg(cfg))
    load_weights(model, weights)
    return model.eval()


def _loaded(cfg: str, weights: str) -> Any:
    stamp = tuple((p.stat().st_mtime_ns, p.stat().st_size) if p.exists() else None for p in (Path(cfg),
                                                                                                Path(weights)))
    return _model(str(cfg), str(weights), stamp)


def split_forward(cfg: str, weights: str, image: np.ndarray, split: str) -> dict[str, np.ndarray]:
    import torch

    from cfc_ref.detector.split import split as split_model

    front, _ = split_model(_loaded(cfg, weights), split)
    with torch.no_grad():
        out = front(torch.from_numpy(np.ascontiguousarray(image, dtype=np.float32))[None])
    return {name: t[0].numpy() for name, t in out.items()}


def back_forward(cfg: str, weights: str, split: str, tensors: dict[str, np.ndarray]) -> np.ndarray:
    import torch

    from cfc_ref.detector.split import split as split_model

    _, back = split_model(_loaded(cfg, weights), split)
    with torch.no_grad():
        out = back({name: torch.from_numpy(np.ascontiguousarray(t, dtype=np.float32))[None]
                    for name, t in tensors.items()})
    return out[0].numpy()


def region_detections(cfg: str, output: np.ndarray, width: int, height: int) -> list[dict]:
    import torch

    from cfc_ref.detector.cfg import load_cfg
    from cfc_ref.detector.region import decode_boxes, detections

    table = decode_boxes(torch.from_numpy(np.ascontiguousarray(output, dtype=np.float32))[None],
                         load_cfg(cfg).region)[0].numpy()
    return [{"class": d.class_index, "score": d.score, "box": [d.xmin, d.ymin, d.xmax, d.ymax]}
            for d in detections(table, width, height)]


# --- codec.decode, codec.encode (spec H-1, H-2, H-4) ----------------------------------------------------------------

def decode_hevc(bitstream: bytes, width: int, height: int, bit_depth: int) -> np.ndarray:
    from cfc_ref.codecs.hevc import decode_picture

    return decode_picture(bytes(bitstream), (height, width), bit_depth)[0]


def encode_hevc(picture: np.ndarray, bit_depth: int, qp: int | str) -> bytes:
    from cfc_ref.codecs.hevc import encode_picture

    return encode_picture(picture, bit_depth, qp, encoder="hm")  # type: ignore[arg-type]
