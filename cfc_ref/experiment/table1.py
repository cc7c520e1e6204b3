"""Table 1 (paper §4) as data (spec E-11.2): per split point, accounting and weights, BD-KBPI-mAP and BD-mAP of the
lossy curve against the cloud-only JPEG curve, cubic and pchip, the number to read with its caveats (M-5.6), the
Pareto-optimal points used (M-5.4) and the ``cfc-ref metrics bd`` command that reproduces the row (M-5.7).

    rows = table1(results, Path("runs/x"), retrained={"max_17": (results_17, Path("runs/x/retrained-max_17"))})
    write_table1(rows, Path("runs/x"), results)        # table1.json, table1.csv
"""

from __future__ import annotations

import csv
import io
import json
import os
import shlex
from dataclasses import asdict, dataclass, field
from pathlib import Path

from cfc_ref.errors import MetricsError
from cfc_ref.escaping import markdown, one_line
from cfc_ref.experiment.aggregate import Results
from cfc_ref.fileio import write_atomic
from cfc_ref.metrics.bd import QUANTITIES, QUANTITY_NAMES, BdSummary, Quantity, Reading, bd_summary, format_value
from cfc_ref.metrics.curves import curve_rows, pareto

TABLE1_SCHEMA = "cfc-ref-table1/3"  # 2: the monotonic cubic (M-5.8) beside cubic and pchip; 3: the quantizer (E-14)
ANCHOR = "cloud-jpeg"
PAPER_TABLE1 = {("max_11", "default"): "-6.09 %", ("max_11", "re-trained"): "-45.23 %",
                ("max_17", "default"): "-60.30 %", ("max_17", "re-trained"): "-70.30 %"}  # the paper's Table 1
NOT_RUN = "not run"


def paper_value(split: str, accounting: str, weights: str) -> str:
    """The paper's own Table 1 number beside the row it corresponds to: the paper counts only the split layer's
    tensor (E-7.1), so its numbers go beside the ``paper`` (or ``both``) rows, and a ``deployable`` row of a split
    where two tensors cross shows none."""
    return PAPER_TABLE1.get((split, weights), "–") if accounting in ("paper", "both") else "–"


@dataclass(frozen=True)
class Point:
    setting: str
    kbpi: float
    map: float


@dataclass(frozen=True)
class Table1Row:
    split: str
    accounting: str  # deployable, paper, or both (one tensor crosses, E-7.3)
    weights: str  # default or re-trained
    samples: int  # samples per image the accounting counts
    deployable: bool
    anchor_curve: str
    test_curve: str
    anchor_results: str  # results.csv of each curve, relative to the report's directory where it lies below it
    test_results: str
    anchor_points: list[Point] = field(default_factory=list)  # Pareto-optimal points used (M-5.4)
    test_points: list[Point] = field(default_factory=list)
    anchor_total: int = 0
    test_total: int = 0
    bd: BdSummary | None = None  # cubic and pchip cells and the readings (M-5.6); None when not run or refused
    status: str = ""  # "" when computed; "not run", or the reason no number could be computed
    paper: str = "–"
    quantizer: str = "paper"  # E-14.3: the Q-layer variant of the test curve (paper or fcm)

    @property
    def command(self) -> str:
        """The ``cfc-ref metrics bd`` command, run in the report's directory, that gives this row's numbers."""
        if self.status == NOT_RUN or not self.anchor_total:
            return ""
        return shlex.join(["cfc-ref", "metrics", "bd", self.anchor_results, self.test_results, "--anchor-curve",
                           self.anchor_curve, "--test-curve", self.test_curve, "--pareto", "--json"])

    def read(self, quantity: Quantity) -> Reading:
        """M-5.6's reading of ``bd_kbpi_percent`` or ``bd_map``: method, value, caveats."""
        if self.bd is None:
            return Reading(None, None, () if self.status == NOT_RUN else (self.status,))
        return self.bd.read(quantity)

    def value(self, method: str, quantity: Quantity) -> float | None:
        """One method's number, None when not run, refused or not computed."""
        return None if self.bd is None else self.bd.cells[method].value(quantity)

    def to_json(self) -> dict:
        data = asdict(self)
        data["bd"] = None if self.bd is None else self.bd.to_json()
        data["command"] = self.command
        return data


