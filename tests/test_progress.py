"""Progress output: a live bar on a terminal, a plain line every 5 % in a pipe or CI log."""

from __future__ import annotations

import io

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
