"""CompressAI-Vision's result layouts (spec E-15): the columns of its image ``summary.csv`` and
``summary_complexity.csv``, and a ``summary.csv`` read as a rate–accuracy curve for ``cfc-ref metrics bd`` (E-15.5).

    curve = read_summary(Path("runs/x/compressai-vision/cloud-jpeg/summary.csv"))     # Curve(points, unit)
    curve = read_summary(Path("their-run/mpeg-oiv6-detection"))       # every <qp>/evaluation/summary.csv below it

Nothing here needs torch or a results store: the files alone are read (``experiment/exports.py`` writes them).
"""

from __future__ import annotations

import csv
import io
import math
from dataclasses import dataclass
from pathlib import Path

from cfc_ref.errors import MetricsError
from cfc_ref.metrics.files import finite_number, read_text

# E-15.2: CompressAI-Vision's columns, in its order, then cfc-ref's own
PLATFORM_COLUMNS = ("Dataset", "qp", "avg_bpp", "end_accuracy", "nn_part_1", "encode", "decode", "nn_part_2")
SUMMARY_COLUMNS = (*PLATFORM_COLUMNS, "kbpi", "setting", "coding")
# E-15.4: one row, Metric = KMAC/pixel
COMPLEXITY_COLUMNS = ("Metric", "nn_part1", "feature reduction", "feature restoration", "nn_part2")
COMPLEXITY_METRIC = "KMAC/pixel"
SUMMARY_NAME, COMPLEXITY_NAME = "summary.csv", "summary_complexity.csv"
REQUIRED = PLATFORM_COLUMNS[:4]  # what makes a file a summary.csv (E-15.5), in any order
UNITS = {"kbpi": "kilobits per image", "avg_bpp": "bits per pixel"}
RATES = ("auto", "kbpi", "avg_bpp")


@dataclass(frozen=True)
class Curve:
    """A curve's (rate, accuracy) points and the unit of its rate: ``kbpi`` or ``avg_bpp`` (E-15.5)."""

    points: list[tuple[float, float]]
    unit: str


def is_summary_header(columns: list[str]) -> bool:
    """E-15.5: a header naming ``avg_bpp`` or ``end_accuracy`` is a summary.csv's (which then needs all four of
    ``REQUIRED``)."""
    return "avg_bpp" in columns or "end_accuracy" in columns


def is_complexity_header(columns: list[str]) -> bool:
    return "Metric" in columns and "nn_part1" in columns and "nn_part2" in columns


def summary_files(directory: Path) -> list[Path]:
    """E-15.5: the summary.csv of a directory — its own (cfc-ref's ``compressai-vision/<curve>/``), else every
    ``<qp>/evaluation/summary.csv`` below it (CompressAI-Vision's layout), in name order."""
    if (directory / SUMMARY_NAME).exists():
        return [directory / SUMMARY_NAME]
    found = sorted(directory.glob(f"*/evaluation/{SUMMARY_NAME}"))
    if not found:
        raise MetricsError(f"{directory}: a directory without a {SUMMARY_NAME} (cfc-ref's compressai-vision/<curve>/) "
                           f"or <qp>/evaluation/{SUMMARY_NAME} files (CompressAI-Vision's layout)")
    return found


def read_summary(path: str | Path, rate: str = "auto", percent: bool = False) -> Curve:
    """E-15.5: a summary.csv, or a directory of them, as one curve."""
    path = Path(path)
    files = summary_files(path) if path.is_dir() else [path]
    rows: list[tuple[str, float, float, str]] = []
    units = set()
    for file in files:
        found, unit = parse_summary(read_text(file), file, rate, percent)
        rows += found
        units.add(unit)
    if len(units) != 1:
        raise MetricsError(f"{path}: its summary files mix rates in kbpi and avg_bpp; give --rate avg_bpp")
    datasets = sorted({dataset for dataset, _, _, _ in rows})
    if len(datasets) != 1:
        raise MetricsError(f"{path}: rows of several datasets ({', '.join(datasets)}); a curve is one dataset's")
    return Curve([(r, q) for _, r, q, _ in rows], units.pop())


def parse_summary(text: str, where: Path, rate: str = "auto", percent: bool = False
                  ) -> tuple[list[tuple[str, float, float, str]], str]:
    """The rows of one summary.csv's text, as (Dataset, rate, accuracy, line) and the rate's unit (E-15.5)."""
    reader = csv.DictReader(io.StringIO(text))
    columns = [c.strip() for c in reader.fieldnames or []]
    if is_complexity_header(columns):
        raise MetricsError(f"{where}: a {COMPLEXITY_NAME} (KMAC/pixel), not a curve; give the {SUMMARY_NAME} beside it")
    missing = [name for name in REQUIRED if name not in columns]
    if missing:
        raise MetricsError(f"{where}: not a {SUMMARY_NAME} (no column {', '.join(missing)})")
    unit = ("kbpi" if "kbpi" in columns else "avg_bpp") if rate == "auto" else rate
    if unit not in columns:
        raise MetricsError(f"{where}: --rate {rate}: this {SUMMARY_NAME} has no column {unit}")
    reader.fieldnames = columns
    rows = []
    for number, raw in enumerate(reader, start=2):
        if None in raw or any(raw.get(name) is None for name in columns):
            raise MetricsError(f"{where}: line {number} does not have the header's {len(columns)} fields")
        value, accuracy = (finite_number(raw[name], f"{where}: line {number}: {name}")
                           for name in (unit, "end_accuracy"))
        if percent:
            accuracy = accuracy / 100
        elif accuracy > 1:
            raise MetricsError(f"{where}: line {number}: end_accuracy {raw['end_accuracy']} is above 1; cfc-ref reads "
                               "accuracy as a fraction in [0, 1] (M-5.3): if the file holds percentages, give "
                               "--percent anchor, test or both")
        rows.append((raw["Dataset"], value, accuracy, str(number)))
    if not rows:
        raise MetricsError(f"{where}: a {SUMMARY_NAME} without rows")
    check_points([(r, q) for _, r, q, _ in rows], where, "end_accuracy")
    return rows, unit


def check_points(curve: list[tuple[float, float]], path: str | Path, quality: str = "map"
                 ) -> list[tuple[float, float]]:
    """What a curve file's points must be before M-5.3's checks: finite numbers, the quality in [0, 1]."""
    if not all(math.isfinite(v) for point in curve for v in point):
        raise MetricsError(f"{path}: every rate and {quality} must be a finite number")
    if not all(0 <= m <= 1 for _, m in curve):
        raise MetricsError(f"{path}: every {quality} must lie in [0, 1] (M-5.3)")
    return curve

