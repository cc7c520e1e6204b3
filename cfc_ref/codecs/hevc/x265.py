"""The embedded encoder: libx265 inside the PyAV wheel, in process (spec H-3)."""

from __future__ import annotations

import re
from fractions import Fraction
from functools import lru_cache

import av
import numpy as np

from cfc_ref.codecs.hevc.settings import X265_PIXEL_FORMATS, X265_PRESET, Quality, x265_params
from cfc_ref.errors import CodecError


def _encoder(width: int, height: int, coded_depth: int, params: str) -> av.VideoCodecContext:
    context = av.CodecContext.create("libx265", "w")
    context.width, context.height = width, height
    context.pix_fmt = X265_PIXEL_FORMATS[coded_depth]
    context.time_base = Fraction(1, 1)
    context.options = {"preset": X265_PRESET, "x265-params": params}
    return context


def encode_with_params(picture: np.ndarray, coded_depth: int, params: str) -> bytes:
    """One picture with an explicit x265-params string (golden vectors that name their own settings)."""
    height, width = picture.shape
    context = _encoder(width, height, coded_depth, params)
    fmt = X265_PIXEL_FORMATS[coded_depth]
    samples = np.ascontiguousarray(picture, dtype=np.uint8 if coded_depth == 8 else np.uint16)
    frame = av.VideoFrame.from_ndarray(samples, format=fmt)  # type: ignore[arg-type]  # uint8 or uint16
    try:
        packets = list(context.encode(frame)) + list(context.encode(None))
    except av.FFmpegError as err:
        raise CodecError(f"x265 failed: {err}") from None
    return b"".join(bytes(p) for p in packets)


X265_MIN_SIDE = 16  # H-3.4: x265 opens no encoder for a picture side below its CTU (16 with the H-3.1 settings)


def encode_x265(picture: np.ndarray, coded_depth: int, quality: Quality) -> bytes:
    """One 4:0:0 picture → HEVC Annex B bytes, with the H-3.1 settings."""
    if min(picture.shape) < X265_MIN_SIDE:
        raise CodecError(f"x265 codes pictures of at least {X265_MIN_SIDE}×{X265_MIN_SIDE} samples (its CTU); this "
                         f"one is {picture.shape[0]}×{picture.shape[1]}: encode it with HM (encoder hm), or tile "
                         "with alignment 16 (spec H-3.4)")
    return encode_with_params(picture, coded_depth, x265_params(quality))


@lru_cache(maxsize=1)
def x265_version() -> str:
    """The x265 version inside the PyAV wheel, read from the settings SEI of a 16×16 test encode."""
    stream = encode_with_params(np.zeros((16, 16), np.uint8), 8, "info=1:log-level=error:pools=none:frame-threads=1")
    match = re.search(rb"x265 \(build \d+\) - ([0-9A-Za-z.+_-]+)", stream)
    return match.group(1).decode() if match else "unknown"


def x265_name() -> str:
    """H-3.2: the encoder's name as results record it."""
    return f"x265 {x265_version()} (PyAV {av.__version__})"
