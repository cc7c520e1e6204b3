"""Rate–accuracy curves of a run, by name (spec M-5.7): what Table 1 compares and ``cfc-ref metrics bd`` reads.

    rows = load_results_csv("runs/embedded-default/results.csv")
    curve_points(rows, "max_17-8bit-paper", pareto=True)     # [(kbpi, map_voc07), …] as Table 1 uses them
    curve_points(rows, "cloud-jpeg", pareto=True)            # Table 1's anchor

Curve names: ``cloud-jpeg`` (cloud-only JPEG uploads), ``cloud-hevc`` (cloud-only HEVC uploads of the RGB image),
``SPLIT-Nbit-ACCOUNTING`` (the lossy rows of a split point at N bits that count as that accounting, E-7.3, quantized
with the paper's eq. 2), and the same with ``-fcm`` for FCM's quantizer (E-14.1).
"""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

from cfc_ref.errors import CfcError, MetricsError
from cfc_ref.metrics.results import ResultRow, load_results_csv
from cfc_ref.metrics.summary import Curve, check_points

CURVE_HELP = ("cloud-jpeg, cloud-hevc, or SPLIT-Nbit-ACCOUNTING[-fcm] (lossy rows of a split point at N bits, "
              "accounting deployable, paper or both; -fcm: FCM's quantizer), e.g. max_17-8bit-paper")
_SPLIT_CURVE = re.compile(r"(?P<split>.+)-(?P<depth>\d{1,2})bit-(?P<accounting>deployable|paper|both)(?P<fcm>-fcm)?")


def pareto(points: list[tuple[float, float]]) -> list[tuple[float, float]]:
    """Points not beaten by another with ≤ bits and ≥ mAP (spec M-5.4), sorted by bits."""
    front: list[tuple[float, float]] = []
    for rate, quality in sorted(points, key=lambda p: (p[0], -p[1])):
        if not front or quality > front[-1][1]:
            front.append((rate, quality))
    return front


def curve_rows(rows: list[ResultRow], name: str, missing_ok: bool = False) -> list[ResultRow]:
    """The rows of the curve ``name`` (M-5.7), in the run's order; when ``name`` matches nothing, ``[]`` with
    ``missing_ok``, else a CfcError listing the curves there are."""
    if name == "cloud-jpeg":
        found = [r for r in rows if r.jpeg]
    elif name == "cloud-hevc":
        found = [r for r in rows if r.rgb_hevc]
    else:
        match = _SPLIT_CURVE.fullmatch(name)
        if match is None:
            raise CfcError(f"curve {name!r}: expected {CURVE_HELP}")
        quantizer = "fcm" if match["fcm"] else "paper"
        found = [r for r in rows if r.lossy and r.split == match["split"] and r.bit_depth == int(match["depth"])
                 and r.quantizer == quantizer
                 and (r.accounting == "both" if match["accounting"] == "both" else r.counts_as(match["accounting"]))]
    if not found and not missing_ok:
        raise CfcError(f"curve {name!r} has no rows here; the curves are: {', '.join(curve_names(rows)) or 'none'}")
    return found


def curve_names(rows: list[ResultRow]) -> list[str]:
    """Every curve name that selects rows of ``rows``."""
    names = [name for name, test in (("cloud-jpeg", lambda r: r.jpeg), ("cloud-hevc", lambda r: r.rgb_hevc))
             if any(test(r) for r in rows)]
    for r in rows:
        if r.lossy:
            accountings = ("deployable", "paper", "both") if r.accounting == "both" else (r.accounting,)
            suffix = "-fcm" if r.quantizer == "fcm" else ""
            names += [n for a in accountings if (n := f"{r.split}-{r.bit_depth}bit-{a}{suffix}") not in names]
    return names


def curve_points(rows: list[ResultRow], name: str, pareto_only: bool = False) -> list[tuple[float, float]]:
    """(KBPI, VOC07 mAP) of the curve ``name``; with ``pareto_only`` its Pareto-optimal points (M-5.4)."""
    points = [(r.kbpi, r.map_voc07) for r in curve_rows(rows, name)]
    return pareto(points) if pareto_only else points


