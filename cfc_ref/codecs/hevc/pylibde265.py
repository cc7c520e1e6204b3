"""libde265 in process, through the ``pylibde265`` wheel (optional extra ``decode``; spec H-4.2).

The wheel bundles libde265 1.0.16 behind pybind11. Its picture objects point into the decoder's memory: a picture
that outlives its decoder, or two pictures alive at once, crash the process. :func:`decode_pylibde265` is the only
user of the module and makes that misuse impossible: each picture's plane is copied out and the picture dropped
before the next one is asked for, and the decoder is dropped last.

A fresh libde265 decoder per picture costs about 8 % of a small feature picture's decode (64×128, 8 bits, QP 27:
0.41 ms with a fresh decoder against 0.38 ms with a kept one, measured 2026-12-07 on a 2-core Intel Xeon VM; the
decoder's creation itself is 0.02 ms, the rest is its first decode), so one decoder per process is kept between
pictures (spec H-4.8): after a stream decoded without any
error it is reset and kept, but it is handed only a self-contained stream (every parameter set its slice uses comes
before the slice), which no state of an earlier stream can affect; any other stream gets a fresh decoder, and a
decoder that met an error is dropped.
"""

from __future__ import annotations

from functools import lru_cache
from importlib import import_module
from importlib.metadata import PackageNotFoundError, version
from types import ModuleType

import numpy as np

from cfc_ref.codecs.hevc.syntax import StreamInfo, self_contained
from cfc_ref.errors import CodecError

_KEPT: list = []  # at most one decoder, reset after a clean decode (H-4.8); taken out while in use


@lru_cache(maxsize=1)
def _binding() -> ModuleType | None:
    try:
        return import_module("pylibde265._de265")
    except ImportError:  # not installed, or no wheel for this platform (cp311 x86_64 Linux only)
        return None


@lru_cache(maxsize=1)
def _mono() -> int:
    """de265_chroma_mono as an int (an int compares in one step; the binding's enum objects through a call)."""
    binding = _binding()
    return int(binding.CHROMA_MONO) if binding is not None else -1


def pylibde265_available() -> bool:
    return _binding() is not None


def pylibde265_name() -> str:
    binding = _binding()
    if binding is None:
        return "pylibde265 (not installed)"
    try:
        wrapper = version("pylibde265")
    except PackageNotFoundError:
        wrapper = "unknown"
    return f"libde265 {binding.get_version()} (pylibde265 {wrapper})"


def decode_pylibde265_checked(stream: bytes, shape: tuple[int, int], coded_depth: int, info: StreamInfo) -> np.ndarray:
    """:func:`decode_pylibde265` of a stream that ``decoders.check_stream`` read already (``info``)."""
    return decode_pylibde265(stream, shape, coded_depth, info.self_contained)


def decode_pylibde265(stream: bytes, shape: tuple[int, int], coded_depth: int,
                      reusable: bool | None = None) -> np.ndarray:
    """Decode a one-picture stream; any decoder error, or not exactly one picture of ``shape``, is a CodecError.
    ``reusable``: whether the stream is self-contained (H-4.8), when the caller has read it already."""
    binding = _binding()
    if binding is None:
        raise CodecError("pylibde265 is not installed (python -m pip install pylibde265 in cfc-ref's Python "
                         "environment: a wheel for CPython 3.11 x86_64 Linux)")
    waiting = binding.ERROR_WAITING_FOR_INPUT_DATA
    if reusable is None:
        reusable = self_contained(stream)
    decoder = _KEPT.pop() if reusable and _KEPT else None
    if decoder is None:
        decoder = binding.decoder()
        # A picture with decoding errors is not output at all (never a damaged picture).
        decoder.set_parameter_bool(binding.PARAM_SUPPRESS_FAULTY_PICTURES, True)
    planes: list[np.ndarray] = []
    problems: list[str] = []
    finished = False  # the loop ran to its end (no exception out of the binding or numpy)
    try:
        for err in (decoder.push_data(stream if type(stream) is bytes else bytes(stream), 0), decoder.flush_data()):
            if not binding.isOk(err):
                problems.append(binding.get_error_text(err))
        while not problems:
            err, more = decoder.decode()
            stalled = False  # waiting for input (not an error); only a result that is not OK can be that
            if not binding.isOk(err):
                stalled = err == waiting
                if not stalled:
                    problems.append(binding.get_error_text(err))
            while True:  # libde265 goes on saying "more" while a picture waits to be taken: take each at once
                image = decoder.get_next_picture()
                if image is None:
                    break
                try:
                    if int(image.chroma_format) != _mono() or image.get_bits_per_pixel(0) != coded_depth:
                        problems.append(f"picture is not {coded_depth}-bit 4:0:0")
                    planes.append(np.array(image.get_plane(0), copy=True))
                finally:
                    del image  # before the next picture and before the decoder (see the module docstring)
            if not more or stalled:
                break
        finished = True
    finally:
        if finished and reusable and not problems and len(planes) == 1 and not _KEPT:
            decoder.reset()  # drops queued data and pictures; the next self-contained stream brings its own sets
            _KEPT.append(decoder)
        del decoder
    if problems:
        raise CodecError(f"pylibde265 could not decode the stream: {problems[0]}")
    if len(planes) != 1:
        raise CodecError(f"pylibde265 decoded {len(planes)} pictures, expected 1")
    picture = planes[0]
    expected = np.uint8 if coded_depth == 8 else np.uint16
    if picture.shape != tuple(shape) or picture.dtype != expected:
        raise CodecError(f"pylibde265 returned a {picture.dtype} {picture.shape} picture, expected {tuple(shape)}")
    return picture
