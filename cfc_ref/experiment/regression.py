"""The embedded default's regression points (golden/embedded/regression.json, written by
tools/make_golden_embedded.py): a few (split, bit depth, QP) settings and one JPEG quality on the first test images."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from cfc_ref.experiment.config import ExperimentConfig, embedded_default

REGRESSION_IMAGES = 20


def regression_config(directory: str | Path) -> ExperimentConfig:
    base = embedded_default(str(Path(directory) / "run"))
    return replace(base, name="embedded regression", limit=REGRESSION_IMAGES, synthetic_test_images=REGRESSION_IMAGES,
                   lossless_bit_depths=(8, 10), lossy_bit_depths=(8,), qps=(32,), jpeg_qualities=(50,),
                   original_upload=False, workers=1, lossless_splits=())
