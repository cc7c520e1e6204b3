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
import time
from collections import Counter, defaultdict
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from cfc_ref.errors import CfcError

OUTCOMES = ("passed", "failed", "xfailed", "skipped")
NEEDS = ("pytest", "hypothesis", "jsonschema")  # the extra 'conformance'
REPORT_SCHEMA = "cfc-ref-conformance-report/1"
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
        raise ConformanceUsageError(f"the conformance suite needs {', '.join(NEEDS)}: python -m pip install "
                                    f"{' '.join(missing)} (the extra 'conformance'; missing: {', '.join(missing)})")


def _reason(output: str, code: int) -> str:
    """The line that says why pytest could not run the suite (a usage error, an import or collection error)."""
    lines = [line.strip() for line in output.splitlines() if line.strip()]
    for marker in ("ERROR: ", "E   ", "UsageError", "Error:", "Error"):
        found = [line for line in lines if marker in line]
        if found:
            return found[-1 if marker == "E   " else 0].removeprefix("ERROR: ").removeprefix("E   ").strip()
    return f"pytest exited {code} without running the suite"


def _profiles_run(declared: list[str], selected: list[str] | None) -> list[str]:
    """The profiles a run reports: those asked for with --profile, else those the adapter declares (C-2.8)."""
    from cfc_ref.conformance.protocol import expand_profiles

    return list(expand_profiles(selected, "--profile")) if selected else list(declared)


def run_suite(impl: str | None = None, impl_cmd: str | None = None, profiles: list[str] | None = None,
              xfail: str | None = None, timeout: float | None = None, deadline: float | None = None,
              progress: bool = False) -> dict[str, Any]:
    """Run the suite; returns the report (C-2.8): ``suite``, ``implementation``, ``environment``, ``profiles``
    (verdict and counts of each profile run), ``results`` (every test), ``warnings`` and pytest's ``exit``."""
    from cfc_ref.conformance import stamp
    from cfc_ref.conformance.adapters import DEFAULT_IMPL, ENV_VAR
    from cfc_ref.conformance.process import DEFAULT_DEADLINE

    if impl and impl_cmd:
        raise ConformanceUsageError("give --impl or --impl-cmd, not both")
    if xfail and not Path(xfail).is_file():
        raise ConformanceUsageError(f"--xfail file {xfail} does not exist")
    deadline = deadline or DEFAULT_DEADLINE
    if not (timeout is None or 0 < timeout <= deadline) or deadline <= 0:
        raise ConformanceUsageError(f"need 0 < --timeout <= --deadline, got {timeout} and {deadline:g}")
    _check_extras()
    suite = suite_path()
    caller = os.getcwd()
    module = None if impl_cmd else impl or os.environ.get(ENV_VAR) or DEFAULT_IMPL
    started = time.time()
    with tempfile.TemporaryDirectory(prefix="cfc-conformance-") as tmp:
        report = Path(tmp) / "report.json"
        command = [sys.executable, "-m", "pytest", str(suite), "-p", "cfc_ref.conformance.report",
                   f"--cfc-report={report}", "-m", "conformance", f"--rootdir={suite.parent}", "-c",
                   str(suite.parent / "pytest.ini"), f"--cfc-deadline={deadline}",
                   "--no-header", "-q", "--tb=line", "-rN", "-p", "no:cacheprovider", "-p", "_hypothesis_pytestplugin"]
        command += [f"--cfc-timeout={timeout}"] if timeout else []
        command += [f"--cfc-impl={module}"] if module else [f"--cfc-impl-cmd={impl_cmd}"]
        command += [f"--cfc-profile={p}" for p in profiles or []]
        command += [f"--cfc-xfail={Path(xfail).resolve()}"] if xfail else []
        # nothing written into the caller's directory: no bytecode of their adapter, no hypothesis database, no
        # plugin of the caller's environment (pytest-benchmark writes .benchmarks)
        env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [caller, os.environ.get("PYTHONPATH")])),
                   PYTHONDONTWRITEBYTECODE="1", HYPOTHESIS_STORAGE_DIRECTORY=str(Path(tmp) / "hypothesis"),
                   PYTEST_DISABLE_PLUGIN_AUTOLOAD="1")
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
        raw = json.loads(report.read_text())
    adapter = raw.get("adapter", {})
    shown = _profiles_run(adapter.get("declared_profiles", []), profiles)
    results = [r for r in raw["results"] if r["profile"] in shown or r["profile"] == "suite"]
    if not results:
        raise ConformanceUsageError(f"no conformance test ran: {_reason(output, process.returncode)}")
    return {"schema": REPORT_SCHEMA, "suite": stamp.suite(),
            "implementation": {"adapter": impl_cmd or module, "kind": "process" if impl_cmd else "module",
                               "name": adapter.get("name"), "version": adapter.get("version"),
                               "declared_profiles": adapter.get("declared_profiles", [])},
            "environment": stamp.environment(),
            "run": {"started": _utc(started), "seconds": round(time.time() - started, 3),
                    "profiles": shown, "timeout": timeout, "deadline": deadline,
                    "xfail": str(Path(xfail).resolve()) if xfail else None},
            "profiles": {p: _verdict([r for r in results if r["profile"] == p]) for p in shown},
            "warnings": raw.get("warnings", []), "results": results, "exit": process.returncode}


