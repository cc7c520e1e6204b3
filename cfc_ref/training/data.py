"""Detection training data from a VOCdevkit-layout directory: network inputs and normalised boxes."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from cfc_ref.data.source import open_voc
from cfc_ref.detector.image import network_input
from cfc_ref.errors import TrainingError
from cfc_ref.metrics.files import parse_annotation


class VocDetectionSet(torch.utils.data.Dataset):
    """Items: (3×S×S float input, k×5 tensor of (class, x, y, w, h) relative to the image), difficult objects dropped
    (as Darknet's VOC label conversion does)."""

    def __init__(self, root: str | Path, image_set: str, classes: tuple[str, ...], size: int) -> None:
        self.root, self.classes, self.size = Path(root), classes, size
        self.source = open_voc(self.root)  # every file read bounded, regular files only, ids checked (E-3.4)
        self.ids = self.source.ids(image_set)

    def __len__(self) -> int:
        return len(self.ids)

    def load(self, index: int) -> tuple[np.ndarray, list]:
        ident = self.ids[index]
        where = self.source.describe(ident, "image")
        try:
            with Image.open(io.BytesIO(self.source.image_bytes(ident))) as opened:
                image = np.asarray(opened.convert("RGB"))
        except (OSError, Image.DecompressionBombError) as err:
            raise TrainingError(f"{where}: not a readable image ({err})") from None
        annotation = self.source.describe(ident, "annotation")
        return image, parse_annotation(self.source.annotation_bytes(ident), annotation, ident)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, torch.Tensor]:
        image, truths = self.load(index)
        height, width = image.shape[:2]
        boxes = []
        for gt in truths:
            if gt.difficult or gt.cls not in self.classes:
                continue
            x0, y0, x1, y1 = (v - 1 for v in gt.box)  # 1-based inclusive → 0-based
            boxes.append([self.classes.index(gt.cls), (x0 + x1 + 1) / 2 / width, (y0 + y1 + 1) / 2 / height,
                          (x1 - x0 + 1) / width, (y1 - y0 + 1) / height])
        target = torch.tensor(boxes, dtype=torch.float32).reshape(-1, 5)
        return torch.from_numpy(network_input(image, self.size, self.size)), target


def collate(batch: list[tuple[torch.Tensor, torch.Tensor]]) -> tuple[torch.Tensor, list[torch.Tensor]]:
    return torch.stack([b[0] for b in batch]), [b[1] for b in batch]


def horizontal_flip(images: torch.Tensor, targets: list[torch.Tensor], flips: torch.Tensor
                    ) -> tuple[torch.Tensor, list[torch.Tensor]]:
    """Flip the chosen items left–right (x → 1 − x)."""
    images = torch.where(flips.view(-1, 1, 1, 1), images.flip(3), images)
    out = []
    for target, flip in zip(targets, flips.tolist(), strict=True):
        t = target.clone()
        if flip and len(t):
            t[:, 1] = 1 - t[:, 1]
        out.append(t)
    return images, out
