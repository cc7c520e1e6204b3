"""A run's results in CompressAI-Vision's layouts (issue 33; spec E-15): the files of every curve read back with a
plain CSV reader and checked column by column against the results store, the seconds charged per setting by the
local engine (and the Ray engine's bodies), KMAC/pixel from the layer profile, and ``cfc-ref metrics bd`` reading a
summary.csv as a curve."""

from __future__ import annotations

import csv
import json
import math
import shutil
import sqlite3
from dataclasses import replace
from pathlib import Path

import pytest

from cfc_ref.data.synthetic import CLASSES
from cfc_ref.errors import CfcError
from cfc_ref.experiment.config import ExperimentConfig, settings_of
from cfc_ref.experiment.local_engine import run
from cfc_ref.experiment.store import RunStore, StoreError
from cfc_ref.metrics.curves import curve_names, curve_points, curve_rows, read_curve
from cfc_ref.metrics.results import load_results_csv

from cfc_testing import run_cli

spec = pytest.mark.spec

HEADER = ["Dataset", "qp", "avg_bpp", "end_accuracy", "nn_part_1", "encode", "decode", "nn_part_2", "kbpi", "setting",
          "coding"]
COMPLEXITY_HEADER = ["Metric", "nn_part1", "feature reduction", "feature restoration", "nn_part2"]
STAGES = ("image", "front", "coding", "encode", "decode", "back", "detection", "upload")


def _config(model_files: Path, out: Path, images: int = 3, **changes: object) -> ExperimentConfig:
    config = ExperimentConfig(name="exports", dataset_root=str(out.parent / "data"), dataset_kind="synthetic",
                              synthetic_test_images=images, classes=CLASSES, model="darknet",
                              cfg=str(model_files / "m.cfg"), weights=str(model_files / "m.weights"),
                              lossless_bit_depths=(8,), lossy_bit_depths=(8,), qps=(27, 32, 37, 42),
                              jpeg_qualities=(20, 40, 60, 80), accountings=("deployable", "paper"), workers=1,
                              output=str(out))
    return replace(config, **changes)  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def finished(model_files, tmp_path_factory):
    """A small finished sweep: max 11 (one tensor: accounting both) and max 17 under both accountings, 4 QPs, with
    the paper's and FCM's quantizers (E-14), the cloud-only JPEG curve."""
    out = tmp_path_factory.mktemp("exports") / "out"
    config = _config(model_files, out, quantizers=("paper", "fcm"),
                     fcm_ranges=(("max_11", -8.0, 8.0), ("max_17", -8.0, 8.0), ("conv_16", -8.0, 8.0)))
    run(config, progress=False)
    return out, config


def _read(path: Path) -> list[list[str]]:
    with path.open(newline="", encoding="utf-8") as fh:
        return list(csv.reader(fh))


# ------------------------------------------------------------------ E-15.1, E-15.2, E-15.4: the files


