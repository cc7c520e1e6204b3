"""Wrong on purpose: a [maxpool] without stride gets stride = size (cfc-ref's old default) instead of Darknet's
stride 1 (spec D-1.5)."""

import re
import tempfile
from pathlib import Path

from cfc_ref.conformance import reference

PROFILES = ("detector.network",)


def _with_strides(cfg: str) -> str:
    """The cfg as this wrong parser reads it: every maxpool section without stride gets stride = its size."""
    sections = re.split(r"(?m)^(?=\[)", Path(cfg).read_text())
    out = []
    for section in sections:
        if section.startswith("[maxpool]") and not re.search(r"(?m)^stride\s*=", section):
            size = re.search(r"(?m)^size\s*=\s*(\d+)", section)
            section = section.rstrip("\n") + f"\nstride={size.group(1) if size else 2}\n\n"
        out.append(section)
    path = Path(tempfile.mkdtemp(prefix="wrong-cfg-")) / Path(cfg).name
    path.write_text("".join(out))
    return str(path)


def split_forward(cfg, weights, image, split):
    return reference.split_forward(_with_strides(cfg), weights, image, split)


def back_forward(cfg, weights, split, tensors):
    return reference.back_forward(_with_strides(cfg), weights, split, tensors)
