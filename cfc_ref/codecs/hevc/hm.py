"""HM-16.12, the reference encoder and decoder, as external programs (spec H-2)."""

from __future__ import annotations

import os
import re
from functools import lru_cache
from pathlib import Path

import numpy as np

from cfc_ref.codecs.hevc.external import banner, find_program, run_tool, scratch_dir
from cfc_ref.codecs.hevc.settings import Quality, hm_options
from cfc_ref.codecs.raw import raw_sample_dtype
from cfc_ref.errors import CodecError

DEFAULT_HM_DIR = Path.home() / ".local/share/cfc-ref/hm-16.12/bin"
ENCODER_NAMES = ("TAppEncoderStatic", "TAppEncoder")
DECODER_NAMES = ("TAppDecoderStatic", "TAppDecoder")


def hm_dir() -> str:
    return os.environ.get("CFC_HM_DIR") or str(DEFAULT_HM_DIR)


def hm_encoder() -> str | None:
    return find_program(ENCODER_NAMES, hm_dir())


def hm_decoder() -> str | None:
    return find_program(DECODER_NAMES, hm_dir())


@lru_cache(maxsize=4)
def hm_version(program: str) -> str:
    """'HM-16.12' from the program's banner ('HM software: ... Version [16.12]')."""
    match = re.search(r"Version \[([0-9.]+)", banner(program, ["--help"], "HM"))
    return f"HM-{match.group(1)}" if match else "HM-unknown"


def encode_hm(picture: np.ndarray, coded_depth: int, quality: Quality) -> bytes:
    program = hm_encoder()
    if program is None:
        raise CodecError(f"HM encoder not found in {hm_dir()} or on PATH (build it with tools/build_hm.sh)")
    height, width = picture.shape
    with scratch_dir() as tmp:
        (tmp / "in.yuv").write_bytes(np.ascontiguousarray(picture, dtype=raw_sample_dtype(coded_depth)).tobytes())
        args = [program, *hm_options(width, height, coded_depth, quality), "--InputFile=in.yuv",
                "--BitstreamFile=out.bin"]
        run_tool(args, tmp, "HM encoder")
        out = tmp / "out.bin"
        if not out.exists() or out.stat().st_size == 0:
            raise CodecError("HM encoder wrote no bitstream")
        return out.read_bytes()


def decode_hm(stream: bytes, shape: tuple[int, int], coded_depth: int) -> np.ndarray:
    program = hm_decoder()
    if program is None:
        raise CodecError("HM decoder not found")
    with scratch_dir() as tmp:
        (tmp / "in.bin").write_bytes(stream)
        run_tool([program, "-b", "in.bin", "-o", "out.yuv", "-d", str(coded_depth)], tmp, "HM decoder")
        return read_luma(tmp / "out.yuv", shape, coded_depth, "HM decoder")


def read_luma(path: Path, shape: tuple[int, int], coded_depth: int, what: str) -> np.ndarray:
    """The luma plane of a decoder's output file (some decoders add 4:2:0 chroma planes for 4:0:0 streams)."""
    dtype = raw_sample_dtype(coded_depth)
    luma_bytes = shape[0] * shape[1] * dtype.itemsize
    if not path.exists():
        raise CodecError(f"{what} wrote no picture")
    data = path.read_bytes()
    if len(data) not in (luma_bytes, luma_bytes * 3 // 2, luma_bytes * 3):
        raise CodecError(f"{what} wrote {len(data)} bytes, expected one {shape[0]}×{shape[1]} picture")
    return np.frombuffer(data[:luma_bytes], dtype=dtype).reshape(shape).astype(dtype.newbyteorder("="))
