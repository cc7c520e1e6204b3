"""Per-setting results from the unit files: KBPI (mean, std over images), mAP (VOC07 and all-point), codec names."""

from __future__ import annotations

import csv
import json
import platform
from pathlib import Path

import numpy as np
import torch

from cfc_ref import __version__
from cfc_ref.experiment.config import ExperimentConfig, settings_of
from cfc_ref.metrics.files import read_voc_annotations
from cfc_ref.metrics.voc import Detection, evaluate

CSV_FIELDS = ("setting", "kind", "split", "bit_depth", "quality", "images", "kbpi", "kbpi_std", "container_kbpi",
              "map_voc07", "map_all", "encoder", "decoders")


def aggregate(config: ExperimentConfig, images: list[str]) -> Path:
    from cfc_ref.experiment.runner import classes_of, unit_path

    output = Path(config.output)
    classes = classes_of(config)
    truths = read_voc_annotations(config.dataset_root, config.image_set, images)
    rows = []
    for setting in settings_of(config):
        units = [json.loads(unit_path(output, setting, image).read_text()) for image in images]
        detections = [Detection(u["image"], d[0], d[1], tuple(d[2:6])) for u in units for d in u["detections"]]
        result = evaluate(truths, detections, classes)
        kbits = np.array([u["bits"]["kbits"] for u in units])
        container = np.array([8 * u["bits"]["container_bytes"] / 1000 for u in units])
        rows.append({"setting": setting.key, "kind": setting.kind, "split": setting.split,
                     "bit_depth": setting.bit_depth, "quality": setting.quality, "images": len(units),
                     "kbpi": float(kbits.mean()), "kbpi_std": float(kbits.std()),
                     "container_kbpi": float(container.mean()), "map_voc07": result.map_voc07,
                     "map_all": result.map_all, "encoder": units[0]["codec"]["encoder"],
                     "decoders": "+".join(sorted({d for u in units for d in u["codec"]["decoders"]}))})
    environment = {"cfc_ref": __version__, "torch": torch.__version__, "python": platform.python_version(),
                   "machine": platform.machine()}
    results = {"config": json.loads(config.to_json()), "environment": environment, "rows": rows}
    path = output / "results.json"
    path.write_text(json.dumps(results, indent=1) + "\n")
    with open(output / "results.csv", "w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=CSV_FIELDS)
        writer.writeheader()
        writer.writerows(rows)
    return path
