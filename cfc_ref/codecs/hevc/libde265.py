"""libde265's command-line decoder (Debian ``libde265-examples``), conforming on all 75 vectors (spec H-4.2)."""

from __future__ import annotations

import re
from functools import lru_cache

import numpy as np

from cfc_ref.codecs.hevc.external import banner, find_program, run_tool, scratch_dir
from cfc_ref.codecs.hevc.hm import read_luma
from cfc_ref.errors import CodecError

PROGRAM_NAMES = ("dec265", "libde265-dec265")


def libde265_program() -> str | None:
    return find_program(PROGRAM_NAMES)


@lru_cache(maxsize=2)
def libde265_version(program: str) -> str:
    match = re.search(r"v(\d+\.\d+\.\d+)", banner(program, ["-h"], "dec265"))
    return f"libde265 {match.group(1)}" if match else "libde265"


def decode_libde265(stream: bytes, shape: tuple[int, int], coded_depth: int) -> np.ndarray:
    program = libde265_program()
    if program is None:
        raise CodecError("libde265 decoder (dec265) not found")
    with scratch_dir() as tmp:
        (tmp / "in.bin").write_bytes(stream)
        result = run_tool([program, "-q", "-t", "0", "-o", "out.yuv", "in.bin"], tmp, "libde265")
        messages = (result.stderr + result.stdout).decode(errors="replace")
        if re.search(r"(?i)error|warning", messages):  # dec265 reports stream errors but still exits 0
            raise CodecError(f"libde265 reported: {messages.strip()[-300:]}")
        return read_luma(tmp / "out.yuv", shape, coded_depth, "libde265")
