"""Per-setting results from the results store (spec E-5): KBPI (mean, std over images), mAP (VOC07 and all-point),
its bootstrap spread, codec names — as typed rows in the store, exported to results.json and results.csv.

    results = load_results("runs/embedded-default/results.json")      # Results(config, environment, rows, timing)

Evaluation uses the fast matching and bootstrap (``cfc_ref.fast.voc``), tested equal to the readable references
``cfc_ref.metrics.voc`` and ``cfc_ref.metrics.bootstrap`` (spec M-7.1).
"""

from __future__ import annotations

import json
import platform
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch

from cfc_ref import __version__
from cfc_ref.data.source import VocSource, read_truths
from cfc_ref.errors import CfcError
from cfc_ref.experiment.config import ExperimentConfig, classes_of, config_from_dict, settings_of
from cfc_ref.experiment.store import RunStore
from cfc_ref.experiment.units import Unit
from cfc_ref.fast.voc import DetectionArrays, TruthArrays, evaluate, map_bootstrap
from cfc_ref.fileio import write_atomic
from cfc_ref.implementations import STAGES, Implementation
from cfc_ref.implementations import check as check_implementation
from cfc_ref.implementations import record as record_implementations
from cfc_ref.metrics.results import ResultRow, check_row, finite, old_row, results_csv
from cfc_ref.metrics.voc import Evaluation, GroundTruth

RESULTS_SCHEMA = "cfc-ref-results/5"
OLDER_RESULTS_SCHEMA = "cfc-ref-results/4"  # before E-14: read as paper rows with nothing clipped (E-5.1)
__all__ = ["RESULTS_SCHEMA", "Results", "aggregate", "export_results", "load_results"]


@dataclass(frozen=True)
class Results:
    config: dict
    environment: dict
    rows: list[ResultRow]
    timing: dict | None = None  # E-10: seconds per stage of the sweep, wall time, workers
    implementations: dict[str, str] | None = None  # E-12.2: what computed each stage (None: not recorded)

    @property
    def experiment(self) -> ExperimentConfig:
        """The run's configuration, typed."""
        return config_from_dict(self.config, "results.json config")

    def to_json(self) -> str:
        return json.dumps({"schema": RESULTS_SCHEMA, "config": self.config, "environment": self.environment,
                           "timing": self.timing, "implementations": self.implementations,
                           "rows": [asdict(r) for r in self.rows]}, indent=1) + "\n"


def load_results(path: str | Path) -> Results:
    """A results.json, or a CfcError that says what is wrong with it (E-5.1: nothing is read in part)."""
    from cfc_ref.configfile import load_json_object

    path = Path(path)
    data = load_json_object(path, what="a results.json")
    older = data.get("schema") == OLDER_RESULTS_SCHEMA
    if data.get("schema") != RESULTS_SCHEMA and not older:
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
    rows = [check_row(old_row(r) if older and isinstance(r, dict) else r, str(path)) for r in raw_rows]
    names = [r.setting for r in rows]
    if len(set(names)) != len(names):
        duplicate = next(n for n in names if names.count(n) > 1)
        raise CfcError(f"{path}: malformed results (setting {duplicate!r} appears twice)")
    timing = _check_timing(data.get("timing"), str(path))
    recorded = data.get("implementations")
    if recorded is not None and not (isinstance(recorded, dict) and set(recorded) <= set(STAGES)
                                     and all(isinstance(v, str) for v in recorded.values())):
        raise CfcError(f"{path}: malformed results (implementations must map stages {', '.join(STAGES)} to names)")
    results = Results(config, environment, rows, timing, recorded)
    experiment = results.experiment  # the config, checked field by field (a CfcError names what is wrong)
    from cfc_ref.experiment.config import split_points_of

    points = split_points_of(experiment)
    for row in rows:
        if (row.kind == "split") != bool(row.split) or (row.kind == "split" and row.split not in points):
            raise CfcError(f"{path}: {row.setting}: split {row.split!r} is not a split point of its config "
                           f"({', '.join(points)})")
    return results


def _check_timing(timing: object, where: str) -> dict | None:
    """E-10.1: null, or {"stages": {name: seconds}, "wall": seconds, "workers": n, "units": n}."""
    def number(value: object) -> bool:
        return isinstance(value, int | float) and not isinstance(value, bool) and finite(value) and value >= 0

    if timing is None:
        return None
    ok = (isinstance(timing, dict) and isinstance(timing.get("stages"), dict)
          and all(isinstance(k, str) and number(v) for k, v in timing["stages"].items())
          and isinstance(timing.get("stages_cpu", {}), dict)
          and all(isinstance(k, str) and number(v) for k, v in timing.get("stages_cpu", {}).items())
          and number(timing.get("worker_cpu", 0.0))
          and number(timing.get("wall")) and all(isinstance(timing.get(k), int) and not isinstance(timing.get(k), bool)
                                                 and timing[k] >= 0 for k in ("workers", "units")))
    if not ok:
        raise CfcError(f"{where}: malformed results (timing must be null or hold stages, wall, workers and units — "
                       "and optionally stages_cpu and worker_cpu — as non-negative numbers)")
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


