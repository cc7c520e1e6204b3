"""The report a researcher can read and script (issue 22): Table 1 with the number to read and its caveats (M-5.6),
table1.csv/json whose every row `cfc-ref metrics bd` reproduces bit for bit (M-5.7, E-11.2), figures with their data
and captions (E-11.1, E-11.3), re-trained sweeps found in the run directory, one --json convention (E-6.3), exit
codes and help (E-6.2), no directory left by a failed run (E-6.4)."""

from __future__ import annotations

import argparse
import csv
import json
import math
import shlex
import shutil
from dataclasses import replace
from pathlib import Path

import pytest

from cfc_ref.cli import build_parser, main
from cfc_ref.errors import CfcError, MetricsError
from cfc_ref.experiment.config import embedded_default
from cfc_ref.metrics.bd import Reading, bd_summary

spec = pytest.mark.spec

# The cloud-only JPEG curve and the re-trained max 17 curve (paper accounting) of the embedded default on this
# machine: measured points, where the least-squares cubic turns back between the points (+652 %) and pchip does not.
ANCHOR = [(14.72416, 0.45358288306192646), (16.465, 0.5631622884540679), (20.472559999999998, 0.7216091977392753),
          (33.13244, 0.769074290361438), (46.104, 0.7845533058550206), (80.30796, 0.8051501764399015),
          (181.32591999999997, 0.8058821449947237), (254.07924, 0.8154055590560935),
          (353.71096, 0.8250829778440163)]
UNSTABLE = [(0.9833, 0.4880), (1.8048, 0.7392), (4.2134, 0.8057), (7.6920, 0.8108), (11.5100, 0.8198)]


def _halved(points, factor=0.5):
    return [(rate * factor, quality) for rate, quality in points]


# ------------------------------------------------------------------ M-5.6: which number to read, and why


@spec("M-5.6")
def test_methods_that_agree_read_the_cubic_without_caveat():
    summary = bd_summary(ANCHOR, _halved(ANCHOR))
    assert summary.cells["cubic"].value("bd_kbpi_percent") == pytest.approx(-50.0)
    assert summary.read("bd_kbpi_percent") == Reading("cubic", summary.cells["cubic"].value("bd_kbpi_percent"), ())


@spec("M-5.6")
def test_an_unstable_cubic_is_named_and_pchip_is_read():
    summary = bd_summary(ANCHOR, UNSTABLE)
    cubic, pchip = (summary.cells[m].value("bd_kbpi_percent") for m in ("cubic", "pchip"))
    assert abs(math.log1p(cubic / 100) - math.log1p(pchip / 100)) > math.log(2)  # the vector probes the rule
    reading = summary.read("bd_kbpi_percent")
    assert reading.method == "pchip" and reading.value == pchip
    assert any("disagree" in c and "read pchip" in c for c in reading.caveats)


def _cells(key: str, cubic, pchip, shares=(1.0, 1.0)) -> dict:
    """Cells for read_bd: a value of ``key`` (or a refusal) per method, the overlap's shares."""
    from cfc_ref.metrics.bd import BdCell, BdMetricResult, BdResult

    def cell(method: str, value: float | None) -> BdCell:
        if value is None:
            return BdCell(method, None, f"{method} refused", None, f"{method} refused")
        if key == "bd_kbpi_percent":
            return BdCell(method, BdResult(value, 0.1, 0.9, *shares, method, math.log1p(value / 100)), None, None,
                          "not asked")
        return BdCell(method, None, "not asked", BdMetricResult(value, 1.0, 9.0, *shares, method), None)

    return {m: cell(m, v) for m, v in (("cubic", cubic), ("pchip", pchip))}


@spec("M-5.6")
def test_the_disagreement_thresholds_are_exactly_a_factor_two_and_two_hundredths():
    from cfc_ref.metrics.bd import read_bd

    twice = (math.exp(math.log(0.5) + math.log(2)) - 1) * 100  # cubic −50 %, pchip 0 %: exactly a factor 2 apart
    assert read_bd(_cells("bd_kbpi_percent", -50.0, twice - 1e-9), "bd_kbpi_percent").method == "cubic"
    assert read_bd(_cells("bd_kbpi_percent", -50.0, twice + 1e-6), "bd_kbpi_percent").method == "pchip"
    assert read_bd(_cells("bd_map", 0.10, 0.1199), "bd_map").method == "cubic"
    assert read_bd(_cells("bd_map", 0.10, 0.1201), "bd_map").method == "pchip"


