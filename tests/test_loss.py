"""Losses (spec D-6): eq. (1) properties and Darknet's region loss."""

from __future__ import annotations

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from cfc_ref.detector.cfg import builtin_cfg
from cfc_ref.detector.loss import PRIOR_SCALE, box_iou, region_loss, yolo_v1_loss

spec = pytest.mark.spec
S, B, C = 7, 2, 4
REGION = builtin_cfg().region

coords = st.floats(0.05, 0.95)
sizes = st.floats(0.05, 0.9)
truth_strategy = st.tuples(st.integers(0, C - 1), coords, coords, sizes, sizes)


def perfect_prediction(truths):
    pred = torch.zeros(S, S, B * 5 + C, dtype=torch.float64)
    used = set()
    for c, x, y, w, h in truths:
        row, col = min(int(y * S), S - 1), min(int(x * S), S - 1)
        if (row, col) in used:
            continue
        used.add((row, col))
        pred[row, col, 0:5] = torch.tensor([x * S - col, y * S - row, w, h, 1.0], dtype=torch.float64)
        # a worse second box, confidence 0
        pred[row, col, 5:10] = torch.tensor([0.0, 0.0, w / 2, h / 2, 0.0], dtype=torch.float64)
        pred[row, col, 5 * B + c] = 1.0
    return pred


@spec("D-6.1")
@settings(max_examples=60, deadline=None)
@given(st.lists(truth_strategy, min_size=0, max_size=4))
def test_zero_at_a_perfect_prediction(truths):
    loss = yolo_v1_loss(perfect_prediction(truths), truths, B, C)
    assert float(loss.total) == pytest.approx(0.0, abs=1e-12)


@spec("D-6.1")
@settings(max_examples=40, deadline=None)
@given(truth_strategy, st.floats(0.01, 0.2), st.floats(0.5, 20))
def test_term_weights(truth, error, weight):
    pred = perfect_prediction([truth])
    row, col = min(int(truth[2] * S), S - 1), min(int(truth[1] * S), S - 1)
    pred[row, col, 0] += error
    pred[0 if row else 1, 0, 4] = 0.5  # a confident box in an empty cell
    base = yolo_v1_loss(pred, [truth], B, C)
    scaled = yolo_v1_loss(pred, [truth], B, C, lambda_coord=weight, lambda_noobj=weight)
    assert float(base.coord) == pytest.approx(5.0 * error**2, rel=1e-9)
    assert float(scaled.coord) == pytest.approx(float(base.coord) * weight / 5.0, rel=1e-9)
    assert float(scaled.noobj) == pytest.approx(float(base.noobj) * weight / 0.5, rel=1e-9)
    assert float(base.noobj) == pytest.approx(0.5 * 0.25, rel=1e-9)
    assert float(scaled.cls) == float(base.cls)


@spec("D-6.1")
def test_square_roots_weigh_small_boxes_more():
    def size_loss(w):
        truth = (0, 0.5, 0.5, w, 0.3)
        pred = perfect_prediction([truth])
        pred[3, 3, 2] += 0.05
        return float(yolo_v1_loss(pred, [truth], B, C).size)

    assert size_loss(0.1) > size_loss(0.8) > 0
    pred = perfect_prediction([(0, 0.5, 0.5, 0.3, 0.3)])
    pred[3, 3, 2] = -1.0  # a negative width is clamped at 0 before the root, not NaN
    assert torch.isfinite(yolo_v1_loss(pred, [(0, 0.5, 0.5, 0.3, 0.3)], B, C).total)


