"""The experiment runner and report (issue 5): results, resumability after SIGKILL, executors, Table 1."""

from __future__ import annotations

import collections
import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

import pytest

from cfc_ref.data.synthetic import CLASSES, make_sample, write_dataset
from cfc_ref.detector.cfg import write_cfg
from cfc_ref.detector.model import DarknetModel
from cfc_ref.detector.weights import randomize, save_weights
from cfc_ref.errors import CfcError
from cfc_ref.experiment.config import ExperimentConfig, load_config, settings_of
from cfc_ref.experiment.embedded import embedded_config
from cfc_ref.experiment.report import pareto, table1, write_report
from cfc_ref.experiment.runner import LocalPoolExecutor, SerialExecutor, run

from cfc_testing import ROOT

spec = pytest.mark.spec


@pytest.fixture(scope="module")
def model_files(tmp_path_factory):
    d = tmp_path_factory.mktemp("model")
    (d / "m.cfg").write_text(write_cfg(embedded_config()))
    save_weights(randomize(DarknetModel(embedded_config()), seed=3), d / "m.weights")
    return d


def small_config(model_files, out: Path, images: int = 3, **changes) -> ExperimentConfig:
    config = ExperimentConfig(name="tiny", dataset_root=str(out.parent / "data"), dataset_kind="synthetic",
                              synthetic_test_images=images, classes=CLASSES, model="darknet",
                              cfg=str(model_files / "m.cfg"), weights=str(model_files / "m.weights"),
                              lossless_bit_depths=(8, 12), lossy_bit_depths=(10,), qps=(27, 37),
                              jpeg_qualities=(20, 80), workers=1, output=str(out))
    return replace(config, **changes)


def rows_of(path) -> list[dict]:
    return json.loads(Path(path).read_text())["rows"]


def test_run_produces_every_setting(model_files, tmp_path):
    config = small_config(model_files, tmp_path / "out")
    rows = rows_of(run(config, progress=False))
    assert [r["setting"] for r in rows] == [s.key for s in settings_of(config)]
    split_rows = [r for r in rows if r["kind"] == "split"]
    assert all(r["images"] == 3 and r["kbpi"] > 0 and r["encoder"].startswith("x265") for r in split_rows)
    lossless = {r["bit_depth"]: r["kbpi"] for r in split_rows if r["split"] == "max_17" and r["quality"] == "lossless"}
    assert lossless[12] > lossless[8]  # more bits per sample cost more
    assert all(r["container_kbpi"] > r["kbpi"] for r in split_rows)  # framing reported apart (W-5.2)
    log = (tmp_path / "out" / "encode-log.txt").read_text().split()
    assert len(log) == len(set(log)) == 3 * (4 * 1 + 4 * 2)  # max_11: 1 tensor, max_17: 2 tensors, 4 settings each
    rerun = rows_of(run(config, progress=False))
    assert rerun == rows and (tmp_path / "out" / "encode-log.txt").read_text().split() == log


@spec("H-6.2")
def test_pool_executor_gives_the_same_results(model_files, tmp_path):
    serial = rows_of(run(small_config(model_files, tmp_path / "a", images=2), SerialExecutor(), progress=False))
    config = small_config(model_files, tmp_path / "b", images=2, workers=2)
    pooled = rows_of(run(config, LocalPoolExecutor(2), progress=False))
    assert pooled == serial


