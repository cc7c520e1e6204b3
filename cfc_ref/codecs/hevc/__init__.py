"""HEVC RExt 4:0:0 coding of tiled feature pictures (paper §3.2; spec/codec.md).

    stream = encode_picture(picture, bit_depth=10, quality=27)            # x265 in process (or encoder="hm")
    picture, decoder = decode_picture(stream, picture.shape, bit_depth=10)  # a conforming decoder (H-4)

``HevcCodec`` is the wire codec (id 1) used by ``cfc_ref.pipeline``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np

from cfc_ref.codecs.hevc.decoders import available_decoders, decode_checked
from cfc_ref.codecs.hevc.hm import encode_hm, hm_encoder, hm_version
from cfc_ref.codecs.hevc.settings import Quality, check_quality, coded_bit_depth
from cfc_ref.codecs.hevc.x265 import encode_x265, x265_name
from cfc_ref.errors import CodecError
from cfc_ref.timing import stage

Encoder = Literal["x265", "hm"]
ENCODERS: tuple[Encoder, ...] = ("x265", "hm")

__all__ = ["ENCODERS", "HevcCodec", "available_decoders", "decode_picture", "encode_picture", "encoder_name"]


def encoder_name(encoder: Encoder) -> str:
    """H-3.2: the name and version every result records."""
    if encoder == "x265":
        return x265_name()
    if encoder == "hm":
        program = hm_encoder()
        if program is None:
            raise CodecError("HM encoder not found (build it with tools/build_hm.sh)")
        return hm_version(program)
    raise CodecError(f"unknown encoder {encoder!r}; choose from {ENCODERS}")


def _check_picture(picture: np.ndarray, bit_depth: int) -> int:
    if not isinstance(picture, np.ndarray) or picture.ndim != 2 or picture.dtype.kind != "u":
        raise CodecError("picture must be a 2-d unsigned integer array")
    if picture.shape[0] < 1 or picture.shape[1] < 1 or picture.shape[0] % 8 or picture.shape[1] % 8:
        raise CodecError(f"picture sides must be positive multiples of 8 (spec T-4.2), got {picture.shape}")
    depth = coded_bit_depth(bit_depth)
    if picture.dtype.itemsize * 8 > bit_depth and int(picture.max()) > 2**bit_depth - 1:  # else it cannot be
        raise CodecError(f"picture has samples above {2**bit_depth - 1} for {bit_depth} bits")
    return depth


def encode_picture(picture: np.ndarray, bit_depth: int, quality: Quality, encoder: Encoder = "x265",
                   decoder: str | None = None) -> bytes:
    """Code one picture (H-1); lossless results are verified by decoding (H-5.2)."""
    return encode_verified(picture, bit_depth, quality, encoder, decoder)[0]


def encode_verified(picture: np.ndarray, bit_depth: int, quality: Quality, encoder: Encoder = "x265",
                    decoder: str | None = None) -> tuple[bytes, str | None]:
    """:func:`encode_picture`, and for a lossless stream the decoder that verified it (H-5.2): the decoder the
    policy ``decoder`` chose, which gave ``picture`` back from these bytes (None for a lossy stream)."""
    depth = _check_picture(picture, bit_depth)
    quality = check_quality(quality)
    with stage("encode"):
        if encoder == "x265":
            stream = encode_x265(picture, depth, quality)
        elif encoder == "hm":
            stream = encode_hm(picture, depth, quality)
        else:
            raise CodecError(f"unknown encoder {encoder!r}; choose from {ENCODERS}")
    if quality != "lossless":
        return stream, None
    with stage("decode"):
        decoded, used = decode_checked(stream, picture.shape, depth, decoder)
    if not np.array_equal(decoded, picture):
        raise CodecError(f"lossless {encoder} stream does not decode to its input (decoder {used})")
    return stream, used


def decode_picture(stream: bytes, shape: tuple[int, int], bit_depth: int,
                   decoder: str | None = None) -> tuple[np.ndarray, str]:
    """Decode one picture through a decoder that can vouch for it (H-4, H-5.1); returns (picture, decoder)."""
    depth = coded_bit_depth(bit_depth)
    with stage("decode"):
        picture, used = decode_checked(stream if type(stream) is bytes else bytes(stream),
                                       (int(shape[0]), int(shape[1])), depth, decoder)
    if bit_depth < depth:
        picture = np.minimum(picture, 2**bit_depth - 1).astype(picture.dtype)  # H-5.1 clip for n < 8
    return picture, used


@dataclass(frozen=True)
class HevcCodec:
    """Wire codec ``hevc`` (W-3.2) with its encoder settings; decoding needs none of them."""

    quality: Quality = "lossless"
    encoder: Encoder = "x265"
    decoder: str | None = None
    name: str = "hevc"
    codec_id: int = 1

    def encode(self, picture: np.ndarray, bit_depth: int) -> bytes:
        return encode_picture(picture, bit_depth, self.quality, self.encoder, self.decoder)

    def decode(self, payload: bytes, shape: tuple[int, int], bit_depth: int) -> np.ndarray:
        return self.decode_named(payload, shape, bit_depth)[0]

    def decode_named(self, payload: bytes, shape: tuple[int, int], bit_depth: int) -> tuple[np.ndarray, str]:
        """The picture and the name of the decoder that made it (H-4.4)."""
        picture, used = decode_picture(payload, shape, bit_depth, self.decoder)
        expected = np.uint8 if bit_depth <= 8 else np.uint16
        return (picture if picture.dtype == expected else picture.astype(expected)), used
