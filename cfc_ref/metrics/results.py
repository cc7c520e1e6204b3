"""A run's result rows (spec E-5.1): one typed row per setting, as ``results.json``, ``results.csv`` and the results
store's ``results`` table hold them, with the checks every reader applies.

    row = check_row(json_row, "results.json")          # a ResultRow, or a CfcError naming the field
    rows = load_results_csv("runs/x/results.csv")      # every row of a package results.csv, checked
    text = results_csv(rows)                           # the CSV text results.csv holds

Nothing here reads a results store: ``cfc-ref metrics bd`` reads curves from these files alone.
"""

from __future__ import annotations

import csv
import io
import math
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import get_type_hints

from cfc_ref.errors import CfcError
from cfc_ref.metrics.bd import MAX_RATE, MIN_RATE


@dataclass(frozen=True)
class ResultRow:
    """One setting over all images (E-5.1)."""

    setting: str
    kind: str  # "split" or "cloud"
    split: str
    bit_depth: int
    quality: str  # label: lossless, qp22, jpeg50, original
    qp: int | None  # the HEVC QP of a lossy split point, or of a cloud-only HEVC upload of the RGB image
    jpeg_quality: int | None  # the JPEG quality of a cloud-only upload
    images: int
    kbpi: float
    kbpi_std: float
    container_kbpi: float
    map_voc07: float
    map_voc07_std: float  # spread over images: the seeded bootstrap of spec M-6.1
    map_all: float
    encoder: str
    decoders: str
    accounting: str  # E-7.1: deployable, paper, or both (one crossing tensor: the same computation)
    samples: int  # feature samples coded per image (0 for a cloud-only upload)
    uncoded: str  # crossing tensors the back end received uncoded ("+"-joined; paper accounting only)
    quantizer: str = "paper"  # E-14.1: "paper" or "fcm" for a split point, "" for a cloud-only upload
    clipped: int = 0  # E-14.2: coded elements outside their configured range, summed over the images (fcm only)

    @property
    def deployable(self) -> bool:
        """E-7.1: False when a crossing tensor reached the back end without being sent."""
        return not self.uncoded

    @property
    def lossy(self) -> bool:
        return self.kind == "split" and self.qp is not None

    @property
    def jpeg(self) -> bool:
        return self.kind == "cloud" and self.jpeg_quality is not None

    @property
    def rgb_hevc(self) -> bool:
        return self.kind == "cloud" and self.qp is not None

    def counts_as(self, accounting: str) -> bool:
        """E-7.1: whether the row belongs to that accounting's curves (a ``both`` row belongs to each)."""
        return self.accounting in (accounting, "both")


RESULT_COLUMNS = tuple(f.name for f in fields(ResultRow))
COLUMNS_BEFORE_QUANTIZERS = RESULT_COLUMNS[:-2]  # a results.csv of cfc-ref before E-14: paper rows, nothing clipped
MIN_KBPI, MAX_KBPI = MIN_RATE, MAX_RATE  # E-5.1: the kilobits per image a row may hold: a BD curve's (M-5.3)
_KINDS = get_type_hints(ResultRow)  # field name -> str, int, float or int | None


def finite(value: float) -> bool:
    """A finite number, also for an integer too large for binary64 (which is not)."""
    try:
        return math.isfinite(value)
    except OverflowError:
        return False


def _typed(value: object, kind: object) -> bool:
    if kind is str:
        return isinstance(value, str)
    if kind is float:
        return isinstance(value, float | int) and not isinstance(value, bool)
    if kind is int:
        return isinstance(value, int) and not isinstance(value, bool)
    return value is None or (isinstance(value, int) and not isinstance(value, bool))  # int | None


