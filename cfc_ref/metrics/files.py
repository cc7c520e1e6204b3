"""VOCdevkit annotations and detection files (spec M-3).

    truths = parse_annotation(xml_bytes, "Annotations/000001.xml", "000001")    # a dataset: cfc_ref.data.source
    detections = read_detections("results/")          # comp4_det_test_<class>.txt files, or a .json file
"""

from __future__ import annotations

import math
import xml.etree.ElementTree as ET
from pathlib import Path

from cfc_ref.errors import CfcError, MetricsError
from cfc_ref.fileio import MAX_TEXT_BYTES, read_bounded, read_text_bounded, write_atomic
from cfc_ref.metrics.voc import VOC_CLASSES, Detection, GroundTruth


def read_text(path: str | Path) -> str:
    """A UTF-8 text file (a byte-order mark tolerated), a regular file of at most 64 MiB, or a MetricsError naming
    it (E-3.4)."""
    return read_text_bounded(path, error=MetricsError)


def _text(node: ET.Element, path: str, where: str | Path) -> str:
    found = node.find(path)
    if found is None or found.text is None or not found.text.strip():
        raise MetricsError(f"{where}: missing <{path}>")
    return found.text.strip()


def finite_number(raw: str, what: str) -> float:
    """A text that is a finite number, or a MetricsError saying that ``what`` (its place in a file) is not."""
    try:
        value = float(raw)
    except ValueError:
        raise MetricsError(f"{what} is not a number: {raw!r}") from None
    if not math.isfinite(value):
        raise MetricsError(f"{what} is not a finite number: {raw!r}")
    return value


def _number(node: ET.Element, path: str, where: str | Path) -> float:
    return finite_number(_text(node, path, where), f"{where}: <{path}>")


def read_annotation(path: Path, image_id: str | None = None) -> list[GroundTruth]:
    """One VOC XML file (M-3.1)."""
    return parse_annotation(read_bounded(path, MAX_TEXT_BYTES, MetricsError), str(path), image_id or Path(path).stem)


def parse_annotation(data: bytes, path: str, image: str) -> list[GroundTruth]:
    """The bytes of one VOC XML annotation (M-3.1); ``path`` names it in errors."""
    try:
        root = ET.fromstring(data)
    except ET.ParseError as err:
        raise MetricsError(f"{path}: {err}") from None
    truths = []
    for obj in root.findall("object"):
        box = obj.find("bndbox")
        if box is None:
            raise MetricsError(f"{path}: an <object> without <bndbox>")
        difficult = obj.find("difficult")
        flag = difficult is not None and difficult.text is not None and difficult.text.strip() not in ("", "0")
        coords = tuple(_number(box, k, path) for k in ("xmin", "ymin", "xmax", "ymax"))
        if coords[2] < coords[0] or coords[3] < coords[1]:
            raise MetricsError(f"{path}: box {coords} has max < min")
        truths.append(GroundTruth(image, _text(obj, "name", path), coords, flag))  # type: ignore[arg-type]
    return truths


