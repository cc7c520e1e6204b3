"""The run's results store and the main job's speed-ups (issue 20; spec E-1.1, E-1.3, E-7.3, E-9, E-10, D-8.3)."""

from __future__ import annotations

import json
import sqlite3
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from cfc_ref.data.synthetic import CLASSES, make_sample
from cfc_ref.detector.cfg import builtin_cfg
from cfc_ref.detector.detect import RECORD, ImageDetections, image_detections, voc_detections
from cfc_ref.detector.model import DarknetModel
from cfc_ref.detector.split import split
from cfc_ref.detector.weights import randomize
from cfc_ref.experiment.config import PAPER_FIG4_SPLITS, ExperimentConfig, settings_of
from cfc_ref.experiment.local_engine import run
from cfc_ref.experiment.store import RunStore, StoreError
from cfc_ref.zoo.embedded import load_embedded_model

spec = pytest.mark.spec


def tiny(model_files: Path, out: Path, **changes) -> ExperimentConfig:
    config = ExperimentConfig(name="tiny", dataset_root=str(out.parent / "data"), dataset_kind="synthetic",
                              synthetic_test_images=2, classes=CLASSES, model="darknet",
                              cfg=str(model_files / "m.cfg"), weights=str(model_files / "m.weights"),
                              splits=("max_11", "max_17"), lossless_bit_depths=(8,), lossy_bit_depths=(8,),
                              qps=(37,), jpeg_qualities=(50,), original_upload=False, workers=1, output=str(out))
    return replace(config, **changes)


@spec("E-1.1")
def test_one_pass_gives_every_split_points_front_end():
    from cfc_ref.experiment.stages import front_features, front_features_all

    model = load_embedded_model()
    pixels = make_sample(3, "test").image
    together = front_features_all(model, PAPER_FIG4_SPLITS, pixels)
    for name in PAPER_FIG4_SPLITS:
        alone = front_features(model, name, pixels)
        assert together[name].keys() == alone.keys()
        assert all(np.array_equal(together[name][k], alone[k]) for k in alone), name


