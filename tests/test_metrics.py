"""Metrics (spec/metrics.md): VOC AP/mAP against hand-derived goldens and an independent evaluator, BD-KBPI-mAP
against the bjontegaard package, file readers, command line."""

from __future__ import annotations

import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cfc_ref.cli import main
from cfc_ref.data.source import read_voc_annotations
from cfc_ref.errors import MetricsError
from cfc_ref.metrics.bd import bd_kbpi_map, bd_map
from cfc_ref.metrics.files import read_annotation, read_detections, write_detections, write_voc_annotation
from cfc_ref.metrics.voc import Detection, GroundTruth, ap_all_points, ap_voc07, evaluate, overlap

from cfc_testing import GOLDEN

spec = pytest.mark.spec
METRICS = json.loads((GOLDEN / "metrics" / "vectors.json").read_text())["vectors"]
AP_CASES = [v for v in METRICS if v["operation"] == "voc_eval"]
MAP_CASE = next(v for v in AP_CASES if v["id"] == "ap_car_dog")
BD_CASES = [v for v in METRICS if v["operation"] == "bd_rate"]


def case_inputs(case):
    truths = [GroundTruth(g["image"], g["class"], tuple(g["box"]), g["difficult"]) for g in case["ground_truth"]]
    dets = [Detection(d["image"], d["class"], d["score"], tuple(d["box"])) for d in case["detections"]]
    return truths, dets, tuple(case["classes"])


@spec("M-1.1", "M-1.2", "M-1.3", "M-2.1", "M-2.2", "M-2.3")
@pytest.mark.parametrize("case", [c for c in AP_CASES if c["result"] == "valid"], ids=lambda c: c["id"])
def test_hand_derived_golden(case):
    truths, dets, classes = case_inputs(case)
    result = evaluate(truths, dets, classes)
    for cls in classes:
        got = result.per_class[cls]
        for method, field in (("voc07", "ap_voc07"), ("all", "ap_all")):
            want = case["expected"][method]["ap"][cls]
            assert getattr(got, field) == (None if want is None else pytest.approx(want, abs=1e-12))
    assert result.map_voc07 == pytest.approx(case["expected"]["voc07"]["map"], abs=1e-12)
    assert result.map_all == pytest.approx(case["expected"]["all"]["map"], abs=1e-12)


@spec("M-1.1")
def test_pixel_inclusive_decides_the_dog():
    truths, dets, classes = case_inputs(MAP_CASE)
    assert evaluate(truths, dets, classes).per_class["dog"].npos == 1
    exclusive = evaluate(truths, dets, classes, pixel_inclusive=False).per_class["dog"]
    assert (exclusive.ap_voc07, exclusive.ap_all) == (0.0, 0.0)


def random_case(seed, difficult_rate=0.0):
    rng = np.random.default_rng(seed)
    classes = ("a", "b", "c")
    truths, dets = [], []
    for image in range(25):
        for _ in range(rng.integers(1, 4)):
            c = classes[rng.integers(0, 3)]
            x, y, w, h = rng.uniform(0, 200), rng.uniform(0, 200), rng.uniform(20, 80), rng.uniform(20, 80)
            truths.append(GroundTruth(str(image), c, (x, y, x + w, y + h), bool(rng.random() < difficult_rate)))
            for _ in range(rng.integers(0, 3)):
                j = rng.normal(0, 4, 4)
                dets.append(Detection(str(image), c, float(rng.random()),
                                      (x + j[0], y + j[1], x + w + abs(j[2]), y + h + abs(j[3]))))
        if rng.random() < 0.5:
            x, y = rng.uniform(0, 200), rng.uniform(0, 200)
            dets.append(Detection(str(image), classes[rng.integers(0, 3)], float(rng.random()), (x, y, x + 30, y + 30)))
    return truths, dets, classes


@spec("M-2.1", "M-2.2")
@pytest.mark.parametrize("seed", range(4))
def test_agrees_with_an_independent_evaluator(seed):
    """The mean-average-precision package, on cases without difficult boxes: it counts difficult boxes in npos,
    which the VOC devkit (and spec M-1.2) does not, so difficult handling is checked by the hand golden instead."""
    mb = pytest.importorskip("mean_average_precision", reason="mean-average-precision is not installed")
    truths, dets, classes = random_case(seed)
    ours = evaluate(truths, dets, classes)
    metric = mb.MetricBuilder.build_evaluation_metric("map_2d", async_mode=False, num_classes=3)
    for image in sorted({t.image for t in truths} | {d.image for d in dets}):
        gt = np.array([[*t.box, classes.index(t.cls), 0, 0] for t in truths if t.image == image]).reshape(-1, 7)
        pr = np.array([[*d.box, classes.index(d.cls), d.score] for d in dets if d.image == image]).reshape(-1, 6)
        metric.add(pr, gt)
    theirs07 = metric.value(iou_thresholds=0.5, recall_thresholds=np.arange(0.0, 1.1, 0.1))["mAP"]
    theirs_all = metric.value(iou_thresholds=0.5)["mAP"]
    assert ours.map_voc07 == pytest.approx(theirs07, abs=1e-6)
    assert ours.map_all == pytest.approx(theirs_all, abs=1e-6)


