"""A deterministic synthetic detection dataset in VOC layout: the embedded default's stand-in for VOC2007.

Images of coloured geometric shapes (five classes) on cluttered backgrounds — gradients, noise, line and blob
distractors — with tight boxes; objects that are tiny or mostly covered are marked ``difficult``. Every image is a
function of (seed, split, index) only, so the dataset is identical on every machine. It is NOT PASCAL VOC: results on
it are never the paper's numbers.

    write_dataset("data/synthetic-voc", train=1500, test=300)     # JPEGImages/, Annotations/, ImageSets/Main/
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from cfc_ref.fileio import write_atomic
from cfc_ref.metrics.files import voc_annotation_bytes
from cfc_ref.metrics.voc import GroundTruth

CLASSES = ("disc", "square", "triangle", "cross", "ring")
IMAGE_SIZE = 256
DEFAULT_SEED = 2018
JPEG_QUALITY = 95


@dataclass(frozen=True)
class Sample:
    image: np.ndarray  # H×W×3 uint8
    truths: list[GroundTruth]


def _background(rng: np.random.Generator, size: int) -> Image.Image:
    y, x = np.mgrid[0:size, 0:size].astype(np.float32) / size
    a, b = rng.uniform(40, 215, 3), rng.uniform(-60, 60, 3)
    angle = rng.uniform(0, 2 * np.pi)
    ramp = np.cos(angle) * x + np.sin(angle) * y
    base = a[None, None, :] + b[None, None, :] * ramp[..., None]
    base += rng.normal(0, 10, (size, size, 3))
    image = Image.fromarray(np.clip(base, 0, 255).astype(np.uint8))
    draw = ImageDraw.Draw(image)
    for _ in range(rng.integers(3, 9)):  # clutter: lines and small blobs of no class
        colour = tuple(int(c) for c in rng.integers(0, 256, 3))
        if rng.random() < 0.5:
            draw.line([tuple(rng.integers(0, size, 2)), tuple(rng.integers(0, size, 2))], fill=colour,
                      width=int(rng.integers(1, 4)))
        else:
            cx, cy, r = *rng.integers(0, size, 2), int(rng.integers(2, 6))
            draw.ellipse([cx - r, cy - r, cx + r, cy + r], fill=colour)
    return image


def _draw_shape(draw: ImageDraw.ImageDraw, cls: str, box: tuple[int, int, int, int], colour: tuple[int, ...],
                rng: np.random.Generator) -> None:
    x0, y0, x1, y1 = box
    w, h = x1 - x0, y1 - y0
    if cls == "disc":
        draw.ellipse(box, fill=colour)
    elif cls == "square":
        draw.rectangle(box, fill=colour)
    elif cls == "triangle":
        draw.polygon([(x0, y1), (x1, y1), (x0 + w // 2, y0)], fill=colour)
    elif cls == "cross":
        tw, th = max(2, w // 3), max(2, h // 3)
        draw.rectangle([x0 + (w - tw) // 2, y0, x0 + (w + tw) // 2, y1], fill=colour)
        draw.rectangle([x0, y0 + (h - th) // 2, x1, y0 + (h + th) // 2], fill=colour)
    else:  # ring
        draw.ellipse(box, outline=colour, width=max(2, min(w, h) // 5))


def make_sample(index: int, split: str = "train", seed: int = DEFAULT_SEED, size: int = IMAGE_SIZE) -> Sample:
    """One image and its ground truth, a function of (seed, split, index) only."""
    rng = np.random.default_rng([seed, {"train": 0, "test": 1, "val": 2}[split], index])
    image = _background(rng, size)
    draw = ImageDraw.Draw(image)
    truths: list[GroundTruth] = []
    occupied = np.zeros((size, size), dtype=np.int32)  # which object (1-based) owns each pixel, for occlusion
    drawn: list[tuple[str, tuple[int, int, int, int]]] = []
    for k in range(int(rng.integers(1, 6))):
        cls = CLASSES[int(rng.integers(0, len(CLASSES)))]
        side = int(rng.choice([rng.integers(8, 14), rng.integers(18, 110)], p=[0.12, 0.88]))
        aspect = rng.uniform(0.7, 1.4)
        w, h = max(6, int(side * aspect)), max(6, int(side / aspect))
        x0, y0 = int(rng.integers(0, size - w)), int(rng.integers(0, size - h))
        colour = tuple(int(c) for c in rng.integers(0, 256, 3))
        _draw_shape(draw, cls, (x0, y0, x0 + w - 1, y0 + h - 1), colour, rng)
        occupied[y0:y0 + h, x0:x0 + w] = k + 1
        drawn.append((cls, (x0, y0, x0 + w - 1, y0 + h - 1)))
    for k, (cls, (x0, y0, x1, y1)) in enumerate(drawn):
        visible = float((occupied[y0:y1 + 1, x0:x1 + 1] == k + 1).mean())
        if visible < 0.3:
            continue  # mostly hidden by later shapes: not annotated at all
        difficult = visible < 0.6 or min(x1 - x0, y1 - y0) < 14
        # VOC boxes are 1-based inclusive pixel coordinates
        truths.append(GroundTruth("", cls, (x0 + 1, y0 + 1, x1 + 1, y1 + 1), bool(difficult)))
    return Sample(np.asarray(image), truths)


def image_id(split: str, index: int) -> str:
    return f"{split}_{index:06d}"


def _sample_files(ident: str, index: int, split: str, seed: int, size: int) -> tuple[bytes, bytes]:
    """One image's JPEG and VOC XML annotation bytes."""
    sample = make_sample(index, split, seed, size)
    buffer = io.BytesIO()
    Image.fromarray(sample.image).save(buffer, format="JPEG", quality=JPEG_QUALITY)
    truths = [GroundTruth(ident, t.cls, t.box, t.difficult) for t in sample.truths]
    return buffer.getvalue(), voc_annotation_bytes(ident, size, size, truths)


