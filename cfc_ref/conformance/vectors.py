"""Load golden manifests and check one vector against an adapter, by profile (spec C-1, C-1.3, C-2).

Used by the pytest suite (``tests/test_conformance.py``), by ``cfc-ref conformance`` and by the tests that prove the
suite catches wrong implementations (spec C-2.3). ``check_vector`` raises ``VectorMismatch`` with a readable
reason, or returns. Tolerances are the spec's: bit-exact for ``wire`` and ``codec``; C-2.6 for the others.
"""

from __future__ import annotations

import hashlib
import json
import struct
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np

from cfc_ref.codecs.raw import raw_sample_dtype

COMPONENTS = ("qlayer", "tiling", "container")  # the wire profile's manifests
FCM = "qlayer-fcm"  # the qlayer.fcm profile's manifest (spec Q-7)
SCHEMA = "cfc-ref-golden/1"
HM_VECTORS = "hm-16.12"


class VectorMismatch(AssertionError):
    """The implementation's result differs from the golden vector."""


@dataclass(frozen=True)
class Vector:
    component: str
    directory: Path
    fields: dict[str, Any]
    manifest: dict[str, Any] | None = None

    @property
    def id(self) -> str:
        return str(self.fields["id"])

    @property
    def profile(self) -> str:
        """The profile this vector belongs to (spec C-2.1)."""
        operation = self.fields.get("operation")
        if self.component in COMPONENTS:
            return "wire"
        if self.component == FCM:
            return "qlayer.fcm"
        if self.component == "metrics":
            return "metrics.ap" if operation == "voc_eval" else "metrics.bd"
        if self.component == "detector":
            return {"region_detections": "detector.region", "network_input": "detector.image"}.get(
                str(operation), "detector.network")
        return "codec.encode" if operation == "encode_hevc" else "codec.decode"

    @property
    def section(self) -> str:
        return str(self.fields["section"])

    def path(self, key: str) -> str:
        """A file the vector names under ``key`` (or the manifest's default) as an absolute path string."""
        name = self.fields.get(key) or (self.manifest or {})[key]
        return str((self.directory / name).resolve())

    def array(self, key: str) -> np.ndarray:
        return self.array_at(self.fields[key])

    def array_at(self, name: str) -> np.ndarray:
        return np.load(self.directory / name, allow_pickle=False)

    def hex(self, key: str) -> bytes:
        return bytes.fromhex(self.fields[key])


def load_manifest(golden_dir: Path, component: str) -> dict[str, Any]:
    manifest = json.loads((golden_dir / component / "vectors.json").read_text())
    if manifest.get("schema") != SCHEMA or manifest.get("component") != component:
        raise ValueError(f"{component}/vectors.json: not a {SCHEMA} manifest for {component}")
    return manifest


EXTRA_MANIFESTS = {"metrics": ("bd_monotonic.json",)}  # further manifests of a component (M-5.8's vectors)


def load_vectors(golden_dir: Path, component: str) -> list[Vector]:
    """Every vector of a component: its ``vectors.json`` and the further manifests it has (C-1.1)."""
    manifests = [load_manifest(golden_dir, component)]
    for name in EXTRA_MANIFESTS.get(component, ()):
        extra = json.loads((golden_dir / component / name).read_text())
        if extra.get("schema") != SCHEMA or extra.get("component") != component:
            raise ValueError(f"{component}/{name}: not a {SCHEMA} manifest for {component}")
        manifests.append(extra)
    return [Vector(component, golden_dir / component, v, m) for m in manifests for v in m["vectors"]]


def hm_vectors(golden_dir: Path) -> list[Vector]:
    """The HM-16.12 conformance set (copied verbatim, its own manifest layout): one decode vector per bitstream
    (H-4.1) and one encode vector per bitstream with its options (H-2.1)."""
    directory = golden_dir / HM_VECTORS
    manifest = json.loads((directory / "manifest.json").read_text())
    out = []
    for v in manifest["vectors"]:
        out.append(Vector(HM_VECTORS, directory, dict(v, operation="decode_hevc", section="H-4.1", result="valid",
                                                      comment=f"HM-16.12 bitstream, QP {v['qp']}")))
        out.append(Vector(HM_VECTORS, directory, dict(v, id=f"{v['id']}_encode", operation="encode_hevc",
                                                      section="H-2.1", result="valid",
                                                      comment=f"HM-16.12 encode, QP {v['qp']}")))
    return out