def _points(rows: list, points: list[tuple[float, float]]) -> list[Point]:
    """The settings behind Pareto points (the first row with those values, in the run's order)."""
    return [Point(next(r.setting for r in rows if (r.kbpi, r.map_voc07) == p), *p) for p in points]


def _relative(path: Path, base: Path) -> str:
    try:
        return str(path.resolve().relative_to(base.resolve()))
    except ValueError:
        return os.path.relpath(path.resolve(), base.resolve()) if path.is_absolute() else str(path)


def _row(results: Results, where: Path, base: Path, anchor: list, split: str, accounting: str, weights: str,
         depth: int, quantizer: str) -> Table1Row:
    test_name = curve_name(split, depth, accounting, quantizer)
    lossy = curve_rows(results.rows, test_name)
    anchor_points = pareto([(r.kbpi, r.map_voc07) for r in anchor])
    test_points = pareto([(r.kbpi, r.map_voc07) for r in lossy])
    try:
        if not anchor:
            raise MetricsError("this run has no cloud-only JPEG curve, Table 1's anchor (a lossy-only sweep: compare "
                               "its results.csv with a full run's through cfc-ref metrics bd)")
        bd: BdSummary | None = bd_summary(anchor_points, test_points, "all")
        status = ""
    except MetricsError as err:
        bd, status = None, f"no number: {err}"
    return Table1Row(split, accounting, weights, lossy[0].samples, lossy[0].deployable, ANCHOR, test_name,
                     "results.csv", _relative(where / "results.csv", base), _points(anchor, anchor_points),
                     _points(lossy, test_points), len(anchor), len(lossy), bd, status,
                     paper_value(split, accounting, weights) if quantizer == "paper" else "–", quantizer)


def curve_name(split: str, depth: int, accounting: str, quantizer: str) -> str:
    """M-5.7's name of a lossy curve (E-14.1: ``-fcm`` for FCM's quantizer)."""
    return f"{split}-{depth}bit-{accounting}" + ("-fcm" if quantizer == "fcm" else "")


def table1(results: Results, base: Path, retrained: dict[str, tuple[Results, Path]] | None = None
           ) -> list[Table1Row]:
    """E-11.2: the rows of Table 1 for a run whose results.csv lies in ``base``; ``retrained[split]`` is the
    results of that split's re-trained sweep and its directory (same anchor: this run's cloud-only JPEG curve)."""
    config = results.experiment
    retrained = retrained or {}
    anchor = [r for r in results.rows if r.jpeg]  # none in a lossy-only sweep: its rows say so
    depth = config.lossy_bit_depths[0] if config.lossy_bit_depths else 8
    rows = []
    for quantizer in config.quantizers:  # E-14.3: the paper's rows, then FCM's
        for split in config.splits:
            done: set[str] = set()
            for accounting in config.accountings:
                lossy = curve_rows(results.rows, curve_name(split, depth, accounting, quantizer), missing_ok=True)
                if not lossy:
                    continue
                accounting = "both" if lossy[0].accounting == "both" else accounting  # E-7.3: one computation
                if accounting in done:
                    continue
                done.add(accounting)
                rows.append(_row(results, base, base, anchor, split, accounting, "default", depth, quantizer))
                if split in retrained:
                    again, where = retrained[split]
                    rows.append(_row(again, where, base, anchor, split, accounting, "re-trained", depth, quantizer))
                else:
                    rows.append(Table1Row(split, accounting, "re-trained", rows[-1].samples, rows[-1].deployable,
                                          ANCHOR, rows[-1].test_curve, "results.csv", "", status=NOT_RUN,
                                          paper=paper_value(split, accounting, "re-trained") if quantizer == "paper"
                                          else "–", quantizer=quantizer))
    return rows


