#!/usr/bin/env python3
"""Write golden/x265/: x265 bitstreams of the golden/hm-16.12 inputs with the spec's x265 settings (spec H-3.1, H-3.3).

Calls PyAV directly with the parameter string as spec/codec.md H-3.1 writes it — not through cfc_ref — so the
test that compares cfc_ref's x265 path with these files checks our settings against the spec's. The files are tied to
the x265 version in the PyAV wheel; the manifest records it and the tests skip on another version.

    python tools/make_golden_x265.py                 # refuses if golden/x265 exists
    python tools/make_golden_x265.py --regenerate    # say why in the commit message (spec C-1.2)
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
import sys
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

ROOT = Path(__file__).resolve().parent.parent / "golden"
SPEC_PARAMS = ("ctu=16:min-cu-size=8:max-tu-size=16:tu-intra-depth=3:keyint=1:min-keyint=1:bframes=0:rdoq-level=0:"
               "psy-rd=0:psy-rdoq=0:aq-mode=0:sao=1:tskip=1:frame-threads=1:pools=none:wpp=0:info=0:hash=0:"
               "repeat-headers=0:log-level=error")  # spec/codec.md H-3.1, verbatim
FORMATS = {8: "gray", 10: "gray10le", 12: "gray12le"}


def encode(samples: np.ndarray, depth: int, params: str) -> bytes:
    ctx = av.CodecContext.create("libx265", "w")
    ctx.height, ctx.width = samples.shape
    ctx.pix_fmt, ctx.time_base = FORMATS[depth], Fraction(1, 1)
    ctx.options = {"preset": "medium", "x265-params": params}
    frame = av.VideoFrame.from_ndarray(samples, format=FORMATS[depth])
    return b"".join(bytes(p) for p in list(ctx.encode(frame)) + list(ctx.encode(None)))


def x265_version() -> str:
    probe = encode(np.zeros((16, 16), np.uint8), 8, "info=1:log-level=error:pools=none:frame-threads=1")
    match = re.search(rb"x265 \(build \d+\) - ([0-9A-Za-z.+_-]+)", probe)
    return match.group(1).decode() if match else "unknown"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--regenerate", action="store_true")
    args = parser.parse_args()
    out = ROOT / "x265"
    if (out / "manifest.json").exists() and not args.regenerate:
        sys.exit(f"{out}/manifest.json exists; pass --regenerate (and say why in the commit message)")
    out.mkdir(parents=True, exist_ok=True)
    hm = json.loads((ROOT / "hm-16.12" / "manifest.json").read_text())
    vectors = []
    for source in hm["vectors"]:
        depth, w, h = source["bit_depth"], source["width"], source["height"]
        samples = np.fromfile(ROOT / "hm-16.12" / source["input"], dtype="u1" if depth == 8 else "<u2")
        samples = samples.reshape(h, w).astype(np.uint8 if depth == 8 else np.uint16)
        quality = source["qp"]
        tail = "lossless=1" if quality == "lossless" else f"qp={quality}"
        stream = encode(samples, depth, f"{SPEC_PARAMS}:{tail}")
        name = source["id"] + ".bin"
        (out / name).write_bytes(stream)
        vector = {"id": source["id"], "input": f"../hm-16.12/{source['input']}", "width": w, "height": h,
                  "bit_depth": depth, "qp": quality, "bitstream": name, "bitstream_bytes": len(stream),
                  "bitstream_sha256": hashlib.sha256(stream).hexdigest()}
        if quality == "lossless":  # the decoded picture is the input itself: its hash is normative
            vector["recon_sha256"] = hashlib.sha256(samples.astype("u1" if depth == 8 else "<u2").tobytes()).hexdigest()
        vectors.append(vector)
    manifest = {"schema": "cfc-ref-golden/1", "version": 1, "component": "x265", "spec": "spec/codec.md H-3",
                "x265_version": x265_version(), "pyav_version": av.__version__,
                "x265_params": SPEC_PARAMS, "preset": "medium",
                "generator": "tools/make_golden_x265.py (PyAV directly, not cfc_ref)", "vectors": vectors}
    (out / "manifest.json").write_text(json.dumps(manifest, indent=1) + "\n")
    print(f"golden/x265: {len(vectors)} bitstreams, x265 {manifest['x265_version']}")


if __name__ == "__main__":
    main()
