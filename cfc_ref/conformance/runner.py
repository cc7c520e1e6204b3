"""``cfc-ref conformance``: the pytest suite against an implementation, summarised per profile and clause
(spec C-2.8). A thin layer: the suite is ``tests/test_conformance.py`` of the source checkout, run by pytest in a
child process with the report plugin; this module only builds the command and reads the report."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

from cfc_ref.errors import CfcError

OUTCOMES = ("passed", "failed", "xfailed", "skipped")


class ConformanceUsageError(CfcError):
    """The suite cannot be run as asked (no checkout, a bad adapter, an unknown profile)."""


def suite_path() -> Path:
    """The suite ships with the source checkout (with golden/), next to the package."""
    root = Path(__file__).resolve().parents[2]
    suite = root / "tests" / "test_conformance.py"
    if not (suite.is_file() and (root / "golden").is_dir()):
        raise ConformanceUsageError("the conformance suite needs the source checkout (tests/ and golden/ beside "
                                    "cfc_ref/): clone the repository and pip install -e it")
    return suite


def run_suite(impl: str | None = None, impl_cmd: str | None = None, profiles: list[str] | None = None,
              xfail: str | None = None) -> dict[str, Any]:
    """Run the suite; returns ``{"implementation", "results": [...], "exit": pytest's status}``."""
    if impl and impl_cmd:
        raise ConformanceUsageError("give --impl or --impl-cmd, not both")
    if xfail and not Path(xfail).is_file():
        raise ConformanceUsageError(f"--xfail file {xfail} does not exist")
    suite = suite_path()
    with tempfile.TemporaryDirectory(prefix="cfc-conformance-") as tmp:
        report = Path(tmp) / "report.json"
        command = [sys.executable, "-m", "pytest", str(suite), "-q", "-p", "no:randomly", "-p",
                   "cfc_ref.conformance.report", f"--cfc-report={report}", "-m", "conformance"]
        command += [f"--cfc-impl={impl}"] if impl else []
        command += [f"--cfc-impl-cmd={impl_cmd}"] if impl_cmd else []
        command += [f"--cfc-profile={p}" for p in profiles or []]
        command += [f"--cfc-xfail={Path(xfail).resolve()}"] if xfail else []
        env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [str(suite.parent),
                                                                         os.environ.get("PYTHONPATH")])))
        done = subprocess.run(command, cwd=suite.parent.parent, env=env, capture_output=True,
                              text=True)
        if not report.exists() or done.returncode in (3, 4):  # internal error, usage error
            lines = [line for line in (done.stderr + done.stdout).splitlines() if "error" in line.lower()]
            raise ConformanceUsageError((lines[-1] if lines else f"pytest exited {done.returncode}").strip()
                                        .removeprefix("ERROR: ").replace("--cfc-profile", "--profile"))
        results = json.loads(report.read_text())["results"]
    return {"implementation": impl_cmd or impl or os.environ.get("CFC_IMPL") or "cfc_ref.conformance.reference",
            "results": results, "exit": done.returncode}


def summarise(results: list[dict[str, Any]]) -> dict[str, dict[str, Counter]]:
    """Per profile, per clause: how many tests passed, failed, were expected failures, were skipped."""
    table: dict[str, dict[str, Counter]] = defaultdict(lambda: defaultdict(Counter))
    for r in results:
        for clause in r["clauses"] or ["-"]:
            table[r["profile"]][clause][r["outcome"]] += 1
    return table


def format_table(outcome: dict[str, Any], show_failures: int = 20) -> str:
    table = summarise(outcome["results"])
    lines = [f"conformance of {outcome['implementation']}", "",
             f"{'profile':18} {'clause':8} " + " ".join(f"{o:>7}" for o in OUTCOMES)]
    for profile in sorted(table):
        for clause in sorted(table[profile]):
            counts = table[profile][clause]
            lines.append(f"{profile:18} {clause:8} " + " ".join(f"{counts[o]:7d}" for o in OUTCOMES))
    totals = Counter(r["outcome"] for r in outcome["results"])
    profiles = {r["profile"] for r in outcome["results"]} - {"-"}
    verdicts = []
    for profile in sorted(profiles):
        counts = Counter(r["outcome"] for r in outcome["results"] if r["profile"] == profile)
        verdict = ("FAIL" if counts["failed"] else "not run" if not (counts["passed"] + counts["xfailed"])
                   else "pass" + (" (with expected failures)" if counts["xfailed"] else ""))
        verdicts.append(f"  {profile:18} {verdict}")
    lines += ["", "profiles:", *verdicts, "",
              "total: " + ", ".join(f"{totals[o]} {o}" for o in OUTCOMES)]
    failures = [r for r in outcome["results"] if r["outcome"] == "failed"]
    if failures:
        lines += ["", f"failures ({len(failures)}):"]
        lines += [f"  {r['test']}: {r['reason']}" for r in failures[:show_failures]]
        if len(failures) > show_failures:
            lines.append(f"  … {len(failures) - show_failures} more in the JSON report")
    return "\n".join(lines)
