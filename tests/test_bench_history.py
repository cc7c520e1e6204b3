"""Benchmark history (spec C-3.2): saved per machine, compared with the machine's last run, plotted."""

from __future__ import annotations

import subprocess
import sys
from datetime import datetime, timezone

import pytest

from cfc_ref.benchhistory import compare, load_runs, machine_key, plot, save_run

from cfc_testing import ROOT

spec = pytest.mark.spec
MACHINE = {"cpu": "Test CPU @ 1GHz", "cores": 2, "gpu": "", "machine": "x86_64", "python": "3.11"}


def ratios(**values: float) -> dict:
    return {name: {"seconds": v * 1e-3, "ratio": v} for name, v in values.items()}


def history(tmp_path, *runs: dict):
    for hour, run in enumerate(runs):
        save_run(run, tmp_path, MACHINE, datetime(2026, 11, 25, hour, tzinfo=timezone.utc))
    return tmp_path


@spec("C-3.2")
def test_runs_are_saved_per_machine_and_compared(tmp_path):
    history(tmp_path, ratios(a=2.0, b=10.0, c=3.0), ratios(a=2.1, b=11.5, d=1.0))
    key = machine_key(MACHINE)
    assert key == "test-cpu-1ghz-2cpu-nogpu" and len(list((tmp_path / key).glob("*.json"))) == 2
    runs = load_runs(tmp_path, key)
    assert runs[0]["machine"] == MACHINE and runs[1]["when"] > runs[0]["when"]
    changes, worse = compare(runs[0], runs[1])
    assert {c.name for c in changes} == {"a", "b"}  # only ratios both runs have
    assert [c.name for c in worse] == ["b"] and worse[0].change == pytest.approx(0.15)


@spec("C-3.2")
def test_the_tool_exits_non_zero_on_a_regression_and_plots(tmp_path):
    tool = [sys.executable, str(ROOT / "tools" / "bench_history.py")]
    key = machine_key(MACHINE)
    history(tmp_path, ratios(a=2.0), ratios(a=2.1))
    ok = subprocess.run([*tool, "compare", "--history", str(tmp_path), "--machine", key], capture_output=True,
                        text=True)
    assert ok.returncode == 0 and "0 of 1 ratios worse" in ok.stdout
    history(tmp_path / "bad", ratios(a=2.0), ratios(a=2.5))
    bad = subprocess.run([*tool, "compare", "--history", str(tmp_path / "bad"), "--machine", key],
                         capture_output=True, text=True)
    assert bad.returncode == 1 and "WORSE" in bad.stdout and "+25.0 %" in bad.stdout
    png = plot(load_runs(tmp_path, key), tmp_path / "h.png", "test")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    first = subprocess.run([*tool, "compare", "--history", str(tmp_path / "none"), "--machine", key],
                           capture_output=True, text=True)
    assert first.returncode == 0 and "nothing to compare yet" in first.stdout


@spec("C-3.2")
def test_a_damaged_record_is_a_named_error(tmp_path):
    from cfc_ref.errors import CfcError

    (tmp_path / "m").mkdir()
    (tmp_path / "m" / "x.json").write_text("{")
    with pytest.raises(CfcError, match="not a benchmark record"):
        load_runs(tmp_path, "m")
