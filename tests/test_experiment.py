"""The experiment runner and report (issue 5): results, resumability after SIGKILL, executors, Table 1."""

from __future__ import annotations

import collections
import json
import os
import signal
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from cfc_ref.data.synthetic import CLASSES, make_sample, write_dataset
from cfc_ref.detector.cfg import write_cfg
from cfc_ref.detector.model import DarknetModel
from cfc_ref.detector.weights import randomize, save_weights
from cfc_ref.errors import CfcError
from cfc_ref.experiment.aggregate import load_results
from cfc_ref.experiment.config import ExperimentConfig, load_config, settings_of
from cfc_ref.experiment.local_engine import LocalPoolExecutor, SerialExecutor, run
from cfc_ref.experiment.report import write_report
from cfc_ref.experiment.table1 import table1
from cfc_ref.metrics.curves import pareto
from cfc_ref.zoo.embedded import embedded_config

from cfc_testing import ROOT, stop_when

spec = pytest.mark.spec


def small_config(model_files, out: Path, images: int = 3, **changes) -> ExperimentConfig:
    config = ExperimentConfig(name="tiny", dataset_root=str(out.parent / "data"), dataset_kind="synthetic",
                              synthetic_test_images=images, classes=CLASSES, model="darknet",
                              cfg=str(model_files / "m.cfg"), weights=str(model_files / "m.weights"),
                              lossless_bit_depths=(8, 12), lossy_bit_depths=(10,), qps=(27, 37),
                              jpeg_qualities=(20, 80), workers=1, output=str(out))
    return replace(config, **changes)


def rows_of(path) -> list[dict]:
    return json.loads(Path(path).read_text())["rows"]


def units_recorded(output: Path) -> int:
    """Units in a run's results store, read as any SQLite reader would (0 before the store exists)."""
    import sqlite3

    path = output / "results.sqlite"
    if not path.exists():
        return 0
    try:
        with sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=1) as db:
            return db.execute("SELECT count(*) FROM units").fetchone()[0]
    except sqlite3.OperationalError:
        return 0


@pytest.fixture
def encode_log(tmp_path, monkeypatch):
    """$CFC_ENCODE_LOG for this test: one line per fresh encode, in this process and its workers (E-4.1)."""
    path = tmp_path / "encodes.log"
    monkeypatch.setenv("CFC_ENCODE_LOG", str(path))
    return lambda: path.read_text().split() if path.exists() else []


def test_run_produces_every_setting(model_files, tmp_path, encode_log):
    config = small_config(model_files, tmp_path / "out")
    rows = rows_of(run(config, progress=False))
    assert [r["setting"] for r in rows] == [s.key for s in settings_of(config)]
    split_rows = [r for r in rows if r["kind"] == "split"]
    assert all(r["images"] == 3 and r["kbpi"] > 0 and r["encoder"].startswith("x265") for r in split_rows)
    lossless = {r["bit_depth"]: r["kbpi"] for r in split_rows if r["split"] == "max_17" and r["quality"] == "lossless"}
    assert lossless[12] > lossless[8]  # more bits per sample cost more
    assert all(r["container_kbpi"] > r["kbpi"] for r in split_rows)  # framing reported apart (W-5.2)
    log = encode_log()
    assert len(log) == len(set(log)) == 3 * (4 * 1 + 4 * 2)  # max_11: 1 tensor, max_17: 2 tensors, 4 settings each
    rerun = rows_of(run(config, progress=False))
    assert rerun == rows and encode_log() == log
    from cfc_ref.experiment.store import RunStore

    with RunStore.open(tmp_path / "out", create=False) as store:
        sweeps = store.sweeps()
    assert [s["encodes"] for s in sweeps] == [len(log), 0] and sweeps[-1]["units"] == 0  # E-10.1


@spec("H-6.2")
def test_pool_executor_gives_the_same_results(model_files, tmp_path):
    serial = rows_of(run(small_config(model_files, tmp_path / "a", images=2), SerialExecutor(), progress=False))
    config = small_config(model_files, tmp_path / "b", images=2, workers=2)
    pooled = rows_of(run(config, LocalPoolExecutor(2), progress=False))
    assert pooled == serial


