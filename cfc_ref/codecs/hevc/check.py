"""Run a directory of HEVC vectors laid out like golden/hm-16.12 (manifest.json) against our decoders and encoders.

Per vector: decoding through a conforming decoder must reproduce ``recon_sha256`` (spec H-4.1); encoding the input
with the vector's encoder (HM with its ``hm_options``, or x265 with the manifest's ``x265_params``) must reproduce
``bitstream_sha256`` when that encoder is present (H-2.1, H-3.3).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from cfc_ref.codecs.hevc import decode_picture
from cfc_ref.codecs.hevc.external import run_tool, scratch_dir
from cfc_ref.codecs.hevc.hm import hm_encoder
from cfc_ref.codecs.hevc.x265 import encode_with_params, x265_version
from cfc_ref.codecs.raw import raw_sample_dtype
from cfc_ref.errors import CfcError


@dataclass(frozen=True)
class VectorResult:
    id: str
    decode: str  # "pass", "fail: ...", "skip: ..."
    encode: str

    @property
    def failed(self) -> bool:
        return self.decode.startswith("fail") or self.encode.startswith("fail")

    @property
    def skipped(self) -> bool:
        return self.decode.startswith("skip") and self.encode.startswith("skip")


def raw_bytes(picture: np.ndarray, bit_depth: int) -> bytes:
    """H-1.2 raw layout: uint8, or little-endian uint16."""
    return np.ascontiguousarray(picture, dtype=raw_sample_dtype(bit_depth)).tobytes()


def _check_decode(directory: Path, v: dict, decoder: str | None) -> str:
    if "recon_sha256" not in v:
        return "skip: no recon_sha256 in the manifest"
    stream = (directory / v["bitstream"]).read_bytes()
    try:
        picture, used = decode_picture(stream, (v["height"], v["width"]), v["bit_depth"], decoder)
    except CfcError as err:
        refused = "no conforming decoder" in str(err) or "not conforming for this stream" in str(err)
        return f"skip: {err}" if refused else f"fail: {err}"  # a refusal (H-4.3) is not a wrong picture
    digest = hashlib.sha256(raw_bytes(picture, v["bit_depth"])).hexdigest()
    return f"pass ({used})" if digest == v["recon_sha256"] else f"fail: {used} picture hash {digest[:12]}…"


def _encode_hm(directory: Path, v: dict) -> bytes:
    program = hm_encoder()
    assert program is not None
    with scratch_dir() as tmp:
        args = [program, *v["hm_options"], f"--InputFile={(directory / v['input']).resolve()}",
                "--BitstreamFile=out.bin"]
        run_tool(args, tmp, "HM encoder")
        return (tmp / "out.bin").read_bytes()


def _check_encode(directory: Path, manifest: dict, v: dict) -> str:
    if "bitstream_sha256" not in v:
        return "skip: no bitstream_sha256"
    if "hm_options" in v:
        if hm_encoder() is None:
            return "skip: no HM encoder (tools/build_hm.sh)"
        stream = _encode_hm(directory, v)
    elif "x265_params" in manifest:
        if manifest.get("x265_version") != x265_version():
            return f"skip: vectors are for x265 {manifest.get('x265_version')}, this is x265 {x265_version()}"
        depth = v["bit_depth"]
        samples = np.fromfile(directory / v["input"], dtype=raw_sample_dtype(depth)).reshape(v["height"], v["width"])
        tail = "lossless=1" if v["qp"] == "lossless" else f"qp={v['qp']}"
        stream = encode_with_params(samples.astype(np.uint8 if depth == 8 else np.uint16), depth,
                         f"{manifest['x265_params']}:{tail}")
    else:
        return "skip: the manifest names no encoder settings"
    digest = hashlib.sha256(stream).hexdigest()
    return "pass" if digest == v["bitstream_sha256"] else f"fail: bitstream hash {digest[:12]}…"


def check_directory(directory: str | Path, decoder: str | None = None, encode: bool = True) -> list[VectorResult]:
    directory = Path(directory)
    manifest = json.loads((directory / "manifest.json").read_text())
    results = []
    for v in manifest["vectors"]:
        decode_result = _check_decode(directory, v, decoder)
        encode_result = _check_encode(directory, manifest, v) if encode else "skip: not asked"
        results.append(VectorResult(v["id"], decode_result, encode_result))
    return results
