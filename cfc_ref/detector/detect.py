"""From the network's raw output to VOC detections of one image (spec D-4.2, M-3.2 coordinates).

    found = voc_detections(raw, region, "000001", 500, 375, classes)     # the readable reference: Detection list
    found = image_detections(raw, region, 500, 375)                      # the same, as arrays (fast path, D-8.3)
    found.voc("000001", classes) == voc_detections(...)                  # tested equal
    image_detections(raw, region, 500, 375, "reference")                 # through the reference (spec E-12)

``ImageDetections`` keeps what the region layer decided — the class, the float32 score and the float32 box
``(x, y, w, h)`` relative to the network input — and derives the VOC pixel box from it with D-4.2's binary64
arithmetic whenever it is asked, so that storing it (spec E-9.3) loses nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from cfc_ref.errors import CfcError
from cfc_ref.implementations import DEFAULT, Implementation
from cfc_ref.metrics.voc import Detection

if TYPE_CHECKING:  # the results store reads ImageDetections without loading torch (the CLI starts faster)
    import torch

    from cfc_ref.detector.cfg import Region

# E-9.3: one stored detection, little-endian: class index, score, x, y, w, h
RECORD = np.dtype([("cls", "<u2"), ("score", "<f4"), ("box", "<f4", (4,))])


def voc_detections(raw: torch.Tensor, region: Region, image_id: str, width: int, height: int,
                   classes: tuple[str, ...]) -> list[Detection]:
    """One image's raw output (1×A·(5+C)×H×W) → detections in 1-based VOC pixel coordinates (Darknet adds 1)."""
    from cfc_ref.detector.region import decode_boxes, detections

    table = decode_boxes(raw, region)[0].detach().cpu().numpy()
    return [Detection(image_id, classes[d.class_index], d.score, (d.xmin + 1, d.ymin + 1, d.xmax + 1, d.ymax + 1))
            for d in detections(table, width, height)]


@dataclass(frozen=True, eq=False)
class ImageDetections:
    """One image's detections as the region layer made them (score descending, then class)."""

    width: int
    height: int
    cls: np.ndarray  # class index
    score: np.ndarray  # float32
    box: np.ndarray  # float32 n×4: x, y, w, h relative to the network input (D-2.5)

    def __len__(self) -> int:
        return len(self.cls)

    def __eq__(self, other: object) -> bool:
        return (isinstance(other, ImageDetections) and (self.width, self.height) == (other.width, other.height)
                and self.to_records().tobytes() == other.to_records().tobytes())

    def voc_boxes(self, implementation: Implementation = DEFAULT) -> np.ndarray:
        """n×4 binary64 (xmin, ymin, xmax, ymax), 1-based VOC pixels (D-4.2, M-3.2): all rows at once (fast), or
        box by box through the reference's ``pixel_box``; the same numbers (tested)."""
        if implementation == "reference":
            from cfc_ref.detector.region import pixel_box

            return np.array([pixel_box(b, self.width, self.height) for b in self.box], np.float64).reshape(-1, 4) + 1
        from cfc_ref.fast.region import voc_pixel_boxes

        return voc_pixel_boxes(self.box, self.width, self.height) + 1

    def voc(self, image_id: str, classes: tuple[str, ...], implementation: Implementation = DEFAULT
            ) -> list[Detection]:
        boxes = self.voc_boxes(implementation)
        return [Detection(image_id, classes[int(c)], float(s), tuple(map(float, b)))  # type: ignore[arg-type]
                for c, s, b in zip(self.cls, self.score, boxes, strict=True)]

    def to_records(self) -> np.ndarray:
        records = np.empty(len(self.cls), dtype=RECORD)
        records["cls"], records["score"], records["box"] = self.cls, self.score, self.box
        return records

    def to_bytes(self) -> bytes:
        """E-9.3: the little-endian records, one per detection."""
        return self.to_records().tobytes()

    @classmethod
    def from_bytes(cls, data: bytes, width: int, height: int) -> ImageDetections:
        """Inverse of :meth:`to_bytes`; bytes that are not whole records are a CfcError."""
        if len(data) % RECORD.itemsize:
            raise CfcError(f"stored detections of {len(data)} bytes are not whole {RECORD.itemsize}-byte records")
        records = np.frombuffer(data, dtype=RECORD)
        return cls(width, height, records["cls"].astype(np.int64), records["score"].copy(), records["box"].copy())


def image_detections(raw: torch.Tensor, region: Region, width: int, height: int,
                     implementation: Implementation = DEFAULT) -> ImageDetections:
    """:func:`voc_detections` as arrays: through the fast region decoding and NMS (``cfc_ref.fast.region``), or
    through the reference's ``surviving`` (spec E-12); the same detections in the same order (tested)."""
    from cfc_ref.detector.region import decode_boxes

    table = decode_boxes(raw, region)[0].detach().cpu().numpy()
    if implementation == "reference":
        from cfc_ref.detector.region import surviving

        found = surviving(table)
        rows = np.array([i for i, _, _ in found], dtype=np.int64)
        return ImageDetections(width, height, np.array([c for _, c, _ in found], dtype=np.int64),
                               np.array([score for _, _, score in found], dtype=np.float32),
                               table[rows, :4].astype(np.float32).reshape(-1, 4))
    from cfc_ref.fast.region import detection_arrays

    classes, scores, boxes = detection_arrays(table)
    return ImageDetections(width, height, classes.astype(np.int64), scores.astype(np.float32),
                           boxes.astype(np.float32))