def read_detections(source: str | Path, classes: tuple[str, ...] = VOC_CLASSES) -> list[Detection]:
    """M-3.2: a directory of ``comp4_det_*_<class>.txt`` files, or one JSON file."""
    source = Path(source)
    if source.is_file() and source.suffix == ".json":
        from cfc_ref.configfile import parse_json
        from cfc_ref.fileio import read_bounded

        try:
            raw = parse_json(read_bounded(source, 1 << 30), str(source), "detections JSON file")
        except CfcError as err:
            raise MetricsError(str(err)) from None
        items = raw.get("detections") if isinstance(raw, dict) else None
        if not isinstance(items, list):
            raise MetricsError(f"{source}: not a detections JSON file (expected {{\"detections\": [...]}})")
        return [_json_detection(d, f"{source}: detection {number}") for number, d in enumerate(items)]
    if not source.is_dir():
        raise MetricsError(f"{source}: expected a directory of comp4_det_*_<class>.txt files or a .json file")
    detections = []
    for cls in classes:
        for path in sorted(source.glob(f"comp4_det_*_{cls}.txt")):
            for number, line in enumerate(read_text(path).splitlines(), start=1):
                if not line.strip():
                    continue
                parts = line.split()
                try:
                    if len(parts) != 6:
                        raise ValueError(f"{len(parts)} fields")
                    values = [float(v) for v in parts[1:]]
                    if not all(math.isfinite(v) for v in values):
                        raise ValueError("not finite")
                    detections.append(Detection(parts[0], cls, values[0], tuple(values[1:])))  # type: ignore[arg-type]
                except ValueError as err:
                    raise MetricsError(f"{path}:{number}: expected '<image> <score> <xmin> <ymin> <xmax> <ymax>' "
                                       f"({err})") from None
    return detections


def _number_value(value: object) -> float | None:
    """A JSON number as a finite float (never a bool, a string or an integer too large for binary64)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    try:
        number = float(value)
    except OverflowError:
        return None
    return number if math.isfinite(number) else None


def _json_detection(item: object, where: str) -> Detection:
    """M-3.2: {"image": str, "class": str, "score": number, "box": [4 numbers]}, or a MetricsError naming it."""
    if not isinstance(item, dict) or not isinstance(item.get("image"), str) or not isinstance(item.get("class"), str):
        raise MetricsError(f"{where}: needs \"image\" and \"class\" strings")
    score = _number_value(item.get("score"))
    box = item.get("box")
    values = [_number_value(v) for v in box] if isinstance(box, list) and len(box) == 4 else None
    if score is None or values is None or any(v is None for v in values):
        raise MetricsError(f"{where}: box must be 4 finite numbers [xmin, ymin, xmax, ymax] and the score a finite "
                           "number")
    return Detection(item["image"], item["class"], score, tuple(values))  # type: ignore[arg-type]


def write_detections(detections: list[Detection], directory: str | Path, image_set: str = "test",
                     classes: tuple[str, ...] = VOC_CLASSES) -> None:
    """Darknet's per-class files (M-3.2)."""
    out = Path(directory)
    out.mkdir(parents=True, exist_ok=True)
    for cls in classes:
        lines = [f"{d.image} {d.score:.6f} {d.box[0]:.1f} {d.box[1]:.1f} {d.box[2]:.1f} {d.box[3]:.1f}"
                 for d in detections if d.cls == cls]
        (out / f"comp4_det_{image_set}_{cls}.txt").write_text("\n".join(lines) + ("\n" if lines else ""))


def write_voc_annotation(path: Path, image_id: str, width: int, height: int, truths: list[GroundTruth]) -> None:
    """A minimal VOC XML annotation file (written atomically)."""
    write_atomic(path, voc_annotation_bytes(image_id, width, height, truths))


def voc_annotation_bytes(image_id: str, width: int, height: int, truths: list[GroundTruth]) -> bytes:
    """A minimal VOC XML annotation (used by the synthetic dataset)."""
    root = ET.Element("annotation")
    ET.SubElement(root, "filename").text = f"{image_id}.jpg"
    size = ET.SubElement(root, "size")
    for key, value in (("width", width), ("height", height), ("depth", 3)):
        ET.SubElement(size, key).text = str(value)
    for gt in truths:
        obj = ET.SubElement(root, "object")
        ET.SubElement(obj, "name").text = gt.cls
        ET.SubElement(obj, "difficult").text = "1" if gt.difficult else "0"
        box = ET.SubElement(obj, "bndbox")
        for key, coordinate in zip(("xmin", "ymin", "xmax", "ymax"), gt.box, strict=True):
            ET.SubElement(box, key).text = str(int(coordinate))
    ET.indent(root)
    return (ET.tostring(root, encoding="unicode") + "\n").encode()