def check_row(raw: object, where: str) -> ResultRow:
    """E-5.1: one row, every field of its type and sense, or a CfcError naming it."""
    if not isinstance(raw, dict) or set(raw) != set(RESULT_COLUMNS):
        missing = sorted(set(RESULT_COLUMNS) - set(raw)) if isinstance(raw, dict) else []
        extra = sorted(set(raw) - set(RESULT_COLUMNS)) if isinstance(raw, dict) else []
        raise CfcError(f"{where}: a row must have exactly the fields {', '.join(RESULT_COLUMNS)}"
                       + (f" (missing {', '.join(missing)})" if missing else "")
                       + (f" (unknown {', '.join(extra)})" if extra else ""))
    for name in RESULT_COLUMNS:
        value, kind = raw[name], _KINDS[name]
        if not _typed(value, kind):
            expected = {str: "a string", float: "a number", int: "an integer"}.get(kind, "an integer or null")
            raise CfcError(f"{where}: {raw.get('setting', '?')}: field {name} must be {expected}, got {value!r}")
    row = ResultRow(**raw)
    numbers = (row.kbpi, row.kbpi_std, row.container_kbpi, row.map_voc07, row.map_voc07_std, row.map_all)
    if not all(finite(v) and v >= 0 for v in numbers):
        raise CfcError(f"{where}: {row.setting}: kbpi, map and their spreads must be finite and ≥ 0")
    if not (MIN_KBPI <= row.kbpi <= MAX_KBPI and row.kbpi_std <= MAX_KBPI and row.container_kbpi <= MAX_KBPI):
        raise CfcError(f"{where}: {row.setting}: kbpi must lie in [{MIN_KBPI:g}, {MAX_KBPI:g}] kilobits per image "
                       "and its spread and the container's at most the upper bound")
    if not (0 <= row.bit_depth <= 16 and (row.qp is None or 0 <= row.qp <= 51) and row.samples >= 0
            and (row.jpeg_quality is None or 1 <= row.jpeg_quality <= 100) and row.images <= 10**9):
        raise CfcError(f"{where}: {row.setting}: bit_depth, qp, jpeg_quality, samples or images out of range")
    if not (0 <= row.map_voc07 <= 1 and 0 <= row.map_all <= 1 and row.map_voc07_std <= 1) or row.images < 1:
        raise CfcError(f"{where}: {row.setting}: mAP and its spread (map_voc07_std) must be within [0, 1] and images "
                       "at least 1")
    if row.kind not in ("split", "cloud") or row.accounting not in ("deployable", "paper", "both"):
        raise CfcError(f"{where}: {row.setting}: kind must be split or cloud and accounting deployable, paper or "
                       "both")
    if row.quantizer not in (("paper", "fcm") if row.kind == "split" else ("",)) or not 0 <= row.clipped <= 2**62 or (
            row.clipped and row.quantizer != "fcm"):
        raise CfcError(f"{where}: {row.setting}: quantizer must be paper or fcm for a split point and empty for a "
                       "cloud-only upload, clipped a count ≥ 0 (fcm only)")
    return row


def old_row(raw: dict) -> dict:
    """A row of a results file written before E-14 (no quantizer, nothing clipped): a paper row, or a cloud one."""
    if set(raw) != set(COLUMNS_BEFORE_QUANTIZERS):
        return raw
    return dict(raw, quantizer="paper" if raw.get("kind") == "split" else "", clipped=0)


def results_csv(rows: list[ResultRow]) -> str:
    """The text of ``results.csv`` (E-5.1): a header of the row fields, one line per row."""
    table = io.StringIO()
    writer = csv.DictWriter(table, fieldnames=RESULT_COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(asdict(r) for r in rows)
    return table.getvalue()


def load_results_csv(path: str | Path, text: str | None = None) -> list[ResultRow]:
    """The rows of a package ``results.csv`` (E-5.1), typed and checked like ``results.json``'s."""
    from cfc_ref.metrics.files import read_text

    reader = csv.DictReader(io.StringIO(read_text(path) if text is None else text))
    header = list(reader.fieldnames or ())
    if header not in (list(RESULT_COLUMNS), list(COLUMNS_BEFORE_QUANTIZERS)):
        raise CfcError(f"{path}: not a cfc-ref results.csv (its header must be {','.join(RESULT_COLUMNS)})")
    rows = []
    for number, raw in enumerate(reader, start=2):
        typed: dict[str, object] = {}
        for name in header:
            value, kind = raw.get(name), _KINDS[name]
            if value is None:
                raise CfcError(f"{path}: line {number} has too few fields")
            try:
                typed[name] = (value if kind is str else float(value) if kind is float else
                               int(value) if kind is int else None if value == "" else int(value))
            except ValueError:
                raise CfcError(f"{path}: line {number}: field {name} is not a number: {value!r}") from None
        if None in raw:
            raise CfcError(f"{path}: line {number} has too many fields")
        rows.append(check_row(old_row(typed), f"{path}: line {number}"))
    if not rows:
        raise CfcError(f"{path}: no rows")
    return rows
