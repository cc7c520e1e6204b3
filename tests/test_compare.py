"""Decoded-feature hashes and comparing runs (spec E-9.7, E-13, issue 33): every unit records the SHA-256 of each
tensor its back end received; two identical runs compare equal; a run with one input changed names the first unit
and tensor where it diverges."""

from __future__ import annotations

import hashlib
import io
import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from cfc_ref.data.synthetic import CLASSES, write_dataset
from cfc_ref.experiment.config import ExperimentConfig, settings_of
from cfc_ref.experiment.local_engine import run
from cfc_ref.experiment.store import RunStore

from cfc_testing import run_cli

spec = pytest.mark.spec


def _config(model_files: Path, out: Path, data: Path) -> ExperimentConfig:
    return ExperimentConfig(name="tiny", dataset_root=str(data), dataset_kind="voc", classes=CLASSES, model="darknet",
                            cfg=str(model_files / "m.cfg"), weights=str(model_files / "m.weights"),
                            splits=("max_11", "max_17"), lossless_bit_depths=(8,), lossy_bit_depths=(8,), qps=(37,),
                            jpeg_qualities=(50,), original_upload=False, accountings=("deployable", "paper"),
                            workers=1, output=str(out))


@pytest.fixture(scope="module")
def two_runs(model_files, tmp_path_factory):
    """Two runs of the same config on the same three images, and a third on the same images but one."""
    base = tmp_path_factory.mktemp("compare")
    data = base / "data"
    write_dataset(data, train=0, test=3)
    changed = base / "changed"
    write_dataset(changed, train=0, test=3)
    jpeg = changed / "JPEGImages" / "test_000001.jpg"
    pixels = np.asarray(Image.open(jpeg)).copy()
    pixels[:8, :8] = 255 - pixels[:8, :8]  # one corner of one image
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="JPEG", quality=90)
    jpeg.write_bytes(buffer.getvalue())
    for name, root in (("a", data), ("b", data), ("c", changed)):
        run(_config(model_files, base / name, root), progress=False)
    return base


@spec("E-9.7")
def test_each_unit_records_the_hash_of_what_its_back_end_received(two_runs, model_files):
    from cfc_ref.codecs.hevc import HevcCodec
    from cfc_ref.data.source import open_voc
    from cfc_ref.experiment.models import load_model
    from cfc_ref.experiment.stages import code_unit, decode_image, front_features

    config = _config(model_files, two_runs / "a", two_runs / "data")
    with RunStore.open(two_runs / "a", create=False) as store:
        units = store.all_units()
    model = load_model(config)
    pixels = decode_image(open_voc(config.dataset_root).image_bytes("test_000002"), "test_000002")
    for setting in (s for s in settings_of(config) if s.kind == "split" and s.split == "max_17"):
        features = front_features(model, "max_17", pixels)
        received, _ = code_unit(config, setting, features, HevcCodec(setting.codec_quality))
        recorded = dict(units[setting.key]["test_000002"].features)
        assert set(recorded) == {"max_17", "conv_16"}
        for name, tensor in received.items():  # the definition: little-endian binary32, row-major, nothing else
            assert recorded[name] == hashlib.sha256(np.ascontiguousarray(tensor, "<f4").tobytes()).hexdigest()
    cloud = units["cloud-jpeg50"]["test_000000"]
    assert cloud.features == ()


@spec("E-13.1")
def test_identical_runs_compare_equal(two_runs, capsys):
    code, err = run_cli(["compare", str(two_runs / "a"), str(two_runs / "b"), "--json"], capsys)
    assert code == 0, err
    from cfc_ref.experiment.compare import compare_runs

    report = compare_runs(two_runs / "a", two_runs / "b")
    assert report["equal"] and report["units_compared"] == 3 * 7 and report["first_divergence"] is None


@spec("E-13.1")
def test_a_run_with_one_image_changed_names_the_first_unit_and_tensor_that_diverge(two_runs, capsys, model_files):
    from cfc_ref.experiment.compare import compare_runs

    report = compare_runs(two_runs / "a", two_runs / "c")
    first = report["first_divergence"]
    settings = [s.key for s in settings_of(_config(model_files, two_runs / "a", two_runs / "data"))]
    assert not report["equal"] and first["image"] == "test_000001" and first["setting"] == settings[0]
    assert first["tensor"] == "max_11" and first["a"] != first["b"] and len(first["a"]) == 64
    assert report["units_differing"] == 6  # every split setting of that image, no other image's
    code, err = run_cli(["compare", str(two_runs / "a"), str(two_runs / "c")], capsys)
    assert code == 1 and err == ""
    code, err = run_cli(["compare", str(two_runs / "a"), str(two_runs / "nowhere")], capsys)
    assert code == 2 and "does not exist" in err


@spec("E-13.1")
def test_units_only_one_run_holds_are_listed(two_runs, tmp_path):
    import shutil
    import sqlite3

    from cfc_ref.experiment.compare import compare_runs

    shutil.copytree(two_runs / "b", tmp_path / "b")
    with sqlite3.connect(tmp_path / "b" / "results.sqlite") as db:
        db.execute("DELETE FROM units WHERE setting = 'max_11-8bit-qp37' AND image = 'test_000002'")
    report = compare_runs(two_runs / "a", tmp_path / "b")
    assert report["only_in_first"] == ["max_11-8bit-qp37/test_000002"] and not report["equal"]
    assert json.loads(json.dumps(report)) == report  # the --json document
