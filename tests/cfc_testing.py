"""Shared paths and helpers for the test suite (imported by tests; conftest.py holds only pytest hooks)."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
GOLDEN = ROOT / "golden"
