"""The adapter protocol an implementation under test provides, by profile (spec C-2).

An adapter is a Python module (or, through ``cfc_ref.conformance.process``, an executable speaking JSON lines) that
declares the profiles it implements in a module-level ``PROFILES`` (a tuple of names; a module without it declares
``("wire",)``) and provides every function of each. Types are plain (numpy arrays, bytes, str, int, float, bool,
list, dict) so that an adapter can wrap a library in any language. Every rejected input raises a ``ValueError``
subclass named as the vector's ``error`` (``QLayerError``, ``TilingError``, ``ContainerError``, ``MetricsError``,
``DarknetError``, ``CodecError``), or carrying that name as its ``category`` attribute (spec C-1.3).

Argument types, exactly (spec C-2.4): arrays are C-contiguous numpy arrays of the dtype the vector stores;
integers are Python ``int`` (never ``bool``, never a numpy scalar) except where an invalid vector probes exactly
that; a shape is a ``tuple`` of Python ints; boxes and curves are lists of Python floats; strings are ``str``;
byte strings are ``bytes``.

``wire`` (spec Q, T, W)
    quantize(v, bit_depth, mode) -> (q, side_info)
        v: float32 ndarray C×H×W; mode: "minmax" | "relu"
        q: unsigned integer ndarray of v's shape; side_info: bytes (8 for minmax, 4 for relu)      spec Q-2, Q-3
    dequantize(q, side_info, bit_depth, mode) -> float32 ndarray of q's shape                      spec Q-4
    tile(q, layout, align) -> 2-d unsigned integer ndarray; layout: "tile" | "quilt"               spec T-1..T-4
    untile(picture, shape, layout, align) -> C×H×W ndarray                                          spec T-5
    pack(records) -> bytes                                                                           spec W-1..W-3
        records: list of dicts with keys name (str), shape ([C, H, W]), bit_depth (int), mode, layout,
        align (int), codec ("raw" | "hevc"), side_info (bytes), payload (bytes)
    parse(data) -> list of record dicts as above                                                     spec W-4

``qlayer.fcm`` (spec Q-7)
    quantize_fixed(v, lo, hi, bit_depth) -> (q, side_info, clipped)
        v: float32 or float64 ndarray C×H×W; lo, hi: Python floats (binary64: the configured range, which the
        implementation rounds to binary32, Q-7.1); q: unsigned integer ndarray of v's shape (Q-3.5's dtype);
        side_info: 8 bytes (Q-7.4); clipped: int, the elements outside [lo, hi] (Q-7.3)

``metrics.ap`` (spec M-1, M-2)
    voc_eval(ground_truth, detections, classes, method) -> {"ap": {class: float | None}, "map": float}
        ground_truth: list of {"image": str, "class": str, "box": [xmin, ymin, xmax, ymax], "difficult": bool}
        detections: list of {"image": str, "class": str, "score": float, "box": [...]}
        classes: list of str; method: "voc07" (11-point) | "all" (all-point). ``None`` for a class without
        non-difficult ground truth.
``metrics.bd`` (spec M-5)
    bd_rate(anchor, test, method) -> float      BD-KBPI-mAP in percent; curves: lists of [kbpi, map]
    bd_metric(anchor, test, method) -> float    BD-mAP (test − anchor); method: "cubic" | "pchip"

``detector.image`` (spec D-4.1)
    network_input(image, width, height) -> float32 ndarray 3×height×width
        image: uint8 H×W×3 RGB; Darknet's resize_image (stretched, not letterboxed), samples / 255

``detector.network`` (spec D-1..D-3, D-5)
    split_forward(cfg, weights, image, split) -> {name: float32 ndarray C×H×W}
        cfg, weights: str paths of a Darknet .cfg and .weights; image: float32 3×H×W network input;
        split: a split point name such as "max_17"; the result holds every tensor crossing the cut (D-5.1)
    back_forward(cfg, weights, split, tensors) -> float32 ndarray: the region layer's input, C×H×W
``detector.region`` (spec D-2.5, D-4.2)
    region_detections(cfg, output, width, height) -> list of {"class": int, "score": float, "box": [4 floats]}
        output: float32 region input C×H×W; boxes in 0-based pixels of a width×height image, VOC settings

``codec.decode`` (spec H-1, H-4)
    decode_hevc(bitstream, width, height, bit_depth) -> H×W ndarray (uint8 for 8 bits, else uint16)
``codec.encode`` (spec H-2; only for encoders that claim HM-16.12 exactness)
    encode_hevc(picture, bit_depth, qp) -> bytes   qp: int 0..51 or "lossless"

Group names expand: ``metrics`` = metrics.ap + metrics.bd; ``detector`` = detector.image + detector.network +
detector.region;
``codec`` = codec.decode.
"""

from __future__ import annotations

PROFILE_FUNCTIONS: dict[str, tuple[str, ...]] = {
    "wire": ("quantize", "dequantize", "tile", "untile", "pack", "parse"),
    "qlayer.fcm": ("quantize_fixed",),
    "metrics.ap": ("voc_eval",),
    "metrics.bd": ("bd_rate", "bd_metric"),
    "detector.image": ("network_input",),
    "detector.network": ("split_forward", "back_forward"),
    "detector.region": ("region_detections",),
    "codec.decode": ("decode_hevc",),
    "codec.encode": ("encode_hevc",),
}
GROUPS: dict[str, tuple[str, ...]] = {
    "metrics": ("metrics.ap", "metrics.bd"),
    "detector": ("detector.image", "detector.network", "detector.region"),
    "codec": ("codec.decode",),
}
REQUIRED = PROFILE_FUNCTIONS["wire"]  # what a module without PROFILES provides


class AdapterError(Exception):
    """The chosen adapter cannot be loaded or lacks part of the protocol (a usage error, spec C-2.1)."""


def expand_profiles(names: object, where: str = "PROFILES") -> tuple[str, ...]:
    """Profile and group names → the profiles they stand for, in registry order; an unknown name is an error."""
    if isinstance(names, str) or not isinstance(names, (tuple, list, set, frozenset)):
        raise AdapterError(f"{where} must be a tuple of profile names, got {names!r}")
    wanted: set[str] = set()
    for name in names:
        if name in GROUPS:
            wanted.update(GROUPS[name])
        elif name in PROFILE_FUNCTIONS:
            wanted.add(name)
        else:
            known = ", ".join([*PROFILE_FUNCTIONS, *GROUPS])
            raise AdapterError(f"{where}: unknown profile {name!r} (known: {known})")
    return tuple(p for p in PROFILE_FUNCTIONS if p in wanted)


def declared_profiles(adapter: object) -> tuple[str, ...]:
    """C-2.1: the profiles an adapter declares (``("wire",)`` when it declares none)."""
    return expand_profiles(getattr(adapter, "PROFILES", ("wire",)), f"{getattr(adapter, '__name__', 'adapter')}"
                                                                    ".PROFILES")


def check_adapter(adapter: object, name: str) -> object:
    """Every function of every declared profile is present (C-2.1); returns the adapter."""
    missing = [fn for p in declared_profiles(adapter) for fn in PROFILE_FUNCTIONS[p]
               if not callable(getattr(adapter, fn, None))]
    if missing:
        raise AdapterError(f"adapter {name!r} lacks {', '.join(missing)} (see cfc_ref/conformance/protocol.py)")
    return adapter