def profile_vectors(golden_dir: Path, profile: str) -> list[Vector]:
    """Every golden vector of one profile (spec C-2.1)."""
    if profile == "wire":
        return [v for c in COMPONENTS for v in load_vectors(golden_dir, c)]
    if profile.startswith("codec."):
        return [v for v in hm_vectors(golden_dir) if v.profile == profile]
    if profile == "qlayer.fcm":
        return load_vectors(golden_dir, FCM)
    component = profile.split(".")[0]
    return [v for v in load_vectors(golden_dir, component) if v.profile == profile]


def _same_layout(got: Any, want: np.ndarray, what: str) -> np.ndarray:
    """The result as an array of the expected shape and dtype, or a mismatch naming which differs."""
    got = np.asarray(got)
    if got.shape != want.shape:
        raise VectorMismatch(f"{what}: shape {got.shape}, expected {want.shape}")
    if got.dtype != want.dtype:
        raise VectorMismatch(f"{what}: dtype {got.dtype}, expected {want.dtype}")
    return got


def _same_array(got: Any, want: np.ndarray, what: str) -> None:
    got = _same_layout(got, want, what)
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


def fixed_range_of(v: Vector) -> tuple[float, float]:
    """The configured range a ``qlayer.fcm`` vector passes: its ``range_hex`` (little-endian binary64, which also
    carries NaN and ±Inf; ``range`` holds the same values as JSON numbers where they are finite)."""
    lo, hi = (struct.unpack("<d", bytes.fromhex(h))[0] for h in v.fields["range_hex"])
    return lo, hi


def _check_qlayer_fcm(impl: ModuleType, v: Vector) -> None:
    f = v.fields
    lo, hi = fixed_range_of(v)
    call = lambda: impl.quantize_fixed(v.array("input"), lo, hi, f["bit_depth"])  # noqa: E731
    if f["result"] == "invalid":
        return _expect_rejection(call, v)
    answer = call()
    if not (isinstance(answer, (tuple, list)) and len(answer) == 3):
        raise VectorMismatch(f"quantize_fixed returned {type(answer).__name__}, expected (q, side_info, clipped)")
    q, side, clipped = answer
    _same_array(q, v.array("q"), "quantized samples")
    if bytes(side) != v.hex("side_info"):
        raise VectorMismatch(f"side info {bytes(side).hex()}, expected {f['side_info']}")
    if isinstance(clipped, bool) or not isinstance(clipped, (int, np.integer)) or int(clipped) != f["clipped"]:
        raise VectorMismatch(f"clipped {clipped!r}, expected {f['clipped']} elements outside the range (Q-7.3)")
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
    if f.get("operation") == "pack":  # the writer's refusals (W-4.3)
        return _expect_rejection(lambda: impl.pack(_records_from_json(f["records"])), v)
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


# --- metrics (spec M-1, M-2, M-5; tolerances C-2.6) -----------------------------------------------------------------
AP_TOLERANCE = 1e-9  # AP and mAP: exact rational arithmetic in binary64
BD_RATE_TOLERANCE = 1e-6  # percent
BD_METRIC_TOLERANCE = 1e-9  # mAP


def _close(got: Any, want: float, tolerance: float, what: str) -> None:
    if want is None:
        if got is not None:
            raise VectorMismatch(f"{what}: {got!r}, expected None (no non-difficult ground truth)")
        return
    if not isinstance(got, (int, float, np.floating, np.integer)) or isinstance(got, bool):
        raise VectorMismatch(f"{what}: {got!r} is not a number")
    if not abs(float(got) - want) <= tolerance * max(1.0, abs(want)):
        raise VectorMismatch(f"{what}: {float(got)!r}, expected {want!r} (tolerance {tolerance:g})")