@spec("M-2.1", "M-2.2")
@settings(max_examples=100, deadline=None)
@given(st.lists(st.tuples(st.booleans(), st.floats(0, 1)), min_size=1, max_size=30), st.integers(1, 40))
def test_ap_bounds_and_monotone_envelope(hits, extra_npos):
    tp = np.array([h for h, _ in hits], dtype=float)
    npos = int(tp.sum()) + extra_npos - 1 if tp.sum() else extra_npos
    recall = np.cumsum(tp) / npos
    precision = np.cumsum(tp) / np.arange(1, len(tp) + 1)
    for ap in (ap_voc07(recall, precision), ap_all_points(recall, precision)):
        assert 0.0 <= ap <= 1.0
    if tp.all() and tp.sum() == npos:
        assert ap_voc07(recall, precision) == pytest.approx(1.0) and ap_all_points(recall, precision) == 1.0


@spec("M-1.1")
def test_overlap_convention():
    boxes = np.array([[0, 0, 1, 1]], dtype=float)
    assert overlap((0, 0, 2, 1), boxes)[0] == pytest.approx(4 / 6)
    assert overlap((0, 0, 2, 1), boxes, pixel_inclusive=False)[0] == pytest.approx(0.5)
    assert overlap((5, 5, 6, 6), boxes)[0] == 0.0


@spec("M-2.3")
def test_bad_detections_and_undefined_map():
    truths = [GroundTruth("a", "car", (0, 0, 10, 10))]
    for bad in (Detection("a", "bus", 0.5, (0, 0, 1, 1)), Detection("a", "car", float("nan"), (0, 0, 1, 1)),
                Detection("a", "car", 0.5, (5, 0, 1, 1)), Detection("a", "car", 0.5, (0, 0, float("inf"), 1))):
        with pytest.raises(MetricsError):
            evaluate(truths, [bad], ("car",))
    with pytest.raises(MetricsError, match="undefined"):
        _ = evaluate([], [], ("car",)).map_voc07
    with pytest.raises(MetricsError, match="unknown class"):
        evaluate([GroundTruth("a", "tram", (0, 0, 1, 1))], [], ("car",))


@spec("M-5.1", "M-5.2")
@pytest.mark.parametrize("case", [c for c in BD_CASES if c["result"] == "valid"], ids=lambda c: c["id"])
def test_bd_matches_the_bjontegaard_package(case):
    result = bd_kbpi_map([tuple(p) for p in case["anchor"]], [tuple(p) for p in case["test"]], case["method"])
    assert result.percent == pytest.approx(case["expected"], rel=1e-9, abs=1e-9)
    assert 0 < result.anchor_share <= 1 and 0 < result.test_share <= 1


@spec("M-5.5")
@pytest.mark.parametrize("method", ["cubic", "pchip"])
@pytest.mark.parametrize("case", [c for c in BD_CASES if c["result"] == "valid"], ids=lambda c: c["id"])
def test_bd_map_matches_the_bjontegaard_package(case, method):
    """The peer's bd_psnr is the same delta metric (M-5.5); its minimum-overlap rule is switched off here."""
    bjontegaard = pytest.importorskip("bjontegaard", reason="the peer BD package is not installed")
    anchor, test = [tuple(p) for p in case["anchor"]], [tuple(p) for p in case["test"]]
    ours = bd_map(anchor, test, method)
    peer = bjontegaard.bd_psnr([p[0] for p in anchor], [p[1] for p in anchor], [p[0] for p in test],
                               [p[1] for p in test], method=method, require_matching_points=False, min_overlap=0)
    assert ours.delta == pytest.approx(peer, rel=1e-9, abs=1e-12)
    assert 0 < ours.anchor_share <= 1 and 0 < ours.test_share <= 1 and ours.low_kbpi < ours.high_kbpi


@spec("M-5.5")
def test_bd_map_properties_and_refusals():
    anchor = [(100.0, 0.5), (200.0, 0.6), (400.0, 0.7), (800.0, 0.75)]
    better = [(r, q + 0.01) for r, q in anchor]
    assert bd_map(anchor, better).delta == pytest.approx(0.01)
    assert bd_map(anchor, anchor, "pchip").delta == pytest.approx(0.0, abs=1e-15)
    assert bd_map(better, anchor).delta == pytest.approx(-0.01)
    wavy = [(100.0, 0.5), (200.0, 0.62), (400.0, 0.6), (800.0, 0.75)]  # not monotonic: still a function of rate
    assert -0.05 < bd_map(anchor, wavy, "pchip").delta < 0
    for bad in ([(100.0, 0.5)] * 4, anchor[:3], [(0.0, 0.5), *anchor[1:]], [(float("nan"), 0.5), *anchor[1:]]):
        with pytest.raises(MetricsError):
            bd_map(anchor, bad)
    with pytest.raises(MetricsError, match="do not overlap"):
        bd_map(anchor, [(r * 100, q) for r, q in anchor])


