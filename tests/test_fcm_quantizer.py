"""FCM's quantizer as a named variant beside the paper's (issue 33 item 4; spec Q-7, E-14): the readable reference's
properties, the pipeline and container carrying it, the config's checks, the sweep's settings, curves, Table 1 and
report, and the embedded default's pinned ranges."""

from __future__ import annotations

import csv
import json
import math
import struct
from dataclasses import replace

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from test_experiment import small_config

from cfc_ref import qlayer
from cfc_ref.errors import CfcError, QLayerError
from cfc_ref.experiment.config import config_from_dict, embedded_default, settings_of
from cfc_ref.pipeline import EncodeSettings, decode_container, encode_uplink

from cfc_testing import run_cli

spec = pytest.mark.spec
finite32 = st.floats(-1e6, 1e6, width=32, allow_subnormal=False)


def f32(x: float) -> float:
    return struct.unpack("<f", struct.pack("<f", x))[0]


@st.composite
def ranged_tensors(draw):  # type: ignore[no-untyped-def]
    lo, hi = sorted(draw(st.lists(finite32, min_size=2, max_size=2, unique=True)))
    span = hi - lo
    inside = st.floats(f32(lo - span / 4), f32(hi + span / 4), width=32, allow_nan=False, allow_infinity=False)
    v = draw(arrays(np.float32, st.tuples(st.integers(1, 3), st.integers(1, 4), st.integers(1, 5)), elements=inside))
    return v, lo, hi, draw(st.sampled_from([1, 8, 10, 12, 16]))


@spec("Q-7.2", "Q-7.3", "Q-7.4", "Q-7.5")
@settings(max_examples=150, deadline=None)
@given(ranged_tensors())
def test_fcm_quantizer_bounds_clamps_and_counts(case):
    v, lo, hi, n = case
    side = qlayer.fixed_range(lo, hi)
    q, sent, clipped = qlayer.quantize_fixed(v, side, n)
    levels = 2**n - 1
    assert q.dtype == qlayer.sample_dtype(n) and q.shape == v.shape and int(q.max()) <= levels
    assert sent.to_bytes() == struct.pack("<ff", side.lo, side.hi) and sent.mode == "minmax"
    outside = (v < side.lo) | (v > side.hi)
    assert clipped == int(outside.sum())
    assert (q[v <= side.lo] == 0).all() and (q[v >= side.hi] == levels).all()  # clamped, and v = hi gives L exactly
    v_hat = qlayer.dequantize(q, sent, n)  # the paper's de-quantizer, unchanged
    m, d = max(abs(side.lo), abs(side.hi)), side.hi - side.lo
    slack = 2.0**-24 * m + 2.0**-149
    error = v.astype(np.float64) - v_hat.astype(np.float64)
    inside = ~outside
    assert (error[inside] >= -slack).all() and (error[inside] <= d / levels * (1 + 2.0**-40) + slack).all()
    assert (v_hat[v < side.lo] == np.float32(side.lo)).all()
    flat = np.sort(v.ravel())  # monotone: a larger feature never gets a smaller level
    assert (np.diff(qlayer.quantize_fixed(flat.reshape(1, 1, -1), side, n)[0].ravel().astype(np.int64)) >= 0).all()


@spec("Q-7.2")
def test_fcm_quantizer_floors_where_the_paper_rounds_and_keeps_hi_at_the_top_level():
    side = qlayer.fixed_range(0.0, 255.0)
    v = np.array([[[0.0, 0.49, 0.5, 0.99, 1.0, 254.5, 255.0]]], np.float32)
    assert qlayer.quantize_fixed(v, side, 8)[0].ravel().tolist() == [0, 0, 0, 0, 1, 254, 255]
    assert qlayer.quantize_with(v, side, 8).ravel().tolist() == [0, 0, 1, 1, 1, 255, 255]  # the paper's rounding
    # Q-7.2's order: with Q-3.1's per-tensor scale, v = hi gives t = 254.99999999999997 and a floor of 254
    lo, hi = 0.11916632205247879, 1.58145010471344
    side = qlayer.fixed_range(lo, hi)
    assert math.floor((hi - lo) * (255 / (hi - lo))) == 254
    assert qlayer.quantize_fixed(np.array([[[hi]]], np.float32), side, 8)[0].item() == 255


@spec("Q-7.1")
@pytest.mark.parametrize("lo, hi, why", [(1.0, 1.0, "lo < hi"), (2.0, 1.0, "lo < hi"), (0.1, 0.1 + 1e-12, "lo < hi"),
                                         (0.0, 1e39, "finite"), (-math.inf, 1.0, "finite"), (math.nan, 1.0, "finite"),
                                         (True, 2.0, "two numbers"), ("0", 1.0, "two numbers"),
                                         (10**400, 1.0, "finite")])