def _utc(seconds: float) -> str:
    return datetime.fromtimestamp(seconds, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _verdict(results: list[dict[str, Any]]) -> dict[str, Any]:
    counts = Counter(r["outcome"] for r in results)
    verdict = ("FAIL" if counts["failed"] else "not run" if not (counts["passed"] + counts["xfailed"])
               else "pass" + (" (with expected failures)" if counts["xfailed"] else ""))
    return {"verdict": verdict, "tests": len(results), **{o: counts[o] for o in OUTCOMES}}


def summarise(results: list[dict[str, Any]]) -> dict[str, dict[str, Counter]]:
    """Per profile, per clause: how many tests passed, failed, were expected failures, were skipped."""
    table: dict[str, dict[str, Counter]] = defaultdict(lambda: defaultdict(Counter))
    for r in results:
        for clause in r["clauses"] or ["-"]:
            table[r["profile"]][clause][r["outcome"]] += 1
    return table


def format_table(outcome: dict[str, Any], show_failures: int = 20) -> str:
    table = summarise(outcome["results"])
    implementation = outcome["implementation"]
    name = implementation["name"] or implementation["adapter"]
    version = f" {implementation['version']}" if implementation.get("version") else ""
    suite = outcome["suite"]
    adapter = f" ({implementation['adapter']})" if implementation["adapter"] != name else ""
    lines = [f"conformance of {name}{version}{adapter}",
             f"suite: cfc-ref {suite['version']}, spec {suite['spec_version']}, catalogue "
             f"sha256:{suite['catalogue_sha256'][:16]}…", "",
             f"{'profile':18} {'clause':8} " + " ".join(f"{o:>7}" for o in OUTCOMES)]
    for profile in sorted(table):
        for clause in sorted(table[profile]):
            counts = table[profile][clause]
            lines.append(f"{profile:18} {clause:8} " + " ".join(f"{counts[o]:7d}" for o in OUTCOMES))
    totals = Counter(r["outcome"] for r in outcome["results"])
    verdicts = [f"  {profile:18} {cell['verdict']}" for profile, cell in outcome["profiles"].items()]
    undeclared = [p for p in outcome["profiles"] if p not in implementation["declared_profiles"]]
    lines += ["", "profiles:", *verdicts, ""]
    if undeclared:
        lines += [f"not declared by the adapter (skipped): {', '.join(undeclared)}", ""]
    lines.append("total: " + ", ".join(f"{totals[o]} {o}" for o in OUTCOMES))
    lines += [f"warning: {w}" for w in outcome.get("warnings", [])]
    failures = [r for r in outcome["results"] if r["outcome"] == "failed"]
    if failures:
        lines += ["", f"failures ({len(failures)}):"]
        lines += [f"  {r['test']}: {r['reason']}" for r in failures[:show_failures]]
        if len(failures) > show_failures:
            lines.append(f"  … {len(failures) - show_failures} more in the JSON report")
    return "\n".join(lines)
