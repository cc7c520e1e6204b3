"""The adapter protocol an implementation under test provides (spec C-2.1).

An adapter is a Python module with the six functions below. Types are deliberately plain (numpy arrays, bytes,
str, int, dict) so that an adapter can wrap a library in any language (through ctypes, a subprocess, …).
Every rejected input raises a ``ValueError`` subclass named as the vector's ``error`` (``QLayerError``,
``TilingError``, ``ContainerError``), or carrying that name as its ``category`` attribute (spec C-1.3).

    quantize(v, bit_depth, mode) -> (q, side_info)
        v: float32 ndarray C×H×W; mode: "minmax" | "relu"
        q: unsigned integer ndarray of v's shape; side_info: bytes (8 for minmax, 4 for relu)      spec Q-2, Q-3
    dequantize(q, side_info, bit_depth, mode) -> float32 ndarray of q's shape                      spec Q-4
    tile(q, layout, align) -> 2-d unsigned integer ndarray                                          spec T-1..T-4
        layout: "tile" | "quilt"
    untile(picture, shape, layout, align) -> C×H×W ndarray                                          spec T-5
    pack(records) -> bytes                                                                           spec W-1..W-3
        records: list of dicts with keys name (str), shape ([C, H, W]), bit_depth (int), mode, layout,
        align (int), codec ("raw" | "hevc"), side_info (bytes), payload (bytes)
    parse(data) -> list of record dicts as above                                                     spec W-4
"""

from __future__ import annotations

import importlib
import os
from types import ModuleType

REQUIRED = ("quantize", "dequantize", "tile", "untile", "pack", "parse")
DEFAULT_IMPL = "cfc_ref.conformance.reference"
ENV_VAR = "CFC_IMPL"


class AdapterError(Exception):
    """The chosen adapter cannot be loaded or lacks part of the protocol (a usage error, spec C-2.1)."""


def load_adapter(name: str | None = None) -> ModuleType:
    """Import the adapter named by ``name``, else ``$CFC_IMPL``, else the reference; check it is complete."""
    module_name = name or os.environ.get(ENV_VAR) or DEFAULT_IMPL
    try:
        module = importlib.import_module(module_name)
    except ImportError as err:
        raise AdapterError(f"cannot import adapter module {module_name!r}: {err}") from err
    missing = [fn for fn in REQUIRED if not callable(getattr(module, fn, None))]
    if missing:
        raise AdapterError(f"adapter {module_name!r} lacks {', '.join(missing)} (see cfc_ref/conformance/protocol.py)")
    return module
