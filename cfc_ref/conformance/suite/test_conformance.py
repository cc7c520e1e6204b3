"""The conformance suite: every golden vector of every profile, and property tests, run through the implementation
under test (spec C-1.3, C-2). ``--cfc-impl`` / ``--cfc-impl-cmd`` pick it; profiles it does not declare are skipped
with the reason. ``cfc-ref conformance`` runs this module (from a checkout or an installed wheel) and prints a
per-profile, per-clause table; a checkout's ``tests/test_conformance.py`` collects the same tests."""

from __future__ import annotations

import json

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cfc_ref.conformance.paths import golden_root
from cfc_ref.conformance.plugin import expected_failures
from cfc_ref.conformance.process import ProcessAdapter
from cfc_ref.conformance.protocol import PROFILE_FUNCTIONS, declared_profiles
from cfc_ref.conformance.vectors import (
    AP_TOLERANCE,
    COMPONENTS,
    TENSOR_TOLERANCE,
    check_vector,
    load_manifest,
    not_for_json,
    profile_vectors,
)

GOLDEN = golden_root()

spec = pytest.mark.spec
pytestmark = pytest.mark.conformance
ALL_VECTORS = [v for p in PROFILE_FUNCTIONS for v in profile_vectors(GOLDEN, p)]
PROPERTY_SETTINGS = settings(max_examples=40, deadline=None, database=None,  # nothing written where it runs
                             suppress_health_check=[HealthCheck.function_scoped_fixture])
profile = pytest.mark.cfc_profile  # the profile a test belongs to (deselected when --cfc-profile leaves it out)


def enter(request, impl, selected, profile: str, *clauses: str) -> None:
    """Record what this test checks (for the report) and skip a profile the adapter does not declare (C-2.1)."""
    request.node.user_properties.extend([("profile", profile), ("clauses", ",".join(clauses))])
    if profile not in declared_profiles(impl):
        pytest.skip(f"profile {profile} is not declared by the adapter")
    if selected is not None and profile not in selected:
        pytest.skip(f"profile {profile} is not selected (--cfc-profile)")


@spec("C-1.3", "C-2.1")
@pytest.mark.parametrize("vector", [pytest.param(v, id=v.id, marks=profile(v.profile)) for v in ALL_VECTORS])
def test_golden_vector(impl, selected_profiles, vector, request):
    enter(request, impl, selected_profiles, vector.profile, vector.section)
    if isinstance(impl, ProcessAdapter) and not_for_json(vector):
        pytest.skip(f"not sent to a process adapter: {not_for_json(vector)}")
    if vector.id in expected_failures(request.config):
        request.applymarker(pytest.mark.xfail(reason="listed in --cfc-xfail", strict=True))
    check_vector(impl, vector)


@spec("C-1.1")
@pytest.mark.parametrize("component", [*COMPONENTS, "metrics", "detector"])
def test_manifest_schema(component):
    manifest = load_manifest(GOLDEN, component)
    assert {"schema", "version", "component", "spec", "vectors"} <= manifest.keys()
    ids = [v["id"] for v in manifest["vectors"]]
    assert len(ids) == len(set(ids)), "vector ids must be unique"
    for vector in manifest["vectors"]:
        assert {"id", "section", "comment", "flags", "result"} <= vector.keys(), vector["id"]
        assert vector["result"] in ("valid", "invalid")
        assert vector["result"] == "valid" or vector["error"].endswith("Error")
        assert vector["section"].split("-")[0] in "QTWCMDH"
    assert any(v["result"] == "invalid" for v in manifest["vectors"]), "invalid vectors matter too"


@spec("C-1.1")
def test_vector_ids_are_unique_across_profiles():
    ids = [v.id for v in ALL_VECTORS]
    assert len(ids) == len(set(ids))


# --- property tests through the adapter (spec C-2.7) ----------------------------------------------------------------

@st.composite
def quantized(draw):
    n = draw(st.integers(1, 16))
    shape = (draw(st.integers(1, 9)), draw(st.integers(1, 7)), draw(st.integers(1, 7)))
    seed = draw(st.integers(0, 2**32 - 1))
    q = np.random.default_rng(seed).integers(0, 2**n, shape)
    return q.astype(np.uint8 if n <= 8 else np.uint16), n


@profile("wire")
@spec("T-5.1", "C-2.7")
@PROPERTY_SETTINGS
@given(case=quantized(), layout=st.sampled_from(["tile", "quilt"]), align=st.sampled_from([1, 2, 8, 16, 64]))
def test_untile_inverts_tile(impl, selected_profiles, request, case, layout, align):
    enter(request, impl, selected_profiles, "wire", "T-5.1")
    q, _ = case
    picture = np.asarray(impl.tile(q, layout, align))
    assert picture.shape[0] % align == 0 and picture.shape[1] % align == 0
    assert np.array_equal(np.asarray(impl.untile(picture, q.shape, layout, align)), q)


