"""Fast region decoding + NMS, VOC matching and the bootstrap (cfc_ref.fast.region, cfc_ref.fast.voc; issue 20):
equal to the readable references on the golden vectors and by property tests (spec D-8.3, M-7.1)."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from cfc_ref.detector.cfg import parse_cfg
from cfc_ref.detector.region import decode_boxes, detections, nms_sort
from cfc_ref.errors import MetricsError
from cfc_ref.fast import region as fast_region
from cfc_ref.fast import voc as fast_voc
from cfc_ref.metrics.bootstrap import map_bootstrap, resample_counts
from cfc_ref.metrics.voc import Detection, GroundTruth, evaluate, match_class

from cfc_testing import GOLDEN

spec = pytest.mark.spec
DETECTOR = json.loads((GOLDEN / "detector" / "vectors.json").read_text())
REGION_CASES = [v for v in DETECTOR["vectors"] if v["operation"] == "region_detections"]
METRICS = json.loads((GOLDEN / "metrics" / "vectors.json").read_text())["vectors"]
AP_CASES = [v for v in METRICS if v["operation"] == "voc_eval" and v["result"] == "valid"]


def _tables(seed: int, rows: int, classes: int, ties: bool) -> np.ndarray:
    rng = np.random.default_rng(seed)
    table = np.empty((rows, 5 + classes), dtype=np.float32)
    centres = rng.uniform(0, 1, (max(1, rows // 4), 2))  # clusters, so that boxes overlap and NMS decides
    table[:, :2] = centres[rng.integers(0, len(centres), rows)] + rng.normal(0, 0.03, (rows, 2))
    table[:, 2:4] = rng.uniform(0.02, 0.6, (rows, 2))
    table[:, 4] = rng.uniform(0, 1, rows)
    probabilities = rng.dirichlet(np.ones(classes), rows)
    table[:, 5:] = np.round(probabilities, 1) if ties else probabilities  # ties: many equal scores
    return table


@spec("D-8.3", "D-4.2")
@settings(max_examples=60, deadline=None)
@given(st.integers(0, 10**6), st.integers(0, 80), st.integers(1, 6), st.booleans(),
       st.sampled_from([0.45, 0.3, 0.0, 0.99]))
def test_fast_nms_and_detections_equal_the_reference(seed, rows, classes, ties, threshold):
    table = _tables(seed, rows, classes, ties)
    boxes = table[:, :4].astype(np.float64)
    scores = np.where(table[:, 4:5] * table[:, 5:] > 0.005, table[:, 4:5] * table[:, 5:], 0.0)
    assert np.array_equal(fast_region.nms_sort(boxes, scores, threshold), nms_sort(boxes, scores, threshold))
    assert fast_region.detections(table, 500, 375, nms=threshold) == detections(table, 500, 375, nms=threshold)


@spec("D-8.3", "D-4.2")
@pytest.mark.parametrize("case", REGION_CASES, ids=lambda c: c["id"])
def test_fast_detections_on_the_golden_region_vectors(case):
    config = parse_cfg((GOLDEN / "detector" / DETECTOR["cfg"]).read_text())
    raw = torch.from_numpy(np.load(GOLDEN / "detector" / case["output"]))[None]
    table = decode_boxes(raw, config.region)[0].numpy()
    found = fast_region.detections(table, case["width"], case["height"])
    assert found == detections(table, case["width"], case["height"])
    assert [(d.class_index, d.score) for d in found] == [(e["class"], pytest.approx(e["score"], abs=1e-6))
                                                         for e in case["expected"]]


@spec("D-8.3", "D-4.2")
@settings(max_examples=100, deadline=None)
@given(st.lists(st.tuples(*[st.sampled_from([0.0, 0.5, 1.0]) | st.floats(-1, 2)] * 2,
                          *[st.sampled_from([0.0, 0.25]) | st.floats(0, 1.5)] * 2), min_size=1, max_size=30))
def test_pairwise_iou_is_darknets_box_iou_bit_for_bit(rows):
    """Every IoU of the matrix, not only its comparison with the threshold: degenerate and identical boxes too."""
    from cfc_ref.detector.region import iou_center

    boxes = np.array(rows, dtype=np.float64)
    matrix = fast_region.pairwise_iou_center(boxes)
    for i, box in enumerate(boxes):
        assert matrix[i].tobytes() == iou_center(box, boxes).tobytes()


@spec("M-7.1", "M-2.2")
@settings(max_examples=150, deadline=None)
@given(st.lists(st.integers(0, 1), max_size=60), st.integers(1, 70))
def test_fast_all_point_ap_equals_the_reference_bit_for_bit(tp, extra_truths):
    """The envelope as a running maximum gives the loop's AP exactly, ties and flat stretches included."""
    from cfc_ref.metrics.voc import ap_all_points

    hits = np.array(tp, dtype=np.int64)
    npos = int(hits.sum()) + extra_truths - 1 or 1
    ctp, cfp = np.cumsum(hits, dtype=np.float64), np.cumsum(1 - hits, dtype=np.float64)
    recall, precision = ctp / npos, ctp / np.maximum(ctp + cfp, np.finfo(np.float64).eps)
    fast = fast_voc.ap_all_points(recall, precision)
    assert np.float64(fast).tobytes() == np.float64(ap_all_points(recall, precision)).tobytes()


