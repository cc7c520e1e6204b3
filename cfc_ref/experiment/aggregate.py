"""Per-setting results from the unit files (spec E-5): KBPI (mean, std over images), mAP (VOC07 and all-point),
codec names — as typed rows, written atomically to results.json and results.csv.

    results = load_results("runs/embedded-default/results.json")      # Results(config, environment, rows)
"""

from __future__ import annotations

import csv
import io
import json
import platform
from dataclasses import asdict, dataclass, fields
from pathlib import Path

import numpy as np
import torch

from cfc_ref import __version__
from cfc_ref.errors import CfcError
from cfc_ref.experiment.config import ExperimentConfig, classes_of, config_from_dict, settings_of
from cfc_ref.experiment.units import read_unit
from cfc_ref.fileio import write_atomic
from cfc_ref.metrics.bootstrap import map_bootstrap
from cfc_ref.metrics.files import read_voc_annotations
from cfc_ref.metrics.voc import Detection, evaluate

RESULTS_SCHEMA = "cfc-ref-results/3"


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
    accounting: str  # E-7.1: deployable (every crossing tensor coded and counted) or paper
    samples: int  # feature samples coded per image (0 for a cloud-only upload)
    uncoded: str  # crossing tensors the back end received uncoded ("+"-joined; paper accounting only)

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


CSV_FIELDS = tuple(f.name for f in fields(ResultRow))


@dataclass(frozen=True)
class Results:
    config: dict
    environment: dict
    rows: list[ResultRow]

    @property
    def experiment(self) -> ExperimentConfig:
        """The run's configuration, typed."""
        return config_from_dict(self.config, "results.json config")

    def to_json(self) -> str:
        return json.dumps({"schema": RESULTS_SCHEMA, "config": self.config, "environment": self.environment,
                           "rows": [asdict(r) for r in self.rows]}, indent=1) + "\n"


def load_results(path: str | Path) -> Results:
    """A results.json, or a CfcError that says what is wrong with it."""
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as err:
        raise CfcError(f"{path}: cannot read ({err.strerror})") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise CfcError(f"{path}: not a results.json ({err})") from None
    if not isinstance(data, dict) or data.get("schema") != RESULTS_SCHEMA:
        found = data.get("schema") if isinstance(data, dict) else None
        raise CfcError(f"{path}: results schema {found!r}, this cfc-ref reads {RESULTS_SCHEMA!r} (run it again)")
    try:
        return Results(data["config"], data["environment"], [ResultRow(**r) for r in data["rows"]])
    except (KeyError, TypeError) as err:
        raise CfcError(f"{path}: malformed results ({err})") from None


def aggregate(config: ExperimentConfig, images: list[str]) -> Path:
    output = Path(config.output)
    classes = classes_of(config)
    truths = read_voc_annotations(config.dataset_root, config.image_set, images)
    rows = []
    for setting in settings_of(config):
        units = [read_unit(output, setting, image) for image in images]
        detections = [Detection(u.image, d[0], d[1], d[2:6]) for u in units for d in u.detections]
        result = evaluate(truths, detections, classes)
        spread = map_bootstrap(truths, detections, classes, images) if len(images) > 1 else np.zeros(2)
        kbits = np.array([u.bits.kbits for u in units])  # KBPI: the mean over images (W-5.1)
        container = np.array([8 * u.bits.container_bytes / 1000 for u in units])
        uncoded = sorted({name for u in units for name in u.uncoded})
        rows.append(ResultRow(
            setting.key, setting.kind, setting.split, setting.bit_depth, setting.quality, setting.qp,
            setting.jpeg_quality, len(units), float(kbits.mean()), float(kbits.std()), float(container.mean()),
            result.map_voc07, float(spread.std(ddof=1)), result.map_all, units[0].encoder,
            "+".join(sorted({d for u in units for d in u.decoders})), setting.accounting,
            int(round(float(np.mean([u.samples for u in units])))), "+".join(uncoded)))
    environment = {"cfc_ref": __version__, "torch": torch.__version__, "python": platform.python_version(),
                   "machine": platform.machine()}
    results = Results(json.loads(config.to_json()), environment, rows)
    path = output / "results.json"
    write_atomic(path, results.to_json().encode())
    table = io.StringIO()
    writer = csv.DictWriter(table, fieldnames=CSV_FIELDS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(asdict(r) for r in rows)
    write_atomic(output / "results.csv", table.getvalue().encode())
    return path
