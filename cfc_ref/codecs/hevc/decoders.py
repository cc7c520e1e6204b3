"""Choosing a decoder that can vouch for its output, and checking the stream around it (spec H-4, H-5.1)."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from cfc_ref.codecs.hevc.ffmpeg import decode_ffmpeg, ffmpeg_name
from cfc_ref.codecs.hevc.hm import decode_hm, hm_decoder, hm_version
from cfc_ref.codecs.hevc.libde265 import decode_libde265, libde265_program, libde265_version
from cfc_ref.codecs.hevc.pylibde265 import (
    decode_pylibde265,
    decode_pylibde265_checked,
    pylibde265_available,
    pylibde265_name,
)
from cfc_ref.codecs.hevc.syntax import StreamInfo, stream_info
from cfc_ref.errors import CodecError, DecoderRefusal

# H-4.4 "auto": conforming in process first (pip-installable, no program start), then the reference, then the
# system libde265 program, then FFmpeg for the streams it is allowed (H-4.3).
DECODER_ORDER = ("pylibde265", "hm", "libde265", "ffmpeg")
FAST_ORDER = ("pylibde265", "ffmpeg", "libde265", "hm")  # H-4.4 "fast": in process first, where it is allowed


@dataclass(frozen=True)
class Decoder:
    name: str
    available: Callable[[], bool]
    allowed: Callable[[StreamInfo], bool]
    decode: Callable[[bytes, tuple[int, int], int], np.ndarray]
    describe: Callable[[], str]
    # the same decode given what check_stream read from the stream (so that the stream is not read twice)
    decode_checked: Callable[[bytes, tuple[int, int], int, StreamInfo], np.ndarray] | None = None


def ffmpeg_allowed(info: StreamInfo) -> bool:
    """H-4.3: FFmpeg is not trusted with transquant bypass combined with any range-extension tool."""
    return not (info.transquant_bypass and info.sps.range_extension.any)


def hm_allowed(info: StreamInfo) -> bool:
    """H-4.3: HM-16.12's decoder aborts (an assertion in parseSPS) on a stream of level 5 or above whose CTBs are
    smaller than 32×32, as x265's lossless streams are (level_idc 255, CTB 16)."""
    return not (info.sps.level_idc >= 150 and info.sps.ctb_log2_size < 5)


DECODERS = {
    "pylibde265": Decoder("pylibde265", pylibde265_available, lambda info: True, decode_pylibde265, pylibde265_name,
                          decode_pylibde265_checked),
    "hm": Decoder("hm", lambda: hm_decoder() is not None, hm_allowed, decode_hm,
                  lambda: hm_version(hm_decoder() or "TAppDecoderStatic")),
    "libde265": Decoder("libde265", lambda: libde265_program() is not None, lambda info: True, decode_libde265,
                        lambda: libde265_version(libde265_program() or "dec265")),
    "ffmpeg": Decoder("ffmpeg", lambda: True, ffmpeg_allowed, decode_ffmpeg, ffmpeg_name),
}


def available_decoders() -> list[str]:
    return [name for name in DECODER_ORDER if DECODERS[name].available()]


def check_stream(stream: bytes, shape: tuple[int, int], coded_depth: int) -> StreamInfo:
    """H-5.1 before decoding: a 4:0:0 picture of the expected size and depth, one coded slice."""
    if not stream:
        raise CodecError("empty bitstream")
    info = stream_info(stream)
    sps = info.sps
    if sps.chroma_format_idc != 0:
        raise CodecError(f"stream is not 4:0:0 (chroma_format_idc {sps.chroma_format_idc})")
    if (sps.height, sps.width) != tuple(shape) or sps.bit_depth_luma != coded_depth:
        raise CodecError(f"stream codes a {sps.height}×{sps.width} {sps.bit_depth_luma}-bit picture, "
                         f"expected {shape[0]}×{shape[1]} at {coded_depth} bits")
    if info.vcl_units != 1:
        raise CodecError(f"stream has {info.vcl_units} coded slices, expected 1")
    return info


def choose_decoder(info: StreamInfo, requested: str | None = None) -> Decoder:
    """H-4.4: an explicit or $CFC_DECODER choice, else the first installed decoder allowed for this stream."""
    name = requested or os.environ.get("CFC_DECODER") or "auto"
    if name not in ("auto", "fast"):
        if name not in DECODERS:
            raise CodecError(f"unknown decoder {name!r}; choose from {', '.join(DECODER_ORDER)}, auto or fast")
        decoder = DECODERS[name]
        if not decoder.available():
            raise CodecError(f"decoder {name!r} is not installed")
        if not decoder.allowed(info):
            raise DecoderRefusal(f"decoder {name!r} is not allowed for this stream (spec H-4.3); "
                                 "use pylibde265 or libde265")
        return decoder
    for candidate in DECODER_ORDER if name == "auto" else FAST_ORDER:
        decoder = DECODERS[candidate]
        if decoder.available() and decoder.allowed(info):
            return decoder
    raise DecoderRefusal("no installed decoder is allowed for this stream (spec H-4.3): install libde265 "
                         "(python -m pip install pylibde265 in cfc-ref's environment, CPython 3.11 x86_64 Linux; "
                         "elsewhere Debian's libde265-examples) or build HM (tools/build_hm.sh)")


def decode_checked(stream: bytes, shape: tuple[int, int], coded_depth: int,
                   decoder: str | None = None) -> tuple[np.ndarray, str]:
    """Decode one picture with a decoder that can vouch for it; returns (samples, decoder name)."""
    if type(shape) is not tuple:
        shape = (int(shape[0]), int(shape[1]))
    info = check_stream(stream, shape, coded_depth)
    chosen = choose_decoder(info, decoder)
    if chosen.decode_checked is not None:
        picture = chosen.decode_checked(stream, shape, coded_depth, info)
    else:
        picture = chosen.decode(stream, shape, coded_depth)
    if picture.shape != shape:  # H-5.1 after decoding
        raise CodecError(f"{chosen.name} returned {picture.shape}, expected {shape}")
    # A sample above 2^b - 1: impossible in a uint8 picture at b = 8, so only wider samples are read for it.
    if (picture.dtype != np.uint8 or coded_depth < 8) and int(picture.max(initial=0)) > 2**coded_depth - 1:
        raise CodecError(f"{chosen.name} returned samples above {2**coded_depth - 1}")
    return picture, chosen.name
