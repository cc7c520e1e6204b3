"""Benchmark history (spec C-3.2, C-3.3): saved per machine with each row's noise, compared so that a busy machine
does not raise an alarm and a real slowdown does, plotted. No time is measured here: the compare is fed histories,
synthetic ones and real runs of ``tox -e bench`` recorded on this project's 2-core VM with the other core busy."""

from __future__ import annotations

import copy
import json
import math
import subprocess
import sys
from datetime import datetime, timezone

import pytest

from cfc_ref.benchhistory import (
    COUNT_TOLERANCE,
    TIME_FLOOR,
    compare,
    group_rows,
    last_pair,
    load_runs,
    machine_key,
    median_noise,
    plot,
    report,
    save_run,
)

from cfc_testing import ROOT

spec = pytest.mark.spec
MACHINE = {"cpu": "Test CPU @ 1GHz", "cores": 2, "gpu": "", "machine": "x86_64", "python": "3.11"}
FIXTURES = ROOT / "tests" / "bench" / "fixtures"
TOOL = [sys.executable, str(ROOT / "tools" / "bench_history.py")]
sys.path.insert(0, str(ROOT / "tests" / "bench"))


def row(ratio: float, noise: float = 0.02, instructions: float | None = None, **extra) -> dict:
    out = {"seconds": ratio * 1e-3, "ratio": ratio, "noise": noise, "rounds": 9, "clock": "cpu", **extra}
    if instructions is not None:
        out["instructions"] = instructions
    return out


def history(tmp_path, *runs: dict):
    for hour, ratios in enumerate(runs):
        save_run(ratios, tmp_path, MACHINE, datetime(2026, 11, 25, hour, tzinfo=timezone.utc))
    return load_runs(tmp_path, machine_key(MACHINE))