@spec("E-15.1", "E-15.2")
def test_every_curve_has_its_summary_and_every_column_is_the_stores(finished):
    out, config = finished
    with RunStore.open(out, create=False) as store:
        rows = store.results()
        units = store.all_units()
        seconds = store.setting_seconds()
    names = curve_names(rows)
    split_curves = {"max_11-8bit-both", "max_11-8bit-deployable", "max_11-8bit-paper", "max_17-8bit-deployable",
                    "max_17-8bit-paper"}
    assert {"cloud-jpeg", *split_curves, *(f"{n}-fcm" for n in split_curves)} == set(names)  # E-14's curves too
    assert sorted(p.name for p in (out / "compressai-vision").iterdir()) == sorted(names)  # one directory per curve
    for name in names:
        path = out / "compressai-vision" / name / "summary.csv"
        raw = path.read_bytes()
        assert not raw.startswith(b"\xef\xbb\xbf") and b"\r" not in raw and raw.endswith(b"\n")
        table = _read(path)
        assert table[0] == HEADER
        expected = curve_rows(rows, name)
        assert sorted(r[9] for r in table[1:]) == sorted(r.setting for r in expected)  # one row per rate point
        by_setting = {r.setting: r for r in expected}
        order = [s.key for s in settings_of(config)]
        coded = {}
        for line in table[1:]:
            row = by_setting[line[9]]
            mine = [units[row.setting][image] for image in sorted(units[row.setting])]
            total = sum(u.bits.payload_bytes + u.bits.side_info_bytes for u in mine)
            pixels = sum(u.detections.width * u.detections.height for u in mine)
            coded[row.setting] = total
            spent = seconds[row.setting]
            assert line[0] == f"{Path(config.dataset_root).name}/test"
            assert int(line[1]) == (row.jpeg_quality if name == "cloud-jpeg" else row.qp)
            assert float(line[2]) == 8 * total / pixels  # exact: one correctly rounded division
            assert float(line[3]) == row.map_voc07 and float(line[8]) == row.kbpi  # the same binary64
            assert float(line[4]) == spent.get("front", 0.0)
            cloud = row.kind == "cloud"
            assert float(line[5]) == (spent.get("encode", 0.0) + spent.get("upload", 0.0) if cloud
                                      else spent.get("encode", 0.0))
            assert float(line[6]) == spent.get("decode", 0.0)
            assert float(line[7]) == spent["back"] + spent["detection"]
            assert float(line[10]) == spent.get("coding", 0.0)
            assert (float(line[4]) == 0) == cloud and float(line[7]) > 0
            # a paper setting's picture is its deployable twin's, which the bitstream cache holds (H-6.1): no encode
            assert (float(line[5]) > 0) == (row.accounting != "paper"), name
            # a JPEG upload's decoding is inside its upload stage; a paper setting's stream is its deployable
            # twin's, decoded once in the job (E-1.4)
            assert (float(line[6]) > 0) == (not cloud and row.accounting != "paper"), name
        keys = [(coded[line[9]], order.index(line[9])) for line in table[1:]]
        assert keys == sorted(keys)  # by coded bytes, ties in the run's order


