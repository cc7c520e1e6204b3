"""The codec's benchmark groups (issue 34): the package's encode and decode per picture against the bare library
call on the same picture — PyAV's libx265 for encoding, pylibde265 for decoding — at the embedded model's 64×128
split picture and the paper's 416×416, 8/10/12 bit, lossless and QP 27; the other decoders; the encoding pool.

A lossless encode through the package is verified by decoding it (spec H-5.2), so its baseline is the bare encode
plus the bare decode and comparison that H-5.2 requires; its row ``bare x265 alone`` shows what the check costs.
"""

from __future__ import annotations

import os
from fractions import Fraction
from functools import cache
from pathlib import Path

import av
import numpy as np
from harness import BASELINE, Group

from cfc_ref.codecs.hevc import HevcCodec, decode_picture
from cfc_ref.codecs.hevc.batch import encode_many
from cfc_ref.codecs.hevc.settings import X265_PIXEL_FORMATS, X265_PRESET, Quality, x265_params
from cfc_ref.demo import builtin_features
from cfc_ref.qlayer import quantize
from cfc_ref.tiling import tile

SIZES = ("64x128", "416x416")  # the embedded model's max 11 picture (32×16×16); the paper's max 11 (256×26×26)
DEPTHS = (8, 10, 12)
QUALITIES: tuple[Quality, ...] = (27, "lossless")
RUN_DECODER = "fast"  # the wire codec as a run makes it: HevcCodec(quality, encoder, config.decoder), "fast" default
STREAMS_ENV = "CFC_BENCH_STREAMS"  # a directory of ready bitstreams (the instruction counter's child reads them)


def quality_label(quality: Quality) -> str:
    return "lossless" if quality == "lossless" else f"QP {quality}"


@cache
def picture(size: str, depth: int) -> np.ndarray:
    """A tiled, quantized feature picture: the built-in max 11 tensor, or its first 32 channels' 16×16 corner."""
    v = builtin_features()["max_11"]
    if size == "64x128":
        v = np.ascontiguousarray(v[:32, :16, :16])
    q, _ = quantize(v, depth)
    out = tile(q).astype(np.uint8 if depth == 8 else np.uint16)
    assert out.shape == tuple(int(s) for s in size.split("x")), out.shape
    return out


def bare_encode(samples: np.ndarray, depth: int, quality: Quality) -> bytes:
    """The bare PyAV call with the spec's settings (H-3.1)."""
    context = av.CodecContext.create("libx265", "w")
    context.height, context.width = samples.shape
    context.pix_fmt, context.time_base = X265_PIXEL_FORMATS[depth], Fraction(1, 1)
    context.options = {"preset": X265_PRESET, "x265-params": x265_params(quality)}
    frame = av.VideoFrame.from_ndarray(samples, format=X265_PIXEL_FORMATS[depth])  # type: ignore[arg-type]
    return b"".join(bytes(p) for p in list(context.encode(frame)) + list(context.encode(None)))


_BARE_DECODER: list = []


def bare_decode(stream: bytes) -> np.ndarray:
    """The bare pylibde265 calls: one kept decoder, reset after each picture (as the package keeps one, H-4.8)."""
    import pylibde265._de265 as binding

    if not _BARE_DECODER:
        decoder = binding.decoder()
        decoder.set_parameter_bool(binding.PARAM_SUPPRESS_FAULTY_PICTURES, True)
        _BARE_DECODER.append(decoder)
    decoder = _BARE_DECODER[0]
    decoder.push_data(stream, 0)
    decoder.flush_data()
    out = None
    while True:
        _, more = decoder.decode()
        image = decoder.get_next_picture()
        if image is not None:
            out = np.array(image.get_plane(0), copy=True)
            del image
        if not more:
            break
    decoder.reset()
    assert out is not None
    return out


def stream(size: str, depth: int, quality: Quality) -> bytes:
    """The bare encode of ``picture(size, depth)``, read from ``$CFC_BENCH_STREAMS`` when it is there."""
    folder = os.environ.get(STREAMS_ENV)
    path = Path(folder) / f"{size}-{depth}-{quality}.bin" if folder else None
    if path is not None and path.is_file():
        return path.read_bytes()
    data = bare_encode(picture(size, depth), depth, quality)
    if path is not None:
        path.write_bytes(data)
    return data