def test_resume_after_sigkill(model_files, tmp_path, monkeypatch):
    """Killed half-way with SIGKILL, a rerun gives identical results and repeats no encode (E-4.1, E-3.3)."""
    monkeypatch.setenv("CFC_ENCODE_LOG", str(tmp_path / "ref.log"))
    reference = rows_of(run(small_config(model_files, tmp_path / "ref", images=6), progress=False))
    config = small_config(model_files, tmp_path / "out", images=6)
    path = tmp_path / "config.json"
    path.write_text(config.to_json())
    command = [sys.executable, "-m", "cfc_ref.cli", "run", str(path), "--quiet"]
    env = dict(os.environ, CFC_ENCODE_LOG=str(tmp_path / "out.log"))
    process = subprocess.Popen(command, cwd=ROOT, start_new_session=True, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL, env=env)
    stop_when(process, lambda: bool(units_recorded(tmp_path / "out") and (tmp_path / "out.log").exists()
                                    and len((tmp_path / "out.log").read_text().split()) > 30))
    os.killpg(process.pid, signal.SIGKILL)
    process.wait()
    done_before = units_recorded(tmp_path / "out")
    assert 0 < done_before < 6 * len(settings_of(config)), "the kill should land half-way"
    subprocess.run(command, cwd=ROOT, check=True, timeout=600, capture_output=True, env=env)
    assert rows_of(tmp_path / "out" / "results.json") == reference
    log = (tmp_path / "out.log").read_text().split()
    assert len(log) == len(set(log)), "a resumed run encoded something twice"
    assert collections.Counter(log) == collections.Counter((tmp_path / "ref.log").read_text().split())
    assert not (tmp_path / "out" / "cache").exists()  # every pack removed once its units were recorded


@spec("M-5.2")
def test_report_and_table1(model_files, tmp_path):
    path = run(small_config(model_files, tmp_path / "out"), progress=False)
    report = write_report(path, layer_figure=False)
    text = report.path.read_text()
    assert "## Table 1" in text and "| max 11 |" in text and "| max 17 |" in text
    assert (tmp_path / "out" / "fig4_lossless.png").exists() and (tmp_path / "out" / "fig5_lossy.png").exists()
    results = load_results(path)
    cloud = next(r for r in results.rows if r.jpeg)
    kept = [r for r in results.rows if not r.jpeg and not r.lossy]
    rows = list(kept)
    # a synthetic curve where the answer is known: the test costs half the bits
    for i, (kbpi, quality) in enumerate([(100, 0.5), (200, 0.6), (400, 0.7), (800, 0.75)]):
        rows.append(replace(cloud, setting=f"cloud-jpeg{i}", quality=f"jpeg{i}", jpeg_quality=i, kbpi=kbpi,
                            map_voc07=quality))
        for split in ("max_11", "max_17"):
            rows.append(replace(cloud, setting=f"{split}-10bit-qp{50 - i}", kind="split", split=split, bit_depth=10,
                                quality=f"qp{50 - i}", qp=50 - i, jpeg_quality=None, kbpi=kbpi / 2,
                                map_voc07=quality, quantizer="paper"))
    results = replace(results, rows=rows)
    table = table1(results, tmp_path / "out")
    assert [(r.split, r.accounting, r.weights) for r in table] == [
        ("max_11", "deployable", "default"), ("max_11", "deployable", "re-trained"),
        ("max_17", "deployable", "default"), ("max_17", "deployable", "re-trained")]
    for row in table:
        if row.weights == "default":
            reading = row.read("bd_kbpi_percent")
            assert (reading.method, reading.value, reading.caveats) == ("cubic", pytest.approx(-50.0), ())
            assert row.value("pchip", "bd_kbpi_percent") == pytest.approx(-50.0)
        else:
            assert row.status == "not run" and row.bd is None


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


# ------------------------------------------------------------------ issue 15: trustworthy runs (spec/experiment.md)


def _cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "cfc_ref.cli", *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=600)


