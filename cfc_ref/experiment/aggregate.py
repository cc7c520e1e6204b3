"""Per-setting results from the results store (spec E-5): KBPI (mean, std over images), mAP (VOC07 and all-point),
its bootstrap spread, codec names — as typed rows in the store, exported to results.json and results.csv.

    results = load_results("runs/embedded-default/results.json")      # Results(config, environment, rows, timing)

Evaluation uses the fast matching and bootstrap (``cfc_ref.fast.voc``), tested equal to the readable references
``cfc_ref.metrics.voc`` and ``cfc_ref.metrics.bootstrap`` (spec M-7.1).
"""

from __future__ import annotations

import csv
import io
import json
import math
import platform
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch

from cfc_ref import __version__
from cfc_ref.data.source import VocSource, read_truths
from cfc_ref.errors import CfcError
from cfc_ref.experiment.config import ExperimentConfig, classes_of, config_from_dict, settings_of
from cfc_ref.experiment.store import RESULT_COLUMNS, ResultRow, RunStore
from cfc_ref.fast.voc import DetectionArrays, TruthArrays, evaluate, map_bootstrap
from cfc_ref.fileio import write_atomic

RESULTS_SCHEMA = "cfc-ref-results/4"
CSV_FIELDS = RESULT_COLUMNS
__all__ = ["CSV_FIELDS", "RESULTS_SCHEMA", "ResultRow", "Results", "aggregate", "export_results", "load_results"]


@dataclass(frozen=True)
class Results:
    config: dict
    environment: dict
    rows: list[ResultRow]
    timing: dict | None = None  # E-10: seconds per stage of the sweep, wall time, workers

    @property
    def experiment(self) -> ExperimentConfig:
        """The run's configuration, typed."""
        return config_from_dict(self.config, "results.json config")

    def to_json(self) -> str:
        return json.dumps({"schema": RESULTS_SCHEMA, "config": self.config, "environment": self.environment,
                           "timing": self.timing, "rows": [asdict(r) for r in self.rows]}, indent=1) + "\n"


def check_row(raw: object, where: str) -> ResultRow:
    """E-5.1: one row of results.json, every field of its type and sense, or a CfcError naming it."""
    if not isinstance(raw, dict) or set(raw) != set(RESULT_COLUMNS):
        missing = sorted(set(RESULT_COLUMNS) - set(raw)) if isinstance(raw, dict) else []
        extra = sorted(set(raw) - set(RESULT_COLUMNS)) if isinstance(raw, dict) else []
        raise CfcError(f"{where}: a row must have exactly the fields {', '.join(RESULT_COLUMNS)}"
                       + (f" (missing {', '.join(missing)})" if missing else "")
                       + (f" (unknown {', '.join(extra)})" if extra else ""))
    from typing import get_type_hints

    hints = get_type_hints(ResultRow)
    for name in RESULT_COLUMNS:
        value, kind = raw[name], hints[name]
        ok = (isinstance(value, str) if kind is str else
              isinstance(value, float | int) and not isinstance(value, bool) if kind is float else
              isinstance(value, int) and not isinstance(value, bool) if kind is int else
              value is None or (isinstance(value, int) and not isinstance(value, bool)))
        if not ok:
            expected = {str: "a string", float: "a number", int: "an integer"}.get(kind, "an integer or null")
            raise CfcError(f"{where}: {raw.get('setting', '?')}: field {name} must be {expected}, got {value!r}")
    row = ResultRow(**raw)
    numbers = (row.kbpi, row.kbpi_std, row.container_kbpi, row.map_voc07, row.map_voc07_std, row.map_all)
    if not all(_finite(v) and v >= 0 for v in numbers):
        raise CfcError(f"{where}: {row.setting}: kbpi, map and their spreads must be finite and ≥ 0")
    if not (0 <= row.bit_depth <= 16 and (row.qp is None or 0 <= row.qp <= 51) and row.samples >= 0
            and (row.jpeg_quality is None or 1 <= row.jpeg_quality <= 100) and row.images <= 10**9):
        raise CfcError(f"{where}: {row.setting}: bit_depth, qp, jpeg_quality, samples or images out of range")
    if not (0 <= row.map_voc07 <= 1 and 0 <= row.map_all <= 1 and row.map_voc07_std <= 1) or row.images < 1:
        raise CfcError(f"{where}: {row.setting}: mAP and its spread (map_voc07_std) must be within [0, 1] and images "
                       "at least 1")
    if row.kind not in ("split", "cloud") or row.accounting not in ("deployable", "paper", "both"):
        raise CfcError(f"{where}: {row.setting}: kind must be split or cloud and accounting deployable, paper or "
                       "both")
    return row


def load_results(path: str | Path) -> Results:
    """A results.json, or a CfcError that says what is wrong with it (E-5.1: nothing is read in part)."""
    from cfc_ref.configfile import load_json_object

    path = Path(path)
    data = load_json_object(path, what="a results.json")
    if data.get("schema") != RESULTS_SCHEMA:
        raise CfcError(f"{path}: results schema {data.get('schema')!r}, this cfc-ref reads {RESULTS_SCHEMA!r} (run it "
                       "again)")
    try:
        config, environment, raw_rows = data["config"], data["environment"], data["rows"]
    except KeyError as err:
        raise CfcError(f"{path}: malformed results (no {err})") from None
    if not isinstance(config, dict) or not isinstance(environment, dict) or not isinstance(raw_rows, list):
        raise CfcError(f"{path}: malformed results (config and environment must be objects, rows a list)")
    if not raw_rows:
        raise CfcError(f"{path}: malformed results (no rows)")
    rows = [check_row(r, str(path)) for r in raw_rows]
    names = [r.setting for r in rows]
    if len(set(names)) != len(names):
        duplicate = next(n for n in names if names.count(n) > 1)
        raise CfcError(f"{path}: malformed results (setting {duplicate!r} appears twice)")
    timing = _check_timing(data.get("timing"), str(path))
    results = Results(config, environment, rows, timing)
    experiment = results.experiment  # the config, checked field by field (a CfcError names what is wrong)
    from cfc_ref.experiment.config import split_points_of

    points = split_points_of(experiment)
    for row in rows:
        if (row.kind == "split") != bool(row.split) or (row.kind == "split" and row.split not in points):
            raise CfcError(f"{path}: {row.setting}: split {row.split!r} is not a split point of its config "
                           f"({', '.join(points)})")
    return results