@profile("wire")
@spec("Q-4.2", "C-2.7")
@PROPERTY_SETTINGS
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(2, 16), mode=st.sampled_from(["minmax", "relu"]),
       scale=st.sampled_from([1e-3, 1.0, 1e3]))
def test_quantization_error_is_bounded(impl, selected_profiles, request, seed, n, mode, scale):
    enter(request, impl, selected_profiles, "wire", "Q-4.2")
    v = (np.random.default_rng(seed).standard_normal((3, 5, 4)) * scale).astype(np.float32)
    if mode == "relu":
        v = np.maximum(v, 0)
    q, side = impl.quantize(v, n, mode)
    back = np.asarray(impl.dequantize(q, side, n, mode)).astype(np.float64)
    lo = 0.0 if mode == "relu" else float(v.min())
    step = (float(v.max()) - lo) / (2**n - 1)
    assert np.abs(back - v).max() <= step / 2 * (1 + 1e-5) + 1e-6 * scale


@profile("qlayer.fcm")
@spec("Q-7.5", "C-2.7")
@PROPERTY_SETTINGS
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(1, 16), scale=st.sampled_from([1e-3, 1.0, 1e3]),
       width=st.sampled_from([0.5, 1.0, 2.0]))
def test_the_fcm_quantizer_is_floor_bounded_and_clamps(impl, selected_profiles, request, seed, n, scale, width):
    enter(request, impl, selected_profiles, "qlayer.fcm", "Q-7.5")
    v = (np.random.default_rng(seed).standard_normal((3, 5, 4)) * scale).astype(np.float32)
    lo, hi = float(np.float32(-width * scale)), float(np.float32(width * scale))
    q, side, clipped = impl.quantize_fixed(v, lo, hi, n)
    q, levels = np.asarray(q).astype(np.int64), 2**n - 1
    step = (hi - lo) / levels
    inside = (v >= lo) & (v <= hi)
    assert clipped == int((~inside).sum()) and (q[v < lo] == 0).all() and (q[v > hi] == levels).all()
    below = (v.astype(np.float64) - lo) - q * step  # floor: never above the feature, less than a step below
    assert (below[inside] >= -1e-6 * scale).all() and (below[inside] <= step * (1 + 1e-5) + 1e-6 * scale).all()
    assert bytes(side) == np.array([lo, hi], "<f4").tobytes()


@profile("wire")
@spec("W-4.1", "C-2.7")
@PROPERTY_SETTINGS
@given(case=quantized(), layout=st.sampled_from(["tile", "quilt"]), name=st.from_regex(r"[a-z]{1,8}_[0-9]{1,2}",
                                                                                         fullmatch=True))
def test_parse_inverts_pack(impl, selected_profiles, request, case, layout, name):
    enter(request, impl, selected_profiles, "wire", "W-4.1")
    q, n = case
    v = q.astype(np.float32)
    _, side = impl.quantize(v, n, "minmax")
    payload = np.asarray(impl.tile(q, layout, 8)).astype("<u2" if n > 8 else "u1").tobytes()
    record = {"name": name, "shape": list(q.shape), "bit_depth": n, "mode": "minmax", "layout": layout, "align": 8,
              "codec": "raw", "side_info": bytes(side), "payload": payload}
    parsed = impl.parse(bytes(impl.pack([record])))
    assert [dict(r, side_info=bytes(r["side_info"]), payload=bytes(r["payload"]), shape=list(r["shape"]))
            for r in parsed] == [record]


