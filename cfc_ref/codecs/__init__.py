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
    name: str
    codec_id: int

    def encode(self, picture: np.ndarray, bit_depth: int) -> bytes: ...

    def decode(self, payload: bytes, shape: tuple[int, int], bit_depth: int) -> np.ndarray: ...


CODEC_IDS: dict[str, int] = {"raw": 0, "hevc": 1}  # spec W-3; "hevc" is decoded by spec/codec.md's decoders
_CODECS: dict[str, PictureCodec] = {"raw": RawCodec()}


def codec_name(codec_id: int) -> str:
    for name, ident in CODEC_IDS.items():
        if ident == codec_id:
            return name
    raise CodecError(f"unknown codec id {codec_id}")


def get_codec(codec: str | int) -> PictureCodec:
    name = codec_name(codec) if isinstance(codec, int) else codec
    if name not in _CODECS:
        raise CodecError(f"codec {name!r} is not available; have {sorted(_CODECS)}")
    return _CODECS[name]