def _finite(value: float) -> bool:
    """A finite number, also for an integer too large for binary64 (which is not)."""
    try:
        return math.isfinite(value)
    except OverflowError:
        return False


def _check_timing(timing: object, where: str) -> dict | None:
    """E-10.1: null, or {"stages": {name: seconds}, "wall": seconds, "workers": n, "units": n}."""
    def number(value: object) -> bool:
        return isinstance(value, int | float) and not isinstance(value, bool) and _finite(value) and value >= 0

    if timing is None:
        return None
    ok = (isinstance(timing, dict) and isinstance(timing.get("stages"), dict)
          and all(isinstance(k, str) and number(v) for k, v in timing["stages"].items())
          and number(timing.get("wall")) and all(isinstance(timing.get(k), int) and not isinstance(timing.get(k), bool)
                                                 and timing[k] >= 0 for k in ("workers", "units")))
    if not ok:
        raise CfcError(f"{where}: malformed results (timing must be null or hold stages, wall, workers and units as "
                       "non-negative numbers)")
    return timing  # type: ignore[return-value]


def _detection_arrays(units: list, images: list[str]) -> DetectionArrays:
    """Every unit's detections as one set of arrays; the VOC pixel boxes of all units from one call of D-4.2's
    elementwise expressions, each row with its own image's size (the same numbers as ``voc_boxes()`` per unit)."""
    from cfc_ref.fast.region import voc_pixel_boxes

    if not units:
        return DetectionArrays(np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0), np.zeros((0, 4)))
    index = {image: i for i, image in enumerate(images)}
    counts = [len(u.detections) for u in units]
    sizes = np.array([(u.detections.width, u.detections.height) for u in units], dtype=np.int64).reshape(-1, 2)
    width, height = (np.repeat(sizes[:, k], counts) for k in range(2))
    boxes = np.concatenate([u.detections.box for u in units]).reshape(-1, 4)
    return DetectionArrays(np.repeat(np.array([index[u.image] for u in units], dtype=np.int64), counts),
                           np.concatenate([u.detections.cls for u in units]).astype(np.int64),
                           np.concatenate([u.detections.score for u in units]).astype(np.float64),
                           voc_pixel_boxes(boxes, width, height) + 1)  # type: ignore[arg-type]


def aggregate(config: ExperimentConfig, images: list[str], store: RunStore, source: VocSource) -> Path:
    """E-5: one row per setting from the store's units; rows recorded in the store."""
    output = Path(config.output)
    classes = classes_of(config)
    if len(set(classes)) != len(classes):
        raise CfcError(f"{output}: classes must be distinct, got {list(classes)}")
    truths = TruthArrays.of(read_truths(source, images), images, classes)
    recorded = store.all_units()
    rows = []
    for setting in settings_of(config):
        found = recorded.get(setting.key, {})
        units = [found[image] for image in images if image in found]
        if len(units) != len(images):
            raise CfcError(f"{store.path}: setting {setting.key} has {len(units)} of {len(images)} units; run the "
                           "sweep again to finish it")
        result = evaluate(truths, _detection_arrays(units, images), classes)
        spread = map_bootstrap(result.matches, len(images)) if len(images) > 1 else np.zeros(2)
        kbits = np.array([u.bits.kbits for u in units])  # KBPI: the mean over images (W-5.1)
        container = np.array([8 * u.bits.container_bytes / 1000 for u in units])
        uncoded = sorted({name for u in units for name in u.uncoded})
        rows.append(ResultRow(
            setting.key, setting.kind, setting.split, setting.bit_depth, setting.quality, setting.qp,
            setting.jpeg_quality, len(units), float(kbits.mean()), float(kbits.std()), float(container.mean()),
            result.map_voc07, float(spread.std(ddof=1)), result.map_all, units[0].encoder,
            "+".join(sorted({d for u in units for d in u.decoders})), setting.accounting,
            int(round(float(np.mean([u.samples for u in units])))), "+".join(uncoded)))
    store.set_results(rows)
    return output / "results.json"


def timing_of(store: RunStore) -> dict:
    """E-10: the last sweep's seconds per stage, its wall time and workers."""
    sweeps = store.sweeps()
    last = sweeps[-1] if sweeps else {}
    return {"stages": store.timings(), "wall": last.get("wall", 0.0), "workers": last.get("workers", 1),
            "units": last.get("units", 0)}


def export_results(config: ExperimentConfig, store: RunStore, output: Path) -> None:
    """results.json and results.csv from the store's rows (E-5.1), each written atomically."""
    rows = store.results()
    environment = {"cfc_ref": __version__, "torch": torch.__version__, "python": platform.python_version(),
                   "machine": platform.machine()}
    results = Results(json.loads(config.to_json()), environment, rows, timing_of(store))
    write_atomic(output / "results.json", results.to_json().encode())
    table = io.StringIO()
    writer = csv.DictWriter(table, fieldnames=CSV_FIELDS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(asdict(r) for r in rows)
    write_atomic(output / "results.csv", table.getvalue().encode())