CSV_COLUMNS = ("split", "accounting", "weights", "quantizer", "samples", "deployable", "bd_kbpi_cubic", "bd_kbpi_pchip",
               "bd_kbpi_monotonic", "bd_kbpi_read", "bd_kbpi_read_method", "bd_map_cubic", "bd_map_pchip",
               "bd_map_monotonic", "bd_map_read", "bd_map_read_method", "caveats", "status", "anchor_points",
               "test_points", "paper", "command")


def _csv_row(row: Table1Row) -> dict:
    def cell(method: str, quantity: Quantity) -> object:
        value = row.value(method, quantity)
        return "" if value is None else value

    rate, metric = row.read("bd_kbpi_percent"), row.read("bd_map")
    return {"split": row.split, "accounting": row.accounting, "weights": row.weights, "quantizer": row.quantizer,
            "samples": row.samples,
            "deployable": row.deployable,
            "bd_kbpi_cubic": cell("cubic", "bd_kbpi_percent"), "bd_kbpi_pchip": cell("pchip", "bd_kbpi_percent"),
            "bd_kbpi_monotonic": cell("monotonic", "bd_kbpi_percent"),
            "bd_kbpi_read": "" if rate.value is None else rate.value,
            "bd_kbpi_read_method": rate.method or "",
            "bd_map_cubic": cell("cubic", "bd_map"), "bd_map_pchip": cell("pchip", "bd_map"),
            "bd_map_monotonic": cell("monotonic", "bd_map"),
            "bd_map_read": "" if metric.value is None else metric.value,
            "bd_map_read_method": metric.method or "",
            "caveats": " | ".join([f"BD-KBPI-mAP: {c}" for c in rate.caveats]
                                  + [f"BD-mAP: {c}" for c in metric.caveats if row.bd is not None]),
            "status": row.status,
            "anchor_points": " ".join(p.setting for p in row.anchor_points),
            "test_points": " ".join(p.setting for p in row.test_points), "paper": row.paper,
            "command": row.command}