def _evaluation(implementation: Implementation, truths: list[GroundTruth], images: list[str],
                classes: tuple[str, ...]) -> Callable[[list[Unit]], tuple[Evaluation, np.ndarray]]:
    """The mAP of a setting's units and its bootstrap (M-2, M-6.1): through the fast evaluation of all images at once
    (``cfc_ref.fast.voc``), or the readable references ``metrics.voc`` and ``metrics.bootstrap`` (spec E-12); equal
    bit for bit (M-7.1, tested). One image has no spread: zeros."""
    if implementation == "reference":
        from cfc_ref.metrics import bootstrap, voc

        def reference(units: list[Unit]) -> tuple[Evaluation, np.ndarray]:
            found = [d for u in units for d in u.detections.voc(u.image, classes, "reference")]
            spread = (bootstrap.map_bootstrap(truths, found, classes, images) if len(images) > 1 else np.zeros(2))
            return voc.evaluate(truths, found, classes), spread

        return reference
    arrays = TruthArrays.of(truths, images, classes)

    def fast(units: list[Unit]) -> tuple[Evaluation, np.ndarray]:
        result = evaluate(arrays, _detection_arrays(units, images), classes)
        return result, map_bootstrap(result.matches, len(images)) if len(images) > 1 else np.zeros(2)

    return fast


def aggregate(config: ExperimentConfig, images: list[str], store: RunStore, source: VocSource) -> Path:
    """E-5: one row per setting from the store's units; rows recorded in the store."""
    output = Path(config.output)
    classes = classes_of(config)
    if len(set(classes)) != len(classes):
        raise CfcError(f"{output}: classes must be distinct, got {list(classes)}")
    truths = read_truths(source, images)
    evaluation = _evaluation(check_implementation(config.implementation), truths, images, classes)
    recorded = store.all_units()
    rows = []
    for setting in settings_of(config):
        found = recorded.get(setting.key, {})
        units = [found[image] for image in images if image in found]
        if len(units) != len(images):
            raise CfcError(f"{store.path}: setting {setting.key} has {len(units)} of {len(images)} units; run the "
                           "sweep again to finish it")
        result, spread = evaluation(units)
        kbits = np.array([u.bits.kbits for u in units])  # KBPI: the mean over images (W-5.1)
        container = np.array([8 * u.bits.container_bytes / 1000 for u in units])
        uncoded = sorted({name for u in units for name in u.uncoded})
        rows.append(ResultRow(
            setting.key, setting.kind, setting.split, setting.bit_depth, setting.quality, setting.qp,
            setting.jpeg_quality, len(units), float(kbits.mean()), float(kbits.std()), float(container.mean()),
            result.map_voc07, float(spread.std(ddof=1)), result.map_all, units[0].encoder,
            "+".join(sorted({d for u in units for d in u.decoders})), setting.accounting,
            int(round(float(np.mean([u.samples for u in units])))), "+".join(uncoded), setting.quantizer,
            sum(u.clipped for u in units)))
    store.set_results(rows)
    return output / "results.json"


def timing_of(store: RunStore) -> dict:
    """E-10: the last sweep's wall and CPU seconds per stage, its wall time, workers and the workers' CPU."""
    sweeps = store.sweeps()
    last = sweeps[-1] if sweeps else {}
    return {"stages": store.timings(), "stages_cpu": store.cpu_timings(), "wall": last.get("wall", 0.0),
            "workers": last.get("workers", 1), "units": last.get("units", 0),
            "worker_cpu": last.get("worker_cpu", 0.0)}


def export_results(config: ExperimentConfig, store: RunStore, output: Path) -> None:
    """results.json and results.csv from the store's rows (E-5.1), each written atomically."""
    rows = store.results()
    environment = {"cfc_ref": __version__, "torch": torch.__version__, "python": platform.python_version(),
                   "machine": platform.machine()}
    results = Results(json.loads(config.to_json()), environment, rows, timing_of(store),
                      record_implementations(check_implementation(config.implementation)))
    write_atomic(output / "results.json", results.to_json().encode())
    write_atomic(output / "results.csv", results_csv(rows).encode())