def test_resume_after_sigkill(model_files, tmp_path):
    """Killed half-way with SIGKILL, a rerun gives identical results and repeats no encode."""
    reference = rows_of(run(small_config(model_files, tmp_path / "ref", images=6), progress=False))
    config = small_config(model_files, tmp_path / "out", images=6)
    path = tmp_path / "config.json"
    path.write_text(config.to_json())
    units = tmp_path / "out" / "units"
    command = [sys.executable, "-m", "cfc_ref.cli", "run", str(path), "--quiet"]
    process = subprocess.Popen(command, cwd=ROOT, start_new_session=True, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
    deadline = time.time() + 300
    while time.time() < deadline and len(list(units.rglob("*.json"))) < 6:
        time.sleep(0.01)
    os.killpg(process.pid, signal.SIGKILL)
    process.wait()
    done_before = len(list(units.rglob("*.json")))
    assert 0 < done_before < 6 * len(settings_of(config)), "the kill should land half-way"
    subprocess.run(command, cwd=ROOT, check=True, timeout=600, capture_output=True)
    assert rows_of(tmp_path / "out" / "results.json") == reference
    log = (tmp_path / "out" / "encode-log.txt").read_text().split()
    assert len(log) == len(set(log)), "a resumed run encoded something twice"
    assert collections.Counter(log) == collections.Counter((tmp_path / "ref" / "encode-log.txt").read_text().split())


@spec("M-5.2")
def test_report_and_table1(model_files, tmp_path):
    path = run(small_config(model_files, tmp_path / "out"), progress=False)
    report = write_report(path, layer_figure=False)
    text = report.read_text()
    assert "## Table 1" in text and "| max 11 |" in text and "| max 17 |" in text
    assert (tmp_path / "out" / "fig4_lossless.png").exists() and (tmp_path / "out" / "fig5_lossy.png").exists()
    results = json.loads(path.read_text())
    for row in results["rows"]:  # a synthetic curve where the answer is known: the test costs half the bits
        if row["kind"] == "cloud" and row["quality"].startswith("jpeg"):
            row["map_voc07"] = {"jpeg20": 0.5, "jpeg80": 0.7}[row["quality"]]
    cloud = [r for r in results["rows"] if r["kind"] == "cloud" and r["quality"].startswith("jpeg")]
    results["rows"] = [r for r in results["rows"] if r not in cloud
                       and not (r["kind"] == "split" and r["quality"].startswith("qp"))]
    for i, (kbpi, quality) in enumerate([(100, 0.5), (200, 0.6), (400, 0.7), (800, 0.75)]):
        results["rows"].append(dict(cloud[0], quality=f"jpeg{i}", kbpi=kbpi, map_voc07=quality))
        for split in ("max_11", "max_17"):
            results["rows"].append({"kind": "split", "split": split, "bit_depth": 10, "quality": f"qp{50 - i}",
                                    "kbpi": kbpi / 2, "map_voc07": quality})
    lines, values = table1(results)
    assert values == {"max_11": "-50.00 %", "max_17": "-50.00 %"}


def test_pareto_front():
    assert pareto([(10, 0.5), (20, 0.4), (30, 0.6), (5, 0.2), (30, 0.55)]) == [(5, 0.2), (10, 0.5), (30, 0.6)]


def test_config_errors(tmp_path):
    (tmp_path / "c.json").write_text('{"name": "x", "dataset_root": "y", "colour": 1}')
    with pytest.raises(CfcError, match="unknown keys"):
        load_config(tmp_path / "c.json")
    (tmp_path / "d.json").write_text("{not json")
    with pytest.raises(CfcError):
        load_config(tmp_path / "d.json")
    (tmp_path / "e.json").write_text('{"name": "x"}')
    with pytest.raises(CfcError, match="dataset_root"):
        load_config(tmp_path / "e.json")


def test_synthetic_dataset_is_deterministic(tmp_path):
    a, b = make_sample(7, "test"), make_sample(7, "test")
    assert (a.image == b.image).all() and a.truths == b.truths
    assert make_sample(7, "train").truths != a.truths or not (make_sample(7, "train").image == a.image).all()
    root = write_dataset(tmp_path / "voc", train=3, test=2)
    assert (root / "ImageSets" / "Main" / "test.txt").read_text().split() == ["test_000000", "test_000001"]
    counts = collections.Counter(t.cls for i in range(200) for t in make_sample(i, "test").truths)
    assert set(counts) == set(CLASSES) and min(counts.values()) > 40
    assert any(t.difficult for i in range(50) for t in make_sample(i, "test").truths)


def test_run_command_with_other_weights(model_files, tmp_path, capsys):
    from cfc_ref.cli import main

    config = small_config(model_files, tmp_path / "base", images=2)
    path = tmp_path / "c.json"
    path.write_text(config.to_json())
    code = main(["run", str(path), "--weights", str(model_files / "m.weights"), "--cfg", str(model_files / "m.cfg"),
                 "--splits", "max_17", "--lossy-only", "--output", str(tmp_path / "lossy"), "--quiet"])
    assert code == 0
    rows = rows_of(tmp_path / "lossy" / "results.json")
    assert [r["setting"] for r in rows] == ["max_17-10bit-qp27", "max_17-10bit-qp37"]
    assert "Table 1" in capsys.readouterr().out
