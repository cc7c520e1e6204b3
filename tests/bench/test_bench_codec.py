"""HEVC encode/decode per backend, our API's overhead over the bare codec call, and the pool speed-up (issue 3).

Each group's ``baseline`` is the bare PyAV call on the same picture, measured in the same run (spec C-3.1).
"""

from __future__ import annotations

import io
from fractions import Fraction

import av
import numpy as np
import pytest

from cfc_ref.codecs.hevc import decode_picture, encode_picture
from cfc_ref.codecs.hevc.batch import encode_many
from cfc_ref.codecs.hevc.decoders import DECODERS
from cfc_ref.codecs.hevc.settings import X265_PIXEL_FORMATS, X265_PRESET, x265_params
from cfc_ref.demo import builtin_features
from cfc_ref.qlayer import quantize
from cfc_ref.tiling import tile

pytestmark = pytest.mark.bench
SIZES = {"416x416": "max_11", "208x416": "max_17"}  # the paper's two split pictures
QP = 27


def feature_picture(size: str, bit_depth: int) -> np.ndarray:
    q, _ = quantize(builtin_features()[SIZES[size]], bit_depth)
    return tile(q).astype(np.uint8 if bit_depth == 8 else np.uint16)


def bare_encode(picture: np.ndarray, bit_depth: int) -> bytes:
    ctx = av.CodecContext.create("libx265", "w")
    ctx.height, ctx.width = picture.shape
    ctx.pix_fmt, ctx.time_base = X265_PIXEL_FORMATS[bit_depth], Fraction(1, 1)
    ctx.options = {"preset": X265_PRESET, "x265-params": x265_params(QP)}
    frame = av.VideoFrame.from_ndarray(picture, format=X265_PIXEL_FORMATS[bit_depth])
    return b"".join(bytes(p) for p in list(ctx.encode(frame)) + list(ctx.encode(None)))


def bare_decode(stream: bytes) -> np.ndarray:
    with av.open(io.BytesIO(stream), mode="r", format="hevc") as container:
        return next(container.decode(video=0)).to_ndarray()


@pytest.mark.parametrize("bit_depth", [8, 10, 12])
@pytest.mark.parametrize("size", list(SIZES))
@pytest.mark.parametrize("path", ["baseline", "cfc_ref x265", "cfc_ref x265 lossless"])
def test_encode(timed, size, bit_depth, path):
    picture = feature_picture(size, bit_depth)
    group = f"encode {size} {bit_depth}-bit (QP {QP})"
    if path == "baseline":
        stream = timed(group, path, bare_encode, picture, bit_depth)
    elif path == "cfc_ref x265":
        stream = timed(group, path, encode_picture, picture, bit_depth, QP, "x265")
        assert stream == bare_encode(picture, bit_depth)  # same settings, same bytes
    else:
        stream = timed(group, path, encode_picture, picture, bit_depth, "lossless", "x265")
    assert stream


@pytest.mark.parametrize("bit_depth", [8, 10, 12])
@pytest.mark.parametrize("size", list(SIZES))
@pytest.mark.parametrize("path", ["baseline", "ffmpeg", "libde265", "hm"])
def test_decode(timed, size, bit_depth, path):
    picture = feature_picture(size, bit_depth)
    stream = bare_encode(picture, bit_depth)
    group = f"decode {size} {bit_depth}-bit (QP {QP})"
    if path == "baseline":
        out = timed(group, path, bare_decode, stream)
    else:
        if not DECODERS[path].available():
            pytest.skip(f"{path} is not installed")
        out, _ = timed(group, f"cfc_ref {path}", decode_picture, stream, picture.shape, bit_depth, path)
    assert np.array_equal(out, bare_decode(stream))


@pytest.mark.parametrize("path", ["baseline", "pool 2 workers"])
def test_pool_speedup(timed, path):
    """baseline = 16 encodes one after another; the ratio of the pool row is its time over serial."""
    rng = np.random.default_rng(0)
    pictures = [(rng.integers(0, 1024, (208, 416)) // 8 * 8).astype(np.uint16) for _ in range(16)]
    workers = 1 if path == "baseline" else 2
    streams = timed("pool: 16 encodes 208x416 10-bit", path, encode_many, pictures, 10, QP, "x265", workers)
    assert len(streams) == 16
