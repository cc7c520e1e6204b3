"""Progress output: a live bar on a terminal, a plain line every 5 % in a pipe or CI log."""

from __future__ import annotations

import io

import pytest

from cfc_ref.progress import progress


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_log_gets_a_line_every_few_percent(monkeypatch):
    log = io.StringIO()
    monkeypatch.setattr("sys.stderr", log)
    assert list(progress(range(1000), 1000, "sweep", "job")) == list(range(1000))
    text = log.getvalue()
    lines = text.splitlines()
    assert "\r" not in text and 20 <= len(lines) <= 23
    assert lines[0].startswith("sweep: 0/1000 (0 %)") and lines[-1].startswith("sweep: 1000/1000 (100 %)")


def test_terminal_gets_the_live_bar(monkeypatch):
    tty = _Terminal()
    monkeypatch.setattr("sys.stderr", tty)
    assert sum(progress(range(50), 50, "sweep")) == sum(range(50))
    assert "\r" in tty.getvalue() and "50/50" in tty.getvalue()


def test_short_loops_and_empty_loops(monkeypatch):
    log = io.StringIO()
    monkeypatch.setattr("sys.stderr", log)
    assert list(progress([], 0, "nothing")) == []
    assert list(progress(range(3), 3, "three")) == [0, 1, 2]
    assert "three: 3/3 (100 %)" in log.getvalue()


@pytest.mark.spec("E-8.3")
def test_ray_engine_progress_line_counts_units_and_failures(monkeypatch):
    """E-8.3: done / total units, rate, ETA and the failed count on one line (no Ray needed for the line)."""
    from types import SimpleNamespace

    from cfc_ref.experiment.ray_engine import _progress

    log = io.StringIO()
    monkeypatch.setattr("sys.stderr", log)
    failures: list = []
    jobs = [(SimpleNamespace(settings=[1, 2]), None) for _ in range(5)]

    def items():
        for number, item in enumerate(jobs):
            if number == 2:
                failures.append(("unit", "message"))
            yield item

    assert len(list(_progress(items(), 10, "sweep", True, failures))) == 5
    last = log.getvalue().splitlines()[-1]
    assert last.startswith("sweep (ray): units: 10/10 (100 %)") and "ETA" in last and "failed 1" in last
