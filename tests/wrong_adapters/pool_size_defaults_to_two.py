"""Wrong on purpose: a [maxpool] without size gets size 2 (a common default) instead of Darknet's size = stride, so
`[maxpool] stride=1` alone is a 2×2 window rather than the identity (spec D-1.5)."""

import re
import tempfile
from pathlib import Path

from cfc_ref.conformance import reference

PROFILES = ("detector.network",)


def _with_sizes(cfg: str) -> str:
    sections = re.split(r"(?m)^(?=\[)", Path(cfg).read_text())
    out = [section.rstrip("\n") + "\nsize=2\n\n" if section.startswith("[maxpool]")
           and not re.search(r"(?m)^size\s*=", section) else section for section in sections]
    path = Path(tempfile.mkdtemp(prefix="wrong-cfg-")) / Path(cfg).name
    path.write_text("".join(out))
    return str(path)


def split_forward(cfg, weights, image, split):
    return reference.split_forward(_with_sizes(cfg), weights, image, split)


def back_forward(cfg, weights, split, tensors):
    return reference.back_forward(_with_sizes(cfg), weights, split, tensors)