@spec("M-5.5")
def test_metrics_bd_command_prints_both_and_json(tmp_path, capsys):
    from cfc_ref.cli import main

    (tmp_path / "a.csv").write_text("kbpi,map\n100,0.5\n200,0.6\n400,0.7\n800,0.75\n")
    (tmp_path / "t.csv").write_text("50,0.5\n100,0.6\n200,0.7\n400,0.75\n")
    assert main(["metrics", "bd", str(tmp_path / "a.csv"), str(tmp_path / "t.csv")]) == 0
    out = capsys.readouterr().out
    assert "BD-KBPI-mAP (cubic): -50.00 %" in out and "BD-mAP (cubic): +" in out and "(pchip)" in out
    assert main(["metrics", "bd", str(tmp_path / "a.csv"), str(tmp_path / "t.csv"), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["cubic"]["bd_kbpi_percent"] == pytest.approx(-50.0)
    assert report["pchip"]["bd_map"] > 0 and report["cubic"]["map_overlap"] == [0.5, 0.75]


@spec("M-5.3")
@pytest.mark.parametrize("case", [c for c in BD_CASES if c["result"] == "invalid"], ids=lambda c: c["id"])
def test_bd_refuses_curves_that_cannot_be_compared(case):
    with pytest.raises(MetricsError):
        bd_kbpi_map([tuple(p) for p in case["anchor"]], [tuple(p) for p in case["test"]], case["method"])


@spec("M-5.2")
def test_bd_properties():
    anchor = [(100.0, 0.5), (200.0, 0.6), (400.0, 0.7), (800.0, 0.75)]
    half = [(r / 2, q) for r, q in anchor]
    assert bd_kbpi_map(anchor, half).percent == pytest.approx(-50.0)
    assert bd_kbpi_map(anchor, anchor, "pchip").percent == pytest.approx(0.0, abs=1e-12)
    assert bd_kbpi_map(half, anchor).percent == pytest.approx(100.0)
    with pytest.raises(MetricsError, match="method"):
        bd_kbpi_map(anchor, half, "akima")


@spec("M-3.1", "M-3.2")
def test_files_round_trip(tmp_path):
    truths, dets, classes = case_inputs(MAP_CASE)
    root = tmp_path / "VOC2007"
    (root / "Annotations").mkdir(parents=True)
    (root / "ImageSets" / "Main").mkdir(parents=True)
    images = sorted({t.image for t in truths} | {"C"})
    for image in images:
        write_voc_annotation(root / "Annotations" / f"{image}.xml", image, 300, 300,
                             [t for t in truths if t.image == image])
    (root / "ImageSets" / "Main" / "test.txt").write_text("\n".join(images) + "\n")
    assert read_voc_annotations(root, "test") == truths
    write_detections(dets, tmp_path / "results", "test", classes)
    back = read_detections(tmp_path / "results", classes)
    assert sorted(back, key=lambda d: -d.score) == dets
    (tmp_path / "d.json").write_text(json.dumps({"detections": [
        {"image": d.image, "class": d.cls, "score": d.score, "box": list(d.box)} for d in dets]}))
    assert read_detections(tmp_path / "d.json", classes) == dets


@spec("M-3.1")
@pytest.mark.parametrize("xml,message", [
    ("<annotation><object><name>car</name></object></annotation>", "without <bndbox>"),
    ("<annotation><object><bndbox><xmin>1</xmin><ymin>1</ymin><xmax>2</xmax><ymax>2</ymax></bndbox></object>"
     "</annotation>", "missing <name>"),
    ("<annotation><object><name>car</name><bndbox><xmin>a</xmin><ymin>1</ymin><xmax>2</xmax><ymax>2</ymax>"
     "</bndbox></object></annotation>", "not a number"),
    ("<annotation><object><name>car</name><bndbox><xmin>1</xmin><ymin>1</ymin><xmax>2</xmax></bndbox></object>"
     "</annotation>", "missing <ymax>"),
    ("<annotation><object>", "no element found"),
])
def test_strict_xml(tmp_path, xml, message):
    path = tmp_path / "x.xml"
    path.write_text(xml)
    with pytest.raises(MetricsError, match=message):
        read_annotation(path)


@spec("M-3.2")
def test_bad_detection_files(tmp_path):
    (tmp_path / "comp4_det_test_car.txt").write_text("img 0.5 1 2 3\n")
    with pytest.raises(MetricsError, match="comp4_det_test_car.txt:1"):
        read_detections(tmp_path, ("car",))
    (tmp_path / "x.json").write_text('{"dets": []}')
    with pytest.raises(MetricsError, match="not a detections JSON"):
        read_detections(tmp_path / "x.json")
    with pytest.raises(MetricsError, match="expected a directory"):
        read_detections(tmp_path / "missing.txt")


@spec("M-2.1", "M-5.1")
def test_metrics_cli(tmp_path, capsys):
    truths, dets, classes = case_inputs(MAP_CASE)
    root = tmp_path / "VOC"
    (root / "Annotations").mkdir(parents=True)
    (root / "ImageSets" / "Main").mkdir(parents=True)
    for image in ("A", "B", "C", "D"):
        write_voc_annotation(root / "Annotations" / f"{image}.xml", image, 300, 300,
                             [t for t in truths if t.image == image])
    (root / "ImageSets" / "Main" / "test.txt").write_text("A\nB\nC\nD\n")
    write_detections(dets, tmp_path / "res", "test", classes)
    assert main(["metrics", "map", str(root), str(tmp_path / "res"), "--classes", "car,dog,cat"]) == 0
    out = capsys.readouterr().out
    assert f"{MAP_CASE['expected']['voc07']['map']:9.4f}" in out and "n/a" in out
    case = BD_CASES[0]
    for name in ("anchor", "test"):
        (tmp_path / f"{name}.csv").write_text("kbpi,map\n" + "".join(f"{r},{q}\n" for r, q in case[name]))
    assert main(["metrics", "bd", str(tmp_path / "anchor.csv"), str(tmp_path / "test.csv")]) == 0
    assert f"{case['expected']:+.2f} %" in capsys.readouterr().out
    (tmp_path / "bad.csv").write_text("1,0.5\n2,0.6\n")
    assert main(["metrics", "bd", str(tmp_path / "anchor.csv"), str(tmp_path / "bad.csv")]) == 2


def _random_case(seed: int):
    rng = np.random.default_rng(seed)
    classes, images = ("a", "b", "c"), [f"i{k}" for k in range(10)]
    truths, dets = [], []
    for image in images:
        for _ in range(rng.integers(0, 3)):
            x, y = rng.uniform(0, 50, 2)
            truths.append(GroundTruth(image, str(rng.choice(classes)), (x, y, x + 20, y + 20), bool(rng.random() < .2)))
        for g in [g for g in truths if g.image == image]:
            for _ in range(rng.integers(0, 3)):
                j = rng.uniform(-6, 6, 2)
                box = (g.box[0] + j[0], g.box[1] + j[1], g.box[2] + j[0], g.box[3] + j[1])
                dets.append(Detection(image, g.cls if rng.random() < .8 else "a", float(round(rng.random(), 1)), box))
        x, y = rng.uniform(0, 50, 2)
        dets.append(Detection(image, str(rng.choice(classes)), float(round(rng.random(), 1)), (x, y, x + 9, y + 9)))
    return truths, dets, classes, images


@spec("M-6.1")
@settings(max_examples=15, deadline=None)
@given(st.integers(0, 10_000), st.integers(0, 100))
def test_bootstrap_equals_the_resample_written_out(case_seed, draw_seed):
    from cfc_ref.metrics.bootstrap import map_bootstrap, resample_counts

    truths, dets, classes, images = _random_case(case_seed)
    counts = resample_counts(len(images), 6, draw_seed)
    try:
        boot = map_bootstrap(truths, dets, classes, images, resamples=6, seed=draw_seed)
    except MetricsError:
        return  # a resample with no ground truth at all: undefined, refused
    for r in range(6):
        t2 = [GroundTruth(f"{g.image}#{c}", g.cls, g.box, g.difficult) for g in truths
              for c in range(int(counts[r, images.index(g.image)]))]
        d2 = [Detection(f"{d.image}#{c}", d.cls, d.score, d.box) for d in dets
              for c in range(int(counts[r, images.index(d.image)]))]
        assert boot[r] == pytest.approx(evaluate(t2, d2, classes).map_voc07, abs=1e-12)


@spec("M-6.1")
def test_bootstrap_is_seeded_and_centred():
    from cfc_ref.metrics.bootstrap import map_bootstrap

    truths, dets, classes, images = _random_case(7)
    a = map_bootstrap(truths, dets, classes, images)
    assert len(a) == 200 and np.array_equal(a, map_bootstrap(truths, dets, classes, images))
    assert abs(a.mean() - evaluate(truths, dets, classes).map_voc07) < 3 * a.std(ddof=1)
    assert not np.array_equal(a, map_bootstrap(truths, dets, classes, images, seed=1))
