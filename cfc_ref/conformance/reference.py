"""The reference implementation behind the adapter protocol (cfc_ref/conformance/protocol.py); the default."""

from __future__ import annotations

import numpy as np

from cfc_ref import container, qlayer, tiling


def quantize(v: np.ndarray, bit_depth: int, mode: str) -> tuple[np.ndarray, bytes]:
    q, side = qlayer.quantize(v, bit_depth, mode)  # type: ignore[arg-type]
    return q, side.to_bytes()


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