def run_tool(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([*TOOL, *args], capture_output=True, text=True)


@spec("C-3.2")
def test_runs_are_saved_per_machine_with_their_noise(tmp_path):
    runs = history(tmp_path, {"a": row(2.0), "b": row(10.0)}, {"a": row(2.1), "c": row(1.0)})
    key = machine_key(MACHINE)
    assert key == "test-cpu-1ghz-2cpu-nogpu" and len(list((tmp_path / key).glob("*.json"))) == 2
    assert runs[0]["machine"] == MACHINE and runs[1]["when"] > runs[0]["when"]
    assert runs[0]["format"] == 2 and runs[0]["suite"] == "bench" and runs[0]["ratios"]["a"]["noise"] == 0.02
    comparison = compare(runs[0], runs[1])
    assert [(c.name, c.metric) for c in comparison.changes] == [("a", "time")]  # only rows both runs have


@spec("C-3.2")
def test_a_rows_noise_comes_from_its_interleaved_rounds_and_the_a_a_pair():
    base = [1.0, 1.1, 0.9, 1.05, 0.95, 1.0, 1.02, 0.98, 1.0]  # a load that drifts: every path alike
    seconds = {"baseline": base, "baseline (A/A)": [b * 1.01 for b in base], "x": [2 * b for b in base],
               "jittery": [2 * b * f for b, f in zip(base, [1, 1.3, 0.8, 1.1, 0.9, 1.2, 1, 0.85, 1.05], strict=True)]}
    rows = group_rows(seconds, "baseline", "baseline (A/A)")
    assert rows["x"]["ratio"] == pytest.approx(2.0)  # the drift cancels round by round
    assert rows["x"]["noise"] == pytest.approx(math.log(1.01))  # no scatter of its own: the A/A bias alone
    assert rows["jittery"]["noise"] > 0.1 and rows["jittery"]["ratio"] == pytest.approx(2 * 1.0, rel=0.06)
    assert rows["baseline"]["ratio"] == 1.0 and rows["baseline"]["noise"] == rows["baseline (A/A)"]["noise"]
    assert median_noise([1.0, 1.0]) == math.inf  # too few rounds to know: never flagged
    with pytest.raises(ValueError):
        group_rows({"baseline": [1.0, 1.0], "baseline (A/A)": [1.0]}, "baseline", "baseline (A/A)")


@spec("C-3.2", "C-3.3")
def test_only_a_move_beyond_the_rows_noise_is_flagged(tmp_path):
    before = {"steady": row(1.50, 0.01, 1e6), "noisy": row(1.50, 0.15), "small move": row(1.50, 0.001)}
    after = {"steady": row(1.50 * 1.2, 0.01, 1e6 * 1.2), "noisy": row(1.50 * 1.2, 0.15),
             "small move": row(1.50 * 1.04, 0.001)}
    comparison = compare(*history(tmp_path, before, after))
    flagged = {(c.name, c.metric) for c in comparison.flagged}
    # +20 % beyond a 1 % noise and beyond 2 % more instructions: flagged twice; +20 % inside a 15 %+15 % noise: not;
    # +4 %: beyond its noise, but under the floor that stands for what one run cannot see (C-3.2)
    assert flagged == {("steady", "time"), ("steady", "instructions")}
    noisy = next(c for c in comparison.changes if c.name == "noisy")
    assert noisy.band == pytest.approx(math.expm1(math.hypot(0.15, 0.15))) and not noisy.flagged
    small = next(c for c in comparison.changes if c.name == "small move")
    assert small.band == TIME_FLOOR and not small.flagged
    own_floor = compare({"ratios": {"net": row(1.0, 0.01, floor=0.25), "net2": row(1.0, 0.01, floor=0.25)}, "when": ""},
                        {"ratios": {"net": row(1.2, 0.01, floor=0.25), "net2": row(1.3, 0.01, floor=0.25)}, "when": ""})
    assert [c.name for c in own_floor.flagged] == ["net2"]  # a row's own, higher floor (the network rows: 25 %)
    counts = compare({"ratios": {"n": row(1, instructions=1e6)}, "when": ""},
                     {"ratios": {"n": row(1, instructions=1e6 * (1 + COUNT_TOLERANCE / 2))}, "when": ""})
    assert not counts.flagged  # a count moves only by the code's own change: 1 % is no alarm, 3 % is
    assert compare({"ratios": {"n": row(1, instructions=1e6)}, "when": ""},
                   {"ratios": {"n": row(1, instructions=1.03e6)}, "when": ""}).flagged


@spec("C-3.2")
def test_rows_without_noise_and_parallel_rows_at_other_loads_are_not_compared(tmp_path):
    legacy = {"old": {"seconds": 1.0, "ratio": 1.0}, "pool": row(0.55, 0.02, parallel=True, load=0.0)}
    latest = {"old": row(5.0), "pool": row(1.0, 0.02, parallel=True, load=1.0)}
    comparison = compare(*history(tmp_path, legacy, latest))
    assert not comparison.changes and not comparison.flagged
    assert "no noise" in comparison.skipped["old"] and "other load differed" in comparison.skipped["pool"]
    same_load = compare(*history(tmp_path / "b", {"pool": row(0.55, 0.02, parallel=True, load=1.0)},
                                 {"pool": row(1.0, 0.02, parallel=True, load=1.1)}))
    assert [c.name for c in same_load.flagged] == ["pool"]


@spec("C-3.2")
def test_the_latest_run_is_compared_with_the_previous_run_of_its_suite(tmp_path):
    runs = history(tmp_path, {"a": row(1.0)}, {"a": row(9.0)})
    gpu = {"machine": MACHINE, "when": "2026-11-25T05:00:00", "steps": {}, "ratios": {"a": {"ratio": 1.0}}}
    (tmp_path / machine_key(MACHINE) / "20261125T050000Z-gpu-bench.json").write_text(json.dumps(gpu))
    runs = load_runs(tmp_path, machine_key(MACHINE))
    assert last_pair(runs) is None  # the gpu-bench record has no earlier gpu-bench record
    assert last_pair(runs[:2]) == (runs[0], runs[1]) and last_pair(runs[:1]) is None


def _fixture(name: str) -> dict:
    return json.loads((FIXTURES / name).read_text())


LOADED = ("run-a-other-core-busy.json", "run-b-other-core-busy.json")


@spec("C-3.2", "C-3.3")
def test_two_real_runs_of_unchanged_code_on_a_busy_machine_pass():
    """Two ``tox -e bench`` runs of one commit on this project's 2-core VM, each with the other core running
    ``sh -c 'while :; do :; done'``: nothing moved beyond its noise."""
    first, second = (_fixture(name) for name in LOADED)
    assert first["commit"] == second["commit"] and first["machine"] == second["machine"]
    comparison = compare(first, second)
    assert not comparison.flagged, [c.name for c in comparison.flagged]
    times = [c for c in comparison.changes if c.metric == "time"]
    counts = [c for c in comparison.changes if c.metric == "instructions"]
    assert len(times) > 100 and len(counts) > 60  # the comparison compared, it did not skip


@spec("C-3.2", "C-3.3")
def test_a_20_percent_slowdown_in_one_path_fails_naming_it(tmp_path):
    """The real run with ``CFC_BENCH_SLOWDOWN`` (20 % more work in one path, in its timings and in its count), and
    the same slowdown written into the second busy run by hand: both fail, naming that path and no other."""
    first, second = (_fixture(name) for name in LOADED)
    injected = _fixture("run-c-slowdown-injected.json")
    target = injected["slowdown_injected"].rpartition("=")[0]
    real = compare(first, injected)
    assert {c.name for c in real.flagged} == {name for name in injected["ratios"] if target in name}
    assert {c.metric for c in real.flagged} == {"time", "instructions"}
    quiet = [name for name, r in second["ratios"].items() if "instructions" in r and name in first["ratios"]
             and math.hypot(r["noise"], first["ratios"][name]["noise"]) < 0.12 and "(A/A)" not in name
             and not name.endswith("/ baseline")]
    assert len(quiet) > 30  # most counted rows are quiet enough for a 20 % move to stand out
    for name in quiet[:: len(quiet) // 8]:
        doctored = copy.deepcopy(second)
        doctored["ratios"][name]["ratio"] *= 1.2
        doctored["ratios"][name]["instructions"] *= 1.2
        assert [(c.name, c.metric) for c in compare(first, doctored).flagged] == [(name, "time"),
                                                                                 (name, "instructions")]
    key = machine_key(first["machine"])
    for label, pair in (("ok", (first, second)), ("bad", (first, injected))):
        for hour, doc in enumerate(pair):
            save_run(doc["ratios"], tmp_path / label, doc["machine"], datetime(2026, 12, 1, hour, tzinfo=timezone.utc),
                     **({"slowdown_injected": doc["slowdown_injected"]} if "slowdown_injected" in doc else {}))
    ok = run_tool("compare", "--history", str(tmp_path / "ok"), "--machine", key)
    assert ok.returncode == 0 and "0 of" in ok.stdout and "WORSE" not in ok.stdout, ok.stdout[-2000:]
    bad = run_tool("compare", "--history", str(tmp_path / "bad"), "--machine", key)
    assert bad.returncode == 1 and f"WORSE: {target}" in bad.stdout, bad.stdout[-2000:]
    assert "slowdown injected" in bad.stdout


@spec("C-3.2")
def test_the_tool_plots_and_says_when_there_is_nothing_to_compare(tmp_path):
    runs = history(tmp_path, {"a": row(2.0)}, {"a": row(2.08)})
    png = plot(runs, tmp_path / "h.png", "test")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    lines = list(report(compare(*runs), *runs))
    assert lines[-1].startswith("0 of 1 time ratios moved beyond their noise")
    first = run_tool("compare", "--history", str(tmp_path / "none"), "--machine", machine_key(MACHINE))
    assert first.returncode == 0 and "nothing to compare yet" in first.stdout


@spec("C-3.2")
def test_a_damaged_record_is_a_named_error(tmp_path):
    from cfc_ref.errors import CfcError

    (tmp_path / "m").mkdir()
    (tmp_path / "m" / "x.json").write_text("{")
    with pytest.raises(CfcError, match="not a benchmark record"):
        load_runs(tmp_path, "m")
    (tmp_path / "m" / "x.json").write_text("[]")
    with pytest.raises(CfcError, match="not a benchmark record"):
        load_runs(tmp_path, "m")


@spec("C-3.2")
def test_the_injected_slowdown_adds_a_fifth_of_the_calls(monkeypatch):
    """The harness's injection (what the tracker is tested with): counted calls, no clock."""
    import harness

    monkeypatch.setenv(harness.SLOWDOWN_ENV, "group / slow=0.2")
    assert harness.calls("group / slow", 1) == (5, 1) and harness.calls("group / slow", 25) == (25, 5)
    assert harness.calls("group / fast", 3) == (3, 0)
    made = {"baseline": 0, "slow": 0, "fast": 0}

    def path(name):
        def call():
            made[name] += 1
            return sum(range(300))  # some work, so that every timing is above the clock's resolution
        return call

    rows = harness.measure(harness.Group("group", {name: path(name) for name in made}, number=5, rounds=3))
    harness.RESULTS.pop("group")
    # 3 rounds asked, 4 run (every one of the 4 paths in every place once); baseline and its A/A: warm-up + 4 rounds
    # of 5, twice; fast: 1 + 20; slow: 1 + 4 rounds of 5 + 1
    assert made == {"baseline": 2 * 21, "fast": 21, "slow": 25}
    assert set(rows) == {"baseline", "baseline (A/A)", "slow", "fast"}
    monkeypatch.setenv(harness.SLOWDOWN_ENV, "slow=nonsense")
    with pytest.raises(ValueError):
        harness.slowdowns()


@spec("C-3.3")
def test_instruction_counts_are_read_from_perf_and_callgrind_output(tmp_path, monkeypatch):
    import counting

    assert counting.perf_count("123456,,instructions:u,1000,100.00,,\n") == 123456
    assert counting.perf_count("<not supported>,,instructions:u,0,100.00,,\n") is None
    dump = tmp_path / "cg.out.2"
    dump.write_text("# callgrind format\nversion: 1\nevents: Ir\nfn=(1) x\n0 5\nsummary: 987654\ntotals: 987654\n")
    assert counting.callgrind_count(dump) == 987654
    monkeypatch.setenv(counting.COUNTER_ENV, "none")
    assert counting.counter() == "none"
    monkeypatch.setenv(counting.COUNTER_ENV, "bogus")
    with pytest.raises(ValueError):
        counting.counter()