def _check_metrics(impl: ModuleType, v: Vector) -> None:
    f = v.fields
    if f["operation"] == "voc_eval":
        def run(method: str) -> Any:
            return impl.voc_eval([dict(g, box=list(g["box"])) for g in f["ground_truth"]],
                                 [dict(d, box=list(d["box"])) for d in f["detections"]], list(f["classes"]), method)
        if f["result"] == "invalid":
            return _expect_rejection(lambda: run("voc07"), v)
        for method in ("voc07", "all"):
            got, want = run(method), f["expected"][method]
            if not isinstance(got, dict) or not isinstance(got.get("ap"), dict):
                raise VectorMismatch(f"voc_eval returned {got!r}, expected a dict with 'ap' and 'map'")
            if set(got["ap"]) != set(want["ap"]):
                raise VectorMismatch(f"{method}: classes {sorted(got['ap'])}, expected {sorted(want['ap'])}")
            for cls, ap in want["ap"].items():
                _close(got["ap"][cls], ap, AP_TOLERANCE, f"{method} AP of {cls}")
            _close(got.get("map"), want["map"], AP_TOLERANCE, f"{method} mAP")
        return None
    fn = impl.bd_rate if f["operation"] == "bd_rate" else impl.bd_metric
    call = lambda: fn([list(p) for p in f["anchor"]], [list(p) for p in f["test"]], f["method"])  # noqa: E731
    if f["result"] == "invalid":
        return _expect_rejection(call, v)
    tolerance = BD_RATE_TOLERANCE if f["operation"] == "bd_rate" else BD_METRIC_TOLERANCE
    return _close(call(), f["expected"], tolerance, f"{f['operation']} ({f['method']})")


# --- detector (spec D-1..D-5; tolerances C-2.6) ---------------------------------------------------------------------
TENSOR_TOLERANCE = 1e-4  # max |got − want| ≤ 1e-4 · max(1, max |want|) per tensor
IMAGE_TOLERANCE = 1e-4  # network input (D-4.1): every sample within 1e-4 (Darknet's binary32 positions err by up to
# side · 2^-24 of a pixel: 2e-5 on the vectors' largest image, 300 rows; a letterbox differs by more than 1e-2)
SCORE_TOLERANCE, BOX_TOLERANCE = 1e-5, 1e-3  # detections: absolute score, pixels


def _close_tensor(got: Any, want: np.ndarray, what: str) -> None:
    got = _same_layout(got, want, what)  # the expectations are stored as float32
    bound = TENSOR_TOLERANCE * max(1.0, float(np.abs(want).max(initial=0.0)))
    error = float(np.abs(got.astype(np.float64) - want).max(initial=0.0)) if got.size else 0.0
    if not error <= bound:  # also catches NaN
        raise VectorMismatch(f"{what}: differs by up to {error:.3g}, allowed {bound:.3g}")


def _check_image(impl: ModuleType, v: Vector) -> None:
    f = v.fields
    call = lambda: impl.network_input(v.array("image"), f["width"], f["height"])  # noqa: E731
    if f["result"] == "invalid":
        return _expect_rejection(call, v)
    want = v.array("expected")
    got = _same_layout(call(), want, "network input")
    error = float(np.abs(got.astype(np.float64) - want).max(initial=0.0))
    if not error <= IMAGE_TOLERANCE:  # also catches NaN
        raise VectorMismatch(f"network input differs by up to {error:.3g}, allowed {IMAGE_TOLERANCE:g} (D-4.1: "
                             "stretched, not letterboxed)")
    return None


def _check_detector(impl: ModuleType, v: Vector) -> None:
    f = v.fields
    if f["operation"] == "network_input":
        return _check_image(impl, v)
    cfg, weights = v.path("cfg"), v.path("weights")
    if f["operation"] == "split_forward":
        call = lambda: impl.split_forward(cfg, weights, v.array("image"), f["split"])  # noqa: E731
        if f["result"] == "invalid":
            return _expect_rejection(call, v)
        got = call()
        if not isinstance(got, dict) or list(got) != list(f["expected"]):
            raise VectorMismatch(f"crossing tensors {list(got) if isinstance(got, dict) else got!r}, "
                                 f"expected {list(f['expected'])} in index order (D-5.1)")
        for name in f["expected"]:
            _close_tensor(got[name], v.array_at(f["expected"][name]), f"tensor {name}")
        return None
    if f["operation"] == "back_forward":
        tensors = {name: v.array_at(file) for name, file in f["tensors"].items()}
        call = lambda: impl.back_forward(cfg, weights, f["split"], tensors)  # noqa: E731
        if f["result"] == "invalid":
            return _expect_rejection(call, v)
        return _close_tensor(call(), v.array("expected"), "region input")
    got = impl.region_detections(cfg, v.array("output"), f["width"], f["height"])
    return _same_detections(list(got), f["expected"])