def _wire_round_trip(adapter) -> dict:  # noqa: ANN001 - the adapter under test, or the reference
    """C-2.10: fixed tensors through the adapter's whole wire path — quantize, tile, pack, parse, untile,
    de-quantize — at 8, 10 and 12 bits, both layouts: the SHA-256 of every container and of every de-quantized
    tensor (little-endian binary32, row-major: E-9.7's definition)."""
    import hashlib

    rng = np.random.default_rng(20261206)
    tensors = {"max_17": (rng.standard_normal((12, 5, 7)) * 3).astype(np.float32),
               "conv_16": np.abs(rng.standard_normal((3, 10, 9))).astype(np.float32)}
    containers, features = [], []
    for bits in (8, 10, 12):
        for layout in ("tile", "quilt"):
            records = []
            for name, v in tensors.items():
                q, side = adapter.quantize(v, bits, "minmax")
                picture = np.asarray(adapter.tile(np.asarray(q), layout, 8))
                records.append({"name": name, "shape": list(v.shape), "bit_depth": bits, "mode": "minmax",
                                "layout": layout, "align": 8, "codec": "raw", "side_info": bytes(side),
                                "payload": picture.astype("<u2" if bits > 8 else "u1").tobytes()})
            data = bytes(adapter.pack(records))
            containers.append(hashlib.sha256(data).hexdigest())
            for record in adapter.parse(data):
                shape = [int(x) for x in record["shape"]]
                rows, columns = np.asarray(adapter.tile(np.zeros(shape, np.uint16 if bits > 8 else np.uint8),
                                                        layout, 8)).shape
                picture = np.frombuffer(bytes(record["payload"]), "<u2" if bits > 8 else "u1").reshape(rows, columns)
                q = np.asarray(adapter.untile(picture, shape, layout, 8))
                v_hat = np.asarray(adapter.dequantize(q, bytes(record["side_info"]), bits, "minmax"))
                features.append(hashlib.sha256(np.ascontiguousarray(v_hat, "<f4").tobytes()).hexdigest())
    everything = hashlib.sha256("\n".join(containers + features).encode()).hexdigest()
    return {"containers": containers, "features": features, "sha256": everything}


@profile("wire")
@spec("C-2.10", "W-1.1", "Q-4.1", "T-5.1")
def test_the_wire_round_trip_gives_the_references_bytes(impl, selected_profiles, request):
    """The whole wire path through the implementation gives the reference's containers and de-quantized tensors
    bit for bit; their hashes go into the report, so that two reports show where two implementations part."""
    from cfc_ref.conformance import reference

    enter(request, impl, selected_profiles, "wire", "C-2.10")
    got = _wire_round_trip(impl)
    request.node.user_properties.append(("outputs", json.dumps({"wire_round_trip": got})))
    want = _wire_round_trip(reference)
    for kind in ("containers", "features"):
        for index, (a, b) in enumerate(zip(got[kind], want[kind], strict=True)):
            assert a == b, f"{kind[:-1]} {index} of the round trip differs from the reference's ({a[:16]}…)"


@st.composite
def voc_case(draw):
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    truths, dets = [], []
    for image in range(draw(st.integers(1, 6))):
        for _ in range(int(rng.integers(0, 4))):
            x, y = rng.uniform(0, 200, 2).round()
            box = [float(x), float(y), float(x + rng.integers(1, 60)), float(y + rng.integers(1, 60))]
            cls = ["car", "dog"][int(rng.integers(0, 2))]
            truths.append({"image": f"i{image}", "class": cls, "box": box, "difficult": bool(rng.random() < 0.2)})
            if rng.random() < 0.8:  # a detection near it
                x0, y0, x1, y1 = (float(b) for b in np.array(box) + rng.normal(0, 4, 4).round())
                dets.append({"image": f"i{image}", "class": cls, "score": float(rng.random()),
                             "box": [min(x0, x1), min(y0, y1), max(x0, x1), max(y0, y1)]})
    truths.append({"image": "i0", "class": "car", "box": [0.0, 0.0, 10.0, 10.0], "difficult": False})
    return truths, dets


@profile("metrics.ap")
@spec("M-2.1", "M-2.2", "C-2.7")
@PROPERTY_SETTINGS
@given(case=voc_case(), method=st.sampled_from(["voc07", "all"]))
def test_ap_is_bounded_and_perfect_detections_score_one(impl, selected_profiles, request, case, method):
    enter(request, impl, selected_profiles, "metrics.ap", "M-2.1", "M-2.2")
    truths, dets = case
    result = impl.voc_eval(truths, dets, ["car", "dog"], method)
    slack = AP_TOLERANCE  # C-2.6: AP within 1e-9 (a devkit-style sum of p / 11 may end at 1 + 2e-16)
    outside = {c: ap for c, ap in result["ap"].items() if not (ap is None or -slack <= ap <= 1.0 + slack)}
    assert not outside, f"AP outside [0, 1] (C-2.6 tolerance {slack:g}): {outside}"
    perfect = [{"image": t["image"], "class": t["class"], "score": 1.0 - i * 1e-3, "box": t["box"]}
               for i, t in enumerate(truths) if not t["difficult"]]
    ideal = impl.voc_eval(truths, perfect, ["car", "dog"], method)
    assert ideal["map"] == pytest.approx(1.0, abs=slack), f"perfect detections scored mAP {ideal['map']!r}"