@spec("E-2.1", "E-2.2")
def test_resume_refuses_other_weights_cfg_layout_dataset_or_codec(model_files, tmp_path):
    from cfc_ref.experiment.fingerprint import RunMismatch

    config = small_config(model_files, tmp_path / "out", images=1, splits=("max_17",), lossless_bit_depths=(8,),
                          qps=(37,), jpeg_qualities=(50,))
    first = rows_of(run(config, progress=False))
    other = tmp_path / "other.weights"
    save_weights(randomize(DarknetModel(embedded_config()), seed=4), other)
    (tmp_path / "other.cfg").write_text((model_files / "m.cfg").read_text() + "\n# a comment\n")
    changes = {"model.weights_sha256": dict(weights=str(other)),
               "model.cfg_sha256": dict(cfg=str(tmp_path / "other.cfg")), "config.layout": dict(layout="quilt"),
               "codec.decoder_policy": dict(decoder="auto"),
               "settings.keys": dict(qps=(32,))}
    for field, change in changes.items():
        with pytest.raises(RunMismatch, match=field.replace(".", r"\.")) as caught:
            run(replace(config, **change), progress=False)
        assert "choose another --output or remove" in str(caught.value)
    image = next((tmp_path / "data" / "JPEGImages").iterdir())
    image.write_bytes(image.read_bytes() + b"\0")
    with pytest.raises(RunMismatch, match=r"image 'test_000000'.*dataset\.images changed"):
        run(config, progress=False)
    image.write_bytes(image.read_bytes()[:-1])
    assert rows_of(run(replace(config, name="renamed", workers=2), progress=False)) == first  # labels only: reused


@spec("E-1.2", "H-7.1")
def test_cloud_only_uploads_of_every_kind(model_files, tmp_path):
    config = small_config(model_files, tmp_path / "out", images=1, splits=("max_11",), lossless_bit_depths=(),
                          lossy_bit_depths=(), jpeg_qualities=(50,), rgb_hevc_qps=(37,))
    rows = {r["setting"]: r for r in rows_of(run(config, progress=False))}
    assert set(rows) == {"cloud-jpeg50", "cloud-hevc-rgb-qp37", "cloud-original"}
    assert rows["cloud-hevc-rgb-qp37"]["qp"] == 37 and rows["cloud-hevc-rgb-qp37"]["encoder"].startswith("hevc-rgb")
    assert all(r["kbpi"] > 0 for r in rows.values())
    assert rows["cloud-original"]["jpeg_quality"] is None and rows["cloud-jpeg50"]["jpeg_quality"] == 50


@spec("E-2.2", "E-9.1")
def test_units_without_a_fingerprint_and_older_run_directories_are_not_trusted(model_files, tmp_path):
    import sqlite3

    from cfc_ref.experiment.fingerprint import RunMismatch
    from cfc_ref.experiment.store import STORE_SCHEMA, STORE_VERSION, StoreError

    config = small_config(model_files, tmp_path / "out", images=1, splits=("max_11",), lossless_bit_depths=(8,),
                          qps=(), jpeg_qualities=())
    run(config, progress=False)
    with sqlite3.connect(tmp_path / "out" / "results.sqlite") as db:
        db.execute("DELETE FROM meta WHERE key = 'fingerprint'")
    with pytest.raises(RunMismatch, match="holds units but no fingerprint"):
        run(config, progress=False)
    (tmp_path / "old" / "units" / "max_17-8bit-lossless").mkdir(parents=True)  # a run of cfc-ref before the store
    (tmp_path / "old" / "units" / "max_17-8bit-lossless" / "test_000000.json").write_text("{}")
    with pytest.raises(StoreError, match="older cfc-ref .*Choose another --output"):
        run(replace(config, output=str(tmp_path / "old")), progress=False)
    (tmp_path / "other" ).mkdir()
    with sqlite3.connect(tmp_path / "other" / "results.sqlite") as db:
        db.execute("PRAGMA user_version = 7")
        db.execute("CREATE TABLE meta (key TEXT, value TEXT)")
    with pytest.raises(StoreError, match=rf"user_version 7; this cfc-ref reads '{STORE_SCHEMA}' \(user_version "
                                         rf"{STORE_VERSION}\)"):
        run(replace(config, output=str(tmp_path / "other")), progress=False)


@spec("E-3.1")
def test_a_second_run_on_the_same_directory_is_refused(model_files, tmp_path):
    from cfc_ref.experiment.fingerprint import RunLocked, run_lock

    config = small_config(model_files, tmp_path / "out", images=1)
    with run_lock(tmp_path / "out"):
        with pytest.raises(RunLocked, match=f"in use by another cfc-ref run \\(pid {os.getpid()}\\)"):
            run(config, progress=False)
        path = tmp_path / "c.json"
        path.write_text(config.to_json())
        result = _cli("run", str(path), "--quiet")
        assert result.returncode == 2 and result.stderr.count("\n") == 1 and "in use" in result.stderr
    assert rows_of(run(config, progress=False))  # the lock went with its holder


