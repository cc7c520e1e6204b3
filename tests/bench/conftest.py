"""Benchmarks report ratios to a baseline measured in the same run (spec C-3.1); nothing here asserts a time.

Each benchmark records its minimum time under (group, name); the terminal summary prints every name's ratio to the
group's ``baseline`` row, and ``--ratios-json=FILE`` writes them for the record.
"""

from __future__ import annotations

import json
from collections import defaultdict

import pytest

RESULTS: dict[str, dict[str, float]] = defaultdict(dict)


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--ratios-json", default=None, help="write benchmark ratios to this JSON file")
    parser.addoption("--bench-history", default=None,
                     help="save this run with its machine under DIR/<machine>/ (spec C-3.2; tools/bench_history.py)")


@pytest.fixture
def timed(benchmark):
    """``timed(group, name, fn, *args)``: benchmark fn and record its best time for the ratio table."""

    def run(group: str, name: str, fn, *args):
        benchmark.group = group
        benchmark.name = name
        result = benchmark(fn, *args)
        if benchmark.stats is not None:  # None under --benchmark-disable
            RESULTS[group][name] = benchmark.stats.stats.min
        return result

    return run


def pytest_terminal_summary(terminalreporter, config) -> None:
    if not RESULTS:
        return
    terminalreporter.section("ratios to the baseline measured in the same run (lower is better)")
    table = {}
    for group, rows in sorted(RESULTS.items()):
        base = rows.get("baseline")
        for name, seconds in rows.items():
            ratio = seconds / base if base else float("nan")
            table[f"{group} / {name}"] = {"seconds": seconds, "ratio": ratio}
            terminalreporter.write_line(f"{group:40} {name:28} {seconds * 1e6:10.1f} us   {ratio:7.2f}x")
    path = config.getoption("--ratios-json")
    if path:
        with open(path, "w") as fh:
            json.dump(table, fh, indent=1)
    history = config.getoption("--bench-history")
    if history:
        from cfc_ref.benchhistory import save_run

        terminalreporter.write_line(f"saved: {save_run(table, history)}")
