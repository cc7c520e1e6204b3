"""``cfc-ref conformance compare A.json B.json``: what changed between two conformance reports (spec C-2.8) — the
suite (version, catalogue), the implementation, the environment, each profile's verdict and every test whose
outcome changed, appeared or disappeared."""

from __future__ import annotations

import json
from typing import Any

from cfc_ref.errors import CfcError

WORSE = {("passed", "failed"), ("xfailed", "failed"), ("skipped", "failed"), ("passed", "xfailed")}


class CompareError(CfcError):
    """A file given to ``conformance compare`` is not a conformance report."""


def read_report(path: str) -> dict[str, Any]:
    from cfc_ref.conformance.runner import REPORT_SCHEMA
    from cfc_ref.fileio import read_bounded

    try:
        document = json.loads(read_bounded(path, 256 << 20))
    except (ValueError, UnicodeDecodeError) as err:
        raise CompareError(f"{path}: not a JSON conformance report ({err})") from None
    if not isinstance(document, dict) or document.get("schema") != REPORT_SCHEMA:
        found = document.get("schema") if isinstance(document, dict) else None
        raise CompareError(f"{path}: not a {REPORT_SCHEMA} report (schema {found!r})")
    return document


def compare(a: dict[str, Any], b: dict[str, Any]) -> dict[str, Any]:
    """The differences of ``b`` from ``a``; ``regressions`` lists the tests that got worse."""
    def fields(report: dict[str, Any], keys: tuple[str, ...], part: str) -> dict[str, Any]:
        return {k: report.get(part, {}).get(k) for k in keys}

    changed: dict[str, Any] = {}
    for part, keys in (("suite", ("version", "spec_version", "catalogue_sha256")),
                       ("implementation", ("adapter", "name", "version")),
                       ("environment", ("python", "os", "cpu"))):
        before, after = fields(a, keys, part), fields(b, keys, part)
        diff = {k: [before[k], after[k]] for k in keys if before[k] != after[k]}
        if diff:
            changed[part] = diff
    verdicts = {p: [a.get("profiles", {}).get(p, {}).get("verdict"), b.get("profiles", {}).get(p, {}).get("verdict")]
                for p in sorted({*a.get("profiles", {}), *b.get("profiles", {})})}
    outcomes_a = {r["test"]: r for r in a["results"]}
    outcomes_b = {r["test"]: r for r in b["results"]}
    tests = [{"test": t, "profile": (outcomes_b.get(t) or outcomes_a[t])["profile"],
              "before": outcomes_a[t]["outcome"] if t in outcomes_a else None,
              "after": outcomes_b[t]["outcome"] if t in outcomes_b else None,
              "reason": outcomes_b[t]["reason"] if t in outcomes_b else ""}
             for t in sorted({*outcomes_a, *outcomes_b})
             if (outcomes_a.get(t) or {}).get("outcome") != (outcomes_b.get(t) or {}).get("outcome")]
    regressions = [t["test"] for t in tests if (t["before"], t["after"]) in WORSE
                   or (t["before"] == "passed" and t["after"] is None)]
    return {"changed": changed, "verdicts": {p: v for p, v in verdicts.items() if v[0] != v[1]}, "tests": tests,
            "regressions": regressions}


def format_comparison(diff: dict[str, Any], a: str, b: str) -> str:
    lines = [f"conformance report {b} against {a}"]
    for part, fields in diff["changed"].items():
        for key, (before, after) in fields.items():
            lines.append(f"  {part} {key}: {before} -> {after}")
    for profile, (before, after) in diff["verdicts"].items():
        lines.append(f"  profile {profile}: {before or 'absent'} -> {after or 'absent'}")
    if diff["tests"]:
        lines.append(f"{len(diff['tests'])} test(s) changed:")
        for t in diff["tests"]:
            reason = f"  ({t['reason'][:160]})" if t["after"] == "failed" and t["reason"] else ""
            lines.append(f"  {t['test']}: {t['before'] or 'absent'} -> {t['after'] or 'absent'}{reason}")
    if len(lines) == 1:
        lines.append("  nothing changed (suite, implementation, environment, verdicts and every outcome are equal)")
    lines.append(f"{len(diff['regressions'])} regression(s)" if diff["regressions"] else "no regression")
    return "\n".join(lines)