@spec("E-3.2")
def test_a_run_rewrites_nothing_shared(model_files, tmp_path):
    config = small_config(model_files, tmp_path / "out", images=2, splits=("max_11",), lossless_bit_depths=(8,),
                          qps=(), lossy_bit_depths=(), jpeg_qualities=())
    run(config, progress=False)
    listing = tmp_path / "data" / "ImageSets" / "Main" / "test.txt"
    before = {p: (p.stat().st_ino, p.stat().st_mtime_ns) for p in (tmp_path / "data").rglob("*") if p.is_file()}
    run(replace(config, output=str(tmp_path / "again")), progress=False)
    after = {p: (p.stat().st_ino, p.stat().st_mtime_ns) for p in (tmp_path / "data").rglob("*") if p.is_file()}
    assert after == before and listing.read_text().split() == ["test_000000", "test_000001"]


@spec("E-3.3", "H-6.1")
def test_a_killed_jobs_pack_serves_the_resumed_job_and_damage_is_encoded_again(model_files, tmp_path, capsys,
                                                                               encode_log):
    """The pack a job leaves when its run is killed before its units are recorded saves those encodes on resume;
    a damaged entry is encoded again and counted; the pack goes once the units are recorded."""
    from cfc_ref.codecs.hevc.batch import PACK_MAGIC
    from cfc_ref.experiment.local_engine import init_worker, release_worker, run_job
    from cfc_ref.experiment.rundir import prepare_dataset

    settings = dict(images=1, splits=("max_17",), lossless_bit_depths=(8,), qps=(37,), jpeg_qualities=())
    reference = rows_of(run(small_config(model_files, tmp_path / "ref", **settings), progress=False))
    config = small_config(model_files, tmp_path / "out", **settings)
    skip = len(encode_log())  # the reference run's
    prepare_dataset(config)
    init_worker(config)
    try:  # a worker finished the job; its run was killed before recording it
        run_job((config, "test_000000", tuple(s for s in settings_of(config) if s.kind == "split")))
    finally:
        release_worker()
    pack = tmp_path / "out" / "cache" / "test_000000.pack"
    first = encode_log()[skip:]
    assert len(first) == 4 and pack.read_bytes().count(PACK_MAGIC) == 4  # 2 settings × (max_17, conv_16)
    data = bytearray(pack.read_bytes())
    data[-5] ^= 0x10  # a flipped bit in the last bitstream
    pack.write_bytes(bytes(data))
    capsys.readouterr()
    assert rows_of(run(config, progress=False)) == reference
    assert "1 damaged cache entries were found and encoded again" in capsys.readouterr().err
    again = encode_log()[skip + len(first):]
    assert len(again) == 1 and again[0] in first  # only the damaged one, encoded again
    assert not pack.exists()


@spec("E-1.1", "W-5.1", "W-5.2")
def test_unit_bits_are_the_container_the_cloud_parsed(model_files, tmp_path, monkeypatch):
    from cfc_ref.experiment import stages as stages_module
    from cfc_ref.experiment.store import RunStore
    from cfc_ref.pipeline import decode_container

    parsed = []

    def spy(data, decoder=None, implementation="fast", decoded=None):
        parsed.append(data)
        return decode_container(data, decoder, implementation, decoded)

    monkeypatch.setattr(stages_module, "decode_container", spy)
    config = small_config(model_files, tmp_path / "out", images=1, jpeg_qualities=(), original_upload=False)
    run(config, SerialExecutor(), progress=False)
    settings = [s for s in settings_of(config) if s.kind == "split"]
    assert len(parsed) == len(settings)
    store = RunStore.open(tmp_path / "out", create=False)
    for setting, data in zip(settings, parsed, strict=True):
        (unit,) = store.units_of(setting.key)
        assert unit.bits.container_bytes == len(data)  # exactly the bytes the cloud side parsed
        cloud = decode_container(data)
        assert unit.bits.kbits == cloud.bits.kilobits and 8 * len(data) == cloud.bits.counted_bits + \
            cloud.bits.overhead_bits
        assert set(cloud.features) == ({"max_11"} if setting.split == "max_11" else {"conv_16", "max_17"})
        assert unit.decoders and "cache" not in unit.decoders[0]
    store.close()