@spec("D-4.2", "M-7.1")
def test_pixel_boxes_of_many_images_at_once_equal_each_images_own():
    """Aggregation converts the boxes of every unit in one call, each row with its image's size."""
    from cfc_ref.detector.detect import ImageDetections
    from cfc_ref.experiment.aggregate import _detection_arrays
    from cfc_ref.experiment.units import Unit, UnitBits

    rng = np.random.default_rng(5)
    units = []
    for k, (width, height) in enumerate([(500, 375), (17, 333), (1, 1), (640, 480)]):
        n = [3, 0, 2, 7][k]
        found = ImageDetections(width, height, rng.integers(0, 3, n), rng.random(n).astype(np.float32),
                                rng.uniform(-0.2, 1.2, (n, 4)).astype(np.float32))
        units.append(Unit(f"i{k}", "s", UnitBits(1, 0, 0), "e", ("d",), found))
    arrays = _detection_arrays(units, ["i3", "i2", "i1", "i0"])
    assert arrays.box.tobytes() == np.concatenate([u.detections.voc_boxes() for u in units]).tobytes()
    assert arrays.image.tolist() == [3] * 3 + [1] * 2 + [0] * 7
    assert arrays.score.tolist() == np.concatenate([u.detections.score for u in units]).astype(np.float64).tolist()


def test_greedy_survivors_is_the_greedy_rule():
    over = np.array([[0, 1, 0, 0], [0, 0, 1, 0], [0, 0, 0, 1], [0, 0, 0, 0]], dtype=bool)  # a chain 0→1→2→3
    assert fast_region.greedy_survivors(over).tolist() == [True, False, True, False]


def _random_case(seed: int, ties: bool):
    rng = np.random.default_rng(seed)
    classes, images = ("a", "b", "c"), [f"i{k}" for k in range(int(rng.integers(1, 9)))]
    truths, dets = [], []
    for image in images:
        for _ in range(rng.integers(0, 4)):
            x, y = rng.uniform(0, 40, 2)
            truths.append(GroundTruth(image, str(rng.choice(classes)), (x, y, x + rng.uniform(0, 25), y + 20),
                                      bool(rng.random() < .25)))
        for g in [g for g in truths if g.image == image]:
            for _ in range(rng.integers(0, 4)):
                j = rng.uniform(-8, 8, 2)
                box = (g.box[0] + j[0], g.box[1] + j[1], g.box[2] + j[0], g.box[3] + j[1])
                score = float(round(rng.random(), 1)) if ties else float(rng.random())
                dets.append(Detection(image, g.cls if rng.random() < .8 else "a", score, box))
        for _ in range(rng.integers(0, 3)):
            x, y = rng.uniform(0, 50, 2)
            dets.append(Detection(image, str(rng.choice(classes)), float(round(rng.random(), 1)), (x, y, x + 9, y + 9)))
    return truths, dets, classes, images