def encode_group(size: str, depth: int, quality: Quality) -> Group:
    samples = picture(size, depth)
    codec = HevcCodec(quality=quality, decoder=RUN_DECODER)
    name = f"glue encode {size} {depth}-bit {quality_label(quality)}"
    ours = "cfc_ref HevcCodec.encode"
    if quality == "lossless":
        def baseline() -> bytes:
            data = bare_encode(samples, depth, quality)
            if not np.array_equal(bare_decode(data), samples):  # H-5.2, as bare as it gets
                raise AssertionError("lossless stream does not decode to its input")
            return data

        paths = {BASELINE: baseline, ours: lambda: codec.encode(samples, depth),
                 "bare x265 alone (no H-5.2 check)": lambda: bare_encode(samples, depth, quality)}
    else:
        paths = {BASELINE: lambda: bare_encode(samples, depth, quality), ours: lambda: codec.encode(samples, depth)}

    def same_bytes(outputs: dict[str, object]) -> None:
        assert len(set(outputs.values())) == 1, "the package's bitstream differs from the bare call's"

    small = size == "64x128"
    return Group(name, paths, number=5 if small else 1, rounds=9, check=same_bytes, warm_for_counts=small,
                 notes={BASELINE: "bare PyAV libx265" + (" + bare pylibde265 decode and compare (H-5.2)"
                                                       if quality == "lossless" else "")})


def decode_group(size: str, depth: int, quality: Quality) -> Group:
    data = stream(size, depth, quality)
    shape = picture(size, depth).shape
    codec = HevcCodec(quality=quality, decoder=RUN_DECODER)
    paths = {BASELINE: lambda: bare_decode(data), "cfc_ref HevcCodec.decode": lambda: codec.decode(data, shape, depth),
             "cfc_ref decode_picture (decoder auto)": lambda: decode_picture(data, shape, depth)[0]}

    def same_picture(outputs: dict[str, object]) -> None:
        first = outputs[BASELINE]
        assert isinstance(first, np.ndarray) and first.shape == shape
        assert all(np.array_equal(first, out) for out in outputs.values()), "the package's picture differs"  # type: ignore[arg-type]

    return Group(f"glue decode {size} {depth}-bit {quality_label(quality)}", paths,
                 number=25 if size == "64x128" else 3, rounds=15, check=same_picture,
                 notes={BASELINE: "bare pylibde265, one kept decoder reset after each picture"})


def decoders_group(size: str, available: tuple[str, ...]) -> Group:
    """Every other decoder through the package, against bare pylibde265 (QP 27, 8 bits)."""
    data = stream(size, 8, 27)
    shape = picture(size, 8).shape
    paths = {BASELINE: lambda: bare_decode(data)}
    for name in available:
        paths[f"cfc_ref {name}"] = lambda name=name: decode_picture(data, shape, 8, name)[0]

    def same_picture(outputs: dict[str, object]) -> None:
        first = outputs[BASELINE]
        assert all(np.array_equal(first, out) for out in outputs.values())  # type: ignore[arg-type]

    return Group(f"decoders {size} 8-bit QP 27 (baseline = bare pylibde265)", paths, number=3, rounds=7,
                 check=same_picture)


def pool_group() -> Group:
    """baseline = 16 encodes one after another; the pool row's ratio is its elapsed time over serial."""
    rng = np.random.default_rng(0)
    pictures = [(rng.integers(0, 1024, (208, 416)) // 8 * 8).astype(np.uint16) for _ in range(16)]

    def same_streams(outputs: dict[str, object]) -> None:
        assert len({tuple(v) for v in outputs.values()}) == 1, "the pool's bitstreams differ from serial ones"  # type: ignore[attr-defined]

    return Group("pool: 16 encodes 208x416 10-bit QP 27", {
        BASELINE: lambda: encode_many(pictures, 10, 27, "x265", 1),
        "pool 2 workers": lambda: encode_many(pictures, 10, 27, "x265", 2)}, rounds=5, clock="wall", parallel=True,
        check=same_streams)