def test_a_configured_range_qlayer_refuses(lo, hi, why):
    with pytest.raises(QLayerError, match=why):
        qlayer.fixed_range(lo, hi)


@spec("Q-7.1")
def test_a_configured_range_is_rounded_to_binary32_and_a_negative_zero_sent_as_plus_zero():
    side = qlayer.fixed_range(-0.0, 0.1)
    assert side.to_bytes()[:4] == b"\x00\x00\x00\x00" and side.hi == f32(0.1) != 0.1


@spec("Q-7.4", "E-14.1")
def test_the_fcm_quantizer_travels_in_the_paper_s_container_and_any_decoder_dequantizes_it():
    rng = np.random.default_rng(5)
    features = {"max_17": rng.normal(size=(4, 3, 5)).astype(np.float32),
                "conv_16": rng.normal(size=(2, 6, 6)).astype(np.float32)}
    ranges = (("max_17", -1.5, 1.5), ("conv_16", -2.0, 2.0))
    settings_ = EncodeSettings(bit_depth=10, quantizer="fcm", ranges=ranges)
    uplink = encode_uplink(features, settings_)
    cloud = decode_container(uplink.data)
    for name, lo, hi in ranges:
        side = qlayer.fixed_range(lo, hi)
        q, _, clipped = qlayer.quantize_fixed(features[name], side, 10)
        assert np.array_equal(cloud.features[name], qlayer.dequantize(q, side, 10))
    assert uplink.clipped == sum(int(((v < lo) | (v > hi)).sum()) for (_, lo, hi), v in
                                 zip(ranges, features.values(), strict=True)) > 0
    paper = encode_uplink(features, EncodeSettings(bit_depth=10))
    assert paper.clipped == 0 and paper.data != uplink.data
    with pytest.raises(CfcError, match="no configured range for tensor 'conv_16'"):
        encode_uplink(features, EncodeSettings(bit_depth=10, quantizer="fcm", ranges=ranges[:1]))


@spec("E-14.1")
def test_a_config_asking_for_fcm_names_every_tensor_without_a_range(model_files, tmp_path):
    base = json.loads(small_config(model_files, tmp_path / "out").to_json())
    with pytest.raises(CfcError, match=r"fcm needs fcm_ranges for max_11, conv_16, max_17 \(E-14.1\)"):
        config_from_dict(dict(base, quantizers=["paper", "fcm"]))
    with pytest.raises(CfcError, match="fcm_ranges max_11: a configured range needs lo < hi"):
        config_from_dict(dict(base, quantizers=["fcm"], fcm_ranges={"max_11": [1, 1]}))
    for bad in ({"max_11": [0, "1"]}, {"max_11": [0]}, None, [["max_11", 0]], 3):
        with pytest.raises(CfcError, match="fcm_ranges"):
            config_from_dict(dict(base, fcm_ranges=bad))
    for bad in (["paper", "paper"], ["round"], []):
        with pytest.raises(CfcError, match="quantizers must be distinct names of paper, fcm"):
            config_from_dict(dict(base, quantizers=bad))
    ok = config_from_dict(dict(base, quantizers=["paper", "fcm"], fcm_ranges={"max_11": [-1, 9], "conv_16": [-1, 9],
                                                                                "max_17": [-1, 9]}))
    assert ok.fcm_ranges == (("max_11", -1.0, 9.0), ("conv_16", -1.0, 9.0), ("max_17", -1.0, 9.0))
    assert config_from_dict(json.loads(ok.to_json())) == ok  # config.json reads back


@spec("E-14.1")
def test_fcm_settings_follow_their_paper_twins_and_lossless_only_splits_stay_paper():
    config = replace(embedded_default("/tmp/x"), quantizers=("paper", "fcm"))
    keys = [s.key for s in settings_of(config)]
    paper = [s for s in settings_of(config) if s.kind == "split" and s.split in config.splits and
             s.quantizer == "paper"]
    fcm = [s for s in settings_of(config) if s.quantizer == "fcm"]
    assert [s.key + "-fcm" for s in paper] == [s.key for s in fcm] and "max_17-8bit-qp32-paper-fcm" in keys
    assert not any(s.quantizer == "fcm" for s in settings_of(config) if s.split not in config.splits)
    assert all(s.quantizer == "" for s in settings_of(config) if s.kind == "cloud")
    assert [s.key for s in settings_of(embedded_default("/tmp/x"))] == [k for k in keys if not k.endswith("-fcm")]


