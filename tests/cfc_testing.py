"""Shared paths and helpers for the test suite (imported by tests; conftest.py holds only pytest hooks)."""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
GOLDEN = ROOT / "golden"


def expected_failures(config: pytest.Config) -> set[str]:
    """Vector ids listed in ``--cfc-xfail`` (spec C-2.2): one per line, ``#`` starts a comment."""
    path = config.getoption("--cfc-xfail")
    if not path:
        return set()
    lines = Path(path).read_text().splitlines()
    return {line.split("#", 1)[0].strip() for line in lines} - {""}
