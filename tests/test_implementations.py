"""Which implementation runs (spec E-12, issue 29): the registry names each stage's reference and fast twin and the
test that proves them equal; a run on the references gives the bytes of a run on the fast twins, and says so."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch

from cfc_ref import implementations
from cfc_ref.data.synthetic import CLASSES
from cfc_ref.errors import CfcError
from cfc_ref.experiment.config import ExperimentConfig, check_config
from cfc_ref.experiment.store import RunStore

from cfc_testing import GOLDEN, ROOT

spec = pytest.mark.spec


def _small(out: Path, **changes) -> ExperimentConfig:
    """The embedded model on three synthetic images: two lossy split points under both accountings, the cloud-only
    curve; enough detections, matches and resamples to exercise every stage."""
    config = ExperimentConfig(name="small", dataset_root=str(out.parent / "data"), dataset_kind="synthetic",
                              synthetic_test_images=3, classes=CLASSES, splits=("max_11", "max_17"),
                              lossless_bit_depths=(8,), lossy_bit_depths=(8,), qps=(27, 42),
                              jpeg_qualities=(20, 80), accountings=("deployable", "paper"), workers=1, output=str(out))
    return replace(config, **changes)


@spec("E-12.1", "E-12.2")
def test_a_run_on_the_references_gives_the_bytes_of_a_run_on_the_fast_twins(tmp_path):
    from cfc_ref.experiment.protocol import run_protocol

    outcomes = {}
    for name in ("fast", "reference"):
        outcomes[name] = run_protocol(_small(tmp_path / name, implementation=name), progress=False)
    for table in ("results.csv", "table1.csv"):
        assert (tmp_path / "fast" / table).read_bytes() == (tmp_path / "reference" / table).read_bytes(), table
    contents = {}
    for name in ("fast", "reference"):
        with RunStore.open(tmp_path / name, create=False) as store:
            contents[name] = store.unit_contents()
            assert json.loads(store.meta("implementations")) == implementations.record(name)  # type: ignore[arg-type]
        recorded = json.loads((tmp_path / name / "results.json").read_text())["implementations"]
        assert recorded == implementations.record(name)  # type: ignore[arg-type]
    assert contents["fast"] == contents["reference"] and len(contents["fast"]) == 3 * 12
    assert sum(b"\n" in unit and len(unit.split(b"\n", 1)[1]) > 0 for unit in contents["fast"].values()) > 20
    report = (tmp_path / "reference" / "report.md").read_text()
    assert "computed by the readable references (`--reference`)" in report
    assert "computed by their fast twins" in (tmp_path / "fast" / "report.md").read_text()


@spec("E-12.1")
def test_the_references_with_the_folded_network_are_refused():
    with pytest.raises(CfcError, match="implementation 'reference' runs the Darknet-exact network"):
        check_config(_small(Path("/nonexistent/out"), implementation="reference", inference="fast"))
    with pytest.raises(CfcError, match="implementation must be one of fast, reference"):
        check_config(_small(Path("/nonexistent/out"), implementation="quick"))


@spec("E-12.1")
def test_the_command_line_runs_the_references(tmp_path):
    from cfc_ref.experiment.protocol import experiment_config

    config, _ = experiment_config(None, output=str(tmp_path / "out"), reference=True)
    assert config.implementation == "reference" and config.inference == "exact"
    from cfc_ref.cli import build_parser

    assert build_parser().parse_args(["run", "--reference"]).reference is True
    assert build_parser().parse_args(["run"]).reference is False


def test_every_stage_names_real_code_and_a_test_that_exists():
    import importlib

    for key, stage in implementations.STAGES.items():
        for dotted in (stage.reference + ", " + stage.fast).split(", "):
            module, _, name = dotted.rpartition(".")
            assert hasattr(importlib.import_module(module), name), (key, dotted)
        path, _, test = stage.proof.partition("::")
        assert f"def {test}(" in (ROOT / path).read_text(), (key, stage.proof)
    assert implementations.record("fast")["qlayer"] == "cfc_ref.fast.qlayer_numpy.Quantizer"


DETECTOR = json.loads((GOLDEN / "detector" / "vectors.json").read_text())


@spec("E-12.1", "D-8.3")
@pytest.mark.parametrize("case", [c for c in DETECTOR["vectors"] if c["operation"] == "region_detections"],
                         ids=lambda c: c["id"])
def test_region_decoding_through_the_reference_equals_the_fast_path(case):
    """On every golden region vector: the same detections in the same order, the same VOC boxes (the golden boxes
    are binary64 from the independent generator; these come from the float32 boxes a unit stores, E-9.3)."""
    from cfc_ref.detector.cfg import parse_cfg
    from cfc_ref.detector.detect import image_detections

    region = parse_cfg((GOLDEN / "detector" / DETECTOR["cfg"]).read_text()).region
    raw = torch.from_numpy(np.load(GOLDEN / "detector" / case["output"]))[None]
    fast, reference = (image_detections(raw, region, case["width"], case["height"], name)
                       for name in ("fast", "reference"))
    assert fast == reference and len(fast) == len(case["expected"])
    assert np.array_equal(fast.voc_boxes(), reference.voc_boxes("reference"))
    assert (fast.voc_boxes() - 1).tolist() == [pytest.approx(e["box"], abs=1e-3) for e in case["expected"]]
