"""Load golden manifests and check one vector against an adapter (spec C-1, C-1.3).

Used by the pytest suite (``tests/test_conformance.py``) and by the tests that prove the suite catches wrong
implementations (spec C-2.3). ``check_vector`` raises ``VectorMismatch`` with a readable reason, or returns.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np

COMPONENTS = ("qlayer", "tiling", "container")
SCHEMA = "cfc-ref-golden/1"


class VectorMismatch(AssertionError):
    """The implementation's result differs from the golden vector."""


@dataclass(frozen=True)
class Vector:
    component: str
    directory: Path
    fields: dict[str, Any]

    @property
    def id(self) -> str:
        return str(self.fields["id"])

    def array(self, key: str) -> np.ndarray:
        return np.load(self.directory / self.fields[key], allow_pickle=False)

    def hex(self, key: str) -> bytes:
        return bytes.fromhex(self.fields[key])


def load_manifest(golden_dir: Path, component: str) -> dict[str, Any]:
    manifest = json.loads((golden_dir / component / "vectors.json").read_text())
    if manifest.get("schema") != SCHEMA or manifest.get("component") != component:
        raise ValueError(f"{component}/vectors.json: not a {SCHEMA} manifest for {component}")
    return manifest


def load_vectors(golden_dir: Path, component: str) -> list[Vector]:
    manifest = load_manifest(golden_dir, component)
    return [Vector(component, golden_dir / component, v) for v in manifest["vectors"]]


def _same_array(got: Any, want: np.ndarray, what: str) -> None:
    got = np.asarray(got)
    if got.shape != want.shape:
        raise VectorMismatch(f"{what}: shape {got.shape}, expected {want.shape}")
    if got.dtype != want.dtype:
        raise VectorMismatch(f"{what}: dtype {got.dtype}, expected {want.dtype}")
    if want.dtype.kind == "f":  # bit-exact, so -0.0 and +0.0 differ
        got, want = got.view(f"u{want.itemsize}"), want.view(f"u{want.itemsize}")
    bad = np.flatnonzero(got.ravel() != want.ravel())
    if bad.size:
        i = int(bad[0])
        raise VectorMismatch(f"{what}: {bad.size} of {want.size} samples differ, first at flat index {i}: "
                             f"got {got.ravel()[i]}, expected {want.ravel()[i]}")


def error_category(err: BaseException) -> set[str]:
    """C-1.3: the categories an exception stands for: the names of its classes, and its ``category`` attribute
    (how an adapter that wraps another language names the error)."""
    names = {cls.__name__ for cls in type(err).__mro__}
    category = getattr(err, "category", None)
    return names | ({category} if isinstance(category, str) else set())


def _expect_rejection(call: Any, vector: Vector) -> None:
    expected = vector.fields["error"]
    try:
        call()
    except ValueError as err:
        if expected in error_category(err):
            return
        raise VectorMismatch(f"rejected with {type(err).__name__}, the vector names {expected} "
                             f"({vector.fields['comment']})") from None
    raise VectorMismatch(f"accepted input that must be rejected with {expected} ({vector.fields['comment']})")


def _check_qlayer(impl: ModuleType, v: Vector) -> None:
    f = v.fields
    if f["operation"] == "quantize":
        call = lambda: impl.quantize(v.array("input"), f["bit_depth"], f["mode"])  # noqa: E731
        if f["result"] == "invalid":
            return _expect_rejection(call, v)
        q, side = call()
        _same_array(q, v.array("q"), "quantized samples")
        if bytes(side) != v.hex("side_info"):
            raise VectorMismatch(f"side info {bytes(side).hex()}, expected {f['side_info']}")
        _same_array(impl.dequantize(v.array("q"), v.hex("side_info"), f["bit_depth"], f["mode"]),
                    v.array("dequantized"), "de-quantized features")
        return None
    call = lambda: impl.dequantize(v.array("q"), v.hex("side_info"), f["bit_depth"], f["mode"])  # noqa: E731
    if f["result"] == "invalid":
        return _expect_rejection(call, v)
    _same_array(call(), v.array("dequantized"), "de-quantized features")
    return None


def _check_tiling(impl: ModuleType, v: Vector) -> None:
    f = v.fields
    if f["operation"] == "tile":
        call = lambda: impl.tile(v.array("input"), f["layout"], f["align"])  # noqa: E731
        if f["result"] == "invalid":
            return _expect_rejection(call, v)
        _same_array(call(), v.array("picture"), "picture")
        _same_array(impl.untile(v.array("picture"), tuple(f["shape"]), f["layout"], f["align"]),
                    v.array("input"), "untiled tensor")
        return None
    call = lambda: impl.untile(v.array("picture"), tuple(f["shape"]), f["layout"], f["align"])  # noqa: E731
    return _expect_rejection(call, v) if f["result"] == "invalid" else _same_array(call(), v.array("input"), "untiled")


def _records_from_json(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [dict(r, side_info=bytes.fromhex(r["side_info"]), payload=bytes.fromhex(r["payload"]),
                 shape=list(r["shape"])) for r in records]


def _check_container(impl: ModuleType, v: Vector) -> None:
    f = v.fields
    data = v.hex("data")
    if f["result"] == "invalid":
        return _expect_rejection(lambda: impl.parse(data), v)
    want = _records_from_json(f["records"])
    got = [dict(r, side_info=bytes(r["side_info"]), payload=bytes(r["payload"]), shape=list(r["shape"]))
           for r in impl.parse(data)]
    if got != want:
        raise VectorMismatch(f"parsed records differ:\n got  {got}\n want {want}")
    packed = bytes(impl.pack(want))
    if packed != data:
        raise VectorMismatch(f"pack() wrote {packed.hex()}\n expected    {data.hex()}")
    return None


_CHECKS = {"qlayer": _check_qlayer, "tiling": _check_tiling, "container": _check_container}


def check_vector(impl: ModuleType, vector: Vector) -> None:
    """Run one golden vector against an adapter; raises :class:`VectorMismatch` on any difference (spec C-1.3)."""
    _CHECKS[vector.component](impl, vector)


def failing_vectors(impl: ModuleType, golden_dir: Path) -> dict[str, str]:
    """Every vector id the adapter fails, with the reason (used to show the suite has teeth, spec C-2.3)."""
    failures = {}
    for component in COMPONENTS:
        for vector in load_vectors(golden_dir, component):
            try:
                check_vector(impl, vector)
            except Exception as err:  # a crash in the implementation is a failure too
                failures[vector.id] = f"{type(err).__name__}: {err}"
    return failures