def write_table1(rows: list[Table1Row], out: Path, results: Results) -> tuple[Path, Path]:
    """table1.json and table1.csv in ``out`` (E-11.2), each written atomically."""
    config = results.experiment
    document = {"schema": TABLE1_SCHEMA, "run": config.name, "stand_in": config.model == "embedded",
                "metric": "map_voc07", "anchor": ANCHOR,
                "bit_depth": config.lossy_bit_depths[0] if config.lossy_bit_depths else None,
                "commands_run_in": "the directory of this file", "rows": [r.to_json() for r in rows]}
    write_atomic(out / "table1.json", (json.dumps(document, indent=1, ensure_ascii=False) + "\n").encode())
    table = io.StringIO()
    writer = csv.DictWriter(table, fieldnames=CSV_COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(_csv_row(r) for r in rows)
    write_atomic(out / "table1.csv", table.getvalue().encode())
    return out / "table1.json", out / "table1.csv"


# ------------------------------------------------------------------ Table 1 as markdown and as terminal text


def _bd_text(row: Table1Row, key: Quantity, method: str) -> str:
    if row.bd is None:
        return row.status if row.status == NOT_RUN else "n/a"
    value = row.value(method, key)
    return "n/a" if value is None else format_value(key, value)


def _accounting_label(row: Table1Row) -> str:
    return ("both (one tensor crosses)" if row.accounting == "both" else
            row.accounting if row.deployable else f"{row.accounting} (not deployable)")


def caveat_notes(rows: list[Table1Row]) -> tuple[dict[tuple[int, str], list[int]], list[str]]:
    """Numbered caveats (M-5.6): for each (row, key) the note numbers, and the notes in order."""
    marks: dict[tuple[int, str], list[int]] = {}
    notes: list[str] = []
    for i, row in enumerate(rows):
        if row.status == NOT_RUN:
            continue
        for key in QUANTITIES:
            for caveat in row.read(key).caveats:
                if row.bd is None and key == "bd_map":
                    continue  # one reason for the whole row
                quantizer = "" if row.quantizer == "paper" else f", {row.quantizer} quantizer"
                notes.append(f"{row.split.replace('_', ' ')}, {row.accounting}, {row.weights} weights{quantizer} — "
                             f"{QUANTITY_NAMES[key]}: {caveat}")
                marks.setdefault((i, key), []).append(len(notes))
    return marks, notes


def _read_text(row: Table1Row, key: Quantity, marks: dict[tuple[int, str], list[int]], index: int) -> str:
    reading = row.read(key)
    if reading.value is None:
        text = row.status if row.status == NOT_RUN else "n/a"
    else:
        text = f"{format_value(key, reading.value)} ({reading.method})"
    return text + "".join(f" [{n}]" for n in marks.get((index, key), []))


def _qps(points: list) -> str:
    import re

    return " ".join(m[1] for p in points if (m := re.search(r"qp(\d+)", p.setting)))


def _two_quantizers(rows: list[Table1Row]) -> bool:
    return len({row.quantizer for row in rows}) > 1


def table1_markdown(rows: list[Table1Row]) -> list[str]:
    """Table 1 as markdown lines with its numbered caveats below (E-11.2)."""
    marks, notes = caveat_notes(rows)
    both = _two_quantizers(rows)
    lines = ["| Split at | Accounting | Weights |" + (" Quantizer |" if both else "")
             + " Samples / image | BD-KBPI-mAP cubic | pchip | monotonic | **read** "
             "| BD-mAP cubic | pchip | monotonic | **read** | Paper BD-KBPI-mAP | points used (M-5.4) |",
             "|---|---|---|" + ("---|" if both else "") + "---|---|---|---|---|---|---|---|---|---|---|"]
    for i, row in enumerate(rows):
        used = ("–" if row.status == NOT_RUN else
                f"QP {_qps(row.test_points)} ({len(row.test_points)} of {row.test_total}); anchor "
                f"{len(row.anchor_points)} of {row.anchor_total} JPEG qualities")
        lines.append(f"| {markdown(row.split.replace('_', ' '))} | {_accounting_label(row)} | {row.weights} "
                     + (f"| {row.quantizer} " if both else "") + f"| {row.samples:,} "
                     f"| {_bd_text(row, 'bd_kbpi_percent', 'cubic')} | {_bd_text(row, 'bd_kbpi_percent', 'pchip')} "
                     f"| {_bd_text(row, 'bd_kbpi_percent', 'monotonic')} "
                     f"| **{_read_text(row, 'bd_kbpi_percent', marks, i)}** "
                     f"| {_bd_text(row, 'bd_map', 'cubic')} | {_bd_text(row, 'bd_map', 'pchip')} "
                     f"| {_bd_text(row, 'bd_map', 'monotonic')} "
                     f"| **{_read_text(row, 'bd_map', marks, i)}** | {row.paper} | {used} |")
    if notes:
        lines += ["", "Caveats (spec M-5.6):", ""] + [f"{n}. {markdown(note)}" for n, note in enumerate(notes, start=1)]
    return lines


def table1_text(rows: list[Table1Row]) -> list[str]:
    """Table 1's numbers to read, as plain text for a terminal (E-11.1)."""
    import textwrap

    marks, notes = caveat_notes(rows)
    both = _two_quantizers(rows)
    cells = [(one_line(row.split.replace("_", " ")), _accounting_label(row),
              row.weights + (f", {row.quantizer} quantizer" if both else ""),
              _read_text(row, "bd_kbpi_percent", marks, i), _read_text(row, "bd_map", marks, i))
             for i, row in enumerate(rows)]
    header = ("split", "accounting", "weights", "BD-KBPI-mAP", "BD-mAP")
    widths = [max(len(c[k]) for c in [header, *cells]) for k in range(len(header))]
    lines = ["  " + "  ".join(c[k].ljust(widths[k]) for k in range(len(header))).rstrip() for c in [header, *cells]]
    for n, note in enumerate(notes, start=1):
        lines += textwrap.wrap(one_line(note), width=110, initial_indent=f"  [{n}] ", subsequent_indent="      ")
    return lines
