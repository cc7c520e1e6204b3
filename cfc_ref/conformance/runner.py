"""``cfc-ref conformance``: the pytest suite against an implementation, summarised per profile and clause
(spec C-2.8). A thin layer: the suite is ``cfc_ref/conformance/suite/`` (inside the package, so a wheel carries it,
with its golden vectors), run by pytest in a child process from the caller's directory (``--impl`` imports from
there, ``--impl-cmd`` runs there), with the report plugin; this module builds the command, bounds its time, and
reads the report."""

from __future__ import annotations

import importlib.util
import json
import os
import signal
import subprocess
import sys
import tempfile
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

from cfc_ref.errors import CfcError

OUTCOMES = ("passed", "failed", "xfailed", "skipped")
NEEDS = ("pytest", "hypothesis", "jsonschema")  # the extra 'conformance'
MARGIN = 300.0  # seconds the pytest process may take beyond the adapter's deadline (start-up, Python adapters)


class ConformanceUsageError(CfcError):
    """The suite cannot be run as asked (a missing extra, a bad adapter, an unknown profile, a collection error)."""


class ConformanceTimeout(CfcError):
    """The suite did not end within its deadline (C-2.5); everything it started was ended."""


def suite_path() -> Path:
    """The suite module inside the package, and the golden vectors it reads (checked here for a clear error)."""
    from cfc_ref.conformance.paths import SUITE, golden_root

    try:
        golden_root()
    except CfcError as err:
        raise ConformanceUsageError(str(err)) from None
    return SUITE / "test_conformance.py"


def _check_extras() -> None:
    missing = [name for name in NEEDS if importlib.util.find_spec(name) is None]
    if missing:
        raise ConformanceUsageError(f"the conformance suite needs {', '.join(NEEDS)}: pip install "
                                    f"'cfc-ref[conformance]' (missing: {', '.join(missing)})")


def _reason(output: str, code: int) -> str:
    """The line that says why pytest could not run the suite (a usage error, an import or collection error)."""
    lines = [line.strip() for line in output.splitlines() if line.strip()]
    for marker in ("ERROR: ", "E   ", "UsageError", "Error:", "Error"):
        found = [line for line in lines if marker in line]
        if found:
            return found[-1 if marker == "E   " else 0].removeprefix("ERROR: ").removeprefix("E   ").strip()
    return f"pytest exited {code} without running the suite"


def run_suite(impl: str | None = None, impl_cmd: str | None = None, profiles: list[str] | None = None,
              xfail: str | None = None, timeout: float | None = None, deadline: float | None = None,
              progress: bool = False) -> dict[str, Any]:
    """Run the suite; returns ``{"implementation", "results": [...], "exit": pytest's status}``."""
    from cfc_ref.conformance.process import DEFAULT_DEADLINE, DEFAULT_TIMEOUT

    if impl and impl_cmd:
        raise ConformanceUsageError("give --impl or --impl-cmd, not both")
    if xfail and not Path(xfail).is_file():
        raise ConformanceUsageError(f"--xfail file {xfail} does not exist")
    timeout, deadline = timeout or DEFAULT_TIMEOUT, deadline or DEFAULT_DEADLINE
    if not (0 < timeout <= deadline):
        raise ConformanceUsageError(f"need 0 < --timeout <= --deadline, got {timeout:g} and {deadline:g}")
    _check_extras()
    suite = suite_path()
    caller = os.getcwd()
    with tempfile.TemporaryDirectory(prefix="cfc-conformance-") as tmp:
        report = Path(tmp) / "report.json"
        command = [sys.executable, "-m", "pytest", str(suite), "-p", "cfc_ref.conformance.report",
                   f"--cfc-report={report}", "-m", "conformance", f"--rootdir={suite.parent}", "-c",
                   str(suite.parent / "pytest.ini"), f"--cfc-timeout={timeout}", f"--cfc-deadline={deadline}",
                   "--no-header", "-q", "--tb=line", "-rN"]
        command += [f"--cfc-impl={impl}"] if impl else []
        command += [f"--cfc-impl-cmd={impl_cmd}"] if impl_cmd else []
        command += [f"--cfc-profile={p}" for p in profiles or []]
        command += [f"--cfc-xfail={Path(xfail).resolve()}"] if xfail else []
        env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [caller, os.environ.get("PYTHONPATH")])))
        process = subprocess.Popen(command, cwd=caller, env=env, start_new_session=True, text=True,
                                   stdout=None if progress else subprocess.PIPE, stderr=subprocess.PIPE)
        try:
            stdout, stderr = process.communicate(timeout=deadline + MARGIN)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)  # pytest, the adapter and anything they started
            process.communicate()
            raise ConformanceTimeout(f"the suite did not end within --deadline {deadline:g} s (+{MARGIN:g} s); "
                                     "it and everything it started were ended") from None
        finally:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGKILL)
        output = (stderr or "") + "\n" + (stdout or "")
        if not report.exists() or process.returncode in (2, 3, 4):  # interrupted, internal error, usage error
            raise ConformanceUsageError(_reason(output, process.returncode).replace("--cfc-profile", "--profile"))
        results = json.loads(report.read_text())["results"]
    if not results:
        raise ConformanceUsageError(f"no conformance test ran: {_reason(output, process.returncode)}")
    return {"implementation": impl_cmd or impl or os.environ.get("CFC_IMPL") or "cfc_ref.conformance.reference",
            "results": results, "exit": process.returncode}


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