@spec("E-1.3")
@pytest.mark.parametrize("split_name", ["max_3", "max_11", "max_17", "conv_24"])
def test_a_back_end_row_depends_on_the_batch_size_only(split_name):
    """A row computed among other rows equals the same row among zeros, at any position (so which settings share
    a batch never matters); the batch function pads to its size."""
    from cfc_ref.experiment.stages import back_detections_batch

    model = load_embedded_model()
    front, back = split(model, split_name)
    x = torch.rand(6, 3, 256, 256, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        features = front(x)
        batch = back(features)
        for row, position in ((0, 5), (3, 0), (5, 2)):
            alone = {k: torch.zeros_like(v) for k, v in features.items()}
            for k in alone:
                alone[k][position] = features[k][row]
            assert torch.equal(back(alone)[position], batch[row])
    received = [{k: v[i].numpy() for k, v in features.items()} for i in range(6)]
    full = back_detections_batch(model, split_name, received, (256, 256, 3), 6)
    some = back_detections_batch(model, split_name, [received[4], None, received[1]], (256, 256, 3), 6)
    assert some[0] == full[4] and some[1] is None and some[2] == full[1]
    with pytest.raises(Exception, match="in a batch of 2"):
        back_detections_batch(model, split_name, received[:3], (256, 256, 3), 2)


@spec("D-8.3")
def test_in_place_inference_changes_no_number():
    """Batch norm and leaky in place and the max-pool without the padded copy: the same numbers as with autograd."""
    for model in (load_embedded_model(), randomize(DarknetModel(builtin_cfg("yolo-voc")), seed=2).eval()):
        x = torch.rand(1, 3, model.config.height, model.config.width, generator=torch.Generator().manual_seed(0))
        with torch.enable_grad():
            reference = model(x).detach()
        with torch.no_grad():
            assert torch.equal(model(x), reference)
    from cfc_ref.detector.cfg import MaxPool
    from cfc_ref.detector.layers import MaxPoolLayer

    for size, stride, height in ((2, 2, 8), (2, 2, 7), (2, 1, 8), (3, 2, 9), (3, 1, 6)):
        layer = MaxPoolLayer(MaxPool(size, stride))
        x = torch.randn(1, 2, height, height, generator=torch.Generator().manual_seed(size * 10 + height))
        padded = torch.nn.functional.max_pool2d(torch.nn.functional.pad(x, layer.padding, value=float("-inf")),
                                                size, stride)
        assert torch.equal(layer(x), padded), (size, stride, height)


def _batch_norm(channels: int, seed: int):  # noqa: ANN202
    from cfc_ref.detector.layers import DarknetBatchNorm

    norm = DarknetBatchNorm(channels).eval()
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for tensor in (norm.rolling_mean, norm.scale, norm.bias):
            tensor.copy_(torch.randn(channels, generator=generator))
        norm.rolling_variance.copy_(torch.rand(channels, generator=generator) * 4)
    return norm


def _batch_norm_reference(norm, x: torch.Tensor) -> torch.Tensor:  # noqa: ANN001
    """D-2.1 written out, every term computed at the call."""
    shape = (1, -1, 1, 1)
    return ((x - norm.rolling_mean.view(shape)) / (norm.rolling_variance.view(shape).sqrt() + 1e-6)
            * norm.scale.view(shape) + norm.bias.view(shape))


@spec("D-8.3")
@settings(max_examples=60, deadline=None)
@given(st.integers(1, 9), st.integers(1, 6), st.integers(0, 2**31 - 1))
def test_batch_norm_with_its_kept_divisor_is_the_formula_bit_for_bit(channels, size, seed):
    norm = _batch_norm(channels, seed)
    x = torch.randn(2, channels, size, size, generator=torch.Generator().manual_seed(seed + 1)) * 3
    expected = _bits(_batch_norm_reference(norm, x))
    with torch.no_grad():
        for _ in range(2):  # the first call computes the divisor, the second reuses it
            assert torch.equal(_bits(norm(x.clone())), expected)


@spec("D-8.3")
def test_batch_norm_computes_its_divisor_again_when_its_tensors_change():
    """New weights (in place, or by load_state_dict) are used at once; teeth: a divisor kept for ever is stale."""
    from cfc_ref.detector.layers import DarknetBatchNorm

    norm, other = _batch_norm(4, 1), _batch_norm(4, 2)
    x = torch.randn(1, 4, 3, 3, generator=torch.Generator().manual_seed(5))
    with torch.no_grad():
        norm(x.clone())
        norm.rolling_variance.mul_(3)
        assert torch.equal(norm(x.clone()), _batch_norm_reference(norm, x))
        norm.load_state_dict(other.state_dict())
        assert torch.equal(norm(x.clone()), _batch_norm_reference(other, x))

    class KeptForEver(DarknetBatchNorm):
        def _inference_terms(self):  # noqa: ANN202
            if self._kept is None:
                self._kept = ((), super()._inference_terms())
            return self._kept[1]

    stale = KeptForEver(4).eval()
    stale.load_state_dict(_batch_norm(4, 1).state_dict())
    with torch.no_grad():
        stale(x.clone())
        stale.rolling_variance.mul_(3)
        assert not torch.equal(stale(x.clone()), _batch_norm_reference(stale, x))


SPECIAL = [0.0, -0.0, 1.0, -1.0, 2.5, float("nan"), float("inf"), float("-inf")]


def _pool_input(draw_values: list[float], rows: int, cols: int) -> torch.Tensor:
    return torch.tensor(draw_values, dtype=torch.float32).reshape(1, 1, rows, cols)


def _bits(x: torch.Tensor) -> torch.Tensor:
    return x.contiguous().view(torch.int32)


@spec("D-8.3")
@settings(max_examples=200, deadline=None)
@given(st.integers(1, 6), st.integers(1, 20), st.data())
def test_2x2_pool_is_the_pooling_bit_for_bit(half_rows, half_cols, data):
    """Signed zeros, NaN, infinities and ties in any window: the strided maxima give max_pool2d's exact bits."""
    from cfc_ref.detector.layers import pool_2x2

    values = data.draw(st.lists(st.sampled_from(SPECIAL) | st.floats(-4, 4, width=32),
                                min_size=4 * half_rows * half_cols, max_size=4 * half_rows * half_cols))
    x = _pool_input(values, 2 * half_rows, 2 * half_cols)
    assert torch.equal(_bits(pool_2x2(x)), _bits(torch.nn.functional.max_pool2d(x, 2, 2)))


@spec("D-8.3")
def test_2x2_pool_without_its_fallback_differs():
    """Teeth: the elementwise maxima alone (no fallback for zero or NaN outputs) do not give the pooling's bits: a
    NaN window gets the maximum's own NaN. (This torch build's maximum happens to keep the first of two equal zeros,
    so the zero fallback guards a tie rule torch does not document rather than one that fails here.)"""
    def maxima_only(x: torch.Tensor) -> torch.Tensor:
        columns = torch.maximum(x[..., 0::2], x[..., 1::2])
        return torch.maximum(columns[..., 0::2, :], columns[..., 1::2, :])

    from cfc_ref.detector.layers import pool_2x2

    x = torch.randn(1, 2, 8, 64, generator=torch.Generator().manual_seed(3))
    x[0, 0, 0, 0::2], x[0, 0, 0, 1::2] = float("nan"), 1.0  # NaN first in every window of the first row
    x[0, 1, 2, 0:64:2], x[0, 1, 2, 1:64:2] = -0.0, 0.0  # −0 first, +0 second: the pooling keeps −0
    x[0, 1, 3, :] = -1.0
    reference = torch.nn.functional.max_pool2d(x, 2, 2)
    assert not torch.equal(_bits(maxima_only(x)), _bits(reference))
    assert torch.equal(_bits(pool_2x2(x)), _bits(reference))


@spec("D-8.3", "E-9.3")
def test_image_detections_equal_the_reference_and_round_trip_through_records():
    model = load_embedded_model()
    with torch.no_grad():
        for index in range(4):
            sample = make_sample(index, "test")
            from cfc_ref.detector.image import network_input

            raw = model(torch.from_numpy(network_input(sample.image, 256, 256))[None])
            found = image_detections(raw, model.region, 300 + index, 200 + index)
            assert found.voc("img", CLASSES) == voc_detections(raw, model.region, "img", 300 + index, 200 + index,
                                                               CLASSES)
            assert len(found.to_bytes()) == RECORD.itemsize * len(found) and len(found) > 0
            back = ImageDetections.from_bytes(found.to_bytes(), found.width, found.height)
            assert back == found and back.voc("img", CLASSES) == found.voc("img", CLASSES)


@spec("E-7.3")
def test_one_crossing_tensor_is_one_setting_for_both_accountings(model_files, tmp_path):
    config = tiny(model_files, tmp_path / "out", accountings=("deployable", "paper"), lossless_splits=("conv_13",))
    keys = [s.key for s in settings_of(config)]
    assert keys == ["max_11-8bit-lossless", "max_11-8bit-qp37", "max_17-8bit-lossless", "max_17-8bit-qp37",
                    "conv_13-8bit-lossless", "max_17-8bit-lossless-paper", "max_17-8bit-qp37-paper",
                    "cloud-jpeg50"]
    assert {s.key: s.accounting for s in settings_of(config)}["conv_13-8bit-lossless"] == "both"
    rows = {r["setting"]: r for r in json.loads(run(config, progress=False).read_text())["rows"]}
    assert rows["max_11-8bit-qp37"]["accounting"] == "both" and rows["max_17-8bit-qp37"]["accounting"] == "deployable"
    from cfc_ref.experiment.aggregate import load_results
    from cfc_ref.experiment.table1 import table1

    rows = table1(load_results(tmp_path / "out" / "results.json"), tmp_path / "out")
    assert [(r.split, r.accounting) for r in rows if r.weights == "default"] == [
        ("max_11", "both"), ("max_17", "deployable"), ("max_17", "paper")]


@spec("E-9.1", "E-9.2", "E-10.1")
def test_the_store_is_plain_sqlite_with_the_normative_tables(model_files, tmp_path):
    config = tiny(model_files, tmp_path / "out")
    run(config, progress=False)
    out = tmp_path / "out"
    assert not (out / "results.sqlite-wal").exists() or (out / "results.sqlite-wal").stat().st_size == 0
    assert not (out / "cache").exists()
    with sqlite3.connect(out / "results.sqlite") as db:  # any SQLite reader
        tables = {row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        assert tables == {"meta", "settings", "images", "blocks", "units", "failures", "results", "sweeps",
                          "timings", "setting_seconds"}
        assert db.execute("PRAGMA user_version").fetchone()[0] == 4
        assert db.execute("SELECT value FROM meta WHERE key = 'schema'").fetchone()[0] == "cfc-ref-run/4"
        assert db.execute("SELECT count(*) FROM units").fetchone()[0] == 2 * len(settings_of(config))
        lossy = db.execute("SELECT setting, kbpi, map_voc07 FROM results WHERE kind = 'split' AND qp IS NOT NULL "
                           "ORDER BY kbpi").fetchall()
        assert [r[0] for r in lossy] == ["max_11-8bit-qp37", "max_17-8bit-qp37"]
        from_units = dict(db.execute("SELECT setting, avg(8.0 * (payload_bytes + side_info_bytes) / 1000) FROM units "
                                     "GROUP BY setting"))
        assert from_units["max_11-8bit-qp37"] == pytest.approx(lossy[0][1], rel=1e-12)
        stages = dict(db.execute("SELECT stage, seconds FROM timings"))
        assert {"encode", "decode", "coding", "front", "back", "detection", "aggregation"} <= set(stages)
        assert all(v >= 0 for v in stages.values())
        (engine, workers, wall, complete) = db.execute("SELECT engine, workers, wall, complete FROM sweeps").fetchone()
        assert engine == "local" and workers == 1 and wall > 0 and complete == 1
    results = json.loads((out / "results.json").read_text())
    assert results["schema"] == "cfc-ref-results/5" and results["timing"]["stages"]["encode"] > 0


@spec("E-9.3", "E-9.4")
def test_a_block_decompresses_to_its_units_records(model_files, tmp_path):
    import lzma

    run(tiny(model_files, tmp_path / "out"), progress=False)
    with RunStore.open(tmp_path / "out", create=False) as store:
        units = store.all_units()
        rows = store.connection.execute("SELECT setting, image, block, first, detections FROM units").fetchall()
        for setting, image, block, first, count in rows:
            (blob,) = store.connection.execute("SELECT records FROM blocks WHERE id = ?", (block,)).fetchone()
            records = lzma.decompress(blob)[first * RECORD.itemsize:(first + count) * RECORD.itemsize]
            assert records == units[setting][image].detections.to_bytes()


@spec("E-9.4")
def test_edited_or_misplaced_units_are_found_and_computed_again(model_files, tmp_path, capsys):
    config = tiny(model_files, tmp_path / "out")
    reference = json.loads(run(config, progress=False).read_text())["rows"]
    db = sqlite3.connect(tmp_path / "out" / "results.sqlite")
    db.execute("UPDATE units SET payload_bytes = payload_bytes + 1 WHERE setting = 'max_11-8bit-qp37' "
               "AND image = 'test_000000'")  # a hand-edited unit
    db.execute("DELETE FROM units WHERE setting = 'max_17-8bit-qp37' AND image = 'test_000001'")
    db.execute("UPDATE units SET setting = 'max_17-8bit-qp37' WHERE setting = 'max_11-8bit-qp37' AND "
               "image = 'test_000001'")  # a unit under another setting's name
    db.commit()
    db.close()
    with RunStore.open(tmp_path / "out", create=False) as store, pytest.raises(StoreError, match="digest"):
        store.all_units()
    capsys.readouterr()
    assert json.loads(run(config, progress=False).read_text())["rows"] == reference
    assert "2 recorded units did not match their digest" in capsys.readouterr().err


@spec("E-10.2", "E-4.1")
def test_a_resumed_sweep_says_how_much_was_finished(model_files, tmp_path, capsys, monkeypatch):
    import sys

    config = tiny(model_files, tmp_path / "out")
    run(config, progress=False)
    db = sqlite3.connect(tmp_path / "out" / "results.sqlite")
    db.execute("DELETE FROM units WHERE image = 'test_000001'")
    db.commit()
    db.close()
    monkeypatch.setattr(sys.stderr, "isatty", lambda: False, raising=False)
    capsys.readouterr()
    run(config, progress=True)
    err = capsys.readouterr().err
    total = 2 * len(settings_of(config))
    assert f"resuming: {total // 2} of {total} units already finished" in err and "aggregating" in err


@spec("E-2.1")
def test_installing_or_removing_a_decoder_does_not_change_the_fingerprint(model_files, tmp_path, monkeypatch):
    """A bit-exact decoder joining or leaving the installation invalidates no result (issue 22)."""
    from cfc_ref.codecs.hevc import decoders, hm, pylibde265
    from cfc_ref.experiment.fingerprint import fingerprint
    from cfc_ref.experiment.models import model_files as files_of

    config = tiny(model_files, tmp_path / "out")
    images = ["test_000000", "test_000001"]
    before = fingerprint(config, files_of(config), images)
    monkeypatch.setattr(decoders, "available_decoders", lambda: ["pylibde265", "hm", "libde265", "ffmpeg", "fast"])
    monkeypatch.setattr(pylibde265, "pylibde265_available", lambda: False)
    monkeypatch.setattr(hm, "hm_decoder", lambda: "/opt/hm/TAppDecoderStatic")
    assert fingerprint(config, files_of(config), images) == before
    assert before["codec"] == {"encoder": before["codec"]["encoder"], "encoder_options": before["codec"][
        "encoder_options"], "decoder_policy": config.decoder}  # the policy, never what is installed


def _job_with_recorded_phases(monkeypatch, config: ExperimentConfig, events: list[tuple], sleep: float = 0.0
                               ) -> None:
    """run_protocol with the embedded re-trained sweeps, recording in ``events`` when each sweep's preparation starts
    and when (and in which thread) each aggregation runs; the first aggregation made to last ``sleep`` s more."""
    import threading
    import time

    import cfc_ref.experiment.aggregate as aggregate_module
    import cfc_ref.experiment.local_engine as local_engine
    from cfc_ref.experiment.protocol import run_protocol

    real_prepared, real_aggregate = local_engine.open_sweep, aggregate_module.aggregate

    def prepared(config, *args, **kwargs):  # noqa: ANN001, ANN002, ANN003, ANN202
        events.append(("prepare", Path(config.output).name, time.perf_counter()))
        return real_prepared(config, *args, **kwargs)

    def aggregate(config, *args, **kwargs):  # noqa: ANN001, ANN002, ANN003, ANN202
        began = time.perf_counter()
        if not any(e[0] == "aggregate" for e in events):
            time.sleep(sleep)
        path = real_aggregate(config, *args, **kwargs)
        events.append(("aggregate", Path(config.output).name, began, time.perf_counter(),
                       threading.current_thread().name))
        return path

    monkeypatch.setattr(local_engine, "open_sweep", prepared)
    monkeypatch.setattr(aggregate_module, "aggregate", aggregate)
    run_protocol(config, with_retrained=True, progress=False)


@spec("E-10.4")
def test_a_job_aggregates_a_sweep_while_its_next_sweep_runs(model_files, tmp_path, monkeypatch):
    """With two workers the first sweep's aggregation (made to last 1.5 s more) runs in its own thread and ends
    after the next sweep has begun; one worker aggregates in sequence; both give the same bytes."""
    two: list[tuple] = []
    _job_with_recorded_phases(monkeypatch, tiny(model_files, tmp_path / "two", workers=2), two, sleep=1.5)
    first_aggregation = next(e for e in two if e[0] == "aggregate" and e[1] == "two")
    second_preparation = next(e for e in two if e[0] == "prepare" and e[1] == "retrained-max_11")
    assert first_aggregation[4].startswith("cfc-ref-aggregation")
    assert second_preparation[2] < first_aggregation[3]  # the next sweep began before the aggregation ended
    assert [e[4] for e in two if e[0] == "aggregate"][1:] == [first_aggregation[4], "MainThread"]  # the last: here
    with RunStore.open(tmp_path / "two", create=False) as store:
        job = json.loads(store.meta("job_timing"))
    assert sum(sweep["wall"] for sweep in job["sweeps"].values()) <= job["wall"]  # the overlap is not counted twice
    one: list[tuple] = []
    _job_with_recorded_phases(monkeypatch, tiny(model_files, tmp_path / "one", workers=1), one)
    assert [e[4] for e in one if e[0] == "aggregate"] == ["MainThread"] * 3
    for name in ("", "retrained-max_11", "retrained-max_17"):  # results.json also holds the config and timings
        assert (tmp_path / "two" / name / "results.csv").read_bytes() == \
            (tmp_path / "one" / name / "results.csv").read_bytes()
        rows = [json.loads((tmp_path / run / name / "results.json").read_text())["rows"] for run in ("two", "one")]
        assert rows[0] == rows[1] and len(rows[0]) > 0


@spec("E-10.4", "E-4.2")
def test_a_sweep_with_failed_units_stops_the_job_before_its_next_sweep(model_files, tmp_path, monkeypatch):
    from cfc_ref.data.synthetic import write_dataset
    from cfc_ref.experiment.rundir import SweepIncomplete

    config = tiny(model_files, tmp_path / "out", workers=2)
    write_dataset(Path(config.dataset_root), train=0, test=2)
    broken = Path(config.dataset_root) / "JPEGImages" / "test_000001.jpg"
    broken.write_bytes(broken.read_bytes()[:100])
    events: list[tuple] = []
    with pytest.raises(SweepIncomplete):
        _job_with_recorded_phases(monkeypatch, config, events)
    assert [e[:2] for e in events] == [("prepare", "out")]  # no aggregation, and the next sweep never began
    assert (tmp_path / "out" / "failed.json").is_file() and not (tmp_path / "out" / "results.json").exists()


@spec("E-9.2", "E-5.1")
def test_the_results_table_is_the_result_row_written_out(tmp_path):
    """The results table's SQL is written out by hand (issue 29); it must stay the ResultRow's fields, in order,
    with their types and nullability — a new field is a failing test, not a store that cannot open."""
    import sqlite3
    from typing import get_type_hints

    from cfc_ref.metrics.results import RESULT_COLUMNS, ResultRow

    (tmp_path / "out").mkdir()
    with RunStore.open(tmp_path / "out"):
        pass
    with sqlite3.connect(tmp_path / "out" / "results.sqlite") as db:
        columns = [(name, kind, bool(not_null)) for _, name, kind, not_null, _, _ in
                   db.execute("PRAGMA table_info(results)")]
    sql_type = {str: ("TEXT", True), int: ("INTEGER", True), float: ("REAL", True)}
    hints = get_type_hints(ResultRow)
    expected = [("position", "INTEGER", False)] + [
        (name, *sql_type.get(hints[name], ("INTEGER", False))) for name in RESULT_COLUMNS]
    assert columns == expected