@spec("M-5.6")
def test_a_poor_overlap_is_named_with_both_shares():
    from cfc_ref.metrics.bd import read_bd

    assert read_bd(_cells("bd_map", 0.1, 0.1, (0.5, 0.2)), "bd_map").caveats == ()  # half the range is enough
    caveats = read_bd(_cells("bd_map", 0.1, 0.1, (0.26, 0.25)), "bd_map").caveats
    assert len(caveats) == 1 and "26 % of the anchor's ln KBPI range (25 % of the test's)" in caveats[0]
    # measured curves: a low-rate curve overlaps about a quarter of the anchor's KBPI range
    far = [(rate / 10, quality) for rate, quality in ANCHOR]
    summary = bd_summary(ANCHOR, far)
    assert summary.cells["pchip"].shares("bd_map")[0] < 0.5
    assert any(c.startswith("poor overlap") for c in summary.read("bd_map").caveats)


@spec("M-5.6")
def test_one_method_or_none():
    from cfc_ref.metrics.bd import read_bd

    only = read_bd(_cells("bd_map", None, 0.2), "bd_map")
    assert only.method == "pchip" and only.value == 0.2 and "cubic: cubic refused" in only.caveats[0]
    assert read_bd(_cells("bd_map", None, None), "bd_map") == Reading(None, None, ("no number: cubic refused",))


# ------------------------------------------------------------------ M-5.7: metrics bd reads what it is given


def _write(path: Path, text: str) -> str:
    path.write_text(text)
    return str(path)