@profile("metrics.ap")
@spec("M-2.3", "C-2.7")
@PROPERTY_SETTINGS
@given(case=voc_case(), seed=st.integers(0, 2**32 - 1))
def test_ap_ignores_the_order_of_distinct_scores(impl, selected_profiles, request, case, seed):
    enter(request, impl, selected_profiles, "metrics.ap", "M-1.2")
    truths, dets = case
    dets = [dict(d, score=(i + 1) / (len(dets) + 1)) for i, d in enumerate(dets)]  # distinct scores
    shuffled = [dets[i] for i in np.random.default_rng(seed).permutation(len(dets))]
    a, b = (impl.voc_eval(truths, d, ["car", "dog"], "all") for d in (dets, shuffled))
    assert a == b


@st.composite
def curve(draw):
    """4 to 6 points, each rate at least 10 % above the last: a curve, not two points on top of each other (rates
    879 and 881 made the least-squares cubic ill-conditioned enough to move BD-mAP by 1e-9)."""
    steps = draw(st.lists(st.floats(1.1, 3.0), min_size=3, max_size=5))
    rates = [draw(st.floats(5, 200))]
    for step in steps:
        rates.append(rates[-1] * step)
    gains = draw(st.lists(st.floats(0.01, 0.1), min_size=len(rates), max_size=len(rates)))
    return [[r, 0.3 + sum(gains[:i + 1])] for i, r in enumerate(rates)]


@profile("metrics.bd")
@spec("M-5.2", "M-5.5", "C-2.7")
@PROPERTY_SETTINGS
@given(points=curve(), factor=st.floats(0.25, 4.0), shift=st.floats(-0.02, 0.02),
       method=st.sampled_from(["cubic", "pchip"]))
def test_bd_of_a_scaled_or_shifted_curve(impl, selected_profiles, request, points, factor, shift, method):
    enter(request, impl, selected_profiles, "metrics.bd", "M-5.2", "M-5.5")
    rates = [p[0] for p in points]
    if len({round(r * factor, 9) for r in rates}) < len(rates):
        return
    assert impl.bd_rate(points, [[r * factor, q] for r, q in points], method) == pytest.approx(
        (factor - 1) * 100, rel=1e-6, abs=1e-6)
    assert impl.bd_metric(points, [[r, q + shift] for r, q in points], method) == pytest.approx(shift, abs=1e-9)
    assert impl.bd_metric(points, points, method) == pytest.approx(0.0, abs=1e-12)


def _detector_files() -> tuple[str, str, list[str]]:
    manifest = json.loads((GOLDEN / "detector" / "vectors.json").read_text())
    splits = sorted({v["split"] for v in manifest["vectors"] if v["result"] == "valid" and "split" in v
                     and "cfg" not in v})  # the manifest's own network (not pools.cfg)
    return str(GOLDEN / "detector" / manifest["cfg"]), str(GOLDEN / "detector" / manifest["weights"]), splits


@profile("detector.network")
@spec("D-5.1", "C-2.7")
@PROPERTY_SETTINGS
@given(seed=st.integers(0, 2**32 - 1), pair=st.permutations(_detector_files()[2]))
def test_every_split_gives_the_same_region_input(impl, selected_profiles, request, seed, pair):
    enter(request, impl, selected_profiles, "detector.network", "D-5.1")
    cfg, weights, _ = _detector_files()
    image = np.random.default_rng(seed).uniform(0, 1, (3, 32, 32)).astype(np.float32)
    outputs = [np.asarray(impl.back_forward(cfg, weights, s, impl.split_forward(cfg, weights, image, s)))
               for s in pair[:2]]
    bound = TENSOR_TOLERANCE * max(1.0, float(np.abs(outputs[0]).max()))
    assert outputs[0].shape == outputs[1].shape and float(np.abs(outputs[0] - outputs[1]).max()) <= bound


@profile("detector.region")
@spec("D-4.2", "C-2.7")
@PROPERTY_SETTINGS
@given(seed=st.integers(0, 2**32 - 1), width=st.integers(1, 900), height=st.integers(1, 900))
def test_detections_are_thresholded_and_inside_the_image(impl, selected_profiles, request, seed, width, height):
    enter(request, impl, selected_profiles, "detector.region", "D-4.2")
    cfg, _, _ = _detector_files()
    output = (np.random.default_rng(seed).standard_normal((16, 4, 4)) * 2).astype(np.float32)
    for d in impl.region_detections(cfg, output, width, height):
        assert 0.005 < d["score"] <= 1.0 and d["class"] in range(3)
        x0, y0, x1, y1 = d["box"]
        assert 0 <= x0 <= x1 <= width - 1 and 0 <= y0 <= y1 <= height - 1
