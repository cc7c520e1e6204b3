"""A pytest plugin that writes what ``cfc-ref conformance`` reports (spec C-2.8): per test, its profile, the
clauses it checks, its outcome, reason and duration; the adapter's declared profiles, name and version; the
suite's warnings. Loaded with ``-p cfc_ref.conformance.report --cfc-report=FILE``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

_RESULTS: list[dict[str, Any]] = []


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.getgroup("cfc-ref conformance").addoption("--cfc-report", default=None,
                                                     help="write per-test outcomes as JSON to this file")


def pytest_runtest_setup(item: pytest.Item) -> None:
    """A test's profile and clauses from its markers, unless the test records its own (``enter`` in the suite)."""
    from cfc_ref.conformance.plugin import PROFILE_MARK

    mark = item.get_closest_marker(PROFILE_MARK)
    clauses = [c for m in item.iter_markers("spec") for c in m.args]
    item.user_properties[:0] = [("profile", str(mark.args[0]) if mark else "suite"), ("clauses", ",".join(clauses))]


def _reason(report: pytest.TestReport) -> str:
    if report.skipped and isinstance(report.longrepr, tuple):
        return str(report.longrepr[2]).removeprefix("Skipped: ")
    if report.failed:
        crash = getattr(report.longrepr, "reprcrash", None)
        message = str(crash.message if crash else report.longrepr).splitlines()[0][:300]
        if "ProcessFailure" not in message:  # a broken adapter inside a property test: hypothesis reports its
            for line in report.longreprtext.splitlines():  # replay as flaky; the reason is the adapter's failure
                if "ProcessFailure: " in line:
                    return line.split("ProcessFailure: ", 1)[1][:300]
        return message
    return str(getattr(report, "wasxfail", ""))


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    properties = dict(report.user_properties)
    if report.when == "call" or (report.when == "setup" and not report.passed):
        if hasattr(report, "wasxfail"):
            outcome = "xfailed" if report.skipped else "failed"  # a strict xfail that passed is a failure
        else:
            outcome = report.outcome
        result = {"test": report.nodeid.split("::", 1)[-1], "profile": properties.get("profile", "suite"),
                  "clauses": [c for c in str(properties.get("clauses", "")).split(",") if c],
                  "outcome": outcome, "reason": _reason(report), "seconds": round(report.duration, 6)}
        if "outputs" in properties:  # C-2.9: hashes of what the implementation produced
            result["outputs"] = json.loads(str(properties["outputs"]))
        _RESULTS.append(result)


def _adapter(config: pytest.Config) -> dict[str, Any]:
    from cfc_ref.conformance.plugin import ADAPTER
    from cfc_ref.conformance.protocol import AdapterError, declared_profiles

    if ADAPTER not in config.stash:
        return {}
    adapter = config.stash[ADAPTER]
    try:
        declared = list(declared_profiles(adapter))
    except AdapterError:
        declared = []
    version = getattr(adapter, "VERSION", None)
    name = getattr(adapter, "NAME", None) or getattr(adapter, "__name__", "adapter")
    return {"declared_profiles": declared, "name": str(name), "version": None if version is None else str(version)}


def pytest_sessionfinish(session: pytest.Session) -> None:
    from cfc_ref.conformance.plugin import WARNINGS

    path = session.config.getoption("--cfc-report")
    if path:
        found: list[str] = session.config.stash.get(WARNINGS, [])
        document = {"results": _RESULTS, "adapter": _adapter(session.config), "warnings": found}
        Path(path).write_text(json.dumps(document, indent=1) + "\n")