@spec("E-15.4", "E-15.1")
def test_complexity_is_the_layer_profiles_convolutions_per_original_pixel(finished, model_files):
    from cfc_ref.detector.cfg import Conv, load_cfg
    from cfc_ref.detector.model import DarknetModel
    from cfc_ref.detector.profile import layer_macs, layer_profile
    from cfc_ref.detector.split import split_index

    out, config = finished
    network = load_cfg(model_files / "m.cfg")
    profile = layer_profile(DarknetModel(network), network.width, network.height, repeats=1)  # Fig. 1's counts
    macs = [r.flops // 2 if isinstance(network.layers[r.index], Conv) else 0 for r in profile]
    assert all(r.flops % 2 == 0 for r in profile if isinstance(network.layers[r.index], Conv))
    assert any(r.flops > 0 and m == 0 for r, m in zip(profile, macs, strict=True))  # max-pools: comparisons only
    assert layer_macs(network) == macs
    with RunStore.open(out, create=False) as store:
        units = [u for per in store.all_units().values() for u in per.values()]
        rows = store.results()
        recorded = json.loads(store.meta("complexity") or "{}")
    images = {u.image: u.detections.width * u.detections.height for u in units}
    n, p = len(images), sum(images.values())
    assert recorded["images"] == n and recorded["pixels"] == p and recorded["network_macs"] == sum(macs)
    assert recorded["input"] == [network.width, network.height]
    for name in curve_names(rows):
        table = _read(out / "compressai-vision" / name / "summary_complexity.csv")
        assert table[0] == COMPLEXITY_HEADER and len(table) == 2 and table[1][0] == "KMAC/pixel"
        front = 0 if name == "cloud-jpeg" else sum(macs[:split_index(network, curve_rows(rows, name)[0].split) + 1])
        values = [float(v) for v in table[1][1:]]
        assert values == [front * n / (1000 * p), 0.0, 0.0, (sum(macs) - front) * n / (1000 * p)]
        if name != "cloud-jpeg":
            split = recorded["splits"][curve_rows(rows, name)[0].split]
            assert (split["front_macs"], split["nn_part1"]) == (front, values[0])
    assert set(recorded["splits"]) == {"max_11", "max_17"}


@spec("E-15.2", "E-15.4")
def test_bits_and_macs_per_pixel_pool_all_images_of_any_size(finished, tmp_path):
    """Images of other sizes (the synthetic set's are all 256×256, where a mean of per-image ratios would agree):
    8·ΣB/ΣP and M·N/(1000·ΣP), never the mean of each image's own ratio."""
    from cfc_ref.detector.detect import ImageDetections
    from cfc_ref.experiment.exports import complexity_of, summary_table
    from cfc_ref.experiment.units import Unit, UnitBits

    _, config = finished
    sizes, sent = [(500, 375), (64, 48), (1024, 768)], [(1200, 8), (90, 8), (5000, 8)]
    with RunStore.open(tmp_path) as store:
        store.record([Unit(f"img{i}", "cloud-jpeg20", UnitBits(payload, side, 0), "jpeg", ("Pillow",),
                           ImageDetections.from_bytes(b"", width, height))
                      for i, ((width, height), (payload, side)) in enumerate(zip(sizes, sent, strict=True))])
        totals = store.unit_totals()
    coded, pixels = sum(p + s for p, s in sent), sum(w * h for w, h in sizes)
    assert totals == {"cloud-jpeg20": (coded, pixels, 3)}
    with RunStore.open(Path(finished[0]), create=False) as store:
        row = next(r for r in store.results() if r.setting == "cloud-jpeg20")
    table = summary_table(config, [row], totals, {})
    mean = sum(8 * (p + s) / (w * h) for (p, s), (w, h) in zip(sent, sizes, strict=True)) / 3
    assert table[1][2] == 8 * coded / pixels and abs(table[1][2] - mean) > 0.1 * mean
    complexity = complexity_of(config, 3, pixels)
    split = complexity["splits"]["max_17"]
    assert split["nn_part1"] == split["front_macs"] * 3 / (1000 * pixels)
    assert complexity["cloud"]["nn_part2"] == complexity["network_macs"] * 3 / (1000 * pixels)


@spec("E-15.1")
def test_the_report_writes_the_layouts_again_and_shows_the_complexity(finished, tmp_path):
    from cfc_ref.experiment.report import write_report

    out, _ = finished
    copy = tmp_path / "run"
    shutil.copytree(out, copy)
    summary = copy / "compressai-vision" / "max_17-8bit-paper" / "summary.csv"
    before = summary.read_bytes()
    summary.unlink()
    with sqlite3.connect(copy / "results.sqlite") as db:
        stored = db.execute("SELECT count(*) FROM setting_seconds").fetchone()[0]
    report = write_report(copy / "results.json", layer_figure=False)
    assert summary.read_bytes() == before  # the same file, from the store
    assert len(report.exports) == 2 * 11 and "for 11 curves" in report.summary
    text = report.path.read_text()
    assert "## Complexity of the split (KMAC per pixel, spec E-15.4)" in text and "| max 17 |" in text
    assert "| cloud-only | 0 |" in text
    with sqlite3.connect(copy / "results.sqlite") as db:  # the report only reads the store
        assert db.execute("SELECT count(*) FROM setting_seconds").fetchone()[0] == stored
    alone = tmp_path / "alone"
    alone.mkdir()
    shutil.copy(copy / "results.json", alone)
    report = write_report(alone / "results.json", layer_figure=False)
    assert report.exports == () and "not written (no results store (results.sqlite) beside the results)" in (
        report.summary)
    assert "Not computed: no results store" in report.path.read_text() and not (alone / "compressai-vision").exists()
    with sqlite3.connect(copy / "results.sqlite") as db:
        db.execute("UPDATE meta SET value = 'cfc-ref-run/2' WHERE key = 'schema'")
        db.execute("PRAGMA user_version = 2")
    report = write_report(copy / "results.json", layer_figure=False)
    assert report.exports == () and "schema 'cfc-ref-run/2'" in report.summary


@spec("E-15.1", "E-9.1")
def test_nothing_is_written_through_a_link_and_the_writer_refuses_the_export_directory(finished, tmp_path, capsys):
    from cfc_ref.experiment.report import write_report

    out, _ = finished
    copy = tmp_path / "run"
    shutil.copytree(out, copy)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    shutil.rmtree(copy / "compressai-vision" / "cloud-jpeg")
    (copy / "compressai-vision" / "cloud-jpeg").symlink_to(elsewhere)
    with pytest.raises(CfcError, match="cloud-jpeg is a symbolic link"):
        write_report(copy / "results.json", layer_figure=False)
    assert not list(elsewhere.iterdir())
    target = copy / "compressai-vision" / "max_17-8bit-paper" / "summary.csv"
    code, err = run_cli(["metrics", "bd", str(target), str(target), "--json", str(target)], capsys)
    assert code == 2 and "compressai-vision directory" in err and err.count("\n") == 1


@spec("E-9.2", "E-9.1")
def test_a_store_of_version_3_is_refused_with_both_versions(finished, tmp_path):
    out, config = finished
    copy = tmp_path / "run"
    shutil.copytree(out, copy)
    with sqlite3.connect(copy / "results.sqlite") as db:  # what cfc-ref before E-15 made
        db.execute("DROP TABLE setting_seconds")
        db.execute("UPDATE meta SET value = 'cfc-ref-run/3' WHERE key = 'schema'")
        db.execute("DELETE FROM meta WHERE key = 'complexity'")
        db.execute("PRAGMA user_version = 3")
    with pytest.raises(StoreError, match=r"schema 'cfc-ref-run/3' \(user_version 3\); this cfc-ref reads "
                                         r"'cfc-ref-run/4' \(user_version 4\)"):
        run(replace(config, output=str(copy)), progress=False)


# ------------------------------------------------------------------ E-15.3: seconds per setting


def _conserved(store: RunStore, sweep: int) -> dict[str, dict[str, float]]:
    """The sweep's charges, checked: per stage their sum is what the sweep's stopwatch measured."""
    charged = store.setting_seconds(sweep)
    timings = store.timings(sweep)
    for name in STAGES:
        total = sum(stages.get(name, 0.0) for stages in charged.values())
        assert total == pytest.approx(timings.get(name, 0.0), rel=1e-9, abs=1e-12), name
    return charged


@spec("E-15.3")
def test_every_second_of_a_sweep_is_charged_once_to_its_settings(finished, tmp_path):
    out, config = finished
    with RunStore.open(out, create=False) as store:
        charged = _conserved(store, store.sweeps()[-1]["id"])
    assert set(charged) == {s.key for s in settings_of(config)}
    for setting in settings_of(config):
        stages = charged[setting.key]
        if setting.kind == "cloud":
            assert "front" not in stages and stages["upload"] > 0 and stages["back"] > 0
        else:
            assert stages["front"] > 0 and stages["coding"] > 0 and stages["back"] > 0
            assert (stages.get("decode", 0) > 0) == (setting.accounting != "paper")  # E-1.4: decoded once
            assert ("encode" in stages) == (setting.accounting != "paper")  # H-6.1: the twin's picture, cached
    # a resumed run: one image's units lost, computed again in a second sweep that charges only them
    copy = tmp_path / "run"
    shutil.copytree(out, copy)
    with sqlite3.connect(copy / "results.sqlite") as db:
        db.execute("DELETE FROM units WHERE image = 'test_000001'")
    run(replace(config, output=str(copy)), progress=False)
    with RunStore.open(copy, create=False) as store:
        first, second = (s["id"] for s in store.sweeps())
        again = _conserved(store, second)
        assert set(again) == set(charged) and store.sweeps()[-1]["units"] == len(charged)
        total = store.setting_seconds()
    for key, stages in total.items():
        for name, value in stages.items():
            assert value == pytest.approx(charged[key].get(name, 0.0) + again[key].get(name, 0.0), rel=1e-12)
    line = next(r for r in _read(copy / "compressai-vision" / "max_17-8bit-paper" / "summary.csv")[1:])
    assert float(line[4]) == total[line[9]]["front"]  # the export sums every sweep's seconds


@spec("E-15.3")
def test_the_ray_engines_bodies_return_the_seconds_they_charge(model_files, finished):
    """The Ray engine's actor and coding task, run as plain functions (the cluster run is tests/distributed)."""
    from cfc_ref.experiment import ray_engine
    from cfc_ref.experiment.config import settings_of as all_settings

    out, config = finished
    holder = ray_engine._ModelHolder((model_files / "m.cfg").read_text(), (model_files / "m.weights").read_bytes(),
                                     config)
    data = (Path(config.dataset_root) / "JPEGImages" / "test_000000.jpg").read_bytes()
    features, shape, front = holder.front(data, "test_000000", "max_17")
    assert set(front) == {"image", "front"} and all(v > 0 for v in front.values())
    settings = [s for s in all_settings(config) if s.split == "max_17"]
    received, codings = ray_engine.code_many(config, settings, (features, shape, front))
    assert all({"coding", "encode"} <= set(s) for _, s in codings)  # no bitstream cache in a Ray task
    # E-1.4: a paper setting's stream is its deployable twin's, decoded once in the task (a lossless one still has
    # its own encode's verifying decode: a Ray task keeps no verifying decode)
    assert all(("decode" in s) == (setting.accounting != "paper" or setting.qp is None)
               for setting, (_, s) in zip(settings, codings, strict=True))
    found, back, passed = holder.back_many_timed("max_17", ray_engine._head_of_body((features, shape, front)),
                                                 len(settings), received)
    assert found == holder.back_many("max_17", shape, len(settings), received)  # the timed call is the same call
    assert len(found) == len(settings) and set(back) == {"back", "detection"} and passed == front
    cloud = [s for s in all_settings(config) if s.kind == "cloud"]
    units, charged = holder.cloud(data, "test_000000", cloud)
    assert [u.setting for u in units] == list(charged) == [s.key for s in cloud]
    assert all({"image", "upload", "back", "detection"} <= set(c) for c in charged.values())


# ------------------------------------------------------------------ E-15.5: a summary.csv as a curve


@spec("E-15.5")
def test_metrics_bd_on_summaries_equals_the_same_curves_of_results_csv(finished, tmp_path, capsys):
    out, _ = finished
    results = out / "results.csv"
    rows = load_results_csv(results)
    for name in curve_names(rows):
        mine = read_curve(out / "compressai-vision" / name / "summary.csv")
        assert mine.unit == "kbpi" and sorted(mine.points) == sorted(curve_points(rows, name))
        assert read_curve(out / "compressai-vision" / name).points == mine.points  # the curve's directory
    for pareto in ([], ["--pareto"]):
        documents = []
        for anchor, test in (
                ([str(results), "--anchor-curve", "cloud-jpeg"], [str(results), "--test-curve", "max_17-8bit-paper"]),
                ([str(out / "compressai-vision" / "cloud-jpeg" / "summary.csv")],
                 [str(out / "compressai-vision" / "max_17-8bit-paper")])):
            target = tmp_path / f"bd{len(documents)}.json"
            code, err = run_cli(["metrics", "bd", anchor[0], test[0], *anchor[1:], *test[1:], *pareto, "--json",
                                 str(target)], capsys)
            assert code in (0, 2), err
            documents.append(target.read_text() if code == 0 else err)
        assert documents[0] == documents[1]  # every number equal, bit for bit


def _summary(path: Path, rows: list[tuple], header: str = "Dataset,qp,avg_bpp,end_accuracy,nn_part_1,encode,decode,"
             "nn_part_2") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(header + "\n" + "".join(",".join(str(v) for v in row) + "\n" for row in rows))
    return path


ANCHOR = [(14.72416, 0.45358288306192646), (16.465, 0.5631622884540679), (20.472559999999998, 0.7216091977392753),
          (33.13244, 0.769074290361438), (46.104, 0.7845533058550206), (80.30796, 0.8051501764399015)]
TEST = [(6.1, 0.40), (9.3, 0.55), (12.8, 0.70), (19.5, 0.76), (30.2, 0.79)]


@spec("E-15.5")
def test_the_rate_unit_does_not_change_bd_and_mixed_units_are_refused(tmp_path, capsys):
    """avg_bpp = kbpi · 1000·N / P on both curves: the same BD numbers to binary64 rounding (not bit for bit)."""
    factor = 1000 * 5 / (5 * 500 * 375)  # five VOC-sized images
    for name, points in (("anchor", ANCHOR), ("test", TEST)):
        _summary(tmp_path / f"{name}-kbpi.csv", [("VOC2007/test", 40 - i, r * factor, q, 0, 0, 0, 0, r, "s", 0)
                                                 for i, (r, q) in enumerate(points)],
                 "Dataset,qp,avg_bpp,end_accuracy,nn_part_1,encode,decode,nn_part_2,kbpi,setting,coding")
        for i, (r, q) in enumerate(points):  # CompressAI-Vision's layout: one run per rate point, accuracy in %
            _summary(tmp_path / name / f"qp{40 - i}" / "evaluation" / "summary.csv",
                     [("mpeg-voc", 40 - i, r * factor, 100 * q, 1.5, 2.5, 0.5, 3.5)])
    documents = {}
    for label, extra in (("kbpi", []), ("avg_bpp", ["--rate", "avg_bpp"])):
        code, err = run_cli(["metrics", "bd", str(tmp_path / "anchor-kbpi.csv"), str(tmp_path / "test-kbpi.csv"),
                             *extra, "--json", str(tmp_path / f"{label}.json")], capsys)
        assert code == 0, err
        documents[label] = json.loads((tmp_path / f"{label}.json").read_text())
    code, err = run_cli(["metrics", "bd", str(tmp_path / "anchor"), str(tmp_path / "test"), "--percent", "both",
                         "--json", str(tmp_path / "theirs.json")], capsys)
    assert code == 0, err
    documents["theirs"] = json.loads((tmp_path / "theirs.json").read_text())
    assert documents["avg_bpp"] != documents["kbpi"]  # computed through other numbers
    for label in ("avg_bpp", "theirs"):
        for method in ("cubic", "pchip", "monotonic"):
            for key in ("bd_kbpi_percent", "bd_map"):
                value, reference = documents[label][method][key], documents["kbpi"][method][key]
                assert reference is not None, (method, key)
                assert value == pytest.approx(reference, rel=1e-9, abs=1e-12), (label, method, key)
    code, err = run_cli(["metrics", "bd", str(tmp_path / "anchor"), str(tmp_path / "test-kbpi.csv"), "--percent",
                         "anchor"], capsys)
    assert code == 2 and "the anchor's rate is avg_bpp (bits per pixel), the test's kbpi" in err
    assert err.count("\n") == 1


@pytest.mark.parametrize("case", ["no column", "not a number", "not finite", "no rows", "two datasets", "percent",
                                  "selector", "complexity", "empty directory", "rate kbpi", "rate avg_bpp",
                                  "percent for kbpi", "short line"])
@spec("E-15.5")
def test_bad_summaries_are_one_line_errors(tmp_path, capsys, case):
    good = [("d", 40 - i, r, q, 0, 0, 0, 0) for i, (r, q) in enumerate(TEST)]
    plain = tmp_path / "plain.csv"
    plain.write_text("".join(f"{r},{q}\n" for r, q in ANCHOR))
    path, extra, expected = tmp_path / "s.csv", [], ""
    if case == "no column":
        _summary(path, [row[:3] for row in good], "Dataset,qp,avg_bpp")
        expected = "not a summary.csv (no column end_accuracy)"
    elif case == "not a number":
        _summary(path, [*good[:2], ("d", 1, "fast", 0.5, 0, 0, 0, 0)])
        expected = "line 4: avg_bpp is not a number: 'fast'"
    elif case == "not finite":
        _summary(path, [*good[:2], ("d", 1, 0.5, "nan", 0, 0, 0, 0)])
        expected = "line 4: end_accuracy is not a finite number"
    elif case == "no rows":
        _summary(path, [])
        expected = "a summary.csv without rows"
    elif case == "two datasets":
        _summary(path, [*good[:2], ("e", *good[2][1:])])
        expected = "rows of several datasets (d, e)"
    elif case == "percent":
        _summary(path, [(*row[:3], 100 * row[3], *row[4:]) for row in good])
        expected = "end_accuracy 40.0 is above 1"
    elif case == "selector":
        _summary(path, good)
        extra, expected = ["--test-curve", "cloud-jpeg"], "a summary.csv is one curve"
    elif case == "complexity":
        _summary(path, [("KMAC/pixel", 1.0, 0.0, 0.0, 2.0)], ",".join(COMPLEXITY_HEADER))
        expected = "a summary_complexity.csv (KMAC/pixel), not a curve"
    elif case == "empty directory":
        path = tmp_path / "nothing"
        path.mkdir()
        expected = "a directory without a summary.csv"
    elif case == "rate kbpi":
        _summary(path, good)
        extra, expected = ["--rate", "kbpi"], "--rate kbpi: this summary.csv has no column kbpi"
    elif case == "rate avg_bpp":
        path, extra, expected = plain, ["--rate", "avg_bpp"], "--rate avg_bpp needs a summary.csv"
    elif case == "percent for kbpi":
        path, extra, expected = plain, ["--percent", "test"], "--percent is for a summary.csv's end_accuracy"
    elif case == "short line":
        path.write_text("Dataset,qp,avg_bpp,end_accuracy\nd,1,0.5\n")
        expected = "line 2 does not have the header's 4 fields"
    code, err = run_cli(["metrics", "bd", str(plain), str(path), *extra], capsys)
    assert code == 2 and expected in err and err.count("\n") == 1 and "Traceback" not in err, err


@spec("E-15.5")
def test_a_foreign_summary_in_percent_reads_with_percent(tmp_path):
    path = _summary(tmp_path / "s.csv", [("d", 40 - i, r, 100 * q, 0, 0, 0, 0) for i, (r, q) in enumerate(TEST)])
    curve = read_curve(path, percent=True)
    assert curve.unit == "avg_bpp" and curve.points == [(r, 100 * q / 100) for r, q in TEST]
    assert all(math.isfinite(r) for r, _ in curve.points)
