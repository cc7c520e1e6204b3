"""Picture codecs, by the id they carry on the wire (spec W-3).

A codec turns one padded monochrome picture (uint8 for n ≤ 8 bits, uint16 otherwise) into payload bytes and back.
``get_codec("raw")`` or ``get_codec(0)`` returns the codec object.
"""

from __future__ import annotations

from typing import Protocol

import numpy as np

from cfc_ref.codecs.raw import RawCodec
from cfc_ref.errors import CodecError


class PictureCodec(Protocol):
    @property
    def name(self) -> str: ...

    @property
    def codec_id(self) -> int: ...

    def encode(self, picture: np.ndarray, bit_depth: int) -> bytes: ...

    def decode(self, payload: bytes, shape: tuple[int, int], bit_depth: int) -> np.ndarray: ...


CODEC_IDS: dict[str, int] = {"raw": 0, "hevc": 1}  # spec W-3


def _hevc() -> PictureCodec:
    from cfc_ref.codecs.hevc import HevcCodec  # imported on use: PyAV is only needed for HEVC payloads

    return HevcCodec()


def codec_name(codec_id: int) -> str:
    for name, ident in CODEC_IDS.items():
        if ident == codec_id:
            return name
    raise CodecError(f"unknown codec id {codec_id}")


def get_codec(codec: str | int | PictureCodec) -> PictureCodec:
    """A codec object by wire name or id; objects (e.g. ``HevcCodec(quality=27)``) are returned as they are.

    ``get_codec("hevc")`` has default encoder settings (x265, lossless); decoding needs no settings.
    """
    if not isinstance(codec, (str, int)):
        return codec
    name = codec_name(codec) if isinstance(codec, int) else codec
    if name == "raw":
        return RawCodec()
    if name == "hevc":
        return _hevc()
    raise CodecError(f"codec {name!r} is not available; have {sorted(CODEC_IDS)}")
