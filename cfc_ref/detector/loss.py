"""Losses: the YOLO loss of paper eq. (1) (spec D-6.1) and Darknet's YOLOv2 region loss used for training (D-6.2).

Ground truth boxes are ``(class, x, y, w, h)`` with centre and size relative to the image (0..1).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F

from cfc_ref.detector.cfg import Region
from cfc_ref.detector.region import region_activate

LAMBDA_COORD, LAMBDA_NOOBJ = 5.0, 0.5
PRIOR_IMAGES, PRIOR_SCALE = 12800, 0.01


def box_iou(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """IoU of centre-format boxes (…×4), broadcasting."""
    left = torch.maximum(a[..., 0] - a[..., 2] / 2, b[..., 0] - b[..., 2] / 2)
    right = torch.minimum(a[..., 0] + a[..., 2] / 2, b[..., 0] + b[..., 2] / 2)
    top = torch.maximum(a[..., 1] - a[..., 3] / 2, b[..., 1] - b[..., 3] / 2)
    bottom = torch.minimum(a[..., 1] + a[..., 3] / 2, b[..., 1] + b[..., 3] / 2)
    inter = (right - left).clamp(min=0) * (bottom - top).clamp(min=0)
    union = a[..., 2] * a[..., 3] + b[..., 2] * b[..., 3] - inter
    return torch.where(union > 0, inter / union.clamp(min=1e-12), torch.zeros_like(union))


@dataclass(frozen=True)
class YoloLoss:
    coord: torch.Tensor
    size: torch.Tensor
    obj: torch.Tensor
    noobj: torch.Tensor
    cls: torch.Tensor

    @property
    def total(self) -> torch.Tensor:
        return self.coord + self.size + self.obj + self.noobj + self.cls


def yolo_v1_loss(pred: torch.Tensor, truths: list[tuple[int, float, float, float, float]], boxes: int, classes: int,
                 lambda_coord: float = LAMBDA_COORD, lambda_noobj: float = LAMBDA_NOOBJ) -> YoloLoss:
    """Eq. (1) for one image. ``pred`` is S×S×(B·5 + C): box j at [5j:5j+5] = (x, y, w, h, confidence) with x, y
    relative to the cell and w, h to the image; then C class probabilities (D-6.1)."""
    s = pred.shape[0]
    if pred.shape != (s, s, boxes * 5 + classes):
        raise ValueError(f"pred must be S×S×{boxes * 5 + classes}, got {tuple(pred.shape)}")
    zero = pred.new_zeros(())
    coord, size, obj, noobj, cls = zero, zero, zero, zero, zero
    owner: dict[tuple[int, int], tuple[int, float, float, float, float]] = {}
    for listed in truths:  # the first ground truth whose centre falls in a cell owns it
        row, col = min(int(listed[2] * s), s - 1), min(int(listed[1] * s), s - 1)
        owner.setdefault((row, col), listed)
    for row in range(s):
        for col in range(s):
            cell = pred[row, col]
            truth = owner.get((row, col))
            responsible = -1
            if truth is not None:
                c, gx, gy, gw, gh = truth
                tx, ty = gx * s - col, gy * s - row
                gt_box = pred.new_tensor([gx, gy, gw, gh])
                ious = []
                for j in range(boxes):
                    x, y, w, h = cell[5 * j: 5 * j + 4]
                    ious.append(box_iou(torch.stack([(col + x) / s, (row + y) / s, w, h]).detach(), gt_box))
                responsible = int(torch.stack(ious).argmax())  # ties: the lowest j
                x, y, w, h, conf = cell[5 * responsible: 5 * responsible + 5]
                coord = coord + lambda_coord * ((tx - x) ** 2 + (ty - y) ** 2)
                size = size + lambda_coord * ((gw ** 0.5 - w.clamp(min=0).sqrt()) ** 2
                                              + (gh ** 0.5 - h.clamp(min=0).sqrt()) ** 2)
                obj = obj + (ious[responsible] - conf) ** 2
                target = F.one_hot(torch.tensor(int(c)), classes).to(pred.dtype)
                cls = cls + ((target - cell[5 * boxes:]) ** 2).sum()
            for j in range(boxes):
                if j != responsible:
                    noobj = noobj + lambda_noobj * cell[5 * j + 4] ** 2
    return YoloLoss(coord, size, obj, noobj, cls)


@dataclass(frozen=True)
class RegionLoss:
    coord: torch.Tensor
    obj: torch.Tensor
    noobj: torch.Tensor
    cls: torch.Tensor
    recall: float  # share of ground truths whose predicted box has IoU > 0.5
    average_iou: float

    @property
    def total(self) -> torch.Tensor:
        return self.coord + self.obj + self.noobj + self.cls


def region_loss(raw: torch.Tensor, truths: list[torch.Tensor], region: Region, seen: int = PRIOR_IMAGES
                ) -> RegionLoss:
    """D-6.2 for a batch: ``raw`` is the last conv's output N×A·(5+C)×H×W; ``truths[b]`` is k×5 (class, x, y, w, h)."""
    n, _, h, w = raw.shape
    a = region.num
    logits = raw.reshape(n, a, 5 + region.classes, h, w)
    act = region_activate(raw, region)
    anchors = raw.new_tensor(region.anchors).view(a, 2)
    cols = torch.arange(w, device=raw.device, dtype=raw.dtype).view(1, 1, w)
    rows = torch.arange(h, device=raw.device, dtype=raw.dtype).view(1, h, 1)
    zero = raw.new_zeros(())
    coord, obj, noobj, cls = zero, zero, zero, zero
    hits, iou_sum, count = 0, 0.0, 0
    for b in range(n):
        p = act[b]  # A×(5+C)×H×W
        pred_boxes = torch.stack([(cols + p[:, 0]) / w, (rows + p[:, 1]) / h,
                                  torch.exp(p[:, 2]) * anchors[:, 0].view(a, 1, 1) / w,
                                  torch.exp(p[:, 3]) * anchors[:, 1].view(a, 1, 1) / h], dim=-1)  # A×H×W×4
        truth = truths[b].to(raw.dtype) if len(truths[b]) else raw.new_zeros((0, 5))
        obj_target, obj_scale = torch.zeros_like(p[:, 4]), torch.full_like(p[:, 4], region.noobject_scale)
        if len(truth):
            best = box_iou(pred_boxes.detach().unsqueeze(-2), truth[:, 1:5]).amax(dim=-1)
            obj_scale = torch.where(best > region.thresh, torch.zeros_like(obj_scale), obj_scale)
        coord_target = torch.stack([torch.full_like(p[:, 0], 0.5), torch.full_like(p[:, 0], 0.5),
                                    torch.zeros_like(p[:, 0]), torch.zeros_like(p[:, 0])])  # 4×A×H×W
        coord_scale = torch.full_like(p[:, 0], PRIOR_SCALE if seen < PRIOR_IMAGES else 0.0)
        responsible = torch.zeros_like(p[:, 4], dtype=torch.bool)
        class_targets: dict[tuple[int, int, int], int] = {}
        for c, tx, ty, tw, th in truth.tolist():
            i, j = min(int(tx * w), w - 1), min(int(ty * h), h - 1)
            shapes = torch.stack([anchors[:, 0] / w, anchors[:, 1] / h], dim=-1)
            overlap = torch.minimum(shapes[:, 0], shapes.new_tensor(tw)) * torch.minimum(shapes[:, 1],
                                                                                        shapes.new_tensor(th))
            best_n = int((overlap / (shapes[:, 0] * shapes[:, 1] + tw * th - overlap)).argmax())  # bias_match
            coord_target[:, best_n, j, i] = raw.new_tensor([tx * w - i, ty * h - j,
                                                           torch.log(raw.new_tensor(tw * w) / anchors[best_n, 0]),
                                                           torch.log(raw.new_tensor(th * h) / anchors[best_n, 1])])
            coord_scale[best_n, j, i] = region.coord_scale * (2 - tw * th)
            iou = float(box_iou(pred_boxes[best_n, j, i].detach(), raw.new_tensor([tx, ty, tw, th])))
            obj_target[best_n, j, i] = iou if region.rescore else 1.0
            obj_scale[best_n, j, i] = region.object_scale
            responsible[best_n, j, i] = True
            class_targets[(best_n, j, i)] = int(c)
            hits += iou > 0.5
            iou_sum += iou
            count += 1
        values = torch.stack([p[:, 0], p[:, 1], logits[b, :, 2], logits[b, :, 3]])
        coord = coord + 0.5 * (coord_scale * ((coord_target - values) ** 2)).sum()
        obj = obj + 0.5 * (obj_scale * responsible * (obj_target - p[:, 4]) ** 2).sum()
        noobj = noobj + 0.5 * (obj_scale * ~responsible * (obj_target - p[:, 4]) ** 2).sum()
        if class_targets:
            index = torch.tensor(list(class_targets), device=raw.device)
            chosen = logits[b, index[:, 0], 5:, index[:, 1], index[:, 2]]
            labels = torch.tensor(list(class_targets.values()), device=raw.device)
            cls = cls + region.class_scale * F.cross_entropy(chosen, labels, reduction="sum")
    return RegionLoss(coord, obj, noobj, cls, hits / max(count, 1), iou_sum / max(count, 1))