@spec("M-5.7")
def test_a_header_is_read_by_its_names(tmp_path, capsys):
    anchor = _write(tmp_path / "a.csv", "kbpi,map\n" + "".join(f"{r},{q}\n" for r, q in ANCHOR))
    swapped = _write(tmp_path / "t.csv", "# test curve\nmap,kbpi\n" + "".join(f"{q},{r / 2}\n" for r, q in ANCHOR))
    assert main(["metrics", "bd", anchor, swapped, "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["cubic"]["bd_kbpi_percent"] == pytest.approx(-50.0)
    bad = _write(tmp_path / "b.csv", "rate,quality\n1,0.5\n")
    assert main(["metrics", "bd", anchor, bad]) == 2
    assert "must name the columns kbpi and map (or map_voc07); this one has rate, quality" in capsys.readouterr().err


@spec("M-5.7")
def test_results_csv_curves_are_chosen_by_name(tmp_path, capsys):
    from cfc_ref.metrics.curves import read_curve_file

    results = _results_csv(tmp_path)
    with pytest.raises(MetricsError, match=r"is a results\.csv: choose its curve .*cloud-jpeg.*max_17-10bit-paper"):
        read_curve_file(results)
    with pytest.raises(CfcError, match=r"curve 'max_5-10bit-paper' has no rows here; the curves are: cloud-jpeg"):
        read_curve_file(results, "max_5-10bit-paper")
    with pytest.raises(CfcError, match="expected cloud-jpeg, cloud-hevc, or SPLIT-Nbit-ACCOUNTING"):
        read_curve_file(results, "max_17")
    plain = _write(tmp_path / "p.csv", "1,0.5\n2,0.6\n")
    with pytest.raises(MetricsError, match="is for a results.csv"):
        read_curve_file(plain, "cloud-jpeg")
    both = read_curve_file(results, "max_11-10bit-both")
    assert both == read_curve_file(results, "max_11-10bit-paper") == read_curve_file(results,
                                                                                       "max_11-10bit-deployable")
    assert main(["metrics", "bd", results, results, "--anchor-curve", "cloud-jpeg"]) == 2
    assert "choose its curve with --anchor-curve or --test-curve" in capsys.readouterr().err


def _results_csv(tmp_path: Path) -> str:
    """A results.csv of the package's columns with curves of every kind."""
    from cfc_ref.metrics.results import RESULT_COLUMNS

    def row(setting, kind, split, depth, quality, qp, jpeg, kbpi, value, accounting):
        return dict(zip(RESULT_COLUMNS, (setting, kind, split, depth, quality, qp, jpeg, 4, kbpi, 0.0, kbpi, value,
                                         0.0, value, "x265", "pylibde265" if kind == "split" else "", accounting,
                                         100 if kind == "split" else 0, "", "paper" if kind == "split" else "", 0),
                                strict=True))
    rows = [row(f"cloud-jpeg{q}", "cloud", "", 0, f"jpeg{q}", "", q, r, m, "deployable")
            for q, (r, m) in zip((5, 10, 20, 35, 50), ANCHOR, strict=False)]
    for split, accounting in (("max_11", "both"), ("max_17", "deployable"), ("max_17", "paper")):
        suffix = "-paper" if accounting == "paper" else ""
        rows += [row(f"{split}-10bit-qp{qp}{suffix}", "split", split, 10, f"qp{qp}", qp, "", r / 3, m, accounting)
                 for qp, (r, m) in zip((47, 42, 37, 32, 27), ANCHOR, strict=False)]
    path = tmp_path / "results.csv"
    with path.open("w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=RESULT_COLUMNS, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    return str(path)


# ------------------------------------------------------------------ E-11: the report of a real (small) protocol run


@pytest.fixture(scope="module")
def protocol_run(tmp_path_factory):
    """The embedded default's whole protocol on 8 images, the shipped re-trained sweeps included."""
    from cfc_ref.experiment.protocol import run_protocol

    out = tmp_path_factory.mktemp("protocol") / "run"
    config = replace(embedded_default(str(out)), limit=8, synthetic_test_images=8, lossless_splits=("max_3",),
                     lossless_bit_depths=(8, 12), workers=1)
    outcome = run_protocol(config, with_retrained=True, progress=False)
    return out, outcome


@spec("E-11.2", "M-5.7")
def test_every_table1_row_is_reproduced_bit_for_bit_by_metrics_bd(protocol_run, capsys, monkeypatch):
    out, outcome = protocol_run
    document = json.loads((out / "table1.json").read_text())
    assert document["schema"] == "cfc-ref-table1/3" and document["stand_in"] is True
    rows = document["rows"]
    assert {(r["split"], r["accounting"], r["weights"]) for r in rows} == {
        (s, a, w) for s, a in (("max_11", "both"), ("max_17", "deployable"), ("max_17", "paper"))
        for w in ("default", "re-trained")}
    monkeypatch.chdir(out)  # the commands run in the report's directory
    reproduced = 0
    for row in rows:
        command = shlex.split(row["command"])
        assert command[:3] == ["cfc-ref", "metrics", "bd"] and "--pareto" in command
        status = main(command[1:])
        captured = capsys.readouterr()
        if row["bd"] is None:
            assert status == 2 and row["status"].removeprefix("no number: ") in captured.err
            continue
        assert status == 0, captured.err
        assert json.loads(captured.out) == row["bd"]  # every float equal, not approximately
        reproduced += 1
    assert reproduced >= 4
    with (out / "table1.csv").open() as fh:
        table = list(csv.DictReader(fh))
    assert [(r["split"], r["accounting"], r["weights"]) for r in table] == [
        (r["split"], r["accounting"], r["weights"]) for r in rows]
    for line, row in zip(table, rows, strict=True):
        if row["bd"] is not None:
            for column, method, key in (("bd_kbpi_pchip", "pchip", "bd_kbpi_percent"), ("bd_map_cubic", "cubic",
                                                                                        "bd_map")):
                value = row["bd"][method][key]
                assert line[column] == ("" if value is None else repr(value))  # the CSV keeps every digit
            assert line["bd_kbpi_read_method"] == (row["bd"]["read"]["bd_kbpi_percent"]["method"] or "")
        assert line["command"] == row["command"]


@spec("E-15.5", "E-15.1")
def test_every_table1_row_is_reproduced_from_the_compressai_vision_summaries(protocol_run, capsys, monkeypatch):
    """Table 1's commands with each results.csv curve replaced by that curve's exported summary.csv (the main run's
    and the re-trained sweeps'): the same numbers, bit for bit (E-15.5)."""
    out, outcome = protocol_run
    for directory in (out, out / "retrained-max_11", out / "retrained-max_17"):
        assert (directory / "compressai-vision").is_dir()  # every sweep exports its curves (E-15.1)
    assert "CompressAI-Vision layouts (spec E-15): compressai-vision/<curve>/summary.csv" in outcome.summary
    monkeypatch.chdir(out)
    compared = 0
    for row in json.loads((out / "table1.json").read_text())["rows"]:
        if not row["command"]:
            continue
        words = shlex.split(row["command"])
        anchor, test = words[3], words[4]
        anchor_curve, test_curve = words[words.index("--anchor-curve") + 1], words[words.index("--test-curve") + 1]
        summaries = [str(Path(anchor).parent / "compressai-vision" / anchor_curve / "summary.csv"),
                     str(Path(test).parent / "compressai-vision" / test_curve)]  # a file, or the curve's directory
        status = main([*words[1:3], *summaries, "--pareto", "--json"])
        captured = capsys.readouterr()
        assert status == main(words[1:]) and captured == capsys.readouterr(), captured.err  # out and err
        compared += status == 0
    assert compared >= 4


@spec("E-11.1")
def test_the_report_finds_its_retrained_sweeps_and_says_when_there_are_none(protocol_run, tmp_path):
    out, outcome = protocol_run
    assert set(outcome.report.retrained) == {"max_11", "max_17"}
    copy = tmp_path / "copy"
    shutil.copytree(out, copy, ignore=shutil.ignore_patterns("*.png", "retrained-*", ".lock"))
    shutil.copytree(out / "retrained-max_17", copy / "retrained-max_17")
    from cfc_ref.experiment.report import write_report

    report = write_report(copy / "results.json", layer_figure=False)  # found without --retrained
    assert set(report.retrained) == {"max_17"}
    table = {(r.split, r.accounting, r.weights): r for r in report.table}
    assert table[("max_17", "paper", "re-trained")].status != "not run"  # computed (or refused with its reason)
    assert table[("max_11", "both", "re-trained")].status == "not run"
    text = (copy / "report.md").read_text()
    assert "| max 11 | both (one tensor crosses) | re-trained | 8,192 | not run |" in text
    shutil.rmtree(copy / "retrained-max_17")
    report = write_report(copy / "results.json", layer_figure=False)
    assert "re-trained: not run (looked for " in report.summary and "retrained-<split>/results.json" in report.summary
    with pytest.raises(CfcError, match="--retrained max_3: not a lossy split point of this run"):
        write_report(copy / "results.json", layer_figure=False, retrained={"max_3": out / "results.json"})


@spec("E-11.1", "E-11.3")
def test_figures_have_their_data_and_captions(protocol_run):
    out, _ = protocol_run
    text = (out / "report.md").read_text()
    for figure in ("fig1_layers", "fig4_lossless", "fig5_lossy"):
        assert (out / f"{figure}.png").read_bytes()[:4] == b"\x89PNG"
        data = json.loads((out / f"{figure}.json").read_text())
        assert data["figure"] == figure and data["points"] and data["caption"] in text
        with (out / f"{figure}.csv").open() as fh:
            assert len(list(csv.DictReader(fh))) == len(data["points"])
    fig4 = json.loads((out / "fig4_lossless.json").read_text())["points"]
    original = next(p for p in fig4 if p["setting"] == "cloud-original")
    for point in fig4:
        assert point["delta_map_vs_original"] == pytest.approx(point["map_voc07"] - original["map_voc07"], abs=0)
    fig5 = json.loads((out / "fig5_lossy.json").read_text())["points"]
    assert {p["weights"] for p in fig5} == {"default", "re-trained"}
    fig1 = json.loads((out / "fig1_layers.json").read_text())["points"]
    assert fig1[0]["layer"] == "conv_0" and all(p["samples"] > 0 for p in fig1)


@spec("E-11.1", "E-11.2")
def test_the_terminal_gets_a_short_summary_and_the_report_its_caveats(protocol_run):
    out, outcome = protocol_run
    summary = outcome.summary
    assert "|---" not in summary and "## " not in summary and len(summary.splitlines()) < 60
    assert summary.startswith("Table 1 — the BD numbers to read") and "table1.csv" in summary
    text = (out / "report.md").read_text()
    assert "**read**" in text and "What a stand-in can show" in text
    marks = [r for r in outcome.report.table for key in ("bd_kbpi_percent", "bd_map") if r.read(key).caveats]
    if marks:
        assert "Caveats (spec M-5.6):" in text and "Caveats" not in summary.split("Full report")[1]


# ------------------------------------------------------------------ E-6.2, E-6.3: the command line


def _all_parsers(parser: argparse.ArgumentParser, name: str = "cfc-ref"):
    yield name, parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for sub_name, sub in action.choices.items():
                yield from _all_parsers(sub, f"{name} {sub_name}")


@spec("E-6.3")
def test_every_option_has_help_and_its_default(monkeypatch):
    monkeypatch.setenv("COLUMNS", "100000")  # no wrapping: argparse breaks lines at hyphens too ("yolo-\nvoc")
    for name, parser in _all_parsers(build_parser()):
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction) or action.help == argparse.SUPPRESS:
                continue
            assert action.help, f"{name} {'/'.join(action.option_strings) or action.dest} has no help text"
        shown = " ".join(parser.format_help().split())  # the help as printed, on one line
        for action in parser._actions:
            if action.option_strings and action.default not in (None, False, "", [], argparse.SUPPRESS):
                default = " ".join(map(str, action.default)) if isinstance(action.default, list) else action.default
                assert f"(default: {default})" in shown or "default" in (action.help or ""), (name, action.dest)


@spec("E-6.2")
def test_the_top_level_help_names_the_exit_codes_and_the_bare_command(capsys):
    with pytest.raises(SystemExit):
        main(["--help"])
    text = capsys.readouterr().out
    assert "Without a command, cfc-ref runs the main job" in text
    for code in ("0 success", "1 a check found a failure", "2 an error you can fix", "3 an internal error",
                 "130 interrupted"):
        assert code in text
    assert "--json [FILE]" in text


JSON_COMMANDS = ("run", "report", "compare", "metrics map", "metrics bd", "codec check", "conformance",
                 "conformance compare", "layers")


@spec("E-6.3")
def test_every_results_command_takes_the_same_json_option():
    parsers = dict(_all_parsers(build_parser()))
    for command in JSON_COMMANDS:
        option = next(a for a in parsers[f"cfc-ref {command}"]._actions if "--json" in a.option_strings)
        assert (option.nargs, option.const, option.default, option.metavar) == ("?", "-", None, "FILE"), command
    others = [name for name, p in parsers.items() if any("--json" in a.option_strings for a in p._actions)]
    assert sorted(others) == sorted(f"cfc-ref {c}" for c in JSON_COMMANDS)


@spec("E-6.3")
def test_json_alone_is_the_only_thing_on_stdout_and_json_file_adds_to_the_text(protocol_run, tmp_path, capsys,
                                                                              monkeypatch):
    out, _ = protocol_run
    copy = tmp_path / "r"
    shutil.copytree(out, copy, ignore=shutil.ignore_patterns(".lock"))
    zip_path = str(copy / "data" / "synthetic-voc.zip")
    detections = tmp_path / "d.json"
    detections.write_text(json.dumps({"detections": [
        {"image": "test_000000", "class": "disc", "score": 0.9, "box": [1, 1, 20, 20]}]}))
    commands = {
        "report": ["report", str(copy / "results.json"), "--no-layers"],
        "metrics map": ["metrics", "map", zip_path, str(detections)],
        "metrics bd": ["metrics", "bd", str(copy / "results.csv"), str(copy / "results.csv"), "--anchor-curve",
                       "cloud-jpeg", "--test-curve", "max_17-8bit-deployable", "--pareto"],
        "layers": ["layers", "--width", "64", "--height", "64", "--width-factor", "0.125", "--repeats", "1",
                   "--png", ""],
        "codec check": ["codec", "check", str(Path(__file__).parent.parent / "golden" / "x265"), "--no-encode"],
    }
    for name, argv in commands.items():
        main(argv + ["--json"])
        captured = capsys.readouterr()
        document = json.loads(captured.out)  # the whole of stdout is one JSON document
        assert isinstance(document, dict), name
        target = tmp_path / f"{name.replace(' ', '_')}.json"
        main(argv + ["--json", str(target)])
        captured = capsys.readouterr()
        assert json.loads(target.read_text()) == document or name in ("layers", "codec check"), name  # timed
        assert captured.out.strip() and not captured.out.lstrip().startswith("{"), name


@spec("M-3.1")
def test_metrics_map_takes_the_classes_of_the_dataset(protocol_run, tmp_path, capsys):
    out, _ = protocol_run
    detections = tmp_path / "d.json"
    detections.write_text(json.dumps({"detections": [
        {"image": "test_000000", "class": "disc", "score": 0.9, "box": [1, 1, 20, 20]}]}))
    assert main(["metrics", "map", str(out / "data" / "synthetic-voc.zip"), str(detections), "--json"]) == 0
    document = json.loads(capsys.readouterr().out)
    from cfc_ref.data.synthetic import CLASSES

    assert [c["class"] for c in document["classes"]] == list(CLASSES)
    assert document["classes_from"].endswith("synthetic-voc.zip's classes.txt")


# ------------------------------------------------------------------ E-6.4: a failed run leaves nothing behind


@spec("E-6.4")
def test_a_failed_run_leaves_no_directory_or_lock_it_made(tmp_path, capsys):
    target = tmp_path / "a" / "b"
    assert main(["run", "--output", str(target), "--weights", str(tmp_path / "missing.weights")]) == 2
    assert "tools/download_voc.sh" in capsys.readouterr().err
    assert not (tmp_path / "a").exists()
    existing = tmp_path / "existing"
    existing.mkdir()
    assert main(["run", "--output", str(existing), "--weights", str(tmp_path / "missing.weights")]) == 2
    assert existing.is_dir() and list(existing.iterdir()) == []
    (existing / "mine.txt").write_text("kept")
    assert main(["run", "--output", str(existing), "--weights", str(tmp_path / "missing.weights")]) == 2
    assert sorted(p.name for p in existing.iterdir()) == ["mine.txt"]  # as it was


@spec("E-6.1")
def test_a_missing_dataset_points_to_the_download_script(tmp_path, capsys):
    config = tmp_path / "c.json"
    base = json.loads(embedded_default(str(tmp_path / "out")).to_json())
    base.update(dataset_kind="voc", dataset_root=str(tmp_path / "VOCdevkit" / "VOC2007"))
    config.write_text(json.dumps(base))
    assert main(["run", str(config)]) == 2
    err = capsys.readouterr().err
    assert "does not exist: tools/download_voc.sh DIR fetches VOC2007 test" in err and "Traceback" not in err
    assert not (tmp_path / "out").exists()


@spec("E-9.2")
def test_the_readme_store_queries_run(protocol_run):
    """The README's example SQL, run against a real store (so the README cannot drift from the schema)."""
    import re
    import sqlite3

    out, _ = protocol_run
    readme = (Path(__file__).parent.parent / "README.md").read_text()
    queries = re.findall(r'sqlite3 runs/embedded-default/results\.sqlite \\?\s*"([^"]+)"', readme)
    assert len(queries) >= 3
    with sqlite3.connect(f"file:{out / 'results.sqlite'}?mode=ro", uri=True) as db:
        answers = [db.execute(q).fetchall() for q in queries]
    assert answers[0] and all(row[0].startswith("max_17") for row in answers[0])
    assert {stage for stage, _ in answers[1]} >= {"encode", "decode", "front", "back"}