def _same_detections(got: list[dict], want: list[dict]) -> None:
    if len(got) != len(want):
        raise VectorMismatch(f"{len(got)} detections, expected {len(want)}")
    unmatched = list(got)
    for w in want:
        for g in unmatched:
            if (g.get("class") == w["class"] and abs(float(g["score"]) - w["score"]) <= SCORE_TOLERANCE
                    and all(abs(float(a) - b) <= BOX_TOLERANCE for a, b in zip(g["box"], w["box"], strict=True))):
                unmatched.remove(g)
                break
        else:
            raise VectorMismatch(f"no detection matches class {w['class']} score {w['score']:.6f} box "
                                 f"{[round(b, 3) for b in w['box']]}")


# --- codec (spec H-1, H-2, H-4) -------------------------------------------------------------------------------------
def _raw_samples(picture: Any, bit_depth: int) -> bytes:
    """H-1.2's raw layout (uint8, or little-endian uint16), which the decoded picture shall already have."""
    picture = np.asarray(picture)
    if picture.dtype != raw_sample_dtype(bit_depth):
        raise VectorMismatch(f"picture dtype {picture.dtype}, expected {raw_sample_dtype(bit_depth)}")
    return np.ascontiguousarray(picture).tobytes()


def _check_codec(impl: ModuleType, v: Vector) -> None:
    f = v.fields
    if f["operation"] == "decode_hevc":
        picture = impl.decode_hevc((v.directory / f["bitstream"]).read_bytes(), f["width"], f["height"],
                                   f["bit_depth"])
        if np.shape(picture) != (f["height"], f["width"]):
            raise VectorMismatch(f"picture shape {np.shape(picture)}, expected {(f['height'], f['width'])}")
        digest = hashlib.sha256(_raw_samples(picture, f["bit_depth"])).hexdigest()
        if digest != f["recon_sha256"]:
            raise VectorMismatch(f"decoded picture SHA-256 {digest[:16]}…, expected {f['recon_sha256'][:16]}…")
        return None
    samples = np.fromfile(v.directory / f["input"], dtype=raw_sample_dtype(f["bit_depth"]))
    samples = samples.reshape(f["height"], f["width"])
    stream = bytes(impl.encode_hevc(samples, f["bit_depth"], f["qp"]))
    digest = hashlib.sha256(stream).hexdigest()
    if digest != f["bitstream_sha256"]:
        raise VectorMismatch(f"bitstream SHA-256 {digest[:16]}…, expected {f['bitstream_sha256'][:16]}…")
    return None


_CHECKS = {"qlayer": _check_qlayer, FCM: _check_qlayer_fcm, "tiling": _check_tiling, "container": _check_container,
           "metrics": _check_metrics, "detector": _check_detector, HM_VECTORS: _check_codec}


def not_for_json(vector: Vector) -> str | None:
    """C-2.5: why a vector is not sent through the process protocol, or None. JSON has one number type: many
    languages' JSON parsers read ``8.0`` as ``8``, so a vector probing that a float bit depth is refused (Q-1.3)
    cannot be sent; non-finite numbers have no JSON form at all (arrays carry them, in binary)."""
    def non_finite(value: Any) -> bool:
        if isinstance(value, float):
            return value != value or value in (float("inf"), float("-inf"))
        if isinstance(value, dict):
            return any(non_finite(v) for v in value.values())
        return isinstance(value, list) and any(non_finite(v) for v in value)

    f = vector.fields
    if "bit-depth-type" in f.get("flags", ()) and isinstance(f.get("bit_depth"), float):
        return "a float bit depth that is a whole number: JSON cannot tell 8.0 from 8 in every language (C-2.5)"
    if non_finite({k: v for k, v in f.items() if k not in ("expected",)}) or (
            "range_hex" in f and non_finite(list(fixed_range_of(vector)))):
        return "a non-finite number outside an array: JSON has no form for it (C-2.5)"
    return None


def check_vector(impl: ModuleType, vector: Vector) -> None:
    """Run one golden vector against an adapter; raises :class:`VectorMismatch` on any difference (spec C-1.3)."""
    _CHECKS[vector.component](impl, vector)


def failing_vectors(impl: ModuleType, golden_dir: Path, profiles: tuple[str, ...] = ("wire",)) -> dict[str, str]:
    """Every vector id of the given profiles the adapter fails, with the reason (spec C-2.3)."""
    failures = {}
    for profile in profiles:
        for vector in profile_vectors(golden_dir, profile):
            try:
                check_vector(impl, vector)
            except Exception as err:  # a crash in the implementation is a failure too
                failures[vector.id] = f"{type(err).__name__}: {err}"
    return failures