@spec("D-6.1")
def test_responsibility_by_best_iou():
    truth = (1, 0.5, 0.5, 0.3, 0.3)
    pred = torch.zeros(S, S, B * 5 + C, dtype=torch.float64)
    pred[3, 3, 0:5] = torch.tensor([0.5, 0.5, 0.05, 0.05, 0.7], dtype=torch.float64)  # tiny box: low IoU
    pred[3, 3, 5:10] = torch.tensor([0.5, 0.5, 0.3, 0.3, 0.2], dtype=torch.float64)  # exact box: IoU 1, responsible
    loss = yolo_v1_loss(pred, [truth], B, C)
    assert float(loss.obj) == pytest.approx((1.0 - 0.2) ** 2)
    assert float(loss.noobj) == pytest.approx(0.5 * 0.7**2)
    assert float(loss.coord) == 0.0 and float(loss.size) == pytest.approx(0.0, abs=1e-12)
    two = yolo_v1_loss(pred, [truth, (2, 0.51, 0.52, 0.1, 0.1)], B, C)  # same cell: the first listed owns it
    assert float(two.total) == float(loss.total)
    with pytest.raises(ValueError):
        yolo_v1_loss(torch.zeros(S, S, 3), [], B, C)


@spec("D-6.2")
def test_region_loss_without_objects_is_the_noobject_term():
    raw = torch.randn(2, 125, 13, 13, dtype=torch.float64, requires_grad=True)
    out = region_loss(raw, [torch.zeros(0, 5), torch.zeros(0, 5)], REGION, seen=10**6)
    obj = torch.sigmoid(raw.view(2, 5, 25, 13, 13)[:, :, 4])
    assert float(out.total.detach()) == pytest.approx(float(0.5 * REGION.noobject_scale * (obj**2).sum().detach()),
                                                      rel=1e-12)
    out.total.backward()
    # the gradient is Darknet's delta through the logistic: noobject_scale · σ · σ'
    expected = REGION.noobject_scale * obj * obj * (1 - obj)
    assert torch.allclose(raw.grad.view(2, 5, 25, 13, 13)[:, :, 4], expected)
    early = region_loss(raw, [torch.zeros(0, 5)] * 2, REGION, seen=0)
    xy = torch.sigmoid(raw.view(2, 5, 25, 13, 13)[:, :, 0:2])
    wh = raw.view(2, 5, 25, 13, 13)[:, :, 2:4]
    prior = 0.5 * PRIOR_SCALE * (((0.5 - xy) ** 2).sum() + (wh**2).sum())
    assert float(early.coord.detach()) == pytest.approx(float(prior.detach()), rel=1e-12)


@spec("D-6.2")
def test_region_loss_responsible_anchor_and_targets():
    truth = torch.tensor([[7, 0.5, 0.5, 9.47112 / 13, 4.84053 / 13]], dtype=torch.float64)  # anchor 3's shape
    raw = torch.zeros(1, 125, 13, 13, dtype=torch.float64)
    view = raw.view(1, 5, 25, 13, 13)
    view[0, :, 4] = -20.0  # nothing is confident
    view[0, 3, 5 + 7, 6, 6] = 30.0  # anchor 3 of cell (6, 6) predicts class 7 with the exact box
    raw.requires_grad_(True)
    out = region_loss(raw, [truth], REGION, seen=10**6)
    assert float(out.coord.detach()) == pytest.approx(0.0, abs=1e-20)  # σ(0) = 0.5 is the centre; w, h = log(1) = 0
    assert float(out.cls.detach()) == pytest.approx(0.0, abs=1e-10)
    assert out.recall == 1.0 and out.average_iou == pytest.approx(1.0)
    out.total.backward()
    grad = raw.grad.view(1, 5, 25, 13, 13)
    assert grad[0, 3, 4, 6, 6] < 0  # objectness of the responsible anchor is pushed up (toward IoU 1)
    assert grad[0, [0, 1, 2, 4], 4, 6, 6].abs().max() < 1e-6  # others in that cell: σ(−20)·… ≈ 0


def test_box_iou():
    a = torch.tensor([0.5, 0.5, 0.2, 0.2])
    assert float(box_iou(a, a)) == pytest.approx(1.0)
    assert float(box_iou(a, torch.tensor([0.9, 0.9, 0.1, 0.1]))) == 0.0
    assert float(box_iou(a, torch.tensor([0.6, 0.5, 0.2, 0.2]))) == pytest.approx(0.1 * 0.2 / (0.08 - 0.02))
