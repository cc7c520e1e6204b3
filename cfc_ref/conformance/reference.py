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
    return tiling.untile(picture, tuple(shape), layout, align)  # type: ignore[arg-type]


def _record(d: dict) -> container.TensorRecord:
    try:
        side = qlayer.SideInfo.from_bytes(d["side_info"], d["mode"])
    except qlayer.QLayerError as err:
        raise container.ContainerError(f"side info: {err}") from None
    return container.TensorRecord(d["name"], tuple(d["shape"]), d["bit_depth"], d["layout"], d["align"],
                                  d["codec"], side, bytes(d["payload"]))


def pack(records: list[dict]) -> bytes:
    return container.pack([_record(d) for d in records])


def parse(data: bytes) -> list[dict]:
    return [{"name": r.name, "shape": list(r.shape), "bit_depth": r.bit_depth, "mode": r.mode, "layout": r.layout,
             "align": r.align, "codec": r.codec, "side_info": r.side_info.to_bytes(), "payload": r.payload}
            for r in container.parse(data)]
