"""FFmpeg's HEVC decoder in the PyAV wheel, in process; conforming outside one class of streams (spec H-4.3)."""

from __future__ import annotations

import io

import av
import numpy as np

from cfc_ref.errors import CodecError


def ffmpeg_name() -> str:
    major, minor, micro = av.library_versions["libavcodec"]
    return f"ffmpeg libavcodec {major}.{minor}.{micro} (PyAV {av.__version__})"


def decode_ffmpeg(stream: bytes, shape: tuple[int, int], coded_depth: int) -> np.ndarray:
    try:
        with av.open(io.BytesIO(stream), mode="r", format="hevc", options={"err_detect": "explode"}) as container:
            container.streams.video[0].codec_context.options = {"err_detect": "explode"}
            frames = list(container.decode(video=0))
    except (av.FFmpegError, IndexError, ValueError) as err:
        raise CodecError(f"ffmpeg could not decode the stream: {err}") from None
    if len(frames) != 1:
        raise CodecError(f"ffmpeg decoded {len(frames)} pictures, expected 1")
    picture = frames[0].to_ndarray()
    expected = np.uint8 if coded_depth == 8 else np.uint16
    if picture.shape != shape or picture.dtype != expected:
        raise CodecError(f"ffmpeg returned a {picture.dtype} {picture.shape} picture, expected {shape}")
    return picture