def _arrays(truths, dets, classes, images):
    index = {image: i for i, image in enumerate(images)}
    arrays = fast_voc.DetectionArrays(np.array([index[d.image] for d in dets], dtype=np.int64),
                                      np.array([classes.index(d.cls) for d in dets], dtype=np.int64),
                                      np.array([d.score for d in dets], dtype=np.float64),
                                      np.array([d.box for d in dets], dtype=np.float64).reshape(-1, 4))
    return fast_voc.TruthArrays.of(truths, images, classes), arrays


@spec("M-7.1", "M-1.2", "M-2.1", "M-2.2")
@settings(max_examples=80, deadline=None)
@given(st.integers(0, 10**6), st.booleans())
def test_fast_matching_and_ap_equal_the_reference(seed, ties):
    truths, dets, classes, images = _random_case(seed, ties)
    truth_arrays, det_arrays = _arrays(truths, dets, classes, images)
    fast = fast_voc.evaluate(truth_arrays, det_arrays, classes)
    reference = evaluate(truths, dets, classes)
    assert fast.per_class == reference.per_class  # every AP, npos, TP and FP count, exactly
    for name, outcome in zip(classes, fast.matches, strict=True):
        expected = match_class(name, [g for g in truths if g.cls == name], [d for d in dets if d.cls == name])
        assert [images[i] for i in outcome.image] == list(expected.images)
        assert outcome.true_positive.tolist() == expected.true_positive.tolist()


@spec("M-7.1")
@pytest.mark.parametrize("case", AP_CASES, ids=lambda c: c["id"])
def test_fast_ap_on_the_golden_vectors(case):
    truths = [GroundTruth(g["image"], g["class"], tuple(g["box"]), g["difficult"]) for g in case["ground_truth"]]
    dets = [Detection(d["image"], d["class"], d["score"], tuple(d["box"])) for d in case["detections"]]
    classes = tuple(case["classes"])
    images = sorted({g.image for g in truths} | {d.image for d in dets})
    fast = fast_voc.evaluate(*_arrays(truths, dets, classes, images), classes)
    assert fast.per_class == evaluate(truths, dets, classes).per_class


@spec("M-7.1", "M-6.1")
@settings(max_examples=40, deadline=None)
@given(st.integers(0, 10**6), st.integers(0, 100), st.booleans())
def test_fast_bootstrap_is_bit_equal_to_the_reference_and_the_resample_written_out(seed, draw_seed, ties):
    truths, dets, classes, images = _random_case(seed, ties)
    fast = fast_voc.evaluate(*_arrays(truths, dets, classes, images), classes)
    try:
        expected = map_bootstrap(truths, dets, classes, images, resamples=8, seed=draw_seed)
    except MetricsError:
        with pytest.raises(MetricsError):
            fast_voc.map_bootstrap(fast.matches, len(images), 8, draw_seed)
        return
    got = fast_voc.map_bootstrap(fast.matches, len(images), 8, draw_seed)
    assert np.array_equal(got, expected)  # bit for bit
    counts = resample_counts(len(images), 8, draw_seed)
    for r in range(8):
        t2 = [GroundTruth(f"{g.image}#{c}", g.cls, g.box, g.difficult) for g in truths
              for c in range(int(counts[r, images.index(g.image)]))]
        d2 = [Detection(f"{d.image}#{c}", d.cls, d.score, d.box) for d in dets
              for c in range(int(counts[r, images.index(d.image)]))]
        assert got[r] == pytest.approx(evaluate(t2, d2, classes).map_voc07, abs=1e-12)


@spec("M-7.1", "M-2.3")
def test_fast_checks_refuse_what_the_reference_refuses():
    arrays = fast_voc.DetectionArrays(np.array([0]), np.array([0]), np.array([np.nan]), np.zeros((1, 4)))
    with pytest.raises(MetricsError, match="non-finite"):
        arrays.check(1)
    arrays = fast_voc.DetectionArrays(np.array([0]), np.array([0]), np.array([0.5]), np.array([[5.0, 0, 1, 1]]))
    with pytest.raises(MetricsError, match="max < min"):
        arrays.check(1)
    with pytest.raises(MetricsError, match="unknown class"):
        fast_voc.DetectionArrays(np.array([0]), np.array([3]), np.array([0.5]), np.zeros((1, 4))).check(2)