def read_curve_file(path: str | Path, curve: str | None = None, pareto_only: bool = False
                    ) -> list[tuple[float, float]]:
    """A curve for ``cfc-ref metrics bd`` (M-5.7): a ``kbpi,map`` CSV, a curve of a package ``results.csv``, or a
    CompressAI-Vision ``summary.csv`` (E-15.5); its points only (:func:`read_curve` gives their rate's unit)."""
    return read_curve(path, curve, pareto_only).points


def read_curve(path: str | Path, curve: str | None = None, pareto_only: bool = False, rate: str = "auto",
               percent: bool = False) -> Curve:
    """A curve and the unit of its rate (M-5.7, E-15.5): ``rate`` is ``auto`` (KBPI where the file has it, else a
    summary.csv's ``avg_bpp``), ``kbpi`` or ``avg_bpp``; ``percent``: a summary.csv's accuracy is in percent. A file
    the csv module cannot read (a carriage return inside a field, say) is a MetricsError naming it."""
    try:
        return _read_curve(path, curve, pareto_only, rate, percent)
    except csv.Error as err:
        raise MetricsError(f"{path}: not a readable CSV file ({err})") from None


def _read_curve(path: str | Path, curve: str | None, pareto_only: bool, rate: str, percent: bool) -> Curve:
    from cfc_ref.metrics.files import read_text
    from cfc_ref.metrics.summary import is_complexity_header, is_summary_header, read_summary

    path = Path(path)
    columns: list[str] = []
    if not path.is_dir():
        text = read_text(path)
        first = next((line for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")), "")
        columns = [c.strip() for c in next(csv.reader([first]), [])]
    if path.is_dir() or is_summary_header(columns) or is_complexity_header(columns):
        if curve is not None:
            raise MetricsError(f"{path}: a curve name ({curve!r}) is for a results.csv; a summary.csv is one curve")
        found = read_summary(path, rate, percent)
        return Curve(pareto(found.points) if pareto_only else found.points, found.unit)
    if rate == "avg_bpp":
        raise MetricsError(f"{path}: --rate avg_bpp needs a summary.csv (E-15.5); this file gives KBPI only (its "
                           "run's compressai-vision/<curve>/summary.csv has avg_bpp)")
    if percent:
        raise MetricsError(f"{path}: --percent is for a summary.csv's end_accuracy; this file's mAP is in [0, 1]")
    if "setting" in columns:
        if curve is None:
            names = curve_names(load_results_csv(path, text))
            raise MetricsError(f"{path} is a results.csv: choose its curve with --anchor-curve or --test-curve "
                               f"({', '.join(names)})")
        return Curve(curve_points(load_results_csv(path, text), curve, pareto_only), "kbpi")
    if curve is not None:
        raise MetricsError(f"{path}: a curve name ({curve!r}) is for a results.csv; this file is a kbpi,map CSV")
    points = parse_curve(text, path)
    return Curve(pareto(points) if pareto_only else points, "kbpi")


def parse_curve(text: str, path: str | Path) -> list[tuple[float, float]]:
    """A rate–accuracy curve from a CSV file's text (M-5.7): rows ``kbpi,map``, or a header naming the columns
    ``kbpi`` and ``map`` (or ``map_voc07``); ``#`` lines are comments. ``path`` names the file in errors."""
    rows = [[c.strip() for c in r] for r in csv.reader(io.StringIO(text)) if r and not r[0].strip().startswith("#")]
    columns = (0, 1)
    if rows and not (len(rows[0]) >= 2 and _is_number(rows[0][0]) and _is_number(rows[0][1])):
        header = [c.lower() for c in rows[0]]
        quality = "map" if "map" in header else "map_voc07"
        if "kbpi" not in header or quality not in header:
            raise MetricsError(f"{path}: a header must name the columns kbpi and map (or map_voc07); this one has "
                               f"{', '.join(rows[0]) or 'none'}")
        columns, rows = (header.index("kbpi"), header.index(quality)), rows[1:]
    try:
        curve = [(float(r[columns[0]]), float(r[columns[1]])) for r in rows]
    except (ValueError, IndexError):
        raise MetricsError(f"{path}: expected CSV rows 'kbpi,map'") from None
    return check_points(curve, path)


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True
