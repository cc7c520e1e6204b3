"""Benchmarks report ratios to a baseline measured in the same run, each with its noise (spec C-3.1, C-3.2), and the
CPU hot paths an instruction count (C-3.3); nothing here asserts a time.

Each test measures one group through ``harness.measure``; ``test_bench_counts.py`` (run last) adds the counts. The
terminal summary prints every row, ``--ratios-json=FILE`` writes them, ``--bench-history=DIR`` saves the run under
DIR/<machine>/ for ``tools/bench_history.py compare``.
"""

from __future__ import annotations

import json
import os
import platform
from importlib.metadata import PackageNotFoundError, version

import pytest
from harness import COUNTER, RESULTS, SLOWDOWN_ENV, summary_lines

COUNTS_FILE = "test_bench_counts.py"


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--ratios-json", default=None, help="write benchmark ratios to this JSON file")
    parser.addoption("--bench-history", default=None,
                     help="save this run with its machine under DIR/<machine>/ (spec C-3.2; tools/bench_history.py)")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The instruction counts run after every timing (they take a core for minutes under callgrind)."""
    items.sort(key=lambda item: item.path.name == COUNTS_FILE)


def versions() -> dict[str, str]:
    out = {"python": platform.python_version()}
    for name in ("numpy", "torch", "av", "pylibde265", "numba", "cfc-ref"):
        try:
            out[name] = version(name)
        except PackageNotFoundError:
            continue
    try:
        from cfc_ref.codecs.hevc.x265 import x265_version

        out["x265"] = x265_version()
    except ImportError:
        pass
    return out


def pytest_terminal_summary(terminalreporter, config) -> None:
    if not RESULTS:
        return
    terminalreporter.section("ratios to the baseline measured in the same run, their noise, instruction counts")
    for line in summary_lines():
        terminalreporter.write_line(line)
    table = {f"{group} / {name}": row for group, rows in sorted(RESULTS.items()) for name, row in rows.items()}
    path = config.getoption("--ratios-json")
    if path:
        with open(path, "w") as fh:
            json.dump(table, fh, indent=1)
    history = config.getoption("--bench-history")
    if history:
        from cfc_ref.benchhistory import save_run

        extra: dict[str, object] = {"versions": versions(), "counter": COUNTER.get("name", "none")}
        if os.environ.get(SLOWDOWN_ENV):
            extra["slowdown_injected"] = os.environ[SLOWDOWN_ENV]
        terminalreporter.write_line(f"saved: {save_run(table, history, **extra)}")