@spec("E-4.1")
def test_results_after_sigkill_are_byte_equal_and_name_the_real_decoder(model_files, tmp_path):
    """The rows and results.csv of a killed-and-resumed run equal an uninterrupted run's, decoders included."""
    reference = run(small_config(model_files, tmp_path / "ref", images=4), progress=False)
    config = small_config(model_files, tmp_path / "out", images=4)
    path = tmp_path / "config.json"
    path.write_text(config.to_json())
    command = [sys.executable, "-m", "cfc_ref.cli", "run", str(path), "--quiet"]
    process = subprocess.Popen(command, cwd=ROOT, start_new_session=True, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
    stop_when(process, lambda: units_recorded(tmp_path / "out") >= 9)
    os.killpg(process.pid, signal.SIGKILL)
    process.wait()
    assert _cli("run", str(path), "--quiet").returncode == 0
    assert (tmp_path / "out" / "results.csv").read_bytes() == (tmp_path / "ref" / "results.csv").read_bytes()
    resumed = rows_of(tmp_path / "out" / "results.json")
    assert resumed == rows_of(reference)
    assert all(r["decoders"] in ("pylibde265", "ffmpeg", "libde265", "hm", "Pillow") for r in resumed)


@spec("E-6.1")
def test_bad_weights_fail_before_any_worker_starts(model_files, tmp_path):
    truncated = tmp_path / "t.weights"
    truncated.write_bytes((model_files / "m.weights").read_bytes()[:1000])
    config = small_config(model_files, tmp_path / "out", images=1)
    path = tmp_path / "c.json"
    path.write_text(config.to_json())
    result = _cli("run", str(path), "--weights", str(truncated), "--cfg", str(model_files / "m.cfg"), "--workers",
                  "2", "--quiet")
    assert result.returncode == 2 and result.stderr.startswith("cfc-ref: error: ") and result.stderr.count("\n") == 1
    assert "Traceback" not in result.stderr and not (tmp_path / "out" / "config.json").exists()


@spec("E-5.1", "E-6.1")
def test_report_on_a_truncated_results_file(model_files, tmp_path):
    path = run(small_config(model_files, tmp_path / "out", images=1), progress=False)
    path.write_bytes(path.read_bytes()[:200])
    result = _cli("report", str(path), "--no-layers")
    assert result.returncode == 2 and "not a readable results.json" in result.stderr
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr


@spec("E-5.1", "E-6.1")
def test_report_refuses_an_map_spread_outside_0_1(model_files, tmp_path):
    """A spread of 1e308 once reached matplotlib's tick code (an internal error, found by the hostile-value fuzz);
    any spread above 1 is impossible for values within [0, 1] and is refused in one line; 0.5 is drawn."""
    path = run(small_config(model_files, tmp_path / "out", images=1), progress=False)
    valid = json.loads(path.read_text())
    for spread, code in ((1e308, 2), (1.5, 2), (0.5, 0)):
        data = json.loads(json.dumps(valid))
        data["rows"][0]["map_voc07_std"] = spread
        edited = tmp_path / f"edited-{spread}" / "results.json"
        edited.parent.mkdir()
        edited.write_text(json.dumps(data))
        result = _cli("report", str(edited), "--no-layers")
        assert result.returncode == code, (spread, result.stderr)
        if code == 2:
            assert "map_voc07_std" in result.stderr and result.stderr.count("\n") == 1


# ------------------------------------------------------------------ issue 14: two accountings (spec E-7)


@spec("E-7.1")
def test_paper_accounting_codes_only_the_split_layer(tmp_path):
    """At YOLOv2-VOC's real geometry, paper accounting counts exactly max_17's 512×13×13 = 86,528 samples."""
    from cfc_ref.detector.cfg import builtin_cfg, with_classes

    cfg = with_classes(builtin_cfg("yolo-voc"), len(CLASSES))
    (tmp_path / "full.cfg").write_text(write_cfg(cfg))
    save_weights(randomize(DarknetModel(cfg), seed=1), tmp_path / "full.weights")
    config = ExperimentConfig(name="geometry", dataset_root=str(tmp_path / "data"), dataset_kind="synthetic",
                              synthetic_test_images=1, classes=CLASSES, model="darknet", cfg=str(tmp_path / "full.cfg"),
                              weights=str(tmp_path / "full.weights"), splits=("max_17",), lossless_bit_depths=(),
                              lossy_bit_depths=(8,), qps=(51,), jpeg_qualities=(), original_upload=False, workers=1,
                              accountings=("deployable", "paper"), output=str(tmp_path / "out"))
    rows = {r["setting"]: r for r in rows_of(run(config, progress=False))}
    paper, deployable = rows["max_17-8bit-qp51-paper"], rows["max_17-8bit-qp51"]
    assert paper["samples"] == 86_528 and paper["accounting"] == "paper" and paper["uncoded"] == "conv_16"
    assert deployable["samples"] == 86_528 + 512 * 26 * 26 and deployable["uncoded"] == ""
    assert paper["kbpi"] < deployable["kbpi"]
    csv_text = (tmp_path / "out" / "results.csv").read_text()
    assert "accounting" in csv_text.splitlines()[0] and ",paper,86528,conv_16" in csv_text


@spec("E-7.1")
def test_paper_accounting_passes_the_other_tensors_as_they_are(model_files, tmp_path, monkeypatch):
    from cfc_ref.experiment import local_engine as runner_module
    from cfc_ref.experiment.config import Setting

    received = []
    real = runner_module.code_unit

    def spy(config, setting, tensors, codec, decoded=None):
        out, coding = real(config, setting, tensors, codec, decoded)
        received.append((setting, tensors, out, coding))
        return out, coding

    monkeypatch.setattr(runner_module, "code_unit", spy)
    config = small_config(model_files, tmp_path / "out", images=1, splits=("max_17",), lossless_bit_depths=(8,),
                          lossy_bit_depths=(), jpeg_qualities=(), original_upload=False,
                          accountings=("deployable", "paper"))
    run(config, SerialExecutor(), progress=False)
    by_accounting = {setting.accounting: (tensors, out, coding) for setting, tensors, out, coding in received}
    tensors, out, coding = by_accounting["paper"]
    assert np.array_equal(out["conv_16"], tensors["conv_16"]) and coding.uncoded == ("conv_16",)  # as computed
    assert not np.array_equal(out["max_17"], tensors["max_17"])  # coded: quantized
    tensors, out, coding = by_accounting["deployable"]
    assert not np.array_equal(out["conv_16"], tensors["conv_16"]) and coding.uncoded == ()
    assert Setting("split", "max_17", 8, accounting="paper").key == "max_17-8bit-lossless-paper"


@spec("E-7.2", "M-6.1", "M-5.5")
def test_report_shows_both_accountings_the_paper_and_fig4_splits(model_files, tmp_path):
    config = small_config(model_files, tmp_path / "out", images=3, lossless_splits=("max_3", "conv_13"),
                          accountings=("deployable", "paper"))
    path = run(config, progress=False)
    rows = {r["setting"]: r for r in rows_of(path)}
    assert {"max_3-8bit-lossless", "conv_13-12bit-lossless", "max_17-10bit-qp27-paper"} <= set(rows)
    assert "max_3-10bit-qp27" not in rows  # lossless-only split points
    assert rows["conv_13-12bit-lossless"]["accounting"] == "both" and "conv_13-12bit-lossless-paper" not in rows
    assert all(r["map_voc07_std"] >= 0 for r in rows.values())
    text = write_report(path, layer_figure=False).path.read_text()
    table = text.split("## Table 1")[1].split("##")[0]
    assert "| max 17 | deployable | default |" in table and "| max 17 | paper (not deployable) | default |" in table
    assert "| -60.30 % |" in table and "| -70.30 % |" in table and "BD-mAP cubic" in table
    assert "not deployable: conv_16 not sent" in text
    assert (tmp_path / "out" / "fig4_lossless.png").read_bytes()[:4] == b"\x89PNG"


def test_accounting_flag_and_checks(model_files, tmp_path, capsys):
    from cfc_ref.cli import main
    from cfc_ref.experiment.protocol import experiment_config

    path = tmp_path / "c.json"
    path.write_text(small_config(model_files, tmp_path / "out").to_json())
    assert experiment_config(str(path), accounting="both")[0].accountings == ("deployable", "paper")
    assert experiment_config(str(path), accounting="paper")[0].accountings == ("paper",)
    bad = json.loads(path.read_text())
    bad["accountings"] = ["paper", "paper"]
    path.write_text(json.dumps(bad))
    assert main(["run", str(path), "--quiet"]) == 2
    assert "accountings must be deployable and/or paper" in capsys.readouterr().err


@spec("E-4.2")
def test_a_failing_unit_fails_alone_and_the_run_says_so(model_files, tmp_path, capsys):
    from cfc_ref.cli import main

    config = small_config(model_files, tmp_path / "out", images=3, splits=("max_11",), lossless_bit_depths=(8,),
                          qps=(), lossy_bit_depths=(), jpeg_qualities=(50,))
    write_dataset(tmp_path / "data", train=0, test=3)
    broken = tmp_path / "data" / "JPEGImages" / "test_000001.jpg"
    broken.write_bytes(broken.read_bytes()[:100])
    path = tmp_path / "c.json"
    path.write_text(config.to_json())
    assert main(["run", str(path), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert "3 units failed" in err and "test_000001" in err and err.count("\n") == 1
    failed = json.loads((tmp_path / "out" / "failed.json").read_text())
    assert {f["unit"] for f in failed} == {"max_11-8bit-lossless/test_000001", "cloud-jpeg50/test_000001",
                                           "cloud-original/test_000001"}
    assert units_recorded(tmp_path / "out") == 6  # the other images' units are kept


@spec("E-8.4")
def test_device_is_checked_and_fingerprinted(model_files, tmp_path):
    import torch

    from cfc_ref.experiment.config import check_config
    from cfc_ref.experiment.fingerprint import fingerprint

    config = small_config(model_files, tmp_path / "out", images=1)
    with pytest.raises(CfcError, match="device must be cpu, cuda or cuda:N"):
        check_config(replace(config, device="gpu"))
    check_config(replace(config, device="cuda:1"))
    if not torch.cuda.is_available():
        with pytest.raises(CfcError, match="no CUDA device here"):
            run(replace(config, device="cuda"), progress=False)
    write_dataset(tmp_path / "data", train=0, test=1)
    files = (model_files / "m.cfg", model_files / "m.weights")
    assert fingerprint(config, files, ["test_000000"])["config"]["device"] == "cpu"


@spec("E-4.2", "E-8.1")
def test_a_ray_coding_chunk_fails_a_setting_alone(monkeypatch):
    """Several settings share one Ray coding task; a CfcError in one setting's coding fails that unit only."""
    from cfc_ref.errors import CodecError
    from cfc_ref.experiment import ray_engine

    coding = object()
    memos = []

    def one_unit(config, setting, front, decoded):
        memos.append(decoded)
        if setting == "broken":
            raise CodecError("stream does not decode")
        return {"max_17": setting}, coding

    monkeypatch.setattr(ray_engine, "code_task", one_unit)
    received, codings = ray_engine.code_many(None, ["a", "broken", "b"], None)
    assert received == [{"max_17": "a"}, None, {"max_17": "b"}]
    assert [c for c, _ in codings] == [coding, "stream does not decode", coding]
    assert all(isinstance(s, dict) for _, s in codings)  # E-15.3: each setting's seconds, a failed one's too
    assert len(memos) == 3 and all(m is memos[0] for m in memos)  # E-1.4: one task's settings share one memo
    with pytest.raises(ValueError):  # anything else is a bug and stops the task (and the sweep)
        monkeypatch.setattr(ray_engine, "code_task", lambda *a: int("x"))
        ray_engine.code_many(None, ["a"], None)


@spec("E-10.5")
def test_the_default_worker_count_is_the_cpus_the_process_may_run_on(monkeypatch):
    """Not the machine's core count: a job under ``taskset -c 0`` (or a container's cpuset of one CPU) would start
    as many workers as the machine has cores on that one CPU."""
    import os

    from cfc_ref import processes
    from cfc_ref.experiment.local_engine import default_workers

    monkeypatch.setattr(os, "cpu_count", lambda: 64)
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {3}, raising=False)
    assert processes.usable_cpus() == 1 and default_workers(ExperimentConfig(name="x", dataset_root="d")) == 1
    assert default_workers(ExperimentConfig(name="x", dataset_root="d", workers=5)) == 5  # asked for: as asked
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0, 1, 2}, raising=False)
    assert default_workers(ExperimentConfig(name="x", dataset_root="d")) == 3
    monkeypatch.delattr(os, "sched_getaffinity")
    assert processes.usable_cpus() == 64  # no affinity mask on this platform: the machine's count