@pytest.fixture(scope="module")
def fcm_run(model_files, tmp_path_factory):
    """A small sweep with both quantizers and its report (ranges tight enough that some samples clip)."""
    from cfc_ref.experiment.local_engine import run
    from cfc_ref.experiment.report import write_report

    out = tmp_path_factory.mktemp("fcm") / "out"
    ranges = (("max_11", -0.5, 5.0), ("conv_16", -0.5, 5.0), ("max_17", -0.5, 5.0))
    config = small_config(model_files, out, images=6, quantizers=("paper", "fcm"), fcm_ranges=ranges, model="embedded",
                          cfg="", weights="", jpeg_qualities=(5, 10, 20, 50, 90), qps=(22, 32, 37, 42, 45, 47, 49, 51),
                          lossy_bit_depths=(8,))
    path = run(config, progress=False)
    write_report(path, layer_figure=False)
    return config, out


@spec("E-14.1", "E-14.2", "E-5.1")
def test_a_sweep_with_both_quantizers_records_each_and_its_clipping(fcm_run):
    import sqlite3

    config, out = fcm_run
    with open(out / "results.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    by_key = {r["setting"]: r for r in rows}
    assert [r["setting"] for r in rows] == [s.key for s in settings_of(config)]
    for row in rows:
        twin = by_key.get(row["setting"].removesuffix("-fcm")) if row["quantizer"] == "fcm" else None
        if row["kind"] == "cloud":
            assert row["quantizer"] == "" and row["clipped"] == "0"
        elif twin is None:
            assert row["quantizer"] == "paper" and row["clipped"] == "0"
        else:
            assert int(row["clipped"]) > 0 and row["samples"] == twin["samples"] and row["kbpi"] != twin["kbpi"]
    with sqlite3.connect(out / "results.sqlite") as db:
        units = dict(db.execute("SELECT setting, sum(clipped) FROM units GROUP BY setting").fetchall())
        stored = dict(db.execute("SELECT key, quantizer FROM settings").fetchall())
    assert all(units[r["setting"]] == int(r["clipped"]) for r in rows)
    assert all(stored[r["setting"]] == r["quantizer"] for r in rows)


@spec("E-14.2", "E-14.3", "M-5.7")
def test_table1_fig5_and_the_report_show_both_quantizers(fcm_run, capsys):
    config, out = fcm_run
    table = json.loads((out / "table1.json").read_text())
    assert table["schema"] == "cfc-ref-table1/3"
    quantizers = [(r["quantizer"], r["weights"], r["test_curve"]) for r in table["rows"] if r["weights"] == "default"]
    assert quantizers == [("paper", "default", "max_11-8bit-deployable"), ("paper", "default",
                                                                            "max_17-8bit-deployable"),
                          ("fcm", "default", "max_11-8bit-deployable-fcm"),
                          ("fcm", "default", "max_17-8bit-deployable-fcm")]
    fcm_rows = [row for row in table["rows"] if row["quantizer"] == "fcm" and row["bd"] is not None]
    assert fcm_rows
    for row in fcm_rows:  # the fcm rows reproduce through metrics bd like the paper's (M-5.7)
        from cfc_ref.cli import main

        capsys.readouterr()
        code = main(["metrics", "bd", str(out / "results.csv"), str(out / "results.csv"), "--anchor-curve",
                     "cloud-jpeg", "--test-curve", row["test_curve"], "--pareto", "--json"])
        assert code == 0 and json.loads(capsys.readouterr().out) == row["bd"]
    fig5 = json.loads((out / "fig5_lossy.json").read_text())["points"]
    assert {p.get("quantizer") for p in fig5 if p["accounting"] != "cloud"} == {"paper", "fcm"}
    report = (out / "report.md").read_text()
    assert "## The two quantizers (spec E-14)" in report and "| Quantizer |" in report
    assert "| max_17-8bit-deployable-fcm | default | " in report


@spec("E-5.1")
def test_results_files_from_before_the_quantizers_are_read_as_paper_rows(fcm_run, tmp_path):
    from cfc_ref.experiment.aggregate import load_results
    from cfc_ref.metrics.results import COLUMNS_BEFORE_QUANTIZERS, load_results_csv

    _, out = fcm_run
    with open(out / "results.csv", newline="") as fh:
        rows = [r for r in csv.DictReader(fh) if r["quantizer"] != "fcm"]
    old = tmp_path / "results.csv"
    with open(old, "w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=COLUMNS_BEFORE_QUANTIZERS, extrasaction="ignore", lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    read = load_results_csv(old)
    assert [(r.setting, r.quantizer, r.clipped) for r in read] == [
        (r["setting"], "paper" if r["kind"] == "split" else "", 0) for r in rows]
    document = json.loads((out / "results.json").read_text())
    document["schema"] = "cfc-ref-results/4"
    document["rows"] = [{k: v for k, v in r.items() if k not in ("quantizer", "clipped")} for r in document["rows"]
                        if r["quantizer"] != "fcm"]
    (tmp_path / "results.json").write_text(json.dumps(document))
    assert [r.quantizer for r in load_results(tmp_path / "results.json").rows] == [
        "paper" if r["kind"] == "split" else "" for r in document["rows"]]


@spec("E-14.3")
def test_the_embedded_default_s_pinned_ranges_are_what_the_tool_computes():
    from cfc_ref.experiment.fcm_ranges import dataset_ranges
    from cfc_ref.zoo import embedded_fcm_ranges

    pinned = embedded_fcm_ranges()
    assert pinned == embedded_default("/tmp/x").fcm_ranges and [name for name, _, _ in pinned] == [
        "max_11", "conv_16", "max_17"]
    assert {name: (lo, hi) for name, lo, hi in pinned} == dataset_ranges(embedded_default("/tmp/x"))
    assert all(f32(lo) == lo and f32(hi) == hi for _, lo, hi in pinned)


@spec("E-14.1")
def test_the_cli_takes_quantizers_and_refuses_others_in_one_line(capsys, tmp_path):
    code, err = run_cli(["run", "--quantizers", "paper,round", "--output", str(tmp_path / "x")], capsys)
    assert code == 2 and "expected paper, fcm or paper,fcm" in err and err.count("\n") == 1


def _drawn(monkeypatch, draw):  # type: ignore[no-untyped-def]
    """The matplotlib figure a figure function draws (kept from its save)."""
    import cfc_ref.experiment.figures as figures

    kept = []
    monkeypatch.setattr(figures, "save_figure", lambda fig, path: kept.append(fig))
    draw(figures)
    return kept[0]


@spec("E-11.3")
def test_fig4_puts_the_difference_first_with_the_spread_as_a_band_over_one_kbpi_range(fcm_run, monkeypatch, tmp_path):
    """Issue 32 item 8: the main panel is mAP minus the uncompressed model's with its bootstrap spread as a band, the
    uncompressed star is black (a colour no split point has), and every panel spans the same KBPI."""
    from matplotlib.colors import to_rgba
    from matplotlib.patches import Polygon, Rectangle

    from cfc_ref.experiment.aggregate import load_results

    _, out = fcm_run
    results = load_results(out / "results.json")
    fig = _drawn(monkeypatch, lambda f: f.fig4(results, tmp_path / "fig4.png"))
    axes = fig.axes
    assert len({ax.get_xlim() for ax in axes}) == 1
    main, absolute = axes[0], axes[len(axes) // 2]  # first column: the difference above the mAP itself
    assert main.get_ylabel() == "mAP − uncompressed model's" and absolute.get_ylabel().startswith("mAP (VOC07")
    spread = next(r for r in results.rows if r.setting == "cloud-original").map_voc07_std
    bands = [p for p in main.patches if isinstance(p, (Polygon, Rectangle)) and to_rgba(p.get_facecolor()) ==
             to_rgba("0.85")]
    (band,) = bands
    corners = band.get_patch_transform().transform([(0, 0), (1, 1)])  # axhspan: x in axes units, y in data units
    assert tuple(corners[:, 1]) == pytest.approx((-spread, spread))
    stars = [line for ax in axes for line in ax.get_lines() if line.get_marker() == "*"]
    assert stars and all(to_rgba(s.get_color()) == to_rgba("black") for s in stars)
    split_colours = {to_rgba(line.get_color()) for ax in axes for line in ax.get_lines()
                     if line.get_marker() in ("o", "s", "^", "D")}  # the points of each split point
    assert to_rgba("black") not in split_colours
    assert not any(line.get_label().endswith("-fcm") for line in main.get_lines())  # the paper's quantizer only


@spec("E-11.3", "E-14.3")
def test_fig5_draws_each_weight_and_quantizer_in_its_own_line_style(fcm_run, monkeypatch, tmp_path):
    from cfc_ref.experiment.aggregate import load_results

    _, out = fcm_run
    results = load_results(out / "results.json")
    fig = _drawn(monkeypatch, lambda f: f.fig5(results, tmp_path / "fig5.png", {"max_11": results}))
    styles = {}
    for line in fig.axes[0].get_lines():
        label = line.get_label()
        if label.startswith(("max 11", "max 17")):
            styles.setdefault(label.split(",")[0], {})[label.split(", ", 1)[1].rsplit(", 8-bit", 1)[0]] = (
                line.get_linestyle())
    assert styles["max 11"] == {"default weights": "-", "re-trained weights": "--",
                                "default weights, FCM quantizer": ":", "re-trained weights, FCM quantizer": "-."}
