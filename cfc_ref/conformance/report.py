"""A pytest plugin that writes what ``cfc-ref conformance`` reports (spec C-2.8): per test, its profile, the
clauses it checks and its outcome. Loaded with ``-p cfc_ref.conformance.report --cfc-report=FILE``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

_RESULTS: list[dict[str, Any]] = []


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.getgroup("cfc-ref conformance").addoption("--cfc-report", default=None,
                                                     help="write per-test outcomes as JSON to this file")


def _reason(report: pytest.TestReport) -> str:
    if report.skipped and isinstance(report.longrepr, tuple):
        return str(report.longrepr[2]).removeprefix("Skipped: ")
    if report.failed:
        crash = getattr(report.longrepr, "reprcrash", None)
        return str(crash.message if crash else report.longrepr).splitlines()[0][:300]
    return str(getattr(report, "wasxfail", ""))


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    properties = dict(report.user_properties)
    if report.when == "call" or (report.when == "setup" and not report.passed):
        if hasattr(report, "wasxfail"):
            outcome = "xfailed" if report.skipped else "failed"  # a strict xfail that passed is a failure
        else:
            outcome = report.outcome
        _RESULTS.append({"test": report.nodeid.split("::", 1)[-1], "profile": properties.get("profile", "-"),
                         "clauses": [c for c in str(properties.get("clauses", "")).split(",") if c],
                         "outcome": outcome, "reason": _reason(report)})


def pytest_sessionfinish(session: pytest.Session) -> None:
    path = session.config.getoption("--cfc-report")
    if path:
        Path(path).write_text(json.dumps({"results": _RESULTS}, indent=1) + "\n")
