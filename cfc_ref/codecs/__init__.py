"""Picture codecs, by the id they carry on the wire (spec W-3): the one registry that the pipeline, the runner,
the codec CLI and the codec-in-the-loop training layer use.

A codec turns one padded monochrome picture (uint8 for n ≤ 8 bits, uint16 otherwise) into payload bytes and back;
``decode_named`` also says which decoder made the picture. ``get_codec("raw")`` or ``get_codec(0)`` returns the
codec object; ``get_codec("hevc", decoder="fast")`` one with that decoder policy (spec H-4.4).
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

    def decode_named(self, payload: bytes, shape: tuple[int, int], bit_depth: int) -> tuple[np.ndarray, str]: ...


CODEC_IDS: dict[str, int] = {"raw": 0, "hevc": 1}  # spec W-3


def _hevc(decoder: str | None) -> PictureCodec:
    from cfc_ref.codecs.hevc import HevcCodec  # imported on use: PyAV is only needed for HEVC payloads

    return HevcCodec(decoder=decoder)


def codec_name(codec_id: int) -> str:
    for name, ident in CODEC_IDS.items():
        if ident == codec_id:
            return name
    raise CodecError(f"unknown codec id {codec_id}")


def get_codec(codec: str | int | PictureCodec, decoder: str | None = None) -> PictureCodec:
    """A codec object by wire name or id; objects (e.g. ``HevcCodec(quality=27)``) are returned as they are.

    ``get_codec("hevc")`` has default encoder settings (x265, lossless); decoding needs none, only the decoder
    policy ``decoder`` (None: ``$CFC_DECODER`` or ``auto``, spec H-4.4).
    """
    if isinstance(codec, bool):
        raise CodecError(f"codec must be a wire name, a wire id or a codec object, got {codec!r}")
    if not isinstance(codec, (str, int)):
        return codec
    name = codec_name(codec) if isinstance(codec, int) else codec
    if name == "raw":
        return RawCodec()
    if name == "hevc":
        return _hevc(decoder)
    raise CodecError(f"codec {name!r} is not available; have {sorted(CODEC_IDS)}")
