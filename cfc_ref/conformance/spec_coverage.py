"""Spec coverage (spec C-4.1): every clause of spec/ that says "shall" is cited by at least one test.

A clause is a line starting with its number (``Q-3.2 ...``) and runs to the next clause or heading. A test cites
clauses with the pytest marker ``@spec("Q-3.2", ...)`` (or ``pytest.mark.spec``) on a test function or class, or in
``pytest.param(..., marks=spec(...))``; found statically with ``ast`` so that the check needs no test run. A golden
vector's ``section`` counts as a citation by ``tests/test_conformance.py``, which runs every vector.
"""

from __future__ import annotations

import ast
import json
import re
from collections import defaultdict
from pathlib import Path

CLAUSE = re.compile(r"^([A-Z]-\d+\.\d+)\s")
HEADING = re.compile(r"^#")
SHALL = re.compile(r"\bshall\b", re.IGNORECASE)


def normative_clauses(spec_dir: Path) -> dict[str, str]:
    """Clause id → spec file, for every numbered clause whose text contains "shall"."""
    found: dict[str, str] = {}
    for path in sorted(spec_dir.glob("*.md")):
        current, text = None, []
        for line in path.read_text().splitlines() + ["# end"]:
            match = CLAUSE.match(line)
            if match or HEADING.match(line):
                if current and SHALL.search(" ".join(text)):
                    found[current] = path.name
                current, text = (match.group(1), [line]) if match else (None, [])
            elif current:
                text.append(line)
    return found


def _spec_calls(node: ast.AST) -> list[str]:
    ids = []
    for call in ast.walk(node):
        if isinstance(call, ast.Call):
            fn = call.func
            name = fn.attr if isinstance(fn, ast.Attribute) else getattr(fn, "id", "")
            if name == "spec":
                ids += [a.value for a in call.args if isinstance(a, ast.Constant) and isinstance(a.value, str)]
    return ids


def citations(tests_dir: Path, golden_dir: Path | None = None, with_suite: bool = False) -> dict[str, list[str]]:
    """Clause id → tests citing it."""
    cited: dict[str, list[str]] = defaultdict(list)
    suite = Path(__file__).resolve().parent / "suite"  # the conformance suite ships inside the package
    packaged = sorted(suite.glob("test_*.py")) if with_suite else []
    for path in [*sorted(tests_dir.rglob("test_*.py")), *packaged]:
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if isinstance(node, (ast.FunctionDef, ast.ClassDef)) and node.name.lower().startswith("test"):
                # ast.walk inside each decorator also finds pytest.param(..., marks=spec(...)) in a parametrize
                for clause in {c for d in node.decorator_list for c in _spec_calls(d)}:
                    where = path.relative_to(suite.parents[2]) if path.is_relative_to(suite) else \
                        path.relative_to(tests_dir.parent)
                    cited[clause].append(f"{where}::{node.name}")
    if golden_dir is not None:
        for manifest in sorted(golden_dir.glob("*/vectors.json")):
            for vector in json.loads(manifest.read_text())["vectors"]:
                cited[vector["section"]].append(f"tests/test_conformance.py[{vector['id']}]")
    return dict(cited)


def report(root: Path) -> tuple[list[str], list[str]]:
    """(lines of the coverage table, clause ids with no citation)."""
    clauses = normative_clauses(root / "spec")
    cited = citations(root / "tests", root / "golden", with_suite=True)
    lines, missing = [], []
    for clause, spec_file in clauses.items():
        tests = cited.get(clause, [])
        if not tests:
            missing.append(clause)
        shown = ", ".join(tests[:3]) + (f" (+{len(tests) - 3} more)" if len(tests) > 3 else "")
        lines.append(f"{clause:8} {spec_file:16} {len(tests):3}  {shown or 'NOT CITED'}")
    return lines, missing