def write_dataset_zip(path: str | Path, test: int = 300, train: int = 0, seed: int = DEFAULT_SEED,
                      size: int = IMAGE_SIZE) -> Path:
    """The same dataset as :func:`write_dataset`, as one ZIP archive holding the VOCdevkit layout (spec E-3.4):
    one file instead of two per image. Written atomically; an archive that already lists the same images is left
    alone (E-3.2). Members are stored with a fixed date, so the archive is the same bytes on every machine."""
    import zipfile

    path = Path(path)
    lists = {split: [image_id(split, i) for i in range(count)] for split, count in (("train", train), ("test", test))}
    listing = {f"ImageSets/Main/{split}.txt": ("\n".join(ids) + "\n").encode() for split, ids in lists.items()}
    if path.exists():
        try:
            with zipfile.ZipFile(path) as archive:
                if all(archive.read(name) == data for name, data in listing.items()):
                    return path
        except (OSError, KeyError, zipfile.BadZipFile):
            pass  # damaged or different: written again below (atomically)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        def add(name: str, data: bytes, method: int = zipfile.ZIP_DEFLATED) -> None:
            info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type, info.external_attr = method, 0o644 << 16
            archive.writestr(info, data)

        for split, ids in lists.items():
            for index, ident in enumerate(ids):
                jpeg, xml = _sample_files(ident, index, split, seed, size)
                add(f"JPEGImages/{ident}.jpg", jpeg, zipfile.ZIP_STORED)
                add(f"Annotations/{ident}.xml", xml)
        for name, data in listing.items():
            add(name, data)
        add("classes.txt", ("\n".join(CLASSES) + "\n").encode())
    write_atomic(path, buffer.getvalue())
    return path


def write_dataset(root: str | Path, train: int = 1500, test: int = 300, seed: int = DEFAULT_SEED,
                  size: int = IMAGE_SIZE) -> Path:
    """Write the VOCdevkit layout; existing identical files are left alone, so this is cheap to call again."""
    root = Path(root)
    for sub in ("JPEGImages", "Annotations", "ImageSets/Main"):
        (root / sub).mkdir(parents=True, exist_ok=True)
    for split, count in (("train", train), ("test", test)):
        ids = []
        for index in range(count):
            ident = image_id(split, index)
            ids.append(ident)
            jpeg, xml = root / "JPEGImages" / f"{ident}.jpg", root / "Annotations" / f"{ident}.xml"
            if jpeg.exists() and xml.exists():
                continue
            jpeg_bytes, xml_bytes = _sample_files(ident, index, split, seed, size)
            write_atomic(xml, xml_bytes)  # both written atomically: whole or absent
            write_atomic(jpeg, jpeg_bytes)
        _write_if_changed(root / "ImageSets" / "Main" / f"{split}.txt", "\n".join(ids) + "\n")
    _write_if_changed(root / "classes.txt", "\n".join(CLASSES) + "\n")
    return root


def _write_if_changed(path: Path, text: str) -> None:
    """A list file is replaced atomically, and only when it changes: a reader never sees it empty (spec E-3.2)."""
    data = text.encode()
    if not path.exists() or path.read_bytes() != data:
        write_atomic(path, data)
